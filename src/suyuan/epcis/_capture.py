"""EPCIS 2.0 events as events of our catalogue (docs/epcis.md "Capture").

:func:`read_capture_document` checks an ``EPCISDocument`` (its JSON-LD contexts are never
fetched: the standard ones are known by address, any other remote one is refused);
:func:`map_event` makes one EPCIS event one of ours, or lists every reason it cannot:

- an event type we do not record (AssociationEvent, TransactionEvent), a correction
  (``errorDeclaration``), decommissioning, a shape with no event of ours is an
  :class:`UnsupportedFeatureError` naming the member;
- places and parties named by GLN are read through the registry (:mod:`suyuan.places`): a
  place must be one of the capturing organisation's, a party an organisation of the ledger;
- the event we would record is rendered again as EPCIS (:func:`~suyuan.epcis.epcis_event`, full
  view). What decides our event (time, goods, business step, disposition, certificates) must
  hash as sent; any other member it would not export as sent (a purchase order, ``ilmd``, a
  sub-location, a vendor's extension…) is kept as sent (:class:`~suyuan.epcis.Kept`) and put
  back on export. So a captured event exports with the same CBV event hash.

The event's id is derived from its CBV event hash and the capturing organisation
(:func:`captured_event_id`): the same event captured twice is recorded once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from suyuan.codes import CodeKind, parse_trace_code
from suyuan.epcis._document import EPCIS_CONTEXT, NAMESPACE, epcis_event
from suyuan.epcis._hash import OWN_PREFIX, epc_urn_to_digital_link, event_hash, prehash
from suyuan.epcis._identifiers import GS1_DOMAIN, URN_PREFIX, code_from_epc, region_uri
from suyuan.epcis._kept import Kept, captured_event_id, with_kept
from suyuan.epcis._vocabulary import UNITS
from suyuan.errors import (
    EventValidationError,
    InvalidInputError,
    UnauthorisedError,
    raise_errors,
)
from suyuan.events import event_from_json
from suyuan.events.model import TRUST_EVENT_TYPES
from suyuan.places import GlnEntry, GlnKind
from suyuan.trace import TracedEvent

#: JSON-LD contexts known by address (never fetched): EPCIS 2.0's, as GS1 publishes it.
STANDARD_CONTEXTS = frozenset(
    {
        EPCIS_CONTEXT,
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
        "https://gs1.github.io/EPCIS/epcis-context.jsonld",
        "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld",
    }
)

_COMMON = frozenset(
    {
        "@context",
        "type",
        "eventID",
        "eventTime",
        "eventTimeZoneOffset",
        "recordTime",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "certificationInfo",
    }
)
_MEMBERS: dict[str, frozenset[str]] = {
    "ObjectEvent": _COMMON | {"action", "epcList", "quantityList", "ilmd"},
    "AggregationEvent": _COMMON | {"action", "parentID", "childEPCs", "childQuantityList"},
    "TransformationEvent": _COMMON
    | {
        "inputEPCList",
        "outputEPCList",
        "inputQuantityList",
        "outputQuantityList",
        "transformationID",
        "ilmd",
    },
}
_NOT_RECORDED = {
    "AssociationEvent": "we link codes only by packing (AggregationEvent) and transformation",
    "TransactionEvent": "a business transaction is a field of Shipped/Received/Sold, not an event",
}
#: Members that decide our event: they must hash as sent, never kept beside it.
_DECIDING = frozenset(
    {
        "eventTime",
        "eventTimeZoneOffset",
        "epcList",
        "parentID",
        "childEPCs",
        "inputEPCList",
        "outputEPCList",
        "action",
        "bizStep",
        "disposition",
        "gs1:certificationInfo",
        "certificationInfo",
    }
)
_UNITS_BACK = {code: unit for unit, code in reversed(list(UNITS.items()))}
_CBV_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/Disp-",
)
_SHIPPING = frozenset({"shipping", "departing"})
_RECEIVING = frozenset({"receiving", "arriving", "accepting"})
#: Dispositions that say received goods did not pass the receiver's check.
_NOT_PASSED = frozenset(
    {
        "damaged",
        "non_conformant",
        "expired",
        "recalled",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
    }
)
#: A business transaction naming a shipment's document, most specific first: bill of lading,
#: despatch advice, then whatever the event lists first.
_WAYBILL_TYPES = ("bol", "desadv")
_PARTY_TYPES = frozenset({"owning_party", "possessing_party"})
_GS1_VOC = "https://gs1.org/voc/"
_EPCIS_VOC = "https://ref.gs1.org/epcis/"
_TEMPERATURE = f"{_GS1_VOC}Temperature"
_GLN_LINK = re.compile(r"https://id\.gs1\.org/(414|417)/(\d{13})(?:/254/(.+))?")
#: Serialised instances: one piece each in a transformation that gives no amount.
_ONE_PIECE = ("1", "件")


class UnsupportedFeatureError(InvalidInputError):
    """An EPCIS member or event with no mapping to our event catalogue (docs/epcis.md)."""

    reason = "unsupported_feature"


class CaptureDocumentError(InvalidInputError):
    """The body is not an EPCIS 2.0 document we take; :meth:`problems` lists every one found."""

    reason = "invalid_document"

    def __init__(self, problems: Sequence[InvalidInputError]) -> None:
        first = problems[0]
        super().__init__(first.field, first.value, first.rule)
        self.errors = tuple(one for problem in problems for one in problem.problems())

    def problems(self) -> tuple[InvalidInputError, ...]:
        return self.errors


class UnknownGlnError(InvalidInputError):
    """A place or party named by a GLN no organisation registered (docs/epcis.md)."""

    reason = "unknown_gln"


@dataclass(frozen=True)
class CaptureDocument:
    """The events of a document and its own JSON-LD prefixes (for extension names)."""

    events: list[Any]
    prefixes: dict[str, str]


@dataclass(frozen=True)
class MappedEvent:
    """One EPCIS event of a document: its hash and our event (JSON form) with the members kept
    as sent beside it, or its problems."""

    index: int
    event_hash: str | None
    event: dict[str, Any] | None
    problems: list[InvalidInputError] = field(default_factory=list)
    kept: Kept | None = None


def read_capture_document(data: Any) -> CaptureDocument:
    """The events of an ``EPCISDocument`` (JSON already parsed).

    Raises:
        CaptureDocumentError: every problem of the document as a whole: not an EPCISDocument,
            a schema version other than 2.0, a remote JSON-LD context other than the standard
            ones (named), no ``epcisBody.eventList``.
    """
    if not isinstance(data, dict):
        raise CaptureDocumentError(
            [_document_problem("body", type(data).__name__, "must be an EPCISDocument object")]
        )
    problems: list[InvalidInputError] = []
    if data.get("type") != "EPCISDocument":
        problems.append(_document_problem("type", data.get("type"), "must be EPCISDocument"))
    if str(data.get("schemaVersion")) not in ("2.0", "2.0.0"):
        problems.append(
            _document_problem("schemaVersion", data.get("schemaVersion"), "must be 2.0")
        )
    prefixes = _context_prefixes(data.get("@context"), "@context", problems)
    body = data.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        problems.append(
            _document_problem("epcisBody.eventList", None, "must be a list of at least one event")
        )
    if problems:
        raise CaptureDocumentError(problems)
    assert isinstance(events, list)
    return CaptureDocument(events, prefixes)


def _context_prefixes(context: Any, at: str, problems: list[InvalidInputError]) -> dict[str, str]:
    """The prefixes a JSON-LD ``@context`` declares; a remote context other than the standard
    ones, or anything else, is a problem."""
    prefixes: dict[str, str] = {}
    if context is None:
        return prefixes
    for position, item in enumerate(context if isinstance(context, list) else [context]):
        where = f"{at}[{position}]"
        if isinstance(item, str):
            if item not in STANDARD_CONTEXTS:
                problems.append(
                    UnsupportedFeatureError(
                        where,
                        item,
                        "a remote JSON-LD context is never fetched; only the standard EPCIS "
                        "2.0 contexts are known (docs/epcis.md)",
                    )
                )
        elif isinstance(item, dict):
            prefixes.update({k: v for k, v in item.items() if isinstance(v, str)})
        else:
            problems.append(
                _document_problem(where, item, "must be a context address or an object")
            )
    return prefixes


def _document_problem(field: str, value: object, rule: str) -> InvalidInputError:
    """A problem of the document as a whole (reason ``invalid_document``)."""
    problem = InvalidInputError(field, value, rule)
    problem.reason = CaptureDocumentError.reason
    return problem


def glns_named(events: Iterable[Any]) -> set[str]:
    """The GLNs the events name as places (``readPoint``, ``bizLocation``) or parties and
    places of their source and destination lists: those to look up in the registry."""
    found = set()
    for epcis in events:
        if not isinstance(epcis, dict):
            continue
        for name in ("readPoint", "bizLocation"):
            place = epcis.get(name)
            if isinstance(place, dict):
                found.add(str(place.get("id", "")))
        for name, member in (("sourceList", "source"), ("destinationList", "destination")):
            items = epcis.get(name)
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict):
                    found.add(str(item.get(member, "")))
    return {gln[1] for uri in found if (gln := _gln(uri)) is not None}


def _gln(uri: str) -> tuple[str, str] | None:
    """(``414`` or ``417``, the GLN) of a place or party identifier: an SGLN or PGLN URN, or a
    GS1 Digital Link with a GLN on any host; ``None`` for any other."""
    link = epc_urn_to_digital_link(uri) if uri.startswith("urn:") else uri
    if link is None or not link.startswith(("http://", "https://")):
        return None
    path = "/" + link.split("://", 1)[1].partition("/")[2]
    found = _GLN_LINK.fullmatch(GS1_DOMAIN + path)
    return None if found is None else (found[1], found[2])


def map_event(
    epcis: Any,
    *,
    index: int,
    organisation: str,
    prefixes: Mapping[str, str],
    organisation_name: str | None = None,
    registry: Mapping[str, GlnEntry] | None = None,
) -> MappedEvent:
    """One EPCIS event as our event in JSON form, actor ``organisation``; or every problem.

    ``organisation_name`` is its registered name, which our documents give as the agency of
    the certificates it issues (``gs1:certificationInfo``); ``registry`` holds the registered
    GLNs the event names (:func:`glns_named`, :func:`suyuan.places.gln_entries`)."""
    at = f"epcisBody.eventList[{index}]"
    if not isinstance(epcis, dict):
        problem = EventValidationError(at, type(epcis).__name__, "must be an EPCIS event object")
        return MappedEvent(index, None, None, [problem])
    problems: list[InvalidInputError] = []
    names = {**prefixes, **_context_prefixes(epcis.get("@context"), f"{at}.@context", problems)}
    hash_ = event_hash(epcis, names)
    problems.extend(_unsupported(epcis, at))
    if problems:
        return MappedEvent(index, hash_, None, problems)
    event: dict[str, Any] | None = None
    kept: Kept | None = None
    context = _Context(at, organisation, registry or {}, names)
    try:
        event = _our_event(epcis, context, captured_event_id(organisation, hash_))
        kept = _kept(epcis, event, context, names, organisation_name, hash_)
    except InvalidInputError as err:
        problems.extend(err.problems())
    if problems:
        return MappedEvent(index, hash_, None, problems)
    return MappedEvent(index, hash_, event, [], kept)


@dataclass(frozen=True)
class _Context:
    at: str
    organisation: str
    registry: Mapping[str, GlnEntry]
    prefixes: Mapping[str, str] = field(default_factory=dict)


def _unsupported(epcis: Mapping[str, Any], at: str) -> list[InvalidInputError]:
    kind = epcis.get("type")
    if kind in _NOT_RECORDED:
        return [UnsupportedFeatureError(f"{at}.type", kind, f"not recorded: {_NOT_RECORDED[kind]}")]
    allowed = _MEMBERS.get(str(kind))
    if allowed is None:
        return [
            EventValidationError(
                f"{at}.type", kind, "must be ObjectEvent, AggregationEvent or TransformationEvent"
            )
        ]
    problems: list[InvalidInputError] = []
    for name, value in epcis.items():
        if name == "errorDeclaration":
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.{name}",
                    value,
                    "the ledger is append-only: a wrong fact is answered by a new event, not "
                    "declared an error",
                )
            )
        elif name not in allowed and ":" not in name:
            problems.append(
                UnsupportedFeatureError(f"{at}.{name}", value, "not a member of this event type")
            )
    action = epcis.get("action")
    if kind == "ObjectEvent" and action == "DELETE":
        problems.append(
            UnsupportedFeatureError(
                f"{at}.action", action, "decommissioning (ObjectEvent DELETE) has no mapping"
            )
        )
    if kind == "AggregationEvent" and action not in ("ADD", "DELETE", "OBSERVE"):
        problems.append(
            UnsupportedFeatureError(f"{at}.action", action, "must be ADD, OBSERVE or DELETE")
        )
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        values = epcis.get(name)
        for position, uri in enumerate(values if isinstance(values, list) else ()):
            if str(uri).startswith("urn:epc:idpat:"):
                problems.append(
                    UnsupportedFeatureError(
                        f"{at}.{name}[{position}]",
                        uri,
                        "a pattern names no one thing: goods are traced by their own codes",
                    )
                )
    return problems


def _our_event(epcis: Mapping[str, Any], context: _Context, event_id: str) -> dict[str, Any]:
    at, organisation = context.at, context.organisation
    problems: list[InvalidInputError] = []

    def codes_of(name: str) -> list[str]:
        value = epcis.get(name)
        values = [value] if name == "parentID" and value is not None else value or []
        found = []
        for position, uri in enumerate(values if isinstance(values, list) else [values]):
            where = f"{at}.{name}" if name == "parentID" else f"{at}.{name}[{position}]"
            try:
                text = str(uri)
                found.append(str(code_from_epc(epc_urn_to_digital_link(text) or text, field=where)))
            except InvalidInputError as err:
                problems.append(err)
        return found

    kind = epcis["type"]
    given_type = epcis.get("suyuan:eventType")
    given_payload = epcis.get("suyuan:payload")
    if kind == "AggregationEvent":
        parent, children = codes_of("parentID"), codes_of("childEPCs")
        codes = parent + children
        # Observing a packing confirms it: recorded as the packing (the action kept as sent).
        event_type = "Disaggregated" if epcis.get("action") == "DELETE" else "Aggregated"
        payload: Any = {"parent_code": parent[0] if parent else None, "child_codes": children}
        if given_type is not None and given_type != event_type:
            problems.append(
                EventValidationError(f"{at}.suyuan:eventType", given_type, f"must be {event_type}")
            )
    elif kind == "TransformationEvent":
        inputs, outputs = codes_of("inputEPCList"), codes_of("outputEPCList")
        codes = inputs + outputs
        event_type = str(given_type or "Transformed")
        payload = given_payload
        if given_type is None and given_payload is None:
            payload = {
                "process": "PROCESSING",
                "inputs": _amounts(epcis, "input", inputs, at, problems),
                "outputs": _amounts(epcis, "output", outputs, at, problems),
            }
    else:
        codes = codes_of("epcList")
        event_type, payload = _object_type(epcis, context, given_type, given_payload, problems)
    if payload is None:
        problems.append(
            UnsupportedFeatureError(
                f"{at}.suyuan:payload",
                None,
                f"{event_type} holds facts EPCIS has no field for: give them in suyuan:payload "
                "(docs/events.md)",
            )
        )
    if event_type in TRUST_EVENT_TYPES:
        problems.append(
            UnsupportedFeatureError(
                f"{at}.suyuan:eventType", event_type, "trust events are not captured"
            )
        )
    told = epcis.get("suyuan:actor")
    if isinstance(told, dict) and told.get("uscc") not in (None, organisation):
        # Our documents name who did each event: another organisation's event is not ours to
        # sign (it is captured with that organisation's token).
        problems.append(
            UnsupportedFeatureError(
                f"{at}.suyuan:actor",
                told.get("uscc"),
                f"an event of another organisation: only {organisation}'s own are captured here",
            )
        )
    if isinstance(payload, dict):
        _check_parties(epcis, context, event_type, payload, problems)
    quantity, unit = _quantity(epcis, at, problems)
    data = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": _occurred_at(epcis, at, problems),
        "actor": organisation,
        "location": _location(epcis, context, problems),
        "codes": list(dict.fromkeys(codes)),
        "quantity": quantity,
        "unit": unit,
        "biz_step": _cbv_word(epcis.get("bizStep")),
        "disposition": _cbv_word(epcis.get("disposition")),
        "payload": payload,
    }
    raise_errors(problems)
    return data


def _object_type(
    epcis: Mapping[str, Any],
    context: _Context,
    given_type: Any,
    given_payload: Any,
    problems: list[InvalidInputError],
) -> tuple[str, Any]:
    """Our event type of an ObjectEvent: as named by ``suyuan:eventType`` (our own documents),
    or, told in standard terms alone, a shipment, a receipt or a temperature record."""
    if given_type is not None:
        return str(given_type), given_payload
    at = context.at
    step = _cbv_word(epcis.get("bizStep"))
    action = epcis.get("action")
    if action == "OBSERVE" and step in _SHIPPING:
        # Parties are checked with the event (_check_parties); here only the partner is read.
        receivers = _parties(epcis, "destinationList", "destination", context, [])
        waybill = _waybill(epcis)
        if waybill is None:
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.bizTransactionList",
                    None,
                    "a shipment needs the document it travels under: a business transaction "
                    "(bol, desadv or another) whose value is its number",
                )
            )
        # No receiver named: the goods stay in the shipper's own hands (docs/epcis.md).
        to_org = next((p for p in receivers if p != context.organisation), context.organisation)
        return "Shipped", {"to_org": to_org, "waybill_no": waybill}
    if action == "OBSERVE" and step in _RECEIVING:
        senders = _parties(epcis, "sourceList", "source", context, [])
        from_org = next((p for p in senders if p != context.organisation), context.organisation)
        return "Received", {
            "from_org": from_org,
            "waybill_no": _waybill(epcis),
            "check_passed": _cbv_word(epcis.get("disposition")) not in _NOT_PASSED,
        }
    if action == "OBSERVE" and epcis.get("sensorElementList"):
        return "TemperatureRecorded", _temperatures(epcis, at, problems, context.prefixes)
    problems.append(
        UnsupportedFeatureError(
            f"{at}.bizStep",
            epcis.get("bizStep"),
            f"no mapping for an ObjectEvent {action} with this business step in standard "
            "terms alone: name our event in suyuan:eventType with its suyuan:payload",
        )
    )
    return "Shipped", {}


def _waybill(epcis: Mapping[str, Any]) -> str | None:
    """The number of the document a shipment travels under: the value of its ``bol``, else its
    ``desadv``, else its first business transaction (``urn:suyuan:waybill:{no}`` read back)."""
    items = [
        item
        for item in _items(epcis.get("bizTransactionList"))
        if isinstance(item, dict) and item.get("bizTransaction")
    ]
    for kind in _WAYBILL_TYPES:
        for item in items:
            if _cbv_type(item.get("type")) == kind:
                return _transaction_number(str(item["bizTransaction"]))
    return _transaction_number(str(items[0]["bizTransaction"])) if items else None


def _transaction_number(value: str) -> str:
    prefix = f"{URN_PREFIX}waybill:"
    return unquote(value[len(prefix) :]) if value.startswith(prefix) else value


def _parties(
    epcis: Mapping[str, Any],
    name: str,
    member: str,
    context: _Context,
    problems: list[InvalidInputError],
) -> list[str]:
    """The organisations (USCC) a source or destination list names as owning or possessing
    party: ``urn:suyuan:org:{USCC}`` or a registered party GLN. Any other party is a problem:
    the ledger records only its organisations as partners."""
    found: list[str] = []
    items = epcis.get(name)
    for position, item in enumerate(items if isinstance(items, list) else ()):
        if not isinstance(item, dict) or _cbv_type(item.get("type")) not in _PARTY_TYPES:
            continue
        value = str(item.get(member, ""))
        where = f"{context.at}.{name}[{position}]"
        prefix = f"{URN_PREFIX}org:"
        if value.startswith(prefix):
            found.append(unquote(value[len(prefix) :]))
            continue
        gln = _gln(value)
        entry = context.registry.get(gln[1]) if gln is not None and gln[0] == "417" else None
        if entry is None or entry.kind is not GlnKind.PARTY:
            problems.append(
                UnknownGlnError(
                    where,
                    value,
                    "a party is an organisation of the ledger: urn:suyuan:org:{USCC} or a "
                    "party GLN registered to it",
                )
            )
            continue
        found.append(entry.organisation)
    return found


def _check_parties(
    epcis: Mapping[str, Any],
    context: _Context,
    event_type: str,
    payload: Mapping[str, Any],
    problems: list[InvalidInputError],
) -> None:
    """The parties named must be those our event records: the capturing organisation, and
    where our event names a partner (a shipment's receiver, a receipt's sender, a release's or
    a sale's taker) that partner. Nobody else's name is put on an event."""
    me = context.organisation
    partner = {
        "Shipped": ("destinationList", payload.get("to_org")),
        "Received": ("sourceList", payload.get("from_org")),
        "Released": ("destinationList", payload.get("released_to")),
        "Sold": ("destinationList", payload.get("buyer")),
    }.get(event_type)
    for name, member in (("sourceList", "source"), ("destinationList", "destination")):
        allowed = {me}
        if partner is not None and partner[0] == name and partner[1]:
            allowed.add(str(partner[1]))
        for party in _parties(epcis, name, member, context, problems):
            if party not in allowed:
                problems.append(
                    UnauthorisedError(
                        f"{context.at}.{name}",
                        party,
                        f"names an organisation {event_type} does not record as a party: "
                        f"only {', '.join(sorted(allowed))}",
                    )
                )


def _temperatures(
    epcis: Mapping[str, Any],
    at: str,
    problems: list[InvalidInputError],
    prefixes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A temperature record from sensor reports: one device, each ``Temperature`` report in
    ``CEL`` a reading at its time (the report's, else its element's, else the event's). EPCIS
    has no allowed range: the record's is that of its readings (docs/epcis.md)."""
    readings: list[dict[str, Any]] = []
    values: list[float] = []
    devices: set[str | None] = set()
    for position, element in enumerate(_items(epcis.get("sensorElementList"))):
        where = f"{at}.sensorElementList[{position}]"
        if not isinstance(element, dict):
            continue
        metadata = element.get("sensorMetadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        for report in _items(element.get("sensorReport")):
            if not isinstance(report, dict) or _TEMPERATURE not in (
                report.get("type"),
                _expanded(str(report.get("type")), {"gs1": _GS1_VOC, **(prefixes or {})}),
            ):
                # A temperature under any prefix is recorded: kept as sent unrecorded, the
                # export would show readings the ledger's record does not hold.
                continue
            device = report.get("deviceID") or metadata.get("deviceID")
            devices.add(str(device) if device else None)
            if report.get("uom") != "CEL" or not isinstance(report.get("value"), int | float):
                problems.append(
                    UnsupportedFeatureError(
                        f"{where}.sensorReport",
                        report.get("uom"),
                        "a temperature is recorded as a value in CEL",
                    )
                )
                continue
            moment = report.get("time") or metadata.get("time") or epcis.get("eventTime")
            values.append(float(report["value"]))
            readings.append({"at": moment, "celsius": values[-1]})
    if not readings or len(devices) != 1 or None in devices:
        problems.append(
            UnsupportedFeatureError(
                f"{at}.sensorElementList",
                None,
                "a temperature record is one device's readings: Temperature reports in CEL "
                "with one deviceID",
            )
        )
        return {}
    return {
        "device_id": devices.pop(),
        "readings": readings,
        "min_celsius": min(values),
        "max_celsius": max(values),
    }


def _amounts(
    epcis: Mapping[str, Any],
    side: str,
    codes: Sequence[str],
    at: str,
    problems: list[InvalidInputError],
) -> list[dict[str, Any]]:
    """The inputs or outputs of a transformation told in standard terms: each code with the
    amount its quantity element gives (epcClass the same code, a unit we know), else one piece
    for a serialised instance; a lot without an amount is a problem."""
    given: dict[str, tuple[str, str]] = {}
    for element in _items(epcis.get(f"{side}QuantityList")):
        if not isinstance(element, dict):
            continue
        text = str(element.get("epcClass", ""))
        unit = _UNITS_BACK.get(str(element.get("uom")))
        try:
            code = str(code_from_epc(epc_urn_to_digital_link(text) or text))
            number = Decimal(str(element.get("quantity")))
        except (InvalidInputError, InvalidOperation):
            continue
        if unit is not None:
            given[code] = (str(number), unit)
    found = []
    for position, code in enumerate(codes):
        amount = given.get(code)
        if amount is None and _serialised(code):
            amount = _ONE_PIECE
        if amount is None:
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.{side}EPCList[{position}]",
                    code,
                    f"a lot transformed needs its amount: a {side}QuantityList element of the "
                    "same class in a unit we know",
                )
            )
            continue
        found.append({"code": code, "quantity": amount[0], "unit": amount[1]})
    return found


