"""The 合格证 label for printers: PDF and PNG at the common label sizes (``docs/labels.md``).

The SVG label (:mod:`suyuan.label`) is for screens; label printers and print shops take PDF or a
bitmap. Both are drawn here from one layout in millimetres: the title, the certificate's fields
(with its 联系方式 when the issuer asks), the commitment text, the QR code of the scan URL with
the certificate code under it, and an empty box for a signature or seal (签名/盖章), as the
2025 rules' form has. The text size is the largest at which everything fits the label. A
signed QR (``?cq=``, :mod:`suyuan.qrsign`) is printed where its modules are at least
:data:`MIN_MODULE_MM` wide; a smaller label prints the plain scan URL.

The Chinese text needs a CJK font embedded in the PDF. ReportLab embeds TrueType outlines only,
so the font is WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``, TrueType) rather than Noto
Sans CJK (CFF outlines); :func:`label_font_path` finds it, or ``SUYUAN_LABEL_FONT`` names one.
"""

from __future__ import annotations

import glob
import io
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from suyuan.label import CLOSING_PROMISE, CertificateLabel, field_rows
from suyuan.qrsign import QR_PARAMETER

#: Label sizes (width × height, millimetres) a label printer's common rolls have.
LABEL_SIZES: dict[str, tuple[float, float]] = {
    "40x30": (40.0, 30.0),
    "60x40": (60.0, 40.0),
    "70x50": (70.0, 50.0),
    "100x70": (100.0, 70.0),
}
DEFAULT_SIZE = "70x50"
#: At most this many labels in one PDF (one page each).
MAX_COPIES = 500
#: The smallest QR module printed (mm): 2.4 dots of a 203 dpi printer, 3.5 of a 300 dpi one.
MIN_MODULE_MM = 0.3
#: PNG resolutions a label printer has (dots per inch); 300 by default.
PNG_DPI = (203, 300, 600)
DEFAULT_DPI = 300
SEAL_TEXT = "签名/盖章"
FONT_ENV = "SUYUAN_LABEL_FONT"
#: Where Debian and common distributions put TrueType CJK fonts ReportLab can embed.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_FONT_GLOBS = ("/usr/share/fonts/**/wqy-*.tt[cf]", "/usr/local/share/fonts/**/wqy-*.tt[cf]")
_FONT_NAME = "SuyuanLabelCJK"
# One PNG drawn at a time: the cached FreeType faces are shared between request threads.
_PNG_LOCK = threading.Lock()
_PT_PER_MM = 72 / 25.4
_INK = "#111111"
_RED = "#c62828"


class LabelFontError(RuntimeError):
    """No CJK TrueType font to draw the label with (install ``fonts-wqy-microhei``)."""


@dataclass(frozen=True, slots=True)
class _Text:
    x: float
    y: float  # baseline, from the top
    text: str
    size: float  # em, millimetres
    bold: bool = False
    centre: bool = False
    colour: str = _INK


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    width: float
    height: float
    line: float
    radius: float = 0.0
    colour: str = _INK


@dataclass(frozen=True, slots=True)
class _Qr:
    x: float
    y: float
    side: float
    modules: list[list[bool]]


@dataclass(frozen=True, slots=True)
class _Stamp:
    text: str
    size: float


@dataclass(frozen=True, slots=True)
class _Layout:
    width: float
    height: float
    texts: list[_Text]
    boxes: list[_Box]
    qr: _Qr
    stamp: _Stamp | None


# --- the font -----------------------------------------------------------------------------------


def label_font_path() -> Path:
    """The CJK TrueType font file labels are drawn with: ``SUYUAN_LABEL_FONT`` when set, else
    the first of :data:`FONT_CANDIDATES` (or a WenQuanYi font found under the font folders).

    Raises:
        LabelFontError: none is there (or the one named does not exist).
    """
    named = os.environ.get(FONT_ENV)
    if named:
        if Path(named).is_file():
            return Path(named)
        raise LabelFontError(f"{FONT_ENV}={named}: no such font file")
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    for pattern in _FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return Path(found[0])
    raise LabelFontError(
        "no CJK TrueType font for printable labels: install the Debian package "
        f"fonts-wqy-microhei, or set {FONT_ENV} to a .ttf/.ttc file"
    )


