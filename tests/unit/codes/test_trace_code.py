"""parse_trace_code: kinds told apart by prefix or shape; input hygiene (design.md §3)."""

from __future__ import annotations

import pytest

from suyuan.codes import CodeKind, TraceCode, parse_trace_code
from suyuan.errors import CodeError

CERTIFICATE = "0K3Q8ZJ5W2HG"
DRUG = "81234560000012345678"
GS1 = "(01)09506000134352(10)ABC(21)123"

UNRECOGNISED = (
    "not a recognised trace code; accepted forms: a 12-character certificate code "
    "(e.g. 0K3Q-8ZJ5-W2HG); GS1 text (01){GTIN}(10){lot}(21){serial} or (00){SSCC}; "
    "a GS1 element string with a symbology identifier (]d2, ]Q3, ]C1) or GS separators; "
    "a GS1 Digital Link URI; a 20-digit drug trace code; "
    "or any code after a kind prefix cert:, gs1: or drug:"
)


def test_trace_code_prints_as_its_canonical_value() -> None:
    code = parse_trace_code(GS1)
    assert str(code) == GS1
    assert f"{code}" == GS1


def test_kind_values_are_the_input_prefixes() -> None:
    assert [kind.value for kind in CodeKind] == ["cert", "gs1", "drug"]
    assert CodeKind("gs1") is CodeKind.GS1


@pytest.mark.parametrize(
    ("text", "kind"),
    [(CERTIFICATE, CodeKind.CERTIFICATE), (DRUG, CodeKind.DRUG), (GS1, CodeKind.GS1)],
)
def test_canonical_forms_are_told_apart_by_shape(text: str, kind: CodeKind) -> None:
    assert parse_trace_code(text) == TraceCode(kind, text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (f"cert:{CERTIFICATE}", CodeKind.CERTIFICATE, CERTIFICATE),
        (f"gs1:{GS1}", CodeKind.GS1, GS1),
        (f"GS1:{GS1}", CodeKind.GS1, GS1),
        (f"drug:{DRUG}", CodeKind.DRUG, DRUG),
        (f"  drug:{DRUG}\r\n", CodeKind.DRUG, DRUG),  # keyboard-wedge scanners append CR LF
    ],
)
def test_a_kind_prefix_is_accepted(text: str, kind: CodeKind, value: str) -> None:
    assert parse_trace_code(text) == TraceCode(kind, value)


def test_a_prefix_forces_the_kind() -> None:
    # 12 digits look like a certificate code, but the prefix says drug code
    with pytest.raises(CodeError) as caught:
        parse_trace_code("drug:812345600000")
    assert caught.value.rule == "drug trace code must be 20 digits (got 12)"
    with pytest.raises(CodeError) as caught:
        parse_trace_code(f"cert:{DRUG}")
    assert caught.value.rule == "certificate code must be 12 characters (got 20)"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "must not be empty"),
        (" \u3000 ", "must not be empty"),
        ("x" * 513, "must be at most 512 characters (got 513)"),
        ("0K3Q8ZJ5\x00W2HG", "must not contain control characters (found U+0000 at position 9)"),
        ("0K3Q8ZJ5\nW2HG", "must not contain control characters (found U+000A at position 9)"),
        ("0K3Q\u200b8ZJ5W2HG", "must not contain control characters (found U+200B at position 5)"),
        (
            "(01)0950600013\x1e4352",
            "must not contain control characters (found U+001E at position 15)",
        ),
        ("hello", UNRECOGNISED),
        ("8123456000001234567", UNRECOGNISED),  # 19 digits
        ("0109506000134352", UNRECOGNISED),  # bare element string: prefix gs1: needed
        ("溯源码0K3Q8ZJ5W2HG", UNRECOGNISED),
        ("foo:0K3Q8ZJ5W2HG", UNRECOGNISED),
        ("ftp://example.cn/c/0K3Q8ZJ5W2HG", UNRECOGNISED),
    ],
)
def test_each_broken_rule_is_named(text: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code(text, field="codes[3]")
    assert caught.value.field == "codes[3]"
    assert caught.value.rule == rule


def test_the_limit_of_512_characters_is_inclusive() -> None:
    lot_and_padding = "(01)09506000134352(10)ABC" + " " * (512 - 25)
    assert len(lot_and_padding) == 512
    assert parse_trace_code(lot_and_padding).value == "(01)09506000134352(10)ABC"


@pytest.mark.parametrize("value", [None, 81234560000012345678, b"0K3Q8ZJ5W2HG"])
def test_non_text_input_is_refused(value: object) -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code(value)  # type: ignore[arg-type]
    assert caught.value.field == "code"
    assert caught.value.rule == f"must be a text string (got {type(value).__name__})"


def test_errors_carry_the_machine_readable_form() -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code("0K3Q8ZJ5W2HH", field="codes[0]")
    assert caught.value.as_dict() == {
        "reason": "invalid_code",
        "field": "codes[0]",
        "value": "0K3Q8ZJ5W2HH",
        "rule": "certificate code check character is 'H', expected 'G' (ISO 7064 MOD 33,32): "
        "the code is mistyped",
    }


def test_repeated_errors_name_each_callers_field() -> None:
    for field in ("codes[0]", "code", "codes[1]"):
        with pytest.raises(CodeError) as caught:
            parse_trace_code("0K3Q8ZJ5W2HH", field=field)
        assert caught.value.field == field
        assert caught.value.value == "0K3Q8ZJ5W2HH"
