"""Events of the ledger as EPCIS 2.0 JSON-LD (docs/epcis.md).

An event becomes one EPCIS event (:data:`~suyuan.epcis._vocabulary.EVENT_TYPES`) built from the
JSON its reader may see (:func:`suyuan.trace.traced_event_json`): the public view leaves out
amounts, trading partners and commercial documents there, so it cannot reappear here. Whatever
EPCIS has no field for travels in extension members under our namespace ``suyuan:``
(``urn:suyuan:epcis:``): the event type, the payload, the actor, and the event's ledger position
with the address of its inclusion proof. The JSON-LD context is named, never fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from suyuan.codes import is_valid_certificate_code
from suyuan.epcis._identifiers import epc_uri, location_uri, party_uri, region_uri
from suyuan.epcis._kept import Kept, with_kept
from suyuan.epcis._vocabulary import (
    ACTOR,
    AGGREGATION,
    CERTIFICATIONS,
    EVENT_TYPES,
    LEAVING_TYPES,
    OBSERVE,
    TRANSFORMATION,
    UNITS,
)
from suyuan.trace import TracedEvent, traced_event_json

#: The standard EPCIS 2.0 context (named only: a reader has it bundled) and our namespace.
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NAMESPACE = "urn:suyuan:epcis:"
CONTEXT: list[Any] = [EPCIS_CONTEXT, {"suyuan": NAMESPACE}]
SCHEMA_VERSION = "2.0"
MEDIA_TYPE = "application/ld+json"


def epcis_document(
    events: Iterable[TracedEvent],
    *,
    public: bool,
    base_url: str,
    created: datetime,
    names: frozenset[str] | None = None,
    extensions: Mapping[str, Any] | None = None,
    kept: Mapping[str, Kept] | None = None,
) -> dict[str, Any]:
    """An ``EPCISDocument`` of ``events`` in the order given, each seen as ``public`` (with the
    actors in ``names`` named) or in full. ``base_url`` is our public base URL (proof links);
    ``extensions`` are added to the document under their own (``suyuan:``) names; ``kept`` are
    the members of captured events kept as sent, by event id (full view only)."""
    found = kept or {}
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": created.isoformat(),
        **(extensions or {}),
        "epcisBody": {
            "eventList": [
                epcis_event(
                    t,
                    public=public,
                    base_url=base_url,
                    names=names,
                    kept=found.get(t.event.event_id),
                )
                for t in events
            ]
        },
    }


def epcis_event(
    traced: TracedEvent,
    *,
    public: bool,
    base_url: str,
    names: frozenset[str] | None = None,
    kept: Kept | None = None,
) -> dict[str, Any]:
    """One event as an EPCIS 2.0 event of the view (see :func:`epcis_document`). In the full
    view, the members of a captured event ``kept`` as sent are put back (``with_kept``): the
    public view shows only what the JSON trace shows."""
    event = traced.event
    view = traced_event_json(traced, public=public, names=names)
    payload: dict[str, Any] = view["payload"]
    epcis_type, action = EVENT_TYPES.get(event.event_type, ("ObjectEvent", OBSERVE))
    body: dict[str, Any] = {
        "type": epcis_type,
        "eventTime": event.occurred_at.isoformat(),
        "eventTimeZoneOffset": _offset(event.occurred_at),
        "recordTime": traced.recorded_at.isoformat(),
        "eventID": f"urn:uuid:{event.event_id}",
    }
    if action is not None:
        body["action"] = action
    body.update(_what(event.event_type, list(event.codes), payload, view))
    if event.biz_step:
        body["bizStep"] = event.biz_step
    if event.disposition:
        body["disposition"] = event.disposition
    body.update(_where(traced, view))
    body.update(_parties(event.actor, payload))
    body.update(_sensors(event.event_type, payload))
    certifications = _certifications(event.event_type, view)
    if certifications:
        body["gs1:certificationInfo"] = certifications
    body.update(_extensions(traced, view, base_url))
    return body if public else with_kept(body, event, kept)


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _what(
    event_type: str, codes: list[str], payload: Mapping[str, Any], view: Mapping[str, Any]
) -> dict[str, Any]:
    """The identifiers (and, where the view shows them, quantities) the event is about."""
    kind = EVENT_TYPES.get(event_type, ("ObjectEvent", OBSERVE))[0]
    if kind == AGGREGATION:
        return {
            "parentID": epc_uri(payload["parent_code"]),
            "childEPCs": [epc_uri(c) for c in payload["child_codes"]],
        }
    if kind == TRANSFORMATION:
        found: dict[str, Any] = {
            "inputEPCList": [epc_uri(item["code"]) for item in payload["inputs"]],
            "outputEPCList": [epc_uri(item["code"]) for item in payload["outputs"]],
        }
        for side in ("input", "output"):
            quantities = _quantities(payload[f"{side}s"])
            if quantities:
                found[f"{side}QuantityList"] = quantities
        return found
    found = {"epcList": [epc_uri(c) for c in codes]}
    # One code and a visible amount: the amount is that code's (several codes share none).
    if len(codes) == 1 and view.get("quantity") is not None:
        quantities = _quantities([{"code": codes[0], **view}])
        if quantities:
            found["quantityList"] = quantities
    return found


def _quantities(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Quantity elements of the items whose amount is shown and whose unit has a UN/ECE code."""
    found = []
    for item in items:
        uom = UNITS.get(str(item.get("unit")))
        if item.get("quantity") is None or uom is None:
            continue
        found.append(
            {"epcClass": epc_uri(item["code"]), "quantity": _number(item["quantity"]), "uom": uom}
        )
    return found


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _where(traced: TracedEvent, view: Mapping[str, Any]) -> dict[str, Any]:
    location = traced.event.location
    shown = view.get("location")
    if location is None or shown is None:
        return {}
    # The GLN only where the view shows the place itself; elsewhere only its region.
    place = {"id": location_uri(location, precise=shown.get("name") is not None)}
    if traced.event.event_type in LEAVING_TYPES:
        return {"readPoint": place}
    return {"readPoint": place, "bizLocation": place}


