"""药品追溯码: drug and vaccine trace codes (design.md §3).

A drug trace code is 20 digits: a 7-digit product identifier (药品标识码), then serial and check
parts. The check algorithm is not public, so only the format is validated here; no checksum is
guessed. Packaging levels (case / middle / unit) each carry their own code and are linked by
aggregation events, not by anything in the code.
"""

from __future__ import annotations

from suyuan.codes._model import CodeKind, TraceCode
from suyuan.codes._text import clean_input, compact
from suyuan.errors import CodeError

DRUG_CODE_LENGTH = 20
PRODUCT_ID_LENGTH = 7


def parse_drug_code(text: str, field: str) -> str:
    """Return the canonical drug trace code: 20 ASCII digits, spaces and hyphens removed.

    Raises:
        CodeError: naming ``field`` when the code holds anything but digits or is not 20 long.
    """
    code = compact(clean_input(text, field))
    for position, char in enumerate(code, start=1):
        if not ("0" <= char <= "9"):
            raise CodeError(
                field,
                text,
                f"drug trace code must be digits only (got {char!r} at position {position})",
            )
    if len(code) != DRUG_CODE_LENGTH:
        raise CodeError(
            field,
            text,
            f"drug trace code must be {DRUG_CODE_LENGTH} digits (got {len(code)})",
        )
    return code


def drug_product_id(code: TraceCode | str, *, field: str = "code") -> str:
    """The 7-digit product identifier (药品标识码) at the start of a drug trace code.

    Raises:
        CodeError: ``code`` is not a valid drug trace code.
    """
    if isinstance(code, TraceCode):
        if code.kind is not CodeKind.DRUG:
            raise CodeError(
                field, code.value, f"must be a drug trace code (got a {code.kind} code)"
            )
        return code.value[:PRODUCT_ID_LENGTH]
    return parse_drug_code(code, field)[:PRODUCT_ID_LENGTH]