@cache
def _font() -> str:
    """Registers the label font with ReportLab once; its name."""
    path = label_font_path()
    try:
        pdfmetrics.registerFont(TTFont(_FONT_NAME, str(path), subfontIndex=0))
    except TTFError as err:
        raise LabelFontError(f"{path} cannot be embedded in a PDF: {err}") from None
    return _FONT_NAME


@cache
def _pil_font(pixels: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(label_font_path()), pixels, index=0)


def _width(text: str, size: float) -> float:
    """Width of ``text`` in millimetres at an em of ``size`` millimetres."""
    return float(pdfmetrics.stringWidth(text, _font(), size))


# --- layout -------------------------------------------------------------------------------------


def parse_size(size: str | None) -> tuple[float, float]:
    """Width and height (mm) of a size name such as ``60x40``.

    Raises:
        ValueError: not one of :data:`LABEL_SIZES`.
    """
    chosen = DEFAULT_SIZE if size is None else size.strip().lower().replace("×", "x")
    if chosen not in LABEL_SIZES:
        raise ValueError(f"size must be one of {', '.join(LABEL_SIZES)}")
    return LABEL_SIZES[chosen]


def _layout(label: CertificateLabel, width: float, height: float) -> _Layout:
    margin = max(1.2, height * 0.035)
    title_size = height * 0.075
    texts = [_Text(width / 2, margin + title_size * 0.9, "承诺达标合格证", title_size, True, True)]
    rule = margin + title_size * 1.3
    boxes = [
        _Box(0.6, 0.6, width - 1.2, height - 1.2, max(0.25, height * 0.006), height * 0.02),
        _Box(margin, rule, width - 2 * margin, 0, max(0.2, height * 0.004)),
    ]
    top = rule + height * 0.025
    side = min(width * 0.34, (height - top - margin) * 0.62)
    qr_x = width - margin - side
    code_size = min(height * 0.04, side / max(_width(label.code, 1.0), 1.0))
    code_line = top + side + code_size * 1.1
    texts.append(_Text(qr_x + side / 2, code_line, label.code, code_size, True, True))
    seal_top = code_line + code_size * 0.6
    seal_size = min(height * 0.03, code_size)
    boxes.append(
        _Box(qr_x, seal_top, side, height - margin - seal_top, max(0.15, height * 0.003), 0.8)
    )
    texts.append(_Text(qr_x + side * 0.06, seal_top + seal_size * 1.3, SEAL_TEXT, seal_size))
    gap = width * 0.025
    texts += _fit_text(label, margin, top, qr_x - gap - margin, height - margin - top, height)
    stamp = None if label.stamp is None else _Stamp(label.stamp, _stamp_size(label.stamp, width))
    return _Layout(width, height, texts, boxes, _Qr(qr_x, top, side, _qr_for(label, side)), stamp)


def _qr_for(label: CertificateLabel, side: float) -> list[list[bool]]:
    """The QR of the label's URL; on a label too small for the modules of a signed URL (the
    ``cq`` parameter makes it about 330 characters), the QR of the plain scan URL."""
    modules = _qr(label.scan_url)
    if side / len(modules) >= MIN_MODULE_MM:
        return modules
    return _qr(plain_scan_url(label.scan_url))


