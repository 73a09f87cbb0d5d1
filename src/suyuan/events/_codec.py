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
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeAlias

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


@dataclass(frozen=True, slots=True)
class EventSummary:
    """Who did what kind of event under which id: what :func:`event_summary` reads."""

    event_id: str
    event_type: str
    actor: str


class Codec:
    """Encoder and decoder bound to one schema registry."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self.shape = EventShape(registry.event_schema.parsed)
        self._event_header = SINGLE_OBJECT_MARKER + registry.event_schema.fingerprint
        self._batch_header = SINGLE_OBJECT_MARKER + registry.batch_schema.fingerprint
        self._event_types = {b.name: b.short_name for b in self.shape.payload.branches.values()}
        self._summary_readers: dict[bytes, _SummaryReader | None] = {}

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

    def event_summary(self, data: bytes) -> EventSummary:
        """The id, type and actor of an encoded event, read from the fields before the payload
        (see :func:`suyuan.events.event_summary`)."""
        header = data[2:HEADER_LENGTH]
        if header in self._summary_readers:
            reader = self._summary_readers[header]
        else:
            reader = self._summary_reader(data)
        if reader is not None and len(data) <= MAX_EVENT_BYTES and data[:2] == SINGLE_OBJECT_MARKER:
            try:
                return reader(data)
            except (IndexError, UnicodeDecodeError):
                pass
        # Anything unusual (damage, an unknown or odd schema, a type the current schema reads
        # under another name) is for the full decoder to answer or to refuse, in its words.
        event = self.decode_event(data)
        return EventSummary(event.event_id, event.event_type, event.actor)

    def _summary_reader(self, data: bytes) -> _SummaryReader | None:
        header = data[2:HEADER_LENGTH]
        try:
            writer = self._writer_of(data, EVENT_SCHEMA_NAME, "event")
        except InvalidInputError:
            return None  # not cached: the full decoder gives the error
        try:
            reader = _SummaryReader.compile(writer.parsed, self._event_types)
        except (KeyError, TypeError):  # a schema shape this reader does not know
            reader = None
        self._summary_readers[bytes(header)] = reader
        return reader

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


# --- reading the envelope without the payload --------------------------------------------------
#
# Avro binary encoding (Avro specification, "Binary Encoding"): a record is its fields in
# order; int, long and enum are zig-zag varints; string and bytes a varint length and the
# bytes; a union the varint branch index and the branch; an array or map blocks of a varint
# count (negative: followed by the block's byte size) ending with count 0; fixed its size.
# The Event's id, actor and payload union index come before the payload's own fields, so
# these three are read by skipping the fields between them, never touching the payload.

#: A compiled skipper: ``("s",)`` string/bytes, ``("v",)`` varint, ``("f", n)`` n bytes,
#: ``("u", branches)``, ``("n", branch)`` (a union of null and one branch), ``("a", item)``,
#: ``("m", value)``, ``("r", fields)``.
_Skip: TypeAlias = tuple[Any, ...]
_STRING: _Skip = ("s",)
_FIXED_SIZES = {"null": 0, "boolean": 1, "float": 4, "double": 8}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:  # one byte: every length below 64, every small index
        return (byte >> 1) ^ -(byte & 1), pos + 1
    value = byte & 0x7F
    shift = 7
    pos += 1
    while byte & 0x80:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        shift += 7
        pos += 1
    return (value >> 1) ^ -(value & 1), pos


def _skip(op: _Skip, data: bytes, pos: int) -> int:
    kind = op[0]
    if kind == "s":
        byte = data[pos]
        if byte < 0x80 and not byte & 1:  # a length below 64, the common case
            return pos + 1 + (byte >> 1)
        length, pos = _varint(data, pos)
        if length < 0:
            raise IndexError("negative length")
        return pos + length
    if kind == "n":  # a union of null and one type
        if data[pos] == 0:
            return pos + 1
        if data[pos] != 2:
            raise IndexError("union index out of range")
        return _skip(op[1], data, pos + 1)
    if kind == "v":
        return _varint(data, pos)[1]
    if kind == "r":
        return _skip_all(op[1], data, pos)
    if kind == "f":
        return int(pos + op[1])
    if kind == "u":
        index, pos = _varint(data, pos)
        if not 0 <= index < len(op[1]):
            raise IndexError("union index out of range")
        return _skip(op[1][index], data, pos)
    # "a" and "m": blocks of items (a map item is a string key and its value)
    while True:
        count, pos = _varint(data, pos)
        if count == 0:
            return pos
        if count < 0:
            count = -count
            pos = _varint(data, pos)[1]  # the block's size in bytes
        if kind == "a":
            pos = _skip_all(itertools.repeat(op[1], count), data, pos)
        else:
            for _ in range(count):
                pos = _skip_all((_STRING, op[1]), data, pos)


def _skip_all(ops: Iterable[_Skip], data: bytes, pos: int) -> int:
    """Skip one value of each of ``ops`` in turn; strings, small enums and their nullable
    forms, most of an event's envelope, without a call each."""
    for op in ops:
        if op is _STRING:
            byte = data[pos]
            if byte < 0x80 and not byte & 1:
                pos += 1 + (byte >> 1)
                continue
        elif op[0] == "n":
            byte = data[pos]
            if byte == 0:
                pos += 1
                continue
            inner = op[1]
            if byte == 2 and (inner is _STRING or inner[0] == "v"):
                byte = data[pos + 1]
                if byte < 0x80 and not byte & 1:
                    pos += 2 + (0 if inner[0] == "v" else byte >> 1)
                    continue
        pos = _skip(op, data, pos)
    return pos


