"""The printable 承诺达标合格证 label: the certificate's fields beside the QR code of its scan URL.

Design §3 (a 合格证 QR holds ``{PUBLIC_BASE_URL}/c/{code}``) and §4 (the certificate's fields);
served as ``GET /c/{code}/label.svg`` (``docs/scan-page.md``). The label is an SVG document:
it prints sharp at any size, needs no imaging library, and 100 × 70 mm matches the common
合格证 sticker. The QR matrix comes from the ``qrcode`` package; every text goes through
:mod:`xml.etree.ElementTree`, so nothing in a certificate can break out of its text node.

The Chinese names of the certificate vocabularies live here too, so the label and the scan page
speak the same words.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import qrcode
import qrcode.constants
import qrcode.image.svg

from suyuan.codes import CodeKind
from suyuan.errors import CodeError
from suyuan.qrsign import claim_of, sign_qr, signed_url
from suyuan.signing import SigningKey
from suyuan.trace import Trace, TracedEvent
from suyuan.verdict import BLOCKED, EXPIRED, FROZEN, RECALLED

#: 产品类别 (``payload.category``).
CATEGORY_NAMES_ZH = {
    "VEGETABLES": "蔬菜",
    "FRUIT": "水果",
    "TEA": "茶叶",
    "LIVESTOCK": "家畜",
    "POULTRY": "家禽",
    "EGGS": "禽蛋",
    "AQUATIC": "水产品",
}
#: 承诺依据 (``payload.basis``).
BASIS_NAMES_ZH = {
    "QUALITY_CONTROL": "质量安全控制符合要求",
    "SELF_TESTED": "自行检测合格",
    "COMMISSIONED_TESTED": "委托检测合格",
}
#: 开具主体 (``payload.issuer_type``).
ISSUER_TYPE_NAMES_ZH = {"PRODUCER": "生产者", "PURCHASER": "收购者"}

FONT_FAMILY = (
    "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','PingFang SC',"
    "'Microsoft YaHei',sans-serif"
)
# Drawing units: 10 per millimetre, on a label 100 mm wide.
_WIDTH = 1000
_MARGIN = 40
_QR_SIZE = 270
_QR_LEFT = _WIDTH - _MARGIN - _QR_SIZE
_TEXT_RIGHT = _QR_LEFT - 30
_FIELD_SIZE = 30
_SMALL_SIZE = 24
_LINE_GAP = 1.45
_MIN_HEIGHT = 700
#: The sentence every printed 合格证 ends its commitment with.
CLOSING_PROMISE = "我承诺对产品质量安全以及合格证真实性负责。"


@dataclass(frozen=True, slots=True)
class CertificateLabel:
    """What a printed 合格证 shows, in display text."""

    code: str
    scan_url: str
    product_name: str
    category: str
    quantity: str
    origin: str
    issuer_type: str
    issuer_name: str
    issue_date: str
    commitment: str
    basis: str
    contact: str | None = None
    void_reason: str | None = None
    """Set when the certificate was voided: the label is then stamped 已作废."""
    stamp: str | None = None
    """Across the label when the goods must not be sold (已召回, 冻结 …) or it was voided."""


def certificate_label(
    trace: Trace,
    scan_url: str,
    *,
    include_contact: bool = False,
    void_reason: str | None = None,
    qr_key: Callable[[str], SigningKey | None] | None = None,
) -> CertificateLabel | None:
    """The label of the certificate ``trace`` was made for; ``None`` if the ledger has no
    certificate issued under that code.

    ``include_contact`` prints the issuer's telephone (on the paper certificate it is printed;
    a public caller leaves it out). ``void_reason`` stamps the label as voided. ``qr_key``
    gives the issuer's signing key, when this service holds it: the QR's URL then carries the
    certificate's essential fields signed with it (:mod:`suyuan.qrsign`), checkable offline.

    Raises:
        CodeError: the traced code is not a 合格证 certificate code (field ``code``).
    """
    if trace.kind != CodeKind.CERTIFICATE.value:
        raise CodeError("code", trace.code, "only 合格证 certificate codes have a printable label")
    issued = _issued_under(trace.certificates, trace.code)
    if issued is None:
        return None
    payload = issued.event.payload
    quantity = issued.event.quantity
    key = None if qr_key is None else qr_key(issued.event.actor)
    if key is not None:
        event = issued.event
        claim = claim_of(trace.code, payload, event.actor, quantity, event.unit, key.key_id)
        scan_url = signed_url(scan_url, sign_qr(claim, key))
    return CertificateLabel(
        code=trace.code,
        scan_url=scan_url,
        product_name=str(payload.get("product_name", "")),
        category=_name(CATEGORY_NAMES_ZH, payload.get("category")),
        quantity=_quantity_text(quantity, issued.event.unit),
        origin=str(payload.get("origin", "")),
        issuer_type=_name(ISSUER_TYPE_NAMES_ZH, payload.get("issuer_type")),
        issuer_name=issued.actor_name or issued.event.actor,
        issue_date=str(payload.get("issue_date", "")),
        commitment=str(payload.get("commitment", "")),
        basis=_name(BASIS_NAMES_ZH, payload.get("basis")),
        contact=str(payload["contact"]) if include_contact and payload.get("contact") else None,
        void_reason=void_reason,
        stamp=_stamp(trace, void_reason),
    )


#: The stamp across a label whose goods are not to be sold, by verdict state.
STAMPS = {
    RECALLED: "已召回 RECALLED",
    FROZEN: "冻结 FROZEN",
    BLOCKED: "禁用 BLOCKED",
    EXPIRED: "过期 EXPIRED",
}


def _stamp(trace: Trace, void_reason: str | None) -> str | None:
    """The label tells what the scan would: a voided certificate is stamped 已作废, one whose
    goods are recalled, frozen, blocked or expired carries the verdict (suyuan.verdict)."""
    if void_reason is not None:
        return "已作废 VOID"
    return STAMPS.get(trace.verdict.state)


def label_svg(label: CertificateLabel) -> str:
    """The label as a standalone SVG document (UTF-8 text), 100 mm wide."""
    root = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "version": "1.1"})
    body = _add(root, "g", {"font-family": FONT_FAMILY, "fill": "#111"})
    _text(body, _WIDTH / 2, 88, "承诺达标合格证", size=60, weight="bold", anchor="middle")
    _line(body, 126)
    y = _fields(body, label, top=180)
    y = _commitment(body, label.commitment, top=y + 12)
    qr_bottom = _qr(body, label.scan_url, top=160)
    middle = _QR_LEFT + _QR_SIZE / 2
    _text(
        body,
        middle,
        qr_bottom + 40,
        label.code,
        size=30,
        anchor="middle",
        weight="bold",
        family="'DejaVu Sans Mono',monospace",
    )
    _text(body, middle, qr_bottom + 76, "扫码查看追溯信息", size=_SMALL_SIZE, anchor="middle")
    height = max(_MIN_HEIGHT, int(max(y, qr_bottom + 76) + _MARGIN))
    if label.stamp is not None:
        _stamp_across(root, height, label.stamp)
    _add(
        root,
        "rect",
        {
            "x": "6",
            "y": "6",
            "width": str(_WIDTH - 12),
            "height": str(height - 12),
            "rx": "18",
            "fill": "none",
            "stroke": "#111",
            "stroke-width": "4",
        },
    )
    root.set("viewBox", f"0 0 {_WIDTH} {height}")
    root.set("width", f"{_WIDTH / 10:g}mm")
    root.set("height", f"{height / 10:g}mm")
    root.insert(0, _title(label))
    return ET.tostring(root, encoding="unicode") + "\n"


# --- reading the trace --------------------------------------------------------------------------


def _issued_under(certificates: list[TracedEvent], code: str) -> TracedEvent | None:
    return next((t for t in certificates if code in t.event.codes), None)


def _name(names: dict[str, str], value: Any) -> str:
    text = "" if value is None else str(value)
    return names.get(text, text)


def _quantity_text(quantity: Decimal | None, unit: str | None) -> str:
    if quantity is None:
        return ""
    amount = format(quantity.normalize(), "f")
    return f"{amount} {unit}" if unit else amount


# --- drawing ------------------------------------------------------------------------------------


def _title(label: CertificateLabel) -> ET.Element:
    title = ET.Element("title")
    title.text = f"承诺达标合格证 {label.code} {label.product_name}"
    return title


def field_rows(label: CertificateLabel) -> list[tuple[str, str]]:
    """The label's fields as (name, value), in the printed order; 联系方式 only when present."""
    rows = [
        ("产品名称", f"{label.product_name}（{label.category}）" if label.category else ""),
        ("数量（重量）", label.quantity),
        ("产地", label.origin),
        (label.issuer_type or "开具主体", label.issuer_name),
        ("联系方式", label.contact),
        ("开具日期", label.issue_date),
        ("承诺依据", label.basis),
    ]
    return [(name, value) for name, value in rows if value is not None]