def plain_scan_url(url: str) -> str:
    """``url`` without its signed QR value (``suyuan.qrsign``)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != QR_PARAMETER]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _fit_text(
    label: CertificateLabel, left: float, top: float, width: float, room: float, height: float
) -> list[_Text]:
    """The fields and the commitment at the largest size that fits ``room``; at the smallest
    size, what does not fit ends in …"""
    largest, smallest = height * 0.045, 0.9
    size = largest
    while True:
        lines = _text_lines(label, width, size)
        if len(lines) * size * _LEADING <= room or size <= smallest:
            break
        size = max(smallest, size * 0.94)
    fitting = int(room // (size * _LEADING))
    if len(lines) > fitting:
        lines = lines[:fitting]
        last = lines[-1]
        lines[-1] = (last[0], last[1].rstrip("，。；") + "…", last[2], last[3])
    texts: list[_Text] = []
    for index, (indent, line, bold, prefix) in enumerate(lines):
        baseline = top + size * (index * _LEADING + 1.0)
        texts.append(_Text(left + indent, baseline, line, size, bold))
        if prefix:
            texts.append(_Text(left, baseline, prefix, size, True))
    return texts


_LEADING = 1.32


def _text_lines(
    label: CertificateLabel, width: float, size: float
) -> list[tuple[float, str, bool, str]]:
    """Lines as (indent, text, bold, field name printed before it)."""
    lines: list[tuple[float, str, bool, str]] = []
    for name, value in field_rows(label):
        prefix = f"{name}："
        indent = _width(prefix, size)
        for number, line in enumerate(_wrap(value, width - indent, size) or [""]):
            lines.append((indent, line, False, prefix if number == 0 else ""))
    lines.append((0.0, "承诺声明：", True, ""))
    for paragraph in (label.commitment, CLOSING_PROMISE):
        lines += [(0.0, line, False, "") for line in _wrap(paragraph, width, size)]
    return lines


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for char in " ".join(text.split()):
        if current and _width(current + char, size) > width:
            lines.append(current.rstrip())
            current = char.lstrip()
            continue
        current += char
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _qr(url: str) -> list[list[bool]]:
    """The QR matrix of ``url`` with a 2-module quiet zone (error correction M)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(url)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def _stamp_size(text: str, width: float) -> float:
    size = width * 0.09
    while size > width * 0.04 and _width(text, size) > width * 0.8:
        size *= 0.95
    return size


# --- PDF ----------------------------------------------------------------------------------------


