"""``parse_trace_code``: any spelling of a trace code to its canonical value (design.md §3)."""

from __future__ import annotations

from functools import lru_cache

from suyuan.codes._certificate import CERTIFICATE_CODE_LENGTH, is_canonical_certificate_code
from suyuan.codes._code_text import parse_code_text
from suyuan.codes._drug import DRUG_CODE_LENGTH
from suyuan.codes._gs1 import is_plainly_canonical
from suyuan.codes._model import CodeKind, TraceCode
from suyuan.codes._scan_url import code_from_scan_url
from suyuan.codes._text import clean_input, require_text
from suyuan.errors import CodeError

_URL_STARTS = ("http://", "https://")
# ISO/IEC 15424 symbology identifiers are "]" plus two characters; scanners set to send them put
# one in front of the URL read from a plain QR code (e.g. "]Q1https://…").
_SYMBOLOGY_IDENTIFIER_LENGTH = 3
# The same codes recur in many events (every hop of a batch) and scans, and reading a GS1 code
# with biip costs ~70 µs: remember recent results. Only successes are cached.
_CACHE_SIZE = 16_384
_CACHE_FIELD = "code"


def parse_trace_code(text: str, *, field: str = "code") -> TraceCode:
    """Parse any accepted spelling of a trace code into its kind and canonical value.

    Accepted: certificate codes, GS1 element strings / text / Digital Link URIs, drug trace codes,
    each optionally after a kind prefix (``cert:``, ``gs1:``, ``drug:``), and our scan URLs.
    ``parse_trace_code(str(code)) == code`` for every parsed ``code``.

    Raises:
        CodeError: naming ``field`` and the rule broken: empty, longer than 512 characters,
            control characters other than GS, an unrecognised shape (the rule lists the accepted
            forms), or a rule of the code's kind (length, alphabet, check character/digit).
    """
    try:
        return _parse_cached(require_text(text, field))
    except CodeError as exc:
        if field == _CACHE_FIELD:
            raise
        raise CodeError(field, exc.value, exc.rule) from None


def clear_code_cache() -> None:
    """Forget remembered parses (benchmarks use it so every run parses fresh codes)."""
    _parse_cached.cache_clear()


def canonical_kind(text: str) -> CodeKind | None:
    """The kind of ``text`` if it is a valid trace code already in canonical form, told without
    the general parser; then ``parse_trace_code(text) == TraceCode(kind, text)``.

    ``None`` decides nothing: the general parser must read ``text`` (it may still be canonical,
    e.g. a GS1 lot holding characters other than letters, digits and ``./-``). Events carry
    canonical codes only, so on the write path nearly every new code ends here (about half the
    time of the general parser's own shortcut for canonical GS1 text, and a third of a
    certificate code's full parse).
    """
    if text.startswith("("):
        return CodeKind.GS1 if is_plainly_canonical(text) else None
    if not text.isascii():
        return None
    if len(text) == DRUG_CODE_LENGTH and text.isdigit():
        return CodeKind.DRUG
    if len(text) == CERTIFICATE_CODE_LENGTH and is_canonical_certificate_code(text):
        return CodeKind.CERTIFICATE
    return None


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(text: str) -> TraceCode:
    kind = canonical_kind(text)
    if kind is not None:
        return TraceCode(kind, text)
    return parse_general(text)


def parse_general(text: str) -> TraceCode:
    """:func:`parse_trace_code` without the cache and the canonical fast path (the fast path
    is tested against it).

    Raises:
        CodeError: as :func:`parse_trace_code`, naming the field ``code``.
    """
    cleaned = clean_input(text, _CACHE_FIELD)
    url = _url_in(cleaned)
    if url is not None:
        return code_from_scan_url(url, field=_CACHE_FIELD)
    return parse_code_text(cleaned, _CACHE_FIELD)


def _url_in(text: str) -> str | None:
    if text.lower().startswith(_URL_STARTS):
        return text
    after_identifier = text[_SYMBOLOGY_IDENTIFIER_LENGTH:]
    if text.startswith("]") and after_identifier.lower().startswith(_URL_STARTS):
        return after_identifier
    return None
