"""What an event contributes to the trace projections (design.md §7).

Pure functions of the event: the codes it is about (for ``code_events``) and the edges it adds
between codes (for ``code_edges``). Written in the same transaction as the entry, so a trace
never lags the ledger and never scans it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from suyuan.events.model import Event

#: Edge kinds, read "parent → child".
CONTAINS = "contains"  # Aggregated: the case/pallet holds the unit
UNPACKED = "unpacked"  # Disaggregated: the unit left the case
TRANSFORMED = "transformed"  # Transformed: input became output
CERTIFIED_FROM = "certified_from"  # CertificateIssued: upstream certificate → new certificate
VOIDED_BY = "voided_by"  # CertificateVoided: voided certificate → replacement
#: The event types that may add edges (:func:`edges_of`).
EDGE_EVENT_TYPES = frozenset(
    {"Aggregated", "Disaggregated", "Transformed", "CertificateIssued", "CertificateVoided"}
)


def _codes_in(values: Iterable[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping) and isinstance(value.get("code"), str):
            yield value["code"]


def edges_of(event: Event) -> list[tuple[str, str, str]]:
    """(parent, child, kind) edges the event adds between codes."""
    payload = event.payload
    kind = event.event_type
    if kind in ("Aggregated", "Disaggregated"):
        edge = CONTAINS if kind == "Aggregated" else UNPACKED
        return [(payload["parent_code"], child, edge) for child in payload["child_codes"]]
    if kind == "Transformed":
        return [
            (source, product, TRANSFORMED)
            for source in _codes_in(payload["inputs"])
            for product in _codes_in(payload["outputs"])
        ]
    if kind == "CertificateIssued":
        return [
            (upstream, code, CERTIFIED_FROM)
            for upstream in payload["upstream_certificates"]
            for code in event.codes
        ]
    if kind == "CertificateVoided" and payload.get("replacement_code"):
        return [(code, payload["replacement_code"], VOIDED_BY) for code in event.codes]
    return []


def codes_of(event: Event) -> list[str]:
    """Every code the event is about: its envelope codes plus codes named in its payload."""
    return projections_of(event)[0]


def projections_of(event: Event) -> tuple[list[str], list[tuple[str, str, str]]]:
    """:func:`codes_of` and :func:`edges_of` together, deriving the edges once."""
    edges = edges_of(event)
    seen: dict[str, None] = dict.fromkeys(event.codes)
    for parent, child, _kind in edges:
        seen.setdefault(parent)
        seen.setdefault(child)
    payload = event.payload
    for name in ("root_codes", "upstream_certificates"):
        if name in payload:
            for code in payload[name]:
                seen.setdefault(code)
    return list(seen), edges