def _parties(actor: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Trading partners and transactions: present only in the full view's payload."""
    sources: list[dict[str, str]] = []
    destinations: list[dict[str, str]] = []
    if payload.get("to_org"):
        sources.append({"type": "owning_party", "source": party_uri(actor)})
        destinations.append({"type": "owning_party", "destination": party_uri(payload["to_org"])})
    if isinstance(payload.get("destination"), Mapping):
        region = payload["destination"].get("region_code")
        if region:
            destinations.append({"type": "location", "destination": region_uri(region)})
    if payload.get("from_org"):
        sources.append({"type": "owning_party", "source": party_uri(payload["from_org"])})
        destinations.append({"type": "owning_party", "destination": party_uri(actor)})
    for field in ("released_to", "buyer"):
        if payload.get(field):
            destinations.append({"type": "owning_party", "destination": party_uri(payload[field])})
    found: dict[str, Any] = {}
    if sources:
        found["sourceList"] = sources
    if destinations:
        found["destinationList"] = destinations
    transactions = [
        {"type": kind, "bizTransaction": f"urn:suyuan:{name}:{quote(str(payload[field]), safe='')}"}
        for field, kind, name in (
            ("waybill_no", "bol", "waybill"),
            ("receipt_no", "inv", "receipt"),
        )
        if payload.get(field)
    ]
    if transactions:
        found["bizTransactionList"] = transactions
    return found


def _sensors(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    if event_type != "TemperatureRecorded" or not payload.get("readings"):
        return {}
    reports = [
        {"type": "Temperature", "time": r["at"], "value": r["celsius"], "uom": "CEL"}
        for r in payload["readings"]
    ]
    element: dict[str, Any] = {"sensorReport": reports}
    if payload.get("device_id"):
        element["sensorMetadata"] = {
            "deviceID": f"urn:suyuan:device:{quote(str(payload['device_id']), safe='')}"
        }
    return {"sensorElementList": [element]}


def _certifications(event_type: str, view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The documents that certify the goods, as GS1 Web Vocabulary CertificationDetails."""
    payload = view["payload"]
    actor = view.get("actor_name") or view.get("actor")
    found = []
    if event_type == "CertificateIssued":
        # The envelope holds the certificate code and, often, the codes of the goods it covers.
        code = next((c for c in view["codes"] if is_valid_certificate_code(c)), view["codes"][0])
        found.append(_certification("承诺达标合格证", code, actor, payload.get("issue_date")))
    for field, standard, issuer in CERTIFICATIONS.get(event_type, ()):
        value = payload.get(field)
        number = value.get("number") if isinstance(value, Mapping) else value
        if not number:
            continue
        passed = value.get("passed") if isinstance(value, Mapping) else payload.get("passed")
        agency = actor if issuer == ACTOR else payload.get(issuer) if issuer else None
        found.append(_certification(standard, str(number), agency, None, passed))
    return found


def _certification(
    standard: str,
    number: str,
    agency: str | None,
    start: str | None,
    passed: bool | None = None,
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "type": "gs1:CertificationDetails",
        "gs1:certificationStandard": standard,
        "gs1:certificationIdentification": number,
    }
    if agency:
        details["gs1:certificationAgency"] = agency
    if start:
        details["gs1:certificationStartDate"] = start
    if passed is not None:
        details["gs1:certificationStatus"] = "PASSED" if passed else "FAILED"
    return details


def _extensions(traced: TracedEvent, view: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """What EPCIS has no field for, in our namespace: nothing the view does not show."""
    found: dict[str, Any] = {
        "suyuan:eventType": traced.event.event_type,
        "suyuan:ledger": {
            "shard": traced.shard,
            "seq": traced.seq,
            "inclusionProof": (
                f"{base_url.rstrip('/')}/v1/ledger/proof/{quote(traced.event.event_id, safe='')}"
            ),
        },
    }
    if view.get("actor"):
        found["suyuan:actor"] = {"uscc": view["actor"], "name": view.get("actor_name")}
    if view.get("location"):
        found["suyuan:location"] = {k: v for k, v in view["location"].items() if v is not None}
    if view.get("quantity") is not None:
        found["suyuan:quantity"] = {"quantity": view["quantity"], "unit": view["unit"]}
    found["suyuan:payload"] = view["payload"]
    return found
