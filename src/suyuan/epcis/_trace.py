"""A trace as one EPCIS 2.0 document (``GET /v1/trace/{code}?format=epcis``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from suyuan.epcis._document import epcis_document
from suyuan.epcis._identifiers import epc_uri
from suyuan.epcis._kept import Kept
from suyuan.trace import PRIVATE_EVENT_TYPES, Trace, TracedEvent


def trace_document(
    trace: Trace,
    *,
    public: bool,
    base_url: str,
    created: datetime,
    health_reports: bool = False,
    kept: Callable[[Iterable[str]], Mapping[str, Kept]] | None = None,
) -> dict[str, Any]:
    """The events of ``trace`` (certificates, tests, documents, custody, temperature records,
    recalls, voids) as one
    ``EPCISDocument``, oldest first, in the same view as ``trace_json``: the public view when
    ``public``, and reports about a person's health only with ``health_reports``. The document
    says which code it traces, in which view, and whether the trace is complete
    (``suyuan:trace``). ``kept`` reads the members of captured events kept as sent, by event id
    (:func:`~suyuan.epcis.kept_members`); only the full view uses them."""
    private = public or not health_reports
    seen: dict[str, TracedEvent] = {}
    for traced in (
        *trace.certificates,
        *trace.inspections,
        *trace.documents,
        *trace.custody,
        *trace.temperature_records,
        *trace.recalls,
        *trace.voids,
    ):
        if private and traced.event.event_type in PRIVATE_EVENT_TYPES:
            continue
        seen.setdefault(traced.event.event_id, traced)
    events = sorted(seen.values(), key=lambda t: (t.event.occurred_at, t.shard, t.seq))
    summary: dict[str, Any] = {
        "code": trace.code,
        "epc": epc_uri(trace.code),
        "status": trace.status,
        "view": "public" if public else "full",
        "complete": trace.complete,
    }
    if not public and trace.forward_codes is not None:
        summary["forwardEPCs"] = [epc_uri(c) for c in trace.forward_codes]
    return epcis_document(
        events,
        public=public,
        base_url=base_url,
        created=created,
        names=trace.public_names() if public else None,
        extensions={"suyuan:trace": summary},
        kept=None if public or kept is None else kept(seen),
    )
