"""Input hygiene shared by every code parser (design.md §3).

Codes arrive from barcode scanners, keyboards with Chinese input methods and JSON bodies. Before any
kind-specific rule runs, the text is checked to be a bounded string without control characters and
normalised with NFKC, so that full-width input such as ``１２３`` or ``（01）`` reads as ASCII.
"""

from __future__ import annotations

import unicodedata

from suyuan.errors import CodeError

#: Longest code text accepted, before normalisation (design.md §3: bounded input).
MAX_CODE_LENGTH = 512

#: GS1 group separator: stands for FNC1 in element strings, the only control character allowed.
GROUP_SEPARATOR = "\x1d"

# Characters people put into long codes to make them readable: spaces (incl. the ideographic
# space of Chinese input methods) and hyphens.
_READABILITY_CHARACTERS = str.maketrans("", "", " \u3000-")


def clean_input(text: object, field: str, *, max_length: int = MAX_CODE_LENGTH) -> str:
    """Return ``text`` NFKC-normalised and stripped, or raise :class:`CodeError`.

    Raises:
        CodeError: ``text`` is not a string, is empty, longer than ``max_length`` characters, or
            contains a control or invisible format character other than the GS1 group separator.
    """
    text = require_text(text, field)
    if len(text) > max_length:
        raise CodeError(field, text, f"must be at most {max_length} characters (got {len(text)})")
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned:
        raise CodeError(field, text, "must not be empty")
    _reject_control_characters(cleaned, field)
    return cleaned


def require_text(value: object, field: str) -> str:
    """Return ``value`` if it is a string, else raise :class:`CodeError`."""
    if not isinstance(value, str):
        raise CodeError(field, value, f"must be a text string (got {type(value).__name__})")
    return value


def _reject_control_characters(text: str, field: str) -> None:
    if text.isprintable():  # no Cc/Cf character at all: the common case, checked in C
        return
    for position, char in enumerate(text, start=1):
        if char != GROUP_SEPARATOR and unicodedata.category(char) in ("Cc", "Cf"):
            raise CodeError(
                field,
                text,
                f"must not contain control characters (found U+{ord(char):04X} "
                f"at position {position})",
            )


def compact(text: str) -> str:
    """``text`` without the spaces and hyphens people add for readability."""
    return text.translate(_READABILITY_CHARACTERS)
