"""GS1 identifiers: SSCC (00), GTIN (01) + lot (10) + serial (21) (design.md §3).

All GS1 parsing is done by the ``biip`` library, which also checks GTIN and SSCC check digits.
Accepted inputs:

* element strings with a symbology identifier (``]d2`` DataMatrix, ``]Q3`` QR, ``]C1`` GS1-128,
  ``]e0`` DataBar, ``]E0`` EAN-13 …) and GS separators (``\\x1d``);
* bare element strings and bare GTINs/SSCCs (only reached through the ``gs1:`` prefix or when the
  text holds a GS separator, since bare digits would be ambiguous with other code kinds);
* human-readable text ``(01)09506000134352(10)ABC(21)123``;
* GS1 Digital Link URIs on any domain, e.g. ``https://id.gs1.org/01/09506000134352/10/ABC``.

The canonical form is the human-readable text of the identifying AIs only: ``(00)`` SSCC alone, or
``(01)`` GTIN-14 followed by ``(10)`` lot and ``(21)`` serial when present. Dates, weights and other
attributes are not part of an item's identity and are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import biip
from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gs1_messages import GS1Message

from suyuan.codes._text import clean_input
from suyuan.errors import CodeError

SSCC_AI = "00"
GTIN_AI = "01"
LOT_AI = "10"
SERIAL_AI = "21"
_IDENTIFYING_AIS = (SSCC_AI, GTIN_AI, LOT_AI, SERIAL_AI)
_QUALIFIER_NAMES = {LOT_AI: "batch/lot", SERIAL_AI: "serial number"}

# biip signals most bad input with ParseError, but some malformed input (a lone "]", a bad
# separator configuration) escapes as IndexError or ValueError.
_BIIP_ERRORS = (ParseError, ValueError, IndexError)


def parse_gs1(text: str, field: str) -> str:
    """Return the canonical GS1 text of an element string, HRI text or Digital Link URI.

    Raises:
        CodeError: naming ``field`` when biip cannot parse the input, a check digit is wrong, the
            input holds neither an SSCC (00) nor a GTIN (01), an identifying AI is repeated with
            different values, or a lot/serial contains parentheses.
    """
    cleaned = clean_input(text, field)
    if is_plainly_canonical(cleaned):
        return cleaned
    if cleaned.startswith("("):
        candidates = [_hri_element_strings(cleaned, text, field)]
    else:
        candidates = _barcode_element_strings(cleaned, text, field)
    return _canonical(candidates, text, field)


# Text that is already canonical, with lots/serials of plain characters, is what the ledger reads
# back millions of times; it skips biip (~70 µs) once the check digit is confirmed. Anything
# else, including every other character the GS1 set allows, takes the full parse.
_PLAIN_QUALIFIER = r"[0-9A-Za-z./-]{1,20}"
_PLAIN_CANONICAL = re.compile(
    rf"\(00\)(?P<sscc>[0-9]{{18}})"
    rf"|\(01\)(?P<gtin>[0-9]{{14}})(?:\(10\){_PLAIN_QUALIFIER})?(?:\(21\){_PLAIN_QUALIFIER})?"
)


def gs1_lot(code: str) -> str | None:
    """The GS1 lot a serialised unit belongs to: ``(01)GTIN(10)LOT`` for the canonical
    ``(01)GTIN(10)LOT(21)SERIAL``; ``None`` for any other code (an SSCC, a unit with no lot, a
    lot itself, a code of another kind).

    AI (10) is the batch or lot of the trade item, so an instance of that GTIN carrying that lot
    is part of that lot (GS1 General Specifications §3.4.1; docs/codes.md "Lots and their
    units"). Canonical text never has parentheses inside a lot or serial (:func:`parse_gs1`
    refuses them), so the split is unambiguous.
    """
    if not code.startswith("(01)"):
        return None
    lot_at = code.find("(10)")
    serial_at = code.find("(21)")
    if lot_at < 0 or serial_at < lot_at:
        return None
    return code[:serial_at]


def gs1_lots(codes: Iterable[str]) -> list[str]:
    """The GS1 lots (:func:`gs1_lot`) of the serialised units among ``codes``, each once, in
    order."""
    return [lot for lot in dict.fromkeys(map(gs1_lot, codes)) if lot is not None]


def gs1_units_prefix(code: str) -> str | None:
    """What the canonical text of every serialised unit of the GS1 lot ``code`` starts with:
    ``(01)GTIN(10)LOT(21)`` for ``(01)GTIN(10)LOT``; ``None`` when ``code`` is not a lot (a unit,
    a GTIN with no lot, an SSCC, a code of another kind). The inverse of :func:`gs1_lot`:
    ``gs1_lot(unit) == code`` exactly when ``unit`` starts with it and is a unit."""
    if not code.startswith("(01)") or "(10)" not in code or "(21)" in code:
        return None
    return code + "(21)"


def is_plainly_canonical(text: str) -> bool:
    """Whether ``text`` is canonical GS1 text with a valid check digit and plain qualifiers."""
    match = _PLAIN_CANONICAL.fullmatch(text)
    if match is None:
        return False
    number = match.group("sscc") or match.group("gtin")
    return has_gs1_check_digit(number)


def has_gs1_check_digit(number: str) -> bool:
    """Whether the ASCII digits ``number`` end in their GS1 mod-10 check digit.

    The weights, from the right, are 1 (the check digit), 3, 1, 3 …; the weighted sum of a valid
    number is a multiple of 10. Same answer as biip's check, a fifth of the time (it runs once per
    new code on the write path).
    """
    # Summed as bytes: the digits' ASCII codes, less 48 for each ("0" is 48).
    digits = number.encode("ascii")
    ones, threes = digits[-1::-2], digits[-2::-2]
    return (sum(ones) + 3 * sum(threes) - 48 * (len(ones) + 3 * len(threes))) % 10 == 0


def parse_gs1_digital_link(url: str, field: str, *, failure: str) -> str:
    """Return the canonical GS1 text of a GS1 Digital Link URI.

    Raises:
        CodeError: ``failure`` followed by biip's reason when ``url`` is not a Digital Link URI, or
            any rule of :func:`parse_gs1` for the identifiers it holds.
    """
    try:
        link = GS1DigitalLinkURI.parse(url)
    except _BIIP_ERRORS as exc:
        raise CodeError(field, url, f"{failure}: {_reason(exc)}") from exc
    return _canonical([link.element_strings], url, field)


def _hri_element_strings(cleaned: str, text: str, field: str) -> GS1ElementStrings:
    try:
        message = GS1Message.parse_hri(cleaned)
    except _BIIP_ERRORS as exc:
        raise CodeError(field, text, f"not valid GS1 text: {_reason(exc)}") from exc
    # biip skips text it cannot read as "(AI)value" and ignores data beyond a fixed-length AI;
    # re-rendering and comparing makes sure nothing in the input was silently dropped.
    understood = message.as_hri()
    if understood != "".join(cleaned.split()):
        raise CodeError(
            field,
            text,
            f"GS1 text must be (AI)value pairs only; could read only {understood!r}",
        )
    return message.element_strings


def _barcode_element_strings(cleaned: str, text: str, field: str) -> list[GS1ElementStrings]:
    """Every reading biip finds for barcode data, most specific first."""
    try:
        result = biip.parse(cleaned)
    except _BIIP_ERRORS as exc:
        raise CodeError(field, text, f"not a GS1 code: {_reason(exc)}") from exc
    candidates: list[GS1ElementStrings] = []
    if result.gs1_message is not None:
        candidates.append(result.gs1_message.element_strings)
    if result.gs1_digital_link_uri is not None:
        candidates.append(result.gs1_digital_link_uri.element_strings)
    if result.sscc is not None:
        candidates.append(_element_strings_of(SSCC_AI + result.sscc.value))
    if result.gtin is not None:
        candidates.append(_element_strings_of(GTIN_AI + result.gtin.as_gtin_14()))
    if not candidates:
        errors = (
            result.gs1_digital_link_uri_error,
            result.gs1_message_error,
            result.gtin_error,
            result.sscc_error,
        )
        reasons = " / ".join(error for error in errors if error)
        raise CodeError(field, text, f"not a GS1 code: {reasons or 'unrecognised barcode data'}")
    return candidates


def _reason(exc: Exception) -> str:
    """biip's explanation, or a plain one where biip failed without explaining."""
    return str(exc) if isinstance(exc, ParseError) else "malformed barcode data"


