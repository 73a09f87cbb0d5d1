"""The trace-code value: a kind and a canonical text (design.md §3).

Canonical forms are unambiguous by shape, so the canonical text alone tells the kind:

* certificate code: 12 Crockford base32 characters, e.g. ``0K3Q8ZJ5W2HG``;
* GS1: human-readable text of the identifying AIs, always starting with ``(``;
* drug trace code: 20 digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CodeKind(StrEnum):
    """The kinds of trace code; the value is also the accepted input prefix (``cert:`` …)."""

    CERTIFICATE = "cert"
    GS1 = "gs1"
    DRUG = "drug"


@dataclass(frozen=True, slots=True)
class TraceCode:
    """A parsed trace code. Build it with :func:`suyuan.codes.parse_trace_code`.

    ``value`` is the canonical text carried in events and indexed by the ledger.
    """

    kind: CodeKind
    value: str

    def __str__(self) -> str:
        return self.value