def _items(value: Any) -> list[Any]:
    """``value`` if it is a list, else no items (a malformed member is refused elsewhere or
    kept as sent, never an exception)."""
    return value if isinstance(value, list) else []


def _serialised(code: str) -> bool:
    """Whether ``code`` (canonical text) names one item: a GTIN with a serial, an SSCC, or a
    code of ours."""
    kind = parse_trace_code(code, field="code").kind
    return kind is not CodeKind.GS1 or "(21)" in code or code.startswith("(00)")


def _cbv_type(value: Any) -> str:
    text = str(value)
    for prefix in ("urn:epcglobal:cbv:sdt:", "urn:epcglobal:cbv:btt:"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    for word in ("SDT-", "BTT-"):
        if text.startswith(f"https://ref.gs1.org/cbv/{word}"):
            return text.rsplit("-", 1)[1]
    return text


def _cbv_word(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    for prefix in _CBV_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _occurred_at(epcis: Mapping[str, Any], at: str, problems: list[InvalidInputError]) -> str:
    text = str(epcis.get("eventTime", ""))
    offset = str(epcis.get("eventTimeZoneOffset", ""))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset[1:].split(":")
        zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    except ValueError:
        problems.append(
            EventValidationError(
                f"{at}.eventTime",
                text,
                "must be an RFC 3339 time with an offset, and eventTimeZoneOffset ±hh:mm",
            )
        )
        return text
    if moment.tzinfo is None:
        problems.append(EventValidationError(f"{at}.eventTime", text, "must carry a zone offset"))
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).isoformat()


def _location(
    epcis: Mapping[str, Any], context: _Context, problems: list[InvalidInputError]
) -> dict[str, Any] | None:
    """Where the event happened: as our documents tell it (``suyuan:location``), or the
    registered place of its ``bizLocation``, else of its ``readPoint``. Every place named by
    GLN must be one of the capturing organisation's."""
    at = context.at
    places: dict[str, GlnEntry] = {}
    for name in ("readPoint", "bizLocation"):
        point = epcis.get(name)
        if point is None:
            continue
        uri = str(point.get("id", "")) if isinstance(point, dict) else ""
        gln = _gln(uri)
        if gln is None or gln[0] != "414":
            if not uri.startswith(f"{URN_PREFIX}region:") or epcis.get("suyuan:location") is None:
                problems.append(
                    UnsupportedFeatureError(
                        f"{at}.{name}",
                        point,
                        "a place is a GLN registered to the organisation (SGLN or "
                        "https://id.gs1.org/414/…), or our region and suyuan:location",
                    )
                )
            elif isinstance(told := epcis.get("suyuan:location"), dict) and uri != region_uri(
                str(told.get("region_code"))
            ):
                # Kept as sent, another region would be exported in our own identifiers beside
                # the region the ledger records for the event.
                problems.append(
                    EventValidationError(
                        f"{at}.{name}",
                        uri,
                        "our region identifier names the region of suyuan:location "
                        f"({told.get('region_code')}), not another",
                    )
                )
            continue
        entry = context.registry.get(gln[1])
        told = epcis.get("suyuan:location")
        if told is not None:
            # Our own document tells the place in full: a GLN beside it must be the one the
            # ledger records (suyuan:location's gln), or the export would show a place the
            # event's signed record does not name — and nobody's rule ever checked.
            recorded = told.get("gln") if isinstance(told, dict) else None
            if recorded is not None and str(recorded) != gln[1]:
                problems.append(
                    EventValidationError(
                        f"{at}.{name}",
                        uri,
                        f"a place given by GLN is the gln of suyuan:location ({recorded}), "
                        "not another",
                    )
                )
                continue
            if entry is None:
                if recorded is None:
                    problems.append(
                        UnknownGlnError(
                            f"{at}.{name}",
                            uri,
                            "no place is registered with this GLN and suyuan:location does not "
                            "record it as its gln (the ledger would not hold the place shown)",
                        )
                    )
                continue  # recorded in the event as sent; nobody registered it
        if entry is None or entry.kind is not GlnKind.PLACE:
            problems.append(
                UnknownGlnError(
                    f"{at}.{name}", uri, "no place is registered with this GLN (docs/epcis.md)"
                )
            )
        elif entry.organisation != context.organisation:
            problems.append(
                UnauthorisedError(
                    f"{at}.{name}",
                    uri,
                    "another organisation's place: events are captured only at the capturing "
                    "organisation's own places",
                )
            )
        else:
            places[name] = entry
    # The place of the goods (bizLocation), else where they were seen leaving (readPoint).
    place = places.get("bizLocation") or places.get("readPoint")
    given = epcis.get("suyuan:location")
    if given is None:
        if place is None:
            return None
        return {
            "region_code": place.region_code,
            "name": place.name,
            "address": place.address,
            "gln": place.gln,
        }
    if not isinstance(given, dict):
        problems.append(EventValidationError(f"{at}.suyuan:location", given, "must be an object"))
        return None
    return {
        "region_code": given.get("region_code"),
        "name": given.get("name"),
        "address": given.get("address"),
        "gln": given.get("gln") or (None if place is None else place.gln),
    }


def _quantity(
    epcis: Mapping[str, Any], at: str, problems: list[InvalidInputError]
) -> tuple[str | None, str | None]:
    given = epcis.get("suyuan:quantity")
    if isinstance(given, dict):
        return given.get("quantity"), given.get("unit")
    quantities = epcis.get("quantityList")
    if isinstance(quantities, list) and len(quantities) == 1 and isinstance(quantities[0], dict):
        element = quantities[0]
        unit = _UNITS_BACK.get(str(element.get("uom")))
        if unit is not None:
            return str(element.get("quantity")), unit
    # Any other quantity list is kept as sent: the classes it names are not traced codes.
    return None, None


def _kept(
    epcis: Mapping[str, Any],
    data: dict[str, Any],
    context: _Context,
    prefixes: Mapping[str, str],
    actor_name: str | None,
    hash_: str,
) -> Kept | None:
    """The members the event we would record does not export as sent, kept as sent.

    Raises:
        UnsupportedFeatureError: every member that decides our event (time, goods, action,
            business step, disposition, certificates) and would not export as sent.
    """
    event = event_from_json(data)
    traced = TracedEvent(event, 0, 0, datetime.now(UTC), actor_name)
    again = epcis_event(traced, public=False, base_url="", names=None)
    at = context.at
    if again["type"] != epcis["type"]:
        raise UnsupportedFeatureError(
            f"{at}.suyuan:eventType",
            data["event_type"],
            f"is exported as {again['type']}, not as {epcis['type']}",
        )
    problems: list[InvalidInputError] = []
    members: dict[str, Any] = {}
    for name in sorted(set(epcis) | set(again)):
        if name.startswith(OWN_PREFIX) or name in ("type", "eventID", "recordTime", "@context"):
            continue
        if name in epcis and _names_ours(name, epcis[name], {**prefixes, "suyuan": NAMESPACE}):
            # Kept and exported, it would speak in the ledger's own vocabulary beside what the
            # ledger says (another actor, another ledger position) under another prefix.
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.{name}",
                    name,
                    f"names a term of Suyuan's own vocabulary ({NAMESPACE}) other than by "
                    "the prefix suyuan: those are written by the ledger, never kept as sent",
                )
            )
            continue
        if name in epcis and _standard_by_another_name(name, prefixes):
            # e:eventTime (e bound to EPCIS) is a second eventTime to a JSON-LD reader: kept as
            # sent, the export would show a time, step or disposition the ledger never checked.
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.{name}",
                    name,
                    "a member of EPCIS or of GS1's vocabulary is sent by its own name, not "
                    "under another prefix or as a full IRI",
                )
            )
            continue
        sent = {"type": epcis["type"], name: epcis.get(name)}
        kept = {"type": epcis["type"], name: again.get(name)}
        if prehash(sent, prefixes) == prehash(kept, prefixes):
            continue
        observed = name == "action" and epcis.get("action") == "OBSERVE"
        if name in _DECIDING and not (observed and epcis["type"] == "AggregationEvent"):
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.{name}",
                    epcis.get(name),
                    "would not be recorded as sent (Suyuan's event exports it as "
                    f"{again.get(name)!r})",
                )
            )
        else:
            members[name] = epcis.get(name)
    raise_errors(problems)
    if not members:
        return None
    used = {p: iri for p, iri in prefixes.items() if p != "suyuan" and _uses(members, p)}
    found = Kept(hash_, members, used)
    if event_hash(with_kept(again, event, found), used) != hash_:
        raise UnsupportedFeatureError(
            at, None, "would not export with the hash it was captured with"
        )
    return found


