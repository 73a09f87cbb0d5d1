"""Scan URLs: what a printed QR code holds (design.md §3, §8 ``GET /c/{code}``).

A GS1 code's scan URL is its GS1 Digital Link on our host,
``{PUBLIC_BASE_URL}/01/{GTIN}/10/{lot}/21/{serial}`` or ``/00/{SSCC}`` (``_digital_link``), so
that GS1 scanners and resolvers read it too. Other codes (合格证, 药品追溯码) have no Digital Link
form: theirs is ``{PUBLIC_BASE_URL}/c/{code}`` with the canonical code percent-encoded as one
path segment. Reading a URL back accepts ``/c/`` URLs under any base (GS1 ones too: they were
printed before Digital Links) and GS1 Digital Link URIs on any domain, so a phone scan of either
kind of QR code leads to the same trace code.
"""

from __future__ import annotations

from urllib.parse import SplitResult, quote, unquote, urlsplit

from suyuan.codes._code_text import parse_code_text
from suyuan.codes._digital_link import digital_link_uri
from suyuan.codes._gs1 import parse_gs1_digital_link
from suyuan.codes._model import CodeKind, TraceCode
from suyuan.codes._text import clean_input
from suyuan.errors import CodeError

#: Path segment in front of the code in a scan URL.
SCAN_SEGMENT = "c"
#: Longest URL accepted (longer than a code: Digital Link URIs may carry attributes).
MAX_URL_LENGTH = 2048

_NOT_A_SCAN_URL = (
    "not a scan URL ({base}/c/{code}) nor a GS1 Digital Link URI "
    "(https://{domain}/01/{GTIN}/10/{lot}/21/{serial})"
)


def scan_url(base_url: str, code: TraceCode | str) -> str:
    """The URL a QR code for ``code`` holds: a GS1 code's Digital Link on ``base_url``, or
    ``{base_url}/c/{canonical code, percent-encoded}`` for the other kinds.

    Raises:
        CodeError: ``code`` is a string that is not a valid trace code.
    """
    parsed = code if isinstance(code, TraceCode) else parse_code_text(code, "code")
    if parsed.kind is CodeKind.GS1:
        return digital_link_uri(base_url, parsed)
    return legacy_scan_url(base_url, parsed)


def legacy_scan_url(base_url: str, code: TraceCode) -> str:
    """``{base_url}/c/{canonical code, percent-encoded}``: the scan page's own address for any
    code (what GS1 QR codes held before Digital Links; still served)."""
    return f"{base_url.rstrip('/')}/{SCAN_SEGMENT}/{quote(code.value, safe='()')}"


def code_from_scan_url(url: str, *, field: str = "url") -> TraceCode:
    """The trace code in a scan URL (any base) or a GS1 Digital Link URI (any domain).

    Raises:
        CodeError: naming ``field`` and ``url``: not an http(s) URL or absolute path, neither a
            scan URL nor a Digital Link URI, or the code it holds breaks a rule of its kind.
    """
    cleaned = clean_input(url, field, max_length=MAX_URL_LENGTH)
    parts = _split(cleaned, url, field)
    segments = parts.path.rstrip("/").split("/")
    if len(segments) >= 2 and segments[-2].lower() == SCAN_SEGMENT:
        try:
            return parse_code_text(unquote(segments[-1]), field)
        except CodeError as exc:
            raise CodeError(field, url, exc.rule) from exc
    # A Digital Link given as a path (``/01/…``, what our host serves) is read as if on any host.
    absolute = cleaned if parts.scheme else f"https://localhost{cleaned}"
    try:
        canonical = parse_gs1_digital_link(absolute, field, failure=_NOT_A_SCAN_URL)
    except CodeError as exc:
        raise CodeError(field, url, exc.rule) from exc  # the URL as given, not as completed
    return TraceCode(CodeKind.GS1, canonical)


def _split(cleaned: str, url: str, field: str) -> SplitResult:
    try:
        parts = urlsplit(cleaned)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        raise CodeError(field, url, f"not a valid URL: {exc}") from exc
    is_web_url = parts.scheme in ("http", "https") and bool(parts.netloc)
    is_absolute_path = not parts.scheme and not parts.netloc and parts.path.startswith("/")
    if not (is_web_url or is_absolute_path):
        raise CodeError(field, url, "must be an http(s) URL or an absolute path such as /c/{code}")
    return parts