def _compile_skip(schema: Any, named: Mapping[str, Any]) -> _Skip:
    """The skipper of a fastavro-parsed schema node (``named``: its named types by full name)."""
    if isinstance(schema, list):
        if len(schema) == 2 and schema[0] == "null":
            return ("n", _compile_skip(schema[1], named))
        return ("u", tuple(_compile_skip(branch, named) for branch in schema))
    if isinstance(schema, str):
        if schema in ("string", "bytes"):
            return _STRING
        if schema in ("int", "long"):
            return ("v",)
        if schema in _FIXED_SIZES:
            return ("f", _FIXED_SIZES[schema])
        return _compile_skip(named[schema], named)
    kind = schema["type"]
    if kind == "record":
        return ("r", tuple(_compile_skip(field["type"], named) for field in schema["fields"]))
    if kind == "enum":
        return ("v",)
    if kind == "fixed":
        return ("f", int(schema["size"]))
    if kind == "array":
        return ("a", _compile_skip(schema["items"], named))
    if kind == "map":
        return ("m", _compile_skip(schema["values"], named))
    return _compile_skip(kind, named)  # a primitive with a logical type


class _SummaryReader:
    """Reads :class:`EventSummary` from data of one writer schema of the Event."""

    def __init__(
        self,
        steps: tuple[tuple[tuple[_Skip, ...], str], ...],
        rest: tuple[_Skip, ...],
        types: tuple[str | None, ...],
    ) -> None:
        self._steps = steps  # (fields to skip, then the field to read)
        self._rest = rest  # the fields between the last one read and the payload
        self._types = types

    @classmethod
    def compile(cls, parsed: Any, event_types: Mapping[str, str]) -> _SummaryReader | None:
        """The reader for a writer schema, or ``None`` when its layout is not the one this
        reads (id and actor plain strings before a payload union of records).
        ``event_types``: the current payload records' short names by full name; a writer
        record not among them is left to the full decoder (schema resolution)."""
        named = parsed.get("__named_schemas", {})
        steps: list[tuple[tuple[_Skip, ...], str]] = []
        skipped: list[_Skip] = []
        for field in parsed["fields"]:
            name, schema = field["name"], field["type"]
            if name == "payload":
                branches = [named.get(b, b) if isinstance(b, str) else b for b in schema]
                if not isinstance(schema, list) or not all(
                    isinstance(b, dict) and b.get("type") == "record" for b in branches
                ):
                    return None
                if {n for _, n in steps} != {"event_id", "actor"}:
                    return None
                types = tuple(event_types.get(str(b["name"])) for b in branches)
                return cls(tuple(steps), tuple(skipped), types)
            if name in ("event_id", "actor"):
                if schema != "string":
                    return None
                steps.append((tuple(skipped), name))
                skipped = []
            else:
                skipped.append(_compile_skip(schema, named))
        return None

    def __call__(self, data: bytes) -> EventSummary:
        """Raises IndexError (or UnicodeDecodeError) on data that does not fit."""
        pos = HEADER_LENGTH
        event_id = actor = ""
        for skipped, name in self._steps:
            if skipped:
                pos = _skip_all(skipped, data, pos)
            length, pos = _varint(data, pos)
            end = pos + length
            if length < 0 or end > len(data):
                raise IndexError("string beyond the data")
            if name == "actor":
                actor = data[pos:end].decode("utf-8")
            else:
                event_id = data[pos:end].decode("utf-8")
            pos = end
        pos = _skip_all(self._rest, data, pos)
        index, pos = _varint(data, pos)
        event_type = self._types[index] if 0 <= index < len(self._types) else None
        if event_type is None or pos > len(data):
            raise IndexError("payload branch out of range or read under another name")
        return EventSummary(event_id, event_type, actor)


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