def _expanded(term: str, prefixes: Mapping[str, str]) -> str:
    """``term`` as a full IRI when its prefix is one of ``prefixes`` (a bare term is GS1's)."""
    prefix, colon, rest = term.partition(":")
    if not colon:
        return _GS1_VOC + term
    return prefixes[prefix] + rest if prefix in prefixes else term


def _standard_by_another_name(name: str, prefixes: Mapping[str, str]) -> bool:
    """Whether ``name`` spells a term of EPCIS or of GS1's vocabulary other than as the
    standard contexts do (``gs1:`` is theirs; a bare name is EPCIS's own)."""
    prefix, colon, _ = name.partition(":")
    if not colon or (prefix == "gs1" and prefixes.get("gs1", _GS1_VOC) == _GS1_VOC):
        return False
    return _expanded(name, prefixes).startswith((_EPCIS_VOC, _GS1_VOC))


def _names_ours(name: str, value: Any, prefixes: Mapping[str, str]) -> bool:
    """Whether member ``name`` or a member inside ``value`` expands (through ``prefixes``, or
    as a full IRI) to a term of our vocabulary (a nested ``suyuan:`` member does: the export
    declares that prefix)."""
    prefix, colon, rest = name.partition(":")
    iri = prefixes[prefix] + rest if colon and prefix in prefixes else name
    if iri.startswith(NAMESPACE):
        return True
    if isinstance(value, dict):
        return any(_names_ours(str(k), v, prefixes) for k, v in value.items())
    if isinstance(value, list):
        return any(_names_ours("", v, prefixes) for v in value)
    return False


def _uses(value: Any, prefix: str) -> bool:
    """Whether ``value`` names a member with ``prefix:``."""
    if isinstance(value, dict):
        return any(str(k).startswith(f"{prefix}:") or _uses(v, prefix) for k, v in value.items())
    if isinstance(value, list):
        return any(_uses(v, prefix) for v in value)
    return False
