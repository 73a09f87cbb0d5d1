"""Properties of every code kind (design.md §3), checked with hypothesis.

Check characters are recomputed here from their standards' definitions (GB 32100-2015 for USCC,
the GS1 mod-10 for GTIN/SSCC), independently of the libraries the code under test uses.
"""

from __future__ import annotations

import random
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.codes import (
    CodeKind,
    TraceCode,
    clear_code_cache,
    code_from_scan_url,
    is_valid_certificate_code,
    new_certificate_code,
    parse_trace_code,
    scan_url,
    validate_uscc,
)
from suyuan.codes._certificate import parse_certificate_code
from suyuan.codes._trace_code import canonical_kind, parse_general
from suyuan.errors import CodeError

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DIGITS = "0123456789"
GS = "\x1d"
# GS1 AI encodable character set 82 without the parentheses, which cannot appear in a lot or
# serial that is written as (AI)value text.
GS1_CHARACTERS = "!\"%&'*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

EXAMPLES = settings(max_examples=150, deadline=None)


def gb32100_check(body: str) -> str:
    """GB 32100-2015 check character: weights 3^i mod 31, check = 31 - (sum mod 31)."""
    total = sum(USCC_ALPHABET.index(char) * pow(3, i, 31) for i, char in enumerate(body))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def gs1_check_digit(payload: str) -> str:
    """GS1 mod-10 check digit: weights 3, 1, 3, … from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return str(-total % 10)


certificate_codes = st.randoms(use_true_random=False).map(new_certificate_code)
gtins = st.text(DIGITS, min_size=13, max_size=13).map(lambda p: p + gs1_check_digit(p))
ssccs = st.text(DIGITS, min_size=17, max_size=17).map(lambda p: p + gs1_check_digit(p))
drug_codes = st.text(DIGITS, min_size=20, max_size=20)
qualifiers = st.none() | st.text(GS1_CHARACTERS, min_size=1, max_size=20)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    body = (
        draw(st.sampled_from("123456789ANY"))
        + draw(st.sampled_from("123456789"))
        + draw(st.text(DIGITS, min_size=6, max_size=6))
        + draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    )
    return body + gb32100_check(body)


@st.composite
def items(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    return draw(gtins), draw(qualifiers), draw(qualifiers)


def item_text(gtin: str, lot: str | None, serial: str | None) -> str:
    return f"(01){gtin}" + (f"(10){lot}" if lot else "") + (f"(21){serial}" if serial else "")


def item_spellings(gtin: str, lot: str | None, serial: str | None) -> list[str]:
    fields = [("10", lot), ("21", serial)]
    element_string = f"01{gtin}" + "".join(f"{ai}{v}{GS}" for ai, v in fields if v)
    link = f"https://id.gs1.org/01/{gtin}" + "".join(
        f"/{ai}/{quote(v, safe='')}" for ai, v in fields if v
    )
    return [
        item_text(gtin, lot, serial),
        "]d2" + element_string.rstrip(GS),
        "]Q3" + element_string.rstrip(GS),
        "gs1:" + element_string.rstrip(GS),
        link,
        link + "?17=251231",
    ]


def substitute(text: str, position: int, replacement: str) -> str:
    return text[:position] + replacement + text[position + 1 :]


@EXAMPLES
@given(certificate_codes, st.integers(0, 11), st.sampled_from(CROCKFORD))
def test_any_substituted_character_of_a_certificate_code_is_caught(
    code: str, position: int, replacement: str
) -> None:
    mutated = substitute(code, position, replacement)
    if mutated == code:
        return
    assert not is_valid_certificate_code(mutated)
    try:
        parse_trace_code(mutated, field="codes[0]")
    except CodeError as err:
        assert err.field == "codes[0]"
        assert err.rule.startswith("certificate code check character is ")
    else:
        raise AssertionError(f"{mutated} (from {code}) was accepted")


@EXAMPLES
@given(usccs(), st.integers(0, 17), st.sampled_from(USCC_ALPHABET + "IOSVZ"))
def test_any_substituted_character_of_a_uscc_is_caught(
    code: str, position: int, replacement: str
) -> None:
    assert validate_uscc(code) == code
    mutated = substitute(code, position, replacement)
    if mutated == code:
        return
    try:
        validate_uscc(mutated)
    except CodeError as err:
        assert err.field == "actor"
        assert err.rule.startswith("USCC ")
    else:
        raise AssertionError(f"{mutated} (from {code}) was accepted")


@EXAMPLES
@given(gtins, st.integers(0, 13), st.sampled_from(DIGITS))
def test_any_substituted_digit_of_a_gtin_is_caught(gtin: str, position: int, digit: str) -> None:
    mutated = substitute(gtin, position, digit)
    if mutated == gtin:
        return
    try:
        parse_trace_code(f"(01){mutated}(10)LOT1")
    except CodeError as err:
        assert err.field == "code"
        assert err.rule.startswith("GTIN (01) is invalid: Invalid GTIN check digit")
    else:
        raise AssertionError(f"{mutated} (from {gtin}) was accepted")


@EXAMPLES
@given(ssccs, st.integers(0, 17), st.sampled_from(DIGITS))
def test_any_substituted_digit_of_an_sscc_is_caught(sscc: str, position: int, digit: str) -> None:
    mutated = substitute(sscc, position, digit)
    if mutated == sscc:
        return
    try:
        parse_trace_code(f"(00){mutated}")
    except CodeError as err:
        assert err.rule.startswith("SSCC (00) is invalid: Invalid SSCC check digit")
    else:
        raise AssertionError(f"{mutated} (from {sscc}) was accepted")


@EXAMPLES
@given(st.randoms(use_true_random=False))
def test_new_certificate_codes_always_validate(rng: random.Random) -> None:
    code = new_certificate_code(rng)
    assert is_valid_certificate_code(code)
    assert parse_trace_code(code) == TraceCode(CodeKind.CERTIFICATE, code)


@EXAMPLES
@given(items())
def test_every_gs1_spelling_gives_the_same_canonical_text(
    item: tuple[str, str | None, str | None],
) -> None:
    expected = TraceCode(CodeKind.GS1, item_text(*item))
    for spelling in item_spellings(*item):
        assert parse_trace_code(spelling) == expected, spelling


@EXAMPLES
@given(ssccs)
def test_every_sscc_spelling_gives_the_same_canonical_text(sscc: str) -> None:
    expected = TraceCode(CodeKind.GS1, f"(00){sscc}")
    for spelling in (f"(00){sscc}", f"]C100{sscc}", f"https://id.gs1.org/00/{sscc}"):
        assert parse_trace_code(spelling) == expected


@st.composite
def any_spelling(draw: st.DrawFn) -> str:
    """Any accepted input text of any kind."""
    kind = draw(st.sampled_from(CodeKind))
    if kind is CodeKind.CERTIFICATE:
        code = draw(certificate_codes)
        text = draw(
            st.sampled_from([code, code.lower(), "-".join([code[:4], code[4:8], code[8:]])])
        )
    elif kind is CodeKind.DRUG:
        code = draw(drug_codes)
        text = draw(st.sampled_from([code, f"{code[:7]} {code[7:]}"]))
    else:
        text = draw(st.sampled_from([*item_spellings(*draw(items())), f"(00){draw(ssccs)}"]))
    can_take_prefix = not text.startswith(("http", "gs1:"))
    return f"{kind}:{text}" if can_take_prefix and draw(st.booleans()) else text


@EXAMPLES
@given(any_spelling())
def test_parsing_the_canonical_text_is_idempotent(text: str) -> None:
    code = parse_trace_code(text)
    assert parse_trace_code(str(code)) == code
    assert parse_trace_code(f"{code.kind}:{code}") == code


@EXAMPLES
@given(usccs())
def test_validating_a_canonical_uscc_is_idempotent(code: str) -> None:
    assert validate_uscc(code.lower()) == code
    assert validate_uscc(validate_uscc(code)) == code


BASES = [
    "https://trace.zj.example",
    "https://trace.zj.example/",
    "http://127.0.0.1:8001",
    "https://gov.example.cn/suyuan/",
    "",
]


@EXAMPLES
@given(any_spelling(), st.sampled_from(BASES))
def test_scan_url_round_trips_for_every_kind(text: str, base: str) -> None:
    code = parse_trace_code(text)
    url = scan_url(base, code)
    assert code_from_scan_url(url) == code
    if base:
        assert parse_trace_code(url) == code


noise = st.text(st.characters(codec="utf-8"), max_size=40)
barcode_noise = st.builds(
    str.__add__,
    st.sampled_from(
        ["", "]", "]d2", "]Q3", "]C1", "]E0", "(", "(01)", "(00)", "gs1:", "https://x/"]
    ),
    st.text(GS1_CHARACTERS + GS + "()]/ ", max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(noise | barcode_noise)
def test_arbitrary_text_is_either_a_code_or_a_code_error(text: str) -> None:
    try:
        code = parse_trace_code(text)
    except CodeError as err:
        assert err.field == "code"
        assert err.rule
    else:
        assert parse_trace_code(str(code)) == code


# --- the canonical fast path (codes already canonical skip the general parser) ----------------

# Characters that look like, or normalise to, the characters of a canonical code: lower case,
# Crockford's aliases, full-width and other Unicode digits (str.isdigit accepts "²" and "٣"),
# readability characters, a prefix colon, the GS separator.
LOOKALIKES = "abcxyzILOU１（）²٣ａ -:\x1d\u3000\t(0)9"


@st.composite
def near_canonical(draw: st.DrawFn) -> str:
    """A canonical code of any kind (GS1 check digits sometimes wrong), then 0-2 edits."""
    kind = draw(st.sampled_from(CodeKind))
    if kind is CodeKind.CERTIFICATE:
        text = draw(certificate_codes)
    elif kind is CodeKind.DRUG:
        text = draw(drug_codes)
    elif draw(st.booleans()):
        text = f"(00){draw(ssccs)}"
    else:
        text = item_text(draw(gtins), draw(qualifiers), draw(qualifiers))
    for _ in range(draw(st.integers(0, 2))):
        position = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(LOOKALIKES) | st.sampled_from(DIGITS + CROCKFORD))
        edit = draw(st.sampled_from(["substitute", "insert", "delete"]))
        if edit == "substitute" and position < len(text):
            text = substitute(text, position, char)
        elif edit == "insert":
            text = text[:position] + char + text[position:]
        else:
            text = text[:position] + text[position + 1 :]
    pad = st.sampled_from(["", "", " ", "\t", "\n", "\u3000", "\x1d"])
    return draw(pad) + text + draw(pad)


def _general(text: str) -> TraceCode | str:
    try:
        return parse_general(text)
    except CodeError as err:
        return err.rule


@settings(max_examples=1000, deadline=None)
@given(near_canonical() | noise | barcode_noise)
def test_the_canonical_fast_path_agrees_with_the_general_parser(text: str) -> None:
    kind = canonical_kind(text)
    if kind is not None:
        assert _general(text) == TraceCode(kind, text)
    clear_code_cache()  # the cached parse must come from the fast path or the general parser
    try:
        cached: TraceCode | str = parse_trace_code(text)
    except CodeError as err:
        cached = err.rule
    assert cached == _general(text)


@EXAMPLES
@given(
    certificate_codes
    | drug_codes
    | ssccs.map("(00){}".format)
    | items().map(lambda i: item_text(*i))
)
def test_every_canonical_code_with_plain_qualifiers_takes_the_fast_path(text: str) -> None:
    code = _general(text)
    assert isinstance(code, TraceCode) and code.value == text
    plain = all(c.isalnum() or c in "./-()" for c in text)
    if code.kind is not CodeKind.GS1 or plain:
        assert canonical_kind(text) is code.kind


@settings(max_examples=1000, deadline=None)
@given(near_canonical() | noise | barcode_noise)
def test_the_certificate_code_check_agrees_with_the_parser(text: str) -> None:
    try:
        parse_certificate_code(text, "code")
    except CodeError:
        valid = False
    else:
        valid = True
    assert is_valid_certificate_code(text) is valid
