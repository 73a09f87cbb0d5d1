"""The FDA Food Traceability Rule's "sortable spreadsheet" of a lot (docs/exports.md "FSMA 204").

21 CFR 1.1455(c)(3)(ii) lets the FDA ask, in an outbreak, for an electronic sortable
spreadsheet of the key data elements (KDEs) of the critical tracking events (CTEs) of a food.
This builds it from one source, the full trace of the code (:class:`suyuan.trace.Tracer`):
one row per event of the trace that is a CTE, in the order the events happened.

Our event types map to CTEs as :data:`CTE_OF` says; harvesting, cooling and first land-based
receiving have no event of ours, and every other event type (storing, testing, selling to a
consumer, destroying…) is not a CTE and has no row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suyuan.codes import is_valid_certificate_code
from suyuan.exports import Cell, Table, cell_text, joined
from suyuan.trace import Trace, TracedEvent

#: Our event type → the CTE it records (21 CFR 1.1310 definitions).
CTE_OF: Mapping[str, str] = {
    # the producer or purchaser who packs a lot and issues its 合格证 assigns its lot code
    "CertificateIssued": "initial packing",
    # first receipt in the country of the goods declared at import, with their papers
    "ImportDeclared": "receiving",
    "Shipped": "shipping",
    "Received": "receiving",
    "Transformed": "transformation",
}
#: Events that give a code its lot code: where the code's "traceability lot code source" is.
ASSIGNING_TYPES = frozenset({"CertificateIssued", "ImportDeclared", "Transformed"})

COLUMNS = (
    "Traced lot code",
    "Critical tracking event",
    "Event type",
    "Traceability lot code",
    "Product description",
    "Quantity",
    "Unit of measure",
    "Date",
    "Time",
    "Location business name",
    "Location USCC",
    "Location name",
    "Location address",
    "Location region code",
    "Previous source / subsequent recipient",
    "Previous source / subsequent recipient USCC",
    "Transformation inputs",
    "Reference document type",
    "Reference document number",
    "Traceability lot code source",
    "Traceability lot code source USCC",
    "Ledger event id",
)


def fsma204_rows(trace: Trace) -> list[tuple[Cell, ...]]:
    """One row per critical tracking event of ``trace`` (a full trace), oldest first."""
    shown = [*trace.certificates, *trace.custody, *trace.documents]
    unique = {t.event.event_id: t for t in shown if t.event.event_type in CTE_OF}
    ordered = sorted(unique.values(), key=lambda t: (t.event.occurred_at, t.shard, t.seq))
    names = {t.event.actor: t.actor_name for t in shown if t.actor_name}
    sources = _lot_code_sources(ordered)
    assigning = {t.event.event_id for t in sources.values()}
    containers = {
        str(t.event.payload["parent_code"])
        for t in trace.custody
        if t.event.event_type == "Aggregated"
    }
    product = _product_text(trace.product)
    return [
        _row(trace, t, names, sources, containers, product)
        for t in ordered
        # a certificate for a lot that already had its code (a purchaser's, for goods bought
        # certified) packs nothing: the lot was packed where its code was given
        if t.event.event_type != "CertificateIssued" or t.event.event_id in assigning
    ]


def fsma204_table(trace: Trace) -> Table:
    """:func:`fsma204_rows` under :data:`COLUMNS`."""
    return Table(COLUMNS, fsma204_rows(trace), sheet="FSMA 204")


def _row(
    trace: Trace,
    traced: TracedEvent,
    names: Mapping[str, str | None],
    sources: Mapping[str, TracedEvent],
    containers: set[str],
    product: str | None,
) -> tuple[Cell, ...]:
    event = traced.event
    payload = event.payload
    lots = _lot_codes(trace.code, event.codes, containers)
    counterparty = payload.get("to_org") or payload.get("from_org")
    source = next((sources[c] for c in lots if c in sources), None)
    document_type, document_no = _reference(event.event_type, payload, event.codes)
    place = _location(traced)
    return (
        trace.code,
        CTE_OF[event.event_type],
        event.event_type,
        joined(lots, " "),
        _product_text(payload) or product,
        *_amount(traced, lots),
        event.occurred_at.date().isoformat(),
        event.occurred_at.isoformat(),
        traced.actor_name,
        event.actor,
        *place,
        None if counterparty is None else names.get(str(counterparty)),
        counterparty,
        _inputs(payload) if event.event_type == "Transformed" else None,
        document_type,
        document_no,
        None if source is None else _place(source),
        None if source is None else source.event.actor,
        event.event_id,
    )


def _amount(traced: TracedEvent, lots: list[str]) -> tuple[Cell, Cell]:
    """The event's quantity and unit; a transformation's is what came out under the lot code."""
    event = traced.event
    if event.event_type == "Transformed":
        for output in event.payload.get("outputs", ()):
            if output.get("code") in lots:
                return output.get("quantity"), output.get("unit")
    return event.quantity, event.unit


def _location(traced: TracedEvent) -> tuple[str | None, str | None, str | None]:
    """(name, address, region code) of where the event happened; a certificate recorded without
    a location was issued for goods of its 产地 (origin), which stands in."""
    location = traced.event.location
    if location is not None:
        return location.name, location.address, location.region_code
    payload = traced.event.payload
    if traced.event.event_type == "CertificateIssued" and payload.get("origin"):
        return str(payload["origin"]), None, payload.get("origin_region_code")
    return None, None, None


def _lot_codes(code: str, codes: tuple[str, ...], containers: set[str]) -> list[str]:
    """The traced code when the event names it or a case or pallet it was packed in (the trace
    shows a container's events only while the code was inside); else the event's goods codes
    (an upstream lot or an input)."""
    if code in codes or containers.intersection(codes):
        return [code]
    return [c for c in codes if not is_valid_certificate_code(c)] or list(codes)


def _lot_code_sources(events: list[TracedEvent]) -> dict[str, TracedEvent]:
    """Code → the first event that gave it its lot code (packing, import or transformation)."""
    sources: dict[str, TracedEvent] = {}
    for traced in events:
        event = traced.event
        if event.event_type not in ASSIGNING_TYPES:
            continue
        if event.event_type == "Transformed":
            codes = [str(o["code"]) for o in event.payload.get("outputs", ())]
        else:
            codes = [c for c in event.codes if not is_valid_certificate_code(c)]
        for code in codes:
            sources.setdefault(code, traced)
    return sources


def _reference(
    event_type: str, payload: Mapping[str, Any], codes: tuple[str, ...]
) -> tuple[str | None, str | None]:
    """(reference document type, number) the event names, if any."""
    if event_type == "CertificateIssued":
        return "合格证 (certificate of conformity)", joined(
            (c for c in codes if is_valid_certificate_code(c)), " "
        ) or None
    if event_type == "ImportDeclared":
        if payload.get("customs_declaration_no"):
            return "报关单 (customs declaration)", str(payload["customs_declaration_no"])
        quarantine = payload.get("quarantine_certificate") or {}
        return "入境货物检验检疫证明 (entry inspection certificate)", quarantine.get("number")
    if payload.get("waybill_no"):
        return "电子运单 (electronic waybill)", str(payload["waybill_no"])
    if event_type == "Received" and payload.get("upstream_certificates"):
        return "合格证 (certificate of conformity)", joined(payload["upstream_certificates"], " ")
    return None, None


def _product_text(payload: Mapping[str, Any] | None) -> str | None:
    if not payload:
        return None
    name = payload.get("product_name") or payload.get("name")
    if not name:
        return None
    category = payload.get("category")
    return f"{name} ({category})" if category else str(name)


def _inputs(payload: Mapping[str, Any]) -> str:
    return joined(
        f"{i.get('code')} {cell_text(i.get('quantity'))} {i.get('unit') or ''}".strip()
        for i in payload.get("inputs", ())
    )


def _place(traced: TracedEvent) -> str:
    """Location description of where a lot code was assigned: who and where."""
    event = traced.event
    who = traced.actor_name or event.actor
    parts = [who]
    if event.location is not None:
        name = event.location.name if event.location.name != who else ""
        parts += [name, event.location.address or "", event.location.region_code]
    origin = event.payload.get("origin") or event.payload.get("origin_country")
    if origin:
        parts.append(f"origin {origin}")
    return joined(parts, ", ")