def _fields(parent: ET.Element, label: CertificateLabel, *, top: float) -> float:
    y = top
    for name, value in field_rows(label):
        y = _field(parent, name, value, y)
    return y


def _field(parent: ET.Element, name: str, value: str, y: float) -> float:
    prefix = f"{name}："
    indent = _text_width(prefix, _FIELD_SIZE)
    _text(parent, _MARGIN, y, prefix, size=_FIELD_SIZE, weight="bold")
    lines = _wrap(value, _TEXT_RIGHT - _MARGIN - indent, _FIELD_SIZE) or [""]
    for line in lines:
        _text(parent, _MARGIN + indent, y, line, size=_FIELD_SIZE)
        y += _FIELD_SIZE * _LINE_GAP
    return y


def _commitment(parent: ET.Element, commitment: str, *, top: float) -> float:
    y = top
    _text(parent, _MARGIN, y, "承诺声明：", size=_SMALL_SIZE, weight="bold")
    y += _SMALL_SIZE * _LINE_GAP
    for line in _wrap(commitment, _TEXT_RIGHT - _MARGIN, _SMALL_SIZE):
        _text(parent, _MARGIN, y, line, size=_SMALL_SIZE)
        y += _SMALL_SIZE * _LINE_GAP
    for line in _wrap(CLOSING_PROMISE, _TEXT_RIGHT - _MARGIN, _SMALL_SIZE):
        _text(parent, _MARGIN, y, line, size=_SMALL_SIZE)
        y += _SMALL_SIZE * _LINE_GAP
    return y


