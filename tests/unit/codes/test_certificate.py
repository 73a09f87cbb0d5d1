"""Certificate codes (合格证): Crockford base32 + ISO 7064 MOD 33,32 check (design.md §3)."""

from __future__ import annotations

import random

import pytest

from suyuan.codes import (
    CodeKind,
    TraceCode,
    is_valid_certificate_code,
    new_certificate_code,
    parse_trace_code,
)
from suyuan.errors import CodeError

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VALID = "0K3Q8ZJ5W2HG"


def iso7064_hybrid_check(body: str, alphabet: str) -> str:
    """ISO 7064 hybrid system, straight from its definition (independent of python-stdnum)."""
    modulus = len(alphabet)
    product = modulus
    for char in body:
        total = (product + alphabet.index(char)) % modulus or modulus
        product = (2 * total) % (modulus + 1)
    # the check character makes the final running sum congruent to 1
    return alphabet[(1 - product) % modulus]


def test_check_character_follows_the_iso_7064_hybrid_definition() -> None:
    rng = random.Random(7064)
    for _ in range(200):
        code = new_certificate_code(rng)
        assert code[-1] == iso7064_hybrid_check(code[:-1], CROCKFORD)


def test_oracle_agrees_with_a_published_iso_7064_vector() -> None:
    # ISO 7064 MOD 11,10 example from python-stdnum's documentation: 00200667308 → 5
    assert iso7064_hybrid_check("00200667308", "0123456789") == "5"


def test_new_codes_have_the_canonical_shape() -> None:
    code = new_certificate_code()
    assert len(code) == 12
    assert set(code) <= set(CROCKFORD)
    assert is_valid_certificate_code(code)


def test_new_codes_are_random() -> None:
    assert len({new_certificate_code() for _ in range(100)}) == 100


def test_a_seeded_generator_gives_reproducible_codes() -> None:
    assert new_certificate_code(random.Random(42)) == new_certificate_code(random.Random(42))
    assert new_certificate_code(random.Random(1)) != new_certificate_code(random.Random(2))


@pytest.mark.parametrize(
    "spelling",
    [
        VALID,
        VALID.lower(),
        "0K3Q-8ZJ5-W2HG",
        "0k3q 8zj5 w2hg",
        "OK3Q8ZJ5W2HG",  # letter O read as zero
        "cert:0K3Q8ZJ5W2HG",
        "CERT:0k3q-8zj5-w2hg",
        "０Ｋ３Ｑ８ＺＪ５Ｗ２ＨＧ",  # full-width input from a Chinese input method
    ],
)
def test_every_accepted_spelling_gives_the_canonical_code(spelling: str) -> None:
    assert parse_trace_code(spelling) == TraceCode(CodeKind.CERTIFICATE, VALID)
    assert is_valid_certificate_code(spelling.removeprefix("cert:").removeprefix("CERT:"))


def test_i_and_l_read_as_one() -> None:
    codes = (new_certificate_code(random.Random(seed)) for seed in range(500))
    with_one = next(code for code in codes if "1" in code)
    assert parse_trace_code(with_one.replace("1", "I")).value == with_one
    assert parse_trace_code(with_one.replace("1", "l")).value == with_one


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("cert:0K3Q8ZJ5W2H", "certificate code must be 12 characters (got 11)"),
        ("cert:0K3Q8ZJ5W2HGG", "certificate code must be 12 characters (got 13)"),
        (
            "0K3Q8ZJ5W2HU",
            "certificate code character 'U' at position 12 is not in the Crockford base32 "
            "alphabet (digits and letters except I, L, O, U)",
        ),
        (
            "cert:0K3Q8ZJ5W2H!",
            "certificate code character '!' at position 12 is not in the Crockford base32 "
            "alphabet (digits and letters except I, L, O, U)",
        ),
        (
            "0K3Q8ZJ5W2HH",
            "certificate code check character is 'H', expected 'G' (ISO 7064 MOD 33,32): "
            "the code is mistyped",
        ),
        (
            # two neighbours swapped
            "0K3Q8ZJ5WH2G",
            "certificate code check character is 'G', expected 'K' (ISO 7064 MOD 33,32): "
            "the code is mistyped",
        ),
        ("cert:", "must not be empty"),
    ],
)
def test_each_broken_rule_is_named(text: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        parse_trace_code(text, field="codes[0]")
    assert caught.value.field == "codes[0]"
    assert caught.value.rule == rule


@pytest.mark.parametrize("text", ["0K3Q8ZJ5W2HH", "0K3Q8ZJ5W2H", "", "0K3Q8ZJ5W2HU", "hello"])
def test_is_valid_certificate_code_rejects_invalid_text(text: str) -> None:
    assert not is_valid_certificate_code(text)