def _element_strings_of(element_string: str) -> GS1ElementStrings:
    return GS1ElementStrings([GS1ElementString.parse(element_string)])


def _canonical(candidates: Iterable[GS1ElementStrings], text: str, field: str) -> str:
    """Canonical text of the first reading that identifies something (holds AI 00 or 01)."""
    for elements in candidates:
        identifying = _identifying_elements(elements, text, field)
        if SSCC_AI in identifying:
            return _sscc_text(identifying[SSCC_AI], text, field)
        if GTIN_AI in identifying:
            return _gtin_text(identifying, text, field)
    raise CodeError(field, text, "GS1 code must contain an SSCC (00) or a GTIN (01)")


def _identifying_elements(
    elements: Iterable[GS1ElementString], text: str, field: str
) -> dict[str, GS1ElementString]:
    found: dict[str, GS1ElementString] = {}
    for element in elements:
        ai = element.ai.ai
        if ai not in _IDENTIFYING_AIS:
            continue
        if ai in found and found[ai].value != element.value:
            raise CodeError(field, text, f"GS1 code repeats AI ({ai}) with different values")
        found[ai] = element
    return found


def _sscc_text(element: GS1ElementString, text: str, field: str) -> str:
    if element.sscc is None:
        raise CodeError(field, text, f"SSCC (00) is invalid: {element.sscc_error}")
    return _as_text([element])


def _gtin_text(identifying: dict[str, GS1ElementString], text: str, field: str) -> str:
    gtin = identifying[GTIN_AI]
    if gtin.gtin is None:
        raise CodeError(field, text, f"GTIN (01) is invalid: {gtin.gtin_error}")
    chosen = [gtin]
    for ai in (LOT_AI, SERIAL_AI):
        if ai in identifying:
            chosen.append(_qualifier(identifying[ai], text, field))
    return _as_text(chosen)


def _qualifier(element: GS1ElementString, text: str, field: str) -> GS1ElementString:
    if "(" in element.value or ")" in element.value:
        name = _QUALIFIER_NAMES[element.ai.ai]
        raise CodeError(
            field,
            text,
            f"GS1 {name} ({element.ai.ai}) must not contain parentheses: the (AI)value text "
            "form would be ambiguous",
        )
    return element


def _as_text(elements: list[GS1ElementString]) -> str:
    return GS1Message.from_element_strings(GS1ElementStrings(elements)).as_hri()