def _qr(parent: ET.Element, url: str, *, top: float) -> float:
    """Draws the QR code of ``url`` (error correction M, 2-module quiet zone); returns its
    bottom edge."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
        box_size=10,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image()
    modules = float(image.units(image.pixel_size, text=False))
    scale = _QR_SIZE / modules
    group = _add(parent, "g", {"transform": f"translate({_QR_LEFT} {top}) scale({scale:.6f})"})
    _add(group, "rect", {"width": f"{modules:g}", "height": f"{modules:g}", "fill": "#fff"})
    _add(group, "path", {"d": str(image.path.get("d")), "fill": "#000"})
    return top + _QR_SIZE


def _stamp_across(root: ET.Element, height: int, words: str) -> None:
    middle_x, middle_y = _WIDTH / 2, height / 2
    size = 84
    while size > 40 and _text_width(words, size) > _WIDTH - 200:
        size -= 4
    half = max(290.0, _text_width(words, size) / 2 + 50)
    stamp = _add(
        root,
        "g",
        {
            "transform": f"rotate(-18 {middle_x} {middle_y})",
            "opacity": "0.85",
            "font-family": FONT_FAMILY,
        },
    )
    _add(
        stamp,
        "rect",
        {
            "x": f"{middle_x - half:g}",
            "y": f"{middle_y - 80:g}",
            "width": f"{2 * half:g}",
            "height": "160",
            "rx": "20",
            "fill": "none",
            "stroke": "#c62828",
            "stroke-width": "12",
        },
    )
    _text(
        stamp,
        middle_x,
        middle_y + 30,
        words,
        size=size,
        weight="bold",
        anchor="middle",
        fill="#c62828",
    )


def _line(parent: ET.Element, y: float) -> None:
    _add(
        parent,
        "line",
        {
            "x1": str(_MARGIN),
            "y1": f"{y:g}",
            "x2": str(_WIDTH - _MARGIN),
            "y2": f"{y:g}",
            "stroke": "#111",
            "stroke-width": "3",
        },
    )


def _add(parent: ET.Element, tag: str, attributes: dict[str, str]) -> ET.Element:
    return ET.SubElement(parent, tag, attributes)


def _text(
    parent: ET.Element,
    x: float,
    y: float,
    content: str,
    *,
    size: int,
    weight: str | None = None,
    anchor: str | None = None,
    family: str | None = None,
    fill: str | None = None,
) -> None:
    attributes = {"x": f"{x:g}", "y": f"{y:g}", "font-size": str(size)}
    optional = {"font-weight": weight, "text-anchor": anchor, "font-family": family, "fill": fill}
    attributes.update({k: v for k, v in optional.items() if v is not None})
    element = _add(parent, "text", attributes)
    element.text = content


def _char_width(char: str, size: int) -> float:
    # Wide (CJK) characters take a full em; Latin letters and digits about half of one.
    return size * (1.0 if unicodedata.east_asian_width(char) in "WF" else 0.58)


def _text_width(text: str, size: int) -> float:
    return sum(_char_width(c, size) for c in text)


def _wrap(text: str, width: float, size: int) -> list[str]:
    """Breaks ``text`` into lines no wider than ``width`` (SVG text does not wrap itself)."""
    lines: list[str] = []
    current, used = "", 0.0
    for char in " ".join(text.split()):
        advance = _char_width(char, size)
        if current and used + advance > width:
            lines.append(current.rstrip())
            current, used = char.lstrip(), advance if char.strip() else 0.0
            continue
        current += char
        used += advance
    if current.strip():
        lines.append(current.rstrip())
    return lines
