"""EPCIS 2.0 events as events of our catalogue (docs/epcis.md "Capture").

:func:`read_capture_document` checks an ``EPCISDocument`` (its JSON-LD contexts are never
fetched: the standard ones are known by address, any other remote one is refused);
:func:`map_event` makes one EPCIS event one of ours, or lists every reason it cannot:

- a member with no mapping (``ilmd``, ``persistentDisposition``, ``errorDeclaration``, a user
  extension, …) or an event type we do not record (AssociationEvent, TransactionEvent) is an
  :class:`UnsupportedFeatureError` naming it;
- the event we would record must read back as the event sent: it is rendered again as EPCIS
  (:func:`~suyuan.epcis.epcis_event`, full view) and every standard member must hash as sent.
  So a captured event exports with the same CBV event hash, and nothing sent is silently lost.

The event's id is derived from its CBV event hash and the capturing organisation
(:func:`captured_event_id`): the same event captured twice is recorded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from suyuan.epcis._document import EPCIS_CONTEXT, epcis_event
from suyuan.epcis._hash import OWN_PREFIX, epc_urn_to_digital_link, event_hash, prehash
from suyuan.epcis._identifiers import GS1_DOMAIN, URN_PREFIX, code_from_epc
from suyuan.epcis._vocabulary import UNITS
from suyuan.errors import EventValidationError, InvalidInputError, raise_errors
from suyuan.events import event_from_json
from suyuan.events.model import TRUST_EVENT_TYPES
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
#: uuid5 namespace of captured event ids: uuid5(NAMESPACE_URL, "urn:suyuan:epcis:capture").
CAPTURE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:suyuan:epcis:capture")

_COMMON = frozenset(
    {
        "type",
        "eventID",
        "eventTime",
        "eventTimeZoneOffset",
        "recordTime",
        "bizStep",
        "disposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "gs1:certificationInfo",
        "certificationInfo",
    }
)
_MEMBERS: dict[str, frozenset[str]] = {
    "ObjectEvent": _COMMON | {"action", "epcList", "quantityList"},
    "AggregationEvent": _COMMON | {"action", "parentID", "childEPCs"},
    "TransformationEvent": _COMMON
    | {"inputEPCList", "outputEPCList", "inputQuantityList", "outputQuantityList"},
}
_NOT_RECORDED = {
    "AssociationEvent": "we link codes only by packing (AggregationEvent) and transformation",
    "TransactionEvent": "a business transaction is a field of Shipped/Received/Sold, not an event",
}
_UNITS_BACK = {code: unit for unit, code in reversed(list(UNITS.items()))}
_CBV_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/Disp-",
)


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


@dataclass(frozen=True)
class CaptureDocument:
    """The events of a document and its own JSON-LD prefixes (for extension names)."""

    events: list[Any]
    prefixes: dict[str, str]


@dataclass(frozen=True)
class MappedEvent:
    """One EPCIS event of a document: its hash and our event (JSON form), or its problems."""

    index: int
    event_hash: str | None
    event: dict[str, Any] | None
    problems: list[InvalidInputError] = field(default_factory=list)


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
    prefixes: dict[str, str] = {}
    context = data.get("@context")
    for position, item in enumerate(context if isinstance(context, list) else [context]):
        where = f"@context[{position}]"
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


def _document_problem(field: str, value: object, rule: str) -> InvalidInputError:
    """A problem of the document as a whole (reason ``invalid_document``)."""
    problem = InvalidInputError(field, value, rule)
    problem.reason = CaptureDocumentError.reason
    return problem


def captured_event_id(organisation: str, hash_: str) -> str:
    """Our event id of an EPCIS event with CBV hash ``hash_`` captured by ``organisation``:
    uuid5 of both, so a repeat is the same event and another organisation's is not."""
    return str(uuid.uuid5(CAPTURE_NAMESPACE, f"{organisation} {hash_}"))


