"""GS1 codes: SSCC, GTIN + lot + serial, parsed with biip (design.md §3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import ean

from suyuan.codes import (
    CodeKind,
    TraceCode,
    gs1_lot,
    gs1_lots,
    gs1_units_prefix,
    parse_trace_code,
)
from suyuan.errors import CodeError

GS = "\x1d"
# GTIN 09506000134352 and SSCC 106141412345678908 are the examples of GS1's own documentation
# (GS1 Digital Link standard, GS1 General Specifications).
ITEM = "(01)09506000134352(10)ABC(21)123"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # human-readable text
        (ITEM, ITEM),
        ("(01) 09506000134352 (10) ABC (21) 123", ITEM),
        ("(01)09506000134352(17)251231(10)ABC(21)123", ITEM),  # expiry date is not identity
        ("(01)09506000134352(21)123(10)ABC", ITEM),  # canonical order is 01, 10, 21
        ("(01)09506000134352", "(01)09506000134352"),
        ("(01)09506000134352(21)S-1/2", "(01)09506000134352(21)S-1/2"),
        ("(01)09506000134352(10)abc", "(01)09506000134352(10)abc"),  # lots are case-sensitive
        ("（01）09506000134352", "(01)09506000134352"),  # full-width parentheses
        # element strings with symbology identifiers and GS separators
        (f"]d20109506000134352{GS}10ABC{GS}21123", ITEM),
        (f"]d201095060001343521725123110ABC{GS}21123", ITEM),
        (f"]Q3010950600013435210ABC{GS}21123", ITEM),
        ("]C1010950600013435210ABC", "(01)09506000134352(10)ABC"),
        (f"0109506000134352{GS}10ABC{GS}21123", ITEM),  # GS separators alone mark GS1 data
        ("]e00109506000134352", "(01)09506000134352"),  # GS1 DataBar
        ("]E05901234123457", "(01)05901234123457"),  # EAN-13 scan: GTIN only
        # biip's documented example message (Norwegian GTIN, best-before 2021-05-26, lot 0329)
        ("gs1:010703206980498815210526100329", "(01)07032069804988(10)0329"),
        ("gs1:6901234567892", "(01)06901234567892"),  # bare GTIN-13 after the gs1: prefix
        ("gs1:09506000134352", "(01)09506000134352"),
        # GS1 Digital Link URIs, any domain
        ("https://id.gs1.org/01/09506000134352/10/ABC/21/123", ITEM),
        ("https://id.gs1.org/01/9506000134352/10/ABC/21/123", ITEM),  # GTIN-13 zero-filled
        ("https://brand.example.cn/products/01/09506000134352/10/ABC/21/123?17=251231", ITEM),
        ("HTTPS://ID.GS1.ORG/01/09506000134352/10/ABC/21/123", ITEM),  # QR alphanumeric mode
        ("https://id.gs1.org/01/09506000134352/10/AB%2FC", "(01)09506000134352(10)AB/C"),
        ("]Q3https://id.gs1.org/01/09506000134352/10/ABC/21/123", ITEM),
        # SSCC: logistic units; the SSCC alone is the identity
        ("(00)106141412345678908", "(00)106141412345678908"),
        ("(00)376130321109103420", "(00)376130321109103420"),
        ("]C100376130321109103420", "(00)376130321109103420"),
        ("]C100376130321109103420" + "0209506000134352" + "3710", "(00)376130321109103420"),
        ("https://id.gs1.org/00/106141412345678908", "(00)106141412345678908"),
        ("gs1:376130321109103420", "(00)376130321109103420"),
    ],
)
def test_accepted_gs1_inputs_give_the_canonical_text(text: str, canonical: str) -> None:
    assert parse_trace_code(text) == TraceCode(CodeKind.GS1, canonical)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            "(01)09506000134353",
            "GTIN (01) is invalid: Invalid GTIN check digit for '09506000134353': "
            "Expected 2, got 3.",
        ),
        (
            f"]d20109506000134353{GS}10ABC",
            "GTIN (01) is invalid: Invalid GTIN check digit for '09506000134353': "
            "Expected 2, got 3.",
        ),
        (
            "https://id.gs1.org/01/09506000134353",
            "GTIN (01) is invalid: Invalid GTIN check digit for '09506000134353': "
            "Expected 2, got 3.",
        ),
        (
            "(00)376130321109103421",
            "SSCC (00) is invalid: Invalid SSCC check digit for '376130321109103421': "
            "Expected 0, got 1.",
        ),
        ("(17)251231(10)ABC", "GS1 code must contain an SSCC (00) or a GTIN (01)"),
        ("]d2", "GS1 code must contain an SSCC (00) or a GTIN (01)"),
        (
            "https://id.gs1.org/414/9520123456788",
            "GS1 code must contain an SSCC (00) or a GTIN (01)",
        ),
        (
            "(01)09506000134352(10)ABC(10)ABD",
            "GS1 code repeats AI (10) with different values",
        ),
        (
            "(01)09506000134352(10)",
            "GS1 text must be (AI)value pairs only; could read only '(01)09506000134352'",
        ),
        (
            "(01)09506000134352(10)A(B)",
            "GS1 text must be (AI)value pairs only; could read only '(01)09506000134352(10)A'",
        ),
        (
            "(01)095060001343521",
            "not valid GS1 text: Failed to match '01095060001343521' with GS1 AI (01) "
            "pattern '^01(\\d{14})$'.",
        ),
        (
            "(999)1",
            "not valid GS1 text: Unknown GS1 Application Identifier '999' in '(999)1'.",
        ),
        (
            "https://id.gs1.org/01/09506000134352/10/A%28B%29",
            "GS1 batch/lot (10) must not contain parentheses: the (AI)value text form would "
            "be ambiguous",
        ),
        ("]", "not a GS1 code: malformed barcode data"),
    ],
)
def test_each_broken_rule_is_named(text: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code(text, field="codes[2]")
    assert caught.value.field == "codes[2]"
    assert caught.value.rule == rule


def test_a_bare_gtin_with_a_wrong_check_digit_says_so() -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code("gs1:09506000134353")
    assert caught.value.field == "code"
    assert caught.value.rule.startswith("not a GS1 code: ")
    assert "Invalid GTIN check digit for '09506000134353': Expected 2, got 3." in caught.value.rule


def test_a_bare_element_string_needs_a_prefix_or_separator() -> None:
    # 20 digits without GS1 markers read as a drug trace code, never as (00)+SSCC
    assert parse_trace_code("00376130321109103420").kind is CodeKind.DRUG
    assert parse_trace_code("gs1:00376130321109103420").value == "(00)376130321109103420"


# --- the fast path for canonical text agrees with the full biip parse ---------------------------


from suyuan.codes import _gs1  # noqa: E402

_PLAIN = st.text(alphabet="0123456789ABCDEFGHJKabcxyz./-", min_size=1, max_size=20)


@st.composite
def _canonical_candidates(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        body = draw(st.text(alphabet="0123456789", min_size=17, max_size=17))
        check = ean.calc_check_digit(body)
        if draw(st.integers(0, 4)) == 0:
            check = str((int(check) + draw(st.integers(1, 9))) % 10)
        return f"(00){body}{check}"
    body = draw(st.text(alphabet="0123456789", min_size=13, max_size=13))
    check = ean.calc_check_digit(body)
    if draw(st.integers(0, 4)) == 0:
        check = str((int(check) + draw(st.integers(1, 9))) % 10)
    text = f"(01){body}{check}"
    if draw(st.booleans()):
        text += f"(10){draw(_PLAIN)}"
    if draw(st.booleans()):
        text += f"(21){draw(_PLAIN)}"
    return text


@settings(max_examples=300, deadline=None)
@given(_canonical_candidates())
def test_fast_path_accepts_exactly_what_biip_accepts_and_changes_nothing(text: str) -> None:
    try:
        full = _gs1._canonical([_gs1._hri_element_strings(text, text, "code")], text, "code")
    except CodeError:
        full = None
    # every candidate has the plain canonical shape, so the two differ only in the check digit
    assert (text if _gs1.is_plainly_canonical(text) else None) == full


@pytest.mark.parametrize(
    ("code", "lot"),
    [
        ("(01)09506000134352(10)ABC(21)123", "(01)09506000134352(10)ABC"),
        ("(01)06901234100419(10)BR/2026/05(21)0001", "(01)06901234100419(10)BR/2026/05"),
        ("(01)09506000134352(10)ABC", None),  # a lot is not a unit of itself
        ("(01)09506000134352(21)123", None),  # a unit with no lot belongs to none
        ("(01)09506000134352", None),
        ("(00)106141411234567897", None),
        ("12345678901234567890", None),  # a 药品追溯码
        ("MWVY4MAETF24", None),  # a 合格证 code
    ],
)
def test_a_serialised_unit_belongs_to_its_gs1_lot(code: str, lot: str | None) -> None:
    assert gs1_lot(parse_trace_code(code).value) == lot


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("(01)09506000134352(10)ABC", "(01)09506000134352(10)ABC(21)"),
        ("(01)09506000134352(10)ABC(21)123", None),  # a unit has no units
        ("(01)09506000134352", None),  # a GTIN with no lot is not a lot
        ("(00)106141411234567897", None),
        ("12345678901234567890", None),
        ("MWVY4MAETF24", None),
    ],
)
def test_the_units_of_a_lot_start_with_its_units_prefix(code: str, prefix: str | None) -> None:
    assert gs1_units_prefix(parse_trace_code(code).value) == prefix


_LOT_TEXT = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-/", min_size=1, max_size=20)


@given(lot=_LOT_TEXT, other=_LOT_TEXT, serial=_LOT_TEXT)
def test_a_unit_starts_with_a_lot_s_units_prefix_exactly_when_it_is_of_that_lot(
    lot: str, other: str, serial: str
) -> None:
    lot_code = parse_trace_code(f"(01)09506000134352(10){lot}").value
    unit = parse_trace_code(f"(01)09506000134352(10){other}(21){serial}").value
    prefix = gs1_units_prefix(lot_code)
    assert prefix is not None
    assert unit.startswith(prefix) == (gs1_lot(unit) == lot_code)
    assert gs1_lots([unit, lot_code, unit]) == [gs1_lot(unit)]
