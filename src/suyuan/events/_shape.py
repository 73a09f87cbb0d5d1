"""The Event record compiled once: envelope and payload converters (design.md §4).

An :class:`EventShape` turns an :class:`~suyuan.events.model.Event` into the fastavro datum of the
current ``suyuan.v1.Event`` schema and back, and converts the HTTP JSON form to and from the datum
(see :mod:`suyuan.events._nodes` for the three forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suyuan.errors import DecodeError, EventValidationError, InvalidInputError, raise_errors
from suyuan.events._nodes import (
    RecordNode,
    RecordUnionNode,
    SchemaCompiler,
    parse_timestamp,
    reject_unknown_fields,
)
from suyuan.events._registry import SchemaFileError
from suyuan.events.model import Event, Location

#: Top-level keys of the JSON form, in the order :func:`event_to_json` writes them.
JSON_KEYS = (
    "event_id",
    "event_type",
    "occurred_at",
    "actor",
    "location",
    "codes",
    "quantity",
    "unit",
    "biz_step",
    "disposition",
    "payload",
)


class EventShape:
    """Converters for one version of the Event schema (normally the current one)."""

    def __init__(self, parsed_event_schema: Any) -> None:
        record = SchemaCompiler(DecodeError).compile(parsed_event_schema)
        if not isinstance(record, RecordNode):
            raise SchemaFileError("the Event schema must be a record")
        payload = record.field("payload").node
        if not isinstance(payload, RecordUnionNode):
            raise SchemaFileError("Event.payload must be a union of records")
        self.record = record
        self.envelope = record.without("payload")
        self.payload = payload

    # --- model <-> datum ------------------------------------------------------------------------

    def datum_from_event(self, event: Event) -> dict[str, Any]:
        """The fastavro datum of ``event``.

        Raises:
            EventValidationError: naming the first field whose value does not fit the schema.
        """
        if not isinstance(event, Event):
            raise EventValidationError("event", event, "must be a suyuan.events.Event")
        envelope = {
            "event_id": event.event_id,
            "occurred_at": event.occurred_at,
            "actor": event.actor,
            "location": _location_mapping(event.location),
            "codes": event.codes,
            "quantity": event.quantity,
            "unit": event.unit,
            "biz_step": event.biz_step,
            "disposition": event.disposition,
        }
        datum = self.envelope.from_model(envelope, "")
        datum["payload"] = self.payload.from_model((event.event_type, event.payload), "payload")
        return datum

    def event_from_datum(
        self, datum: dict[str, Any], error: type[InvalidInputError] = DecodeError
    ) -> Event:
        """The Event of a datum read by fastavro (or built by :meth:`datum_from_json`).

        Raises:
            DecodeError: (or ``error``) a timestamp is not RFC 3339 with offset, or the datum
                uses an envelope field the event model cannot hold.
        """
        event_type, payload = self.payload.to_model(datum["payload"], "payload")
        location = datum["location"]
        return Event(
            event_id=datum["event_id"],
            event_type=event_type,
            occurred_at=parse_timestamp(datum["occurred_at"], "occurred_at", error),
            actor=datum["actor"],
            location=None if location is None else Location(**location),
            codes=tuple(datum["codes"]),
            payload=payload,
            quantity=datum["quantity"],
            unit=datum["unit"],
            biz_step=datum["biz_step"],
            disposition=datum["disposition"],
        )

    # --- JSON <-> datum -------------------------------------------------------------------------

    def datum_from_json(self, obj: Any) -> dict[str, Any]:
        """The datum of the HTTP JSON form of an event.

        Raises:
            EventValidationError: naming the unknown, missing or ill-typed field; several at
                once as :class:`~suyuan.errors.MultipleInputError`.
        """
        if not isinstance(obj, Mapping):
            raise EventValidationError("event", obj, "must be a JSON object")
        errors: list[InvalidInputError] = []
        try:
            reject_unknown_fields(obj, "", JSON_KEYS, "an event")
        except InvalidInputError as err:
            errors.append(err)
        missing = [name for name in ("event_type", "payload") if name not in obj]
        errors.extend(EventValidationError(n, None, "required field is missing") for n in missing)
        # Unknown keys are reported once, above; the envelope reads the known ones.
        envelope = {
            key: value
            for key, value in obj.items()
            if key not in ("event_type", "payload") and key in JSON_KEYS
        }
        datum: dict[str, Any] = {}
        payload: Any = None
        try:
            datum = self.envelope.from_json(envelope, "")
        except InvalidInputError as err:
            errors.append(err)
        if not missing:
            try:
                payload = self.payload.from_json((obj["event_type"], obj["payload"]), "payload")
            except InvalidInputError as err:
                errors.append(err)
        raise_errors(errors)  # the envelope's and the payload's problems, together
        datum["payload"] = payload
        return datum

    def json_from_datum(self, datum: dict[str, Any]) -> dict[str, Any]:
        """The HTTP JSON form of a datum (keys in :data:`JSON_KEYS` order)."""
        envelope = self.envelope.to_json(datum)
        event_type, payload = self.payload.to_json(datum["payload"])
        envelope.update(event_type=event_type, payload=payload)
        return {key: envelope[key] for key in JSON_KEYS}


def _location_mapping(location: Any) -> Any:
    if isinstance(location, Location):
        return {
            "region_code": location.region_code,
            "name": location.name,
            "address": location.address,
            "gln": location.gln,
        }
    return location  # None, or a wrong type the record converter reports
