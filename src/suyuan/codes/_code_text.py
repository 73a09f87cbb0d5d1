"""Tell a trace code's kind from its text and parse it (design.md §3).

Kinds are told apart by an optional prefix (``cert:``, ``gs1:``, ``drug:``) or else by shape:

* starts with ``]`` (symbology identifier) or ``(`` (GS1 text), holds a GS separator, or is an
  ``http(s)://`` URL (GS1 Digital Link) → GS1;
* 20 digits once spaces and hyphens are removed → drug trace code;
* 12 letters and digits once spaces and hyphens are removed → certificate code.

Our own scan URLs (``…/c/{code}``) are read by :mod:`suyuan.codes._scan_url`.
"""

from __future__ import annotations

from collections.abc import Callable

from suyuan.codes._certificate import CERTIFICATE_CODE_LENGTH, parse_certificate_code
from suyuan.codes._drug import DRUG_CODE_LENGTH, parse_drug_code
from suyuan.codes._gs1 import parse_gs1
from suyuan.codes._model import CodeKind, TraceCode
from suyuan.codes._text import GROUP_SEPARATOR, clean_input, compact
from suyuan.errors import CodeError

_PARSERS: dict[CodeKind, Callable[[str, str], str]] = {
    CodeKind.CERTIFICATE: parse_certificate_code,
    CodeKind.GS1: parse_gs1,
    CodeKind.DRUG: parse_drug_code,
}

_GS1_STARTS = ("]", "(", "http://", "https://")

UNRECOGNISED_RULE = (
    "not a recognised trace code; accepted forms: a 12-character certificate code "
    "(e.g. 0K3Q-8ZJ5-W2HG); GS1 text (01){GTIN}(10){lot}(21){serial} or (00){SSCC}; "
    "a GS1 element string with a symbology identifier (]d2, ]Q3, ]C1) or GS separators; "
    "a GS1 Digital Link URI; a 20-digit drug trace code; "
    "or any code after a kind prefix cert:, gs1: or drug:"
)


def parse_code_text(text: str, field: str) -> TraceCode:
    """Parse a trace code given as text (not one of our scan URLs).

    Raises:
        CodeError: naming ``field``: the text is empty, too long, holds control characters, has
            no recognisable shape (the rule lists the accepted forms), or breaks a rule of its kind.
    """
    cleaned = clean_input(text, field)
    kind, body = _split_prefix(cleaned)
    if kind is None:
        kind = _kind_by_shape(cleaned)
        if kind is None:
            raise CodeError(field, text, UNRECOGNISED_RULE)
    return TraceCode(kind, _PARSERS[kind](body, field))


def _split_prefix(text: str) -> tuple[CodeKind | None, str]:
    head, colon, rest = text.partition(":")
    if colon:
        for kind in CodeKind:
            if head.lower() == kind.value:
                return kind, rest
    return None, text


def _kind_by_shape(text: str) -> CodeKind | None:
    if text.lower().startswith(_GS1_STARTS) or GROUP_SEPARATOR in text:
        return CodeKind.GS1
    compacted = compact(text)
    if not (compacted.isascii() and compacted.isalnum()):
        return None
    if len(compacted) == DRUG_CODE_LENGTH and compacted.isdigit():
        return CodeKind.DRUG
    if len(compacted) == CERTIFICATE_CODE_LENGTH:
        return CodeKind.CERTIFICATE
    return None
