"""Certificate codes of 承诺达标合格证, issued by Suyuan (design.md §3).

A certificate code is 12 characters of Crockford base32: 11 random characters and one check
character computed with the ISO 7064 hybrid system MOD 33,32 over the same alphabet
(``stdnum.iso7064.mod_37_36`` with the Crockford alphabet). The hybrid system catches every single
substituted character, and the alphabet has no I, L, O or U, so codes read aloud or typed from a
printed label survive: input is case-insensitive, hyphens and spaces are ignored, and I/L read as 1
and O as 0 (Crockford's decoding rules). 11 random characters give 55 bits, enough that issuing
codes at random never needs a uniqueness round trip in practice.
"""

from __future__ import annotations

import random
import re
import secrets

from stdnum.iso7064 import mod_37_36

from suyuan.codes._text import clean_input, compact
from suyuan.errors import CodeError

#: Crockford base32 alphabet: digits and capital letters except I, L, O, U.
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CERTIFICATE_CODE_LENGTH = 12
_BODY_LENGTH = CERTIFICATE_CODE_LENGTH - 1

# Crockford's decoding: letters easily mistaken for digits read as those digits.
_CROCKFORD_ALIASES = str.maketrans("ILO", "110")
_CANONICAL = re.compile(f"[{CROCKFORD_ALPHABET}]{{{CERTIFICATE_CODE_LENGTH}}}")


def new_certificate_code(rng: random.Random | None = None) -> str:
    """Draw a fresh certificate code (canonical form).

    Uses the ``secrets`` module unless ``rng`` is given (for reproducible demo data and tests).
    """
    choose = secrets.choice if rng is None else rng.choice
    body = "".join(choose(CROCKFORD_ALPHABET) for _ in range(_BODY_LENGTH))
    return body + _check_character(body)


def parse_certificate_code(text: str, field: str) -> str:
    """Return the canonical (upper-case, 12-character) form of a certificate code.

    Raises:
        CodeError: naming ``field`` when the code has the wrong length, a character outside the
            Crockford alphabet, or a check character that does not match.
    """
    code = compact(clean_input(text, field)).upper().translate(_CROCKFORD_ALIASES)
    if len(code) != CERTIFICATE_CODE_LENGTH:
        raise CodeError(
            field,
            text,
            f"certificate code must be {CERTIFICATE_CODE_LENGTH} characters (got {len(code)})",
        )
    for position, char in enumerate(code, start=1):
        if char not in CROCKFORD_ALPHABET:
            raise CodeError(
                field,
                text,
                f"certificate code character {char!r} at position {position} is not in the "
                "Crockford base32 alphabet (digits and letters except I, L, O, U)",
            )
    expected = _check_character(code[:-1])
    if code[-1] != expected:
        raise CodeError(
            field,
            text,
            f"certificate code check character is {code[-1]!r}, expected {expected!r} "
            "(ISO 7064 MOD 33,32): the code is mistyped",
        )
    return code


def is_valid_certificate_code(text: str) -> bool:
    """Whether ``text`` is a valid certificate code (in any accepted spelling)."""
    # Asked of every code of a 合格证 event (which is its own): answer the canonical codes
    # and the ASCII text of the wrong length (NFKC leaves ASCII alone, compact and upper keep
    # the length) without building the parser's error.
    if is_canonical_certificate_code(text):
        return True
    if text.isascii() and len(compact(text.strip())) != CERTIFICATE_CODE_LENGTH:
        return False
    try:
        parse_certificate_code(text, "code")
    except CodeError:
        return False
    return True


def is_canonical_certificate_code(text: str) -> bool:
    """Whether ``text`` is a valid certificate code written exactly in canonical form."""
    return _CANONICAL.fullmatch(text) is not None and _check_character(text[:-1]) == text[-1]


def _check_character(body: str) -> str:
    check: str = mod_37_36.calc_check_digit(body, alphabet=CROCKFORD_ALPHABET)
    return check