def map_event(
    epcis: Any,
    *,
    index: int,
    organisation: str,
    prefixes: Mapping[str, str],
    organisation_name: str | None = None,
) -> MappedEvent:
    """One EPCIS event as our event in JSON form, actor ``organisation``; or every problem.

    ``organisation_name`` is its registered name, which our documents give as the agency of
    the certificates it issues (``gs1:certificationInfo``)."""
    at = f"epcisBody.eventList[{index}]"
    if not isinstance(epcis, dict):
        problem = EventValidationError(at, type(epcis).__name__, "must be an EPCIS event object")
        return MappedEvent(index, None, None, [problem])
    hash_ = event_hash(epcis, prefixes)
    problems = _unsupported(epcis, at)
    if problems:
        return MappedEvent(index, hash_, None, problems)
    event: dict[str, Any] | None = None
    try:
        event = _our_event(epcis, at, organisation, captured_event_id(organisation, hash_))
        problems.extend(_reads_back(epcis, event, at, prefixes, organisation_name))
    except InvalidInputError as err:
        problems.extend(err.problems())
    return MappedEvent(index, hash_, None if problems else event, problems)


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
    problems: list[InvalidInputError] = [
        UnsupportedFeatureError(f"{at}.{name}", value, "has no mapping to Suyuan's events")
        for name, value in epcis.items()
        if name not in allowed and not name.startswith(OWN_PREFIX)
    ]
    action = epcis.get("action")
    if kind == "ObjectEvent" and action == "DELETE":
        problems.append(
            UnsupportedFeatureError(
                f"{at}.action", action, "decommissioning (ObjectEvent DELETE) has no mapping"
            )
        )
    if kind == "AggregationEvent" and action not in ("ADD", "DELETE"):
        problems.append(
            UnsupportedFeatureError(
                f"{at}.action", action, "only packing (ADD) and unpacking (DELETE) are recorded"
            )
        )
    return problems


def _our_event(
    epcis: Mapping[str, Any], at: str, organisation: str, event_id: str
) -> dict[str, Any]:
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
        event_type = "Aggregated" if epcis.get("action") == "ADD" else "Disaggregated"
        payload: Any = {"parent_code": parent[0] if parent else None, "child_codes": children}
        if given_type is not None and given_type != event_type:
            problems.append(
                EventValidationError(f"{at}.suyuan:eventType", given_type, f"must be {event_type}")
            )
    elif kind == "TransformationEvent":
        codes = codes_of("inputEPCList") + codes_of("outputEPCList")
        event_type, payload = str(given_type or "Transformed"), given_payload
    else:
        codes = codes_of("epcList")
        event_type, payload = _object_type(epcis, at, given_type, given_payload, problems)
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
    quantity, unit = _quantity(epcis, at, problems)
    data = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": _occurred_at(epcis, at, problems),
        "actor": organisation,
        "location": _location(epcis, at, problems),
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
    at: str,
    given_type: Any,
    given_payload: Any,
    problems: list[InvalidInputError],
) -> tuple[str, Any]:
    """Our event type of an ObjectEvent: as named by ``suyuan:eventType`` (our own documents),
    or a shipment told in standard terms alone; nothing else can be told without our facts."""
    if given_type is not None:
        return str(given_type), given_payload
    step = _cbv_word(epcis.get("bizStep"))
    if epcis.get("action") == "OBSERVE" and step in ("shipping", "departing"):
        to_org = _one(epcis.get("destinationList"), "destination", "owning_party", "org")
        waybill = _one(epcis.get("bizTransactionList"), "bizTransaction", "bol", "waybill")
        if to_org is None or waybill is None:
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.destinationList",
                    None,
                    "a shipment needs its receiver (destination owning_party urn:suyuan:org:"
                    "{USCC}) and its waybill (bizTransaction bol urn:suyuan:waybill:{no})",
                )
            )
        return "Shipped", {"to_org": to_org, "waybill_no": waybill}
    problems.append(
        UnsupportedFeatureError(
            f"{at}.bizStep",
            epcis.get("bizStep"),
            f"no mapping for an ObjectEvent {epcis.get('action')} with this business step in "
            "standard terms alone: name our event in suyuan:eventType with its suyuan:payload",
        )
    )
    return "Shipped", {}


