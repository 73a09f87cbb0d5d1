"""统一社会信用代码 (USCC), GB 32100-2015 (design.md §3).

Layout of the 18 characters:

====== ======================== ==========================================
chars  meaning                  rule
====== ======================== ==========================================
1      登记管理部门 (registrar)  1-9, A, N (农业: village collectives) or Y
2      机构类别 (entity type)    a digit 1-9
3-8    行政区划码 (GB/T 2260)    6 digits
9-17   主体标识码 (GB 11714)     USCC alphabet (0-9, A-Z without I O S V Z)
18     check character          GB/T 17710 MOD 31-3 over the first 17
====== ======================== ==========================================

``stdnum.cn.uscc.validate`` insists on 8 leading digits and so rejects valid codes that start with
A, N or Y; only its check-character computation is used here.
"""

from __future__ import annotations

import random

from stdnum.cn import uscc as stdnum_uscc

from suyuan.codes._text import clean_input, compact
from suyuan.errors import CodeError

USCC_LENGTH = 18
#: GB 32100-2015 character set: digits and capital letters except I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
REGISTRAR_CODES = "123456789ANY"
ENTITY_TYPE_CODES = "123456789"


def validate_uscc(text: str, *, field: str = "actor") -> str:
    """Return the canonical USCC (upper case, no spaces or hyphens).

    Lower case input is accepted; every rule of GB 32100-2015 is checked in order and the first one
    broken is reported.

    Raises:
        CodeError: naming ``field`` and the rule broken: length, registrar (char 1), entity type
            (char 2), region code (chars 3-8), subject identifier alphabet (chars 9-17) or check
            character (char 18).
    """
    code = compact(clean_input(text, field)).upper()
    if len(code) != USCC_LENGTH:
        raise CodeError(field, text, f"USCC must be {USCC_LENGTH} characters (got {len(code)})")
    _check_structure(code, text, field)
    expected = stdnum_uscc.calc_check_digit(code[:-1])
    if code[-1] != expected:
        raise CodeError(
            field,
            text,
            f"USCC check character (char 18) is {code[-1]!r}, expected {expected!r}",
        )
    return code


def new_uscc(
    region_code: str,
    *,
    registrar: str = "9",
    entity_type: str = "1",
    rng: random.Random | None = None,
) -> str:
    """A well-formed USCC with a random subject identifier, for demo and test organisations.

    Raises:
        CodeError: the given registrar, entity type or region code breaks a rule.
    """
    pick = rng or random.SystemRandom()
    subject = "".join(pick.choice(USCC_ALPHABET) for _ in range(9))
    body = f"{registrar}{entity_type}{region_code}{subject}"
    return validate_uscc(body + stdnum_uscc.calc_check_digit(body), field="uscc")


def _check_structure(code: str, text: str, field: str) -> None:
    if code[0] not in REGISTRAR_CODES:
        raise CodeError(
            field,
            text,
            f"USCC char 1 (登记管理部门, registrar) must be 1-9, A, N or Y (got {code[0]!r})",
        )
    if code[1] not in ENTITY_TYPE_CODES:
        raise CodeError(
            field,
            text,
            f"USCC char 2 (机构类别, entity type) must be a digit 1-9 (got {code[1]!r})",
        )
    region = code[2:8]
    if not (region.isascii() and region.isdigit()):
        raise CodeError(
            field,
            text,
            f"USCC chars 3-8 (行政区划码, region code) must be 6 digits (got {region!r})",
        )
    for position, char in enumerate(code[8:17], start=9):
        if char not in USCC_ALPHABET:
            raise CodeError(
                field,
                text,
                f"USCC chars 9-17 (主体标识码) must be digits or letters other than I, O, S, V, Z "
                f"(got {char!r} at char {position})",
            )