def label_pdf(label: CertificateLabel, size: str | None = None, copies: int = 1) -> bytes:
    """The label as a PDF of ``copies`` pages (one label each), the font embedded.

    Raises:
        ValueError: an unknown size, or copies outside 1..MAX_COPIES.
        LabelFontError: no CJK font to draw with.
    """
    width, height = parse_size(size)
    if not 1 <= copies <= MAX_COPIES:
        raise ValueError(f"copies must be between 1 and {MAX_COPIES}")
    layout = _layout(label, width, height)
    out = io.BytesIO()
    canvas = Canvas(
        out,
        pagesize=(width * _PT_PER_MM, height * _PT_PER_MM),
        invariant=True,
        initialFontName=_font(),  # else every page names Helvetica, a font not embedded
    )
    canvas.setTitle(f"承诺达标合格证 {label.code}")
    canvas.setAuthor(label.issuer_name)
    # Drawn once as a form every page shows: N copies cost one label's drawing, not N (the
    # route is public, and 500 copies drawn one by one took seconds).
    canvas.beginForm("label")
    _draw_pdf(canvas, layout)
    canvas.endForm()
    for _ in range(copies):
        canvas.doForm("label")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw_pdf(canvas: Canvas, layout: _Layout) -> None:
    canvas.scale(_PT_PER_MM, _PT_PER_MM)
    canvas.translate(0, layout.height)
    canvas.scale(1, -1)  # millimetres from the top left, as the layout has them
    for box in layout.boxes:
        canvas.setStrokeColor(box.colour)
        canvas.setLineWidth(box.line)
        if box.height == 0:
            canvas.line(box.x, box.y, box.x + box.width, box.y)
        else:
            canvas.roundRect(box.x, box.y, box.width, box.height, box.radius, stroke=1, fill=0)
    qr = layout.qr
    module = qr.side / len(qr.modules)
    canvas.setFillColor("#000000")
    for row_index, row in enumerate(qr.modules):
        start = None
        for column, dark in enumerate([*row, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                y = qr.y + row_index * module
                width = (column - start) * module
                canvas.rect(qr.x + start * module, y, width, module, stroke=0, fill=1)
                start = None
    for text in layout.texts:
        _pdf_text(canvas, text)
    if layout.stamp is not None:
        canvas.saveState()
        canvas.translate(layout.width / 2, layout.height / 2)
        canvas.rotate(-18)
        canvas.setStrokeColor(_RED)
        stamp = layout.stamp
        half = _width(stamp.text, stamp.size) / 2 + stamp.size * 0.5
        canvas.setLineWidth(stamp.size * 0.12)
        canvas.roundRect(-half, -stamp.size, 2 * half, stamp.size * 1.8, stamp.size * 0.25)
        _pdf_text(canvas, _Text(0, stamp.size * 0.35, stamp.text, stamp.size, True, True, _RED))
        canvas.restoreState()


def _pdf_text(canvas: Canvas, text: _Text) -> None:
    canvas.saveState()
    x = text.x - (_width(text.text, text.size) / 2 if text.centre else 0)
    canvas.translate(x, text.y)
    canvas.scale(1, -1)  # text stands upright in the flipped page
    canvas.setFillColor(text.colour)
    canvas.setStrokeColor(text.colour)
    drawn = canvas.beginText(0, 0)
    drawn.setFont(_font(), text.size)
    if text.bold:  # the font has no bold face: fill and stroke the outline
        canvas.setLineWidth(text.size * 0.035)
        drawn.setTextRenderMode(2)
    drawn.textOut(text.text)
    canvas.drawText(drawn)
    canvas.restoreState()


# --- PNG ----------------------------------------------------------------------------------------


def label_png(label: CertificateLabel, size: str | None = None, dpi: int = DEFAULT_DPI) -> bytes:
    """The label as a PNG at ``dpi`` dots per inch (its physical size recorded in the file).

    Raises:
        ValueError: an unknown size or a resolution not in :data:`PNG_DPI`.
        LabelFontError: no CJK font to draw with.
    """
    width, height = parse_size(size)
    if dpi not in PNG_DPI:
        raise ValueError(f"dpi must be one of {', '.join(str(d) for d in PNG_DPI)}")
    with _PNG_LOCK:
        return _draw_png(_layout(label, width, height), width, height, dpi)


def _draw_png(layout: _Layout, width: float, height: float, dpi: int) -> bytes:
    scale = dpi / 25.4
    image = Image.new("RGB", (round(width * scale), round(height * scale)), "white")
    draw = ImageDraw.Draw(image)
    for box in layout.boxes:
        line = max(1, round(box.line * scale))
        if box.height == 0:
            y = box.y * scale
            draw.line([(box.x * scale, y), ((box.x + box.width) * scale, y)], box.colour, line)
        else:
            corners = [box.x * scale, box.y * scale, (box.x + box.width) * scale]
            corners.append((box.y + box.height) * scale)
            draw.rounded_rectangle(corners, box.radius * scale, outline=box.colour, width=line)
    _png_qr(draw, layout.qr, scale)
    for text in layout.texts:
        _png_text(draw, text, scale)
    if layout.stamp is not None:
        image = _png_stamp(image, layout.stamp, scale)
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def _png_qr(draw: ImageDraw.ImageDraw, qr: _Qr, scale: float) -> None:
    # Whole pixels per module, so every module is as wide as the next.
    count = len(qr.modules)
    module = max(1, int(qr.side * scale // count))
    left = round(qr.x * scale + (qr.side * scale - module * count) / 2)
    top = round(qr.y * scale)
    for row_index, row in enumerate(qr.modules):
        for column, dark in enumerate(row):
            if dark:
                x, y = left + column * module, top + row_index * module
                draw.rectangle([x, y, x + module - 1, y + module - 1], fill="black")


def _png_text(draw: ImageDraw.ImageDraw, text: _Text, scale: float) -> None:
    font = _pil_font(max(6, round(text.size * scale)))
    x = text.x * scale - (font.getlength(text.text) / 2 if text.centre else 0)
    stroke = max(1, round(text.size * scale * 0.035)) if text.bold else 0
    draw.text(
        (x, text.y * scale),
        text.text,
        font=font,
        fill=text.colour,
        anchor="ls",
        stroke_width=stroke,
        stroke_fill=text.colour,
    )


def _png_stamp(image: Image.Image, stamp: _Stamp, scale: float) -> Image.Image:
    font = _pil_font(max(6, round(stamp.size * scale)))
    width = font.getlength(stamp.text) + stamp.size * scale
    height = stamp.size * scale * 1.8
    layer = Image.new("RGBA", (round(width) + 8, round(height) + 8), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    line = max(1, round(stamp.size * scale * 0.12))
    draw.rounded_rectangle(
        [4, 4, 4 + width, 4 + height], stamp.size * scale * 0.25, outline=_RED, width=line
    )
    draw.text((4 + width / 2, 4 + height / 2), stamp.text, font=font, fill=_RED, anchor="mm")
    turned = layer.rotate(18, expand=True, resample=Image.Resampling.BICUBIC)
    base = image.convert("RGBA")
    at = ((base.width - turned.width) // 2, (base.height - turned.height) // 2)
    base.alpha_composite(turned, at)
    return base.convert("RGB")
