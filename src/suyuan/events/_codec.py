"""Avro single-object encoding of events and signed batches (design.md §4, §5).

Layout of every message (Avro specification, "Single-object encoding")::

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | Avro binary datum

Encoding always uses the current schema; decoding looks the fingerprint up in the
:class:`~suyuan.events._registry.SchemaRegistry` and reads old data into the current schema.
Every failure becomes a :class:`~suyuan.errors.DecodeError` (or
:class:`~suyuan.errors.EventValidationError` when encoding) naming the field and the rule.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from suyuan.errors import DecodeError, EventValidationError, InvalidInputError
from suyuan.events._registry import (
    BATCH_SCHEMA_NAME,
    EVENT_SCHEMA_NAME,
    FINGERPRINT_LENGTH,
    SchemaRegistry,
    WriterSchema,
)
from suyuan.events._shape import EventShape
from suyuan.events.model import Event, SignedBatch

#: The two marker bytes that open every single-object-encoded message.
SINGLE_OBJECT_MARKER = b"\xc3\x01"
HEADER_LENGTH = len(SINGLE_OBJECT_MARKER) + FINGERPRINT_LENGTH
#: Largest encoded event accepted or produced (header included). 60 KiB, so that the ledger
#: leaf holding it (under 1 KiB more) fits the uint16 length of a tlog-tiles entry bundle.
MAX_EVENT_BYTES = 60 * 1024
#: Largest encoded signed batch accepted or produced; Kafka messages stay well below this.
MAX_BATCH_BYTES = 8 * 1024 * 1024


class Codec:
    """Encoder and decoder bound to one schema registry."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self.shape = EventShape(registry.event_schema.parsed)
        self._event_header = SINGLE_OBJECT_MARKER + registry.event_schema.fingerprint
        self._batch_header = SINGLE_OBJECT_MARKER + registry.batch_schema.fingerprint

    # --- events ---------------------------------------------------------------------------------

    def encode_event(self, event: Event) -> bytes:
        datum = self.shape.datum_from_event(event)
        data = _write(self._event_header, self.registry.event_schema, datum, "event")
        if len(data) > MAX_EVENT_BYTES:
            raise EventValidationError(
                "event", data, f"encoded event is {len(data)} bytes; at most {MAX_EVENT_BYTES}"
            )
        return data

    def decode_event(self, data: bytes) -> Event:
        datum = self._read(data, EVENT_SCHEMA_NAME, MAX_EVENT_BYTES, "event")
        try:
            return self.shape.event_from_datum(datum)
        except InvalidInputError:
            raise
        except Exception as err:  # the model refusing a value: report it, never leak it
            raise DecodeError("event", data, f"cannot become an Event: {_why(err)}") from err

    def event_datum(self, event: Event) -> dict[str, Any]:
        return self.shape.datum_from_event(event)

    # --- batches --------------------------------------------------------------------------------

    def encode_batch(self, batch: SignedBatch) -> bytes:
        datum = _batch_datum(batch)
        data = _write(self._batch_header, self.registry.batch_schema, datum, "batch")
        if len(data) > MAX_BATCH_BYTES:
            raise EventValidationError(
                "batch", data, f"encoded batch is {len(data)} bytes; at most {MAX_BATCH_BYTES}"
            )
        return data

    def decode_batch(self, data: bytes) -> SignedBatch:
        datum = self._read(data, BATCH_SCHEMA_NAME, MAX_BATCH_BYTES, "batch")
        batch = SignedBatch(
            key_id=datum["key_id"], signature=datum["signature"], events=tuple(datum["events"])
        )
        _check_batch(batch, DecodeError)
        return batch

    # --- framing --------------------------------------------------------------------------------

    def _read(self, data: bytes, name: str, limit: int, field: str) -> Any:
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                raise DecodeError(field, data, f"must be bytes (got {type(data).__name__})")
            data = bytes(data)
        if len(data) > limit:
            raise DecodeError(field, data, f"is {len(data)} bytes; at most {limit} allowed")
        writer = self._writer_of(data, name, field)
        reader = None if writer.is_current else self.registry.current(name).parsed
        stream = io.BytesIO(data)
        stream.seek(HEADER_LENGTH)
        try:
            datum = schemaless_reader(
                stream,
                writer.parsed,
                reader,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as err:  # fastavro raises EOFError, IndexError, UnicodeDecodeError …
            raise DecodeError(
                field, data, f"is not a valid {_short(name)} datum: {_why(err)}"
            ) from err
        if stream.tell() != len(data):
            raise DecodeError(
                field, data, f"has {len(data) - stream.tell()} trailing bytes after the datum"
            )
        return datum

    def _writer_of(self, data: bytes, name: str, field: str) -> WriterSchema:
        if len(data) < HEADER_LENGTH:
            raise DecodeError(
                field, data, f"is {len(data)} bytes, shorter than the {HEADER_LENGTH}-byte header"
            )
        if data[:2] != SINGLE_OBJECT_MARKER:
            raise DecodeError(
                field, data, "does not start with the Avro single-object marker C3 01"
            )
        writer = self.registry.writer(data[2:HEADER_LENGTH])
        if writer.name != name:
            raise DecodeError(field, data, f"is {_article(writer.name)}, not {_article(name)}")
        return writer


def _write(header: bytes, schema: WriterSchema, datum: Any, field: str) -> bytes:
    stream = io.BytesIO()
    stream.write(header)
    try:
        schemaless_writer(stream, schema.parsed, datum)
    except Exception as err:  # the datum was checked; this is a last line of defence
        raise EventValidationError(field, datum, f"cannot be encoded: {_why(err)}") from err
    return stream.getvalue()


def _batch_datum(batch: SignedBatch) -> dict[str, Any]:
    if not isinstance(batch, SignedBatch):
        raise EventValidationError("batch", batch, "must be a suyuan.events.SignedBatch")
    if not isinstance(batch.key_id, str):
        raise EventValidationError("key_id", batch.key_id, "must be a string")
    if not isinstance(batch.signature, bytes):
        raise EventValidationError("signature", batch.signature, "must be bytes")
    if not isinstance(batch.events, tuple | list) or not all(
        isinstance(item, bytes) for item in batch.events
    ):
        raise EventValidationError("events", batch.events, "must be a tuple of bytes")
    _check_batch(batch, EventValidationError)
    return {"key_id": batch.key_id, "signature": batch.signature, "events": list(batch.events)}


def _check_batch(batch: SignedBatch, error: type[InvalidInputError]) -> None:
    if not batch.key_id:
        raise error("key_id", batch.key_id, "must not be empty")
    if not batch.signature:
        raise error("signature", batch.signature, "must not be empty")
    if not batch.events:
        raise error("events", batch.events, "a batch holds at least one event")
    for index, item in enumerate(batch.events):
        if len(item) > MAX_EVENT_BYTES:
            raise error(
                f"events[{index}]", item, f"is {len(item)} bytes; at most {MAX_EVENT_BYTES}"
            )
        if item[:2] != SINGLE_OBJECT_MARKER or len(item) < HEADER_LENGTH:
            raise error(f"events[{index}]", item, "is not a single-object-encoded event")


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _article(name: str) -> str:
    short = _short(name)
    return f"an {short}" if short[0] in "AEIOU" else f"a {short}"


def _why(err: Exception) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@cache
def default_codec() -> Codec:
    """The codec over the schemas shipped in ``schemas/`` (loaded once)."""
    return Codec(SchemaRegistry.load())
