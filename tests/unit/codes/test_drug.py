"""药品追溯码: 20-digit drug and vaccine trace codes, format only (design.md §3)."""

from __future__ import annotations

import pytest

from suyuan.codes import CodeKind, TraceCode, drug_product_id, parse_trace_code
from suyuan.errors import CodeError

CODE = "81234560000012345678"


@pytest.mark.parametrize(
    "text",
    [
        CODE,
        "8123456 0000012345678",
        "81 2345 6000 0012 3456 78",
        "8123-4560-0000-1234-5678",
        "drug:" + CODE,
        "DRUG:" + CODE,
        "".join(chr(ord(digit) + 0xFEE0) for digit in CODE),  # full-width digits
    ],
)
def test_accepted_spellings_give_20_digits(text: str) -> None:
    assert parse_trace_code(text) == TraceCode(CodeKind.DRUG, CODE)


def test_any_20_digits_are_accepted_because_the_checksum_is_not_public() -> None:
    assert parse_trace_code("00000000000000000000").kind is CodeKind.DRUG
    assert parse_trace_code("99999999999999999999").kind is CodeKind.DRUG


def test_product_identifier_is_the_first_seven_digits() -> None:
    assert drug_product_id(CODE) == "8123456"
    assert drug_product_id(parse_trace_code("81 2345 6000 0012 3456 78")) == "8123456"


def test_product_identifier_of_another_kind_of_code_is_refused() -> None:
    with pytest.raises(CodeError) as caught:
        drug_product_id(parse_trace_code("(01)09506000134352"), field="unit_code")
    assert caught.value.field == "unit_code"
    assert caught.value.rule == "must be a drug trace code (got a gs1 code)"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("drug:8123456000001234567", "drug trace code must be 20 digits (got 19)"),
        ("drug:812345600000123456789", "drug trace code must be 20 digits (got 21)"),
        (
            "drug:8123456000001234567X",
            "drug trace code must be digits only (got 'X' at position 20)",
        ),
        (
            "drug:٨١٢٣٤٥٦٠٠٠٠٠١٢٣٤٥٦٧٨",
            "drug trace code must be digits only (got '٨' at position 1)",
        ),
    ],
)
def test_each_broken_rule_is_named(text: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code(text, field="codes[1]")
    assert caught.value.field == "codes[1]"
    assert caught.value.rule == rule


def test_product_identifier_of_invalid_text_is_refused() -> None:
    with pytest.raises(CodeError) as caught:
        drug_product_id("8123456")
    assert caught.value.field == "code"
    assert caught.value.rule == "drug trace code must be 20 digits (got 7)"