def _one(items: Any, member: str, kind: str, urn: str) -> str | None:
    """The value of the one element of ``kind`` in a source/destination/transaction list whose
    value is ``urn:suyuan:{urn}:{value}``."""
    if not isinstance(items, list):
        return None
    prefix = f"{URN_PREFIX}{urn}:"
    for item in items:
        if isinstance(item, dict) and _cbv_type(item.get("type")) == kind:
            value = str(item.get(member, ""))
            if value.startswith(prefix):
                return unquote(value[len(prefix) :])
    return None


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
    epcis: Mapping[str, Any], at: str, problems: list[InvalidInputError]
) -> dict[str, Any] | None:
    given = epcis.get("suyuan:location")
    if given is None:
        for name in ("readPoint", "bizLocation"):
            if epcis.get(name) is not None:
                problems.append(
                    UnsupportedFeatureError(
                        f"{at}.{name}",
                        epcis[name],
                        "a place in Suyuan is a region code (GB/T 2260) and a name: give them "
                        "in suyuan:location",
                    )
                )
        return None
    if not isinstance(given, dict):
        problems.append(EventValidationError(f"{at}.suyuan:location", given, "must be an object"))
        return None
    point = epcis.get("readPoint")
    place = str(point.get("id", "")) if isinstance(point, dict) else ""
    gln_prefix = f"{GS1_DOMAIN}/414/"
    gln = place[len(gln_prefix) :] if place.startswith(gln_prefix) else None
    return {
        "region_code": given.get("region_code"),
        "name": given.get("name"),
        "address": given.get("address"),
        "gln": given.get("gln", gln),
    }


def _quantity(
    epcis: Mapping[str, Any], at: str, problems: list[InvalidInputError]
) -> tuple[str | None, str | None]:
    given = epcis.get("suyuan:quantity")
    if isinstance(given, dict):
        return given.get("quantity"), given.get("unit")
    quantities = epcis.get("quantityList")
    if not quantities:
        return None, None
    if isinstance(quantities, list) and len(quantities) == 1 and isinstance(quantities[0], dict):
        element = quantities[0]
        unit = _UNITS_BACK.get(str(element.get("uom")))
        if unit is not None:
            return str(element.get("quantity")), unit
    problems.append(
        UnsupportedFeatureError(
            f"{at}.quantityList",
            None,
            "only one amount per event, in a unit of UN/ECE Rec. 20 we know, is recorded",
        )
    )
    return None, None


def _reads_back(
    epcis: Mapping[str, Any],
    data: dict[str, Any],
    at: str,
    prefixes: Mapping[str, str],
    actor_name: str | None,
) -> list[InvalidInputError]:
    """Every standard member the event we would record does not export as it was sent."""
    event = event_from_json(data)
    traced = TracedEvent(event, 0, 0, datetime.now(UTC), actor_name)
    again = epcis_event(traced, public=False, base_url="", names=None)
    if again["type"] != epcis["type"]:
        return [
            UnsupportedFeatureError(
                f"{at}.suyuan:eventType",
                data["event_type"],
                f"is exported as {again['type']}, not as {epcis['type']}",
            )
        ]
    problems: list[InvalidInputError] = []
    for name in sorted(set(epcis) | set(again)):
        if name.startswith(OWN_PREFIX) or name in ("type", "eventID", "recordTime"):
            continue
        sent = {"type": epcis["type"], name: epcis.get(name)}
        kept = {"type": epcis["type"], name: again.get(name)}
        if prehash(sent, prefixes) != prehash(kept, prefixes):
            problems.append(
                UnsupportedFeatureError(
                    f"{at}.{name}",
                    epcis.get(name),
                    "would not be recorded as sent (Suyuan's event exports it as "
                    f"{again.get(name)!r})",
                )
            )
    return problems
