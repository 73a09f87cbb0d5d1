"""Single-object encoding of events and signed batches (design.md §4, §5)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.errors import DecodeError, EventValidationError, UnknownSchemaError
from suyuan.events import (
    HEADER_LENGTH,
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    SINGLE_OBJECT_MARKER,
    Event,
    EventSummary,
    Location,
    SignedBatch,
    decode_batch,
    decode_event,
    encode_batch,
    encode_event,
    event_from_json,
    event_summary,
)
from suyuan.events._codec import default_codec
from tests.unit.events import FIXTURES_DIR, example
from tests.unit.events.test_json import events_json

CHINA = timezone(timedelta(hours=8))


def _event(event_type: str = "Shipped") -> Event:
    return event_from_json(example(event_type))


def test_encoding_is_single_object_with_the_current_fingerprint() -> None:
    data = encode_event(_event())
    registry = default_codec().registry
    assert data[:2] == b"\xc3\x01"
    assert data[2:HEADER_LENGTH] == registry.event_schema.fingerprint


def test_event_round_trips_through_bytes() -> None:
    event = _event("TemperatureRecorded")
    decoded = decode_event(encode_event(event))
    assert decoded == event
    assert decoded.occurred_at.utcoffset() == timedelta(0)
    assert decoded.payload["readings"][0]["at"] == datetime(2024, 5, 18, tzinfo=UTC)


def test_decoded_event_is_deeply_frozen() -> None:
    decoded = decode_event(encode_event(_event("InspectionRecorded")))
    assert isinstance(decoded.codes, tuple)
    assert isinstance(decoded.payload["items"], tuple)
    with pytest.raises(TypeError):
        decoded.payload["items"][0]["passed"] = False  # type: ignore[index]


def test_zone_offset_survives_encoding() -> None:
    event = dataclasses.replace(
        _event(), occurred_at=datetime(2024, 5, 6, 7, 30, 15, 250000, tzinfo=CHINA)
    )
    decoded = decode_event(encode_event(event))
    assert decoded.occurred_at == event.occurred_at
    assert decoded.occurred_at.utcoffset() == timedelta(hours=8)
    assert decoded.occurred_at.microsecond == 250000


def test_quantity_decodes_as_decimal() -> None:
    event = dataclasses.replace(_event(), quantity=Decimal("1234.5"))
    assert decode_event(encode_event(event)).quantity == Decimal("1234.500")


def test_location_decodes_as_location() -> None:
    decoded = decode_event(encode_event(_event()))
    assert isinstance(decoded.location, Location)
    assert decoded.location.gln == "6901234000016"


# --- encode-side errors -------------------------------------------------------------------------


def test_encode_rejects_naive_occurred_at() -> None:
    event = dataclasses.replace(_event(), occurred_at=datetime(2024, 5, 6, 8, 30))
    with pytest.raises(EventValidationError) as caught:
        encode_event(event)
    assert caught.value.field == "occurred_at"
    assert "zone offset" in caught.value.rule


def test_encode_rejects_unknown_payload_field() -> None:
    event = dataclasses.replace(_event(), payload={**_event().payload, "colour": "red"})
    with pytest.raises(EventValidationError) as caught:
        encode_event(event)
    assert caught.value.field == "payload.colour"
    assert "unknown field" in caught.value.rule


def test_encode_rejects_missing_payload_field() -> None:
    payload = {k: v for k, v in _event().payload.items() if k != "waybill_no"}
    with pytest.raises(EventValidationError) as caught:
        encode_event(dataclasses.replace(_event(), payload=payload))
    assert caught.value.field == "payload.waybill_no"
    assert caught.value.rule == "required field is missing"


def test_encode_rejects_wrong_type_with_its_path() -> None:
    event = _event("InspectionRecorded")
    items = [dict(item) for item in event.payload["items"]]
    items[1]["passed"] = "yes"
    with pytest.raises(EventValidationError) as caught:
        encode_event(dataclasses.replace(event, payload={**event.payload, "items": items}))
    assert caught.value.field == "payload.items[1].passed"
    assert "true or false" in caught.value.rule


def test_encode_rejects_unknown_event_type() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_event(dataclasses.replace(_event(), event_type="Teleported"))
    assert caught.value.field == "event_type"
    assert "unknown event type" in caught.value.rule


def test_encode_rejects_quantity_with_too_many_places() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_event(dataclasses.replace(_event(), quantity=Decimal("1.2345")))
    assert caught.value.field == "quantity"
    assert "3 decimal places" in caught.value.rule


def test_encode_rejects_a_float_quantity() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_event(dataclasses.replace(_event(), quantity=1.5))  # type: ignore[arg-type]
    assert caught.value.field == "quantity"
    assert "Decimal" in caught.value.rule


def test_encode_rejects_an_oversized_event() -> None:
    event = _event("RecallInitiated")
    big = dataclasses.replace(event, payload={**event.payload, "reason": "超" * MAX_EVENT_BYTES})
    with pytest.raises(EventValidationError) as caught:
        encode_event(big)
    assert caught.value.field == "event"
    assert f"at most {MAX_EVENT_BYTES}" in caught.value.rule


def test_encode_rejects_something_else_than_an_event() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_event({"event_id": "x"})  # type: ignore[arg-type]
    assert caught.value.field == "event"


# --- decode-side errors -------------------------------------------------------------------------


def test_decode_rejects_wrong_marker() -> None:
    data = encode_event(_event())
    with pytest.raises(DecodeError) as caught:
        decode_event(b"\xc3\x02" + data[2:])
    assert caught.value.field == "event"
    assert "marker C3 01" in caught.value.rule


def test_decode_rejects_a_short_header() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_event(SINGLE_OBJECT_MARKER + b"\x00\x01")
    assert "header" in caught.value.rule


@pytest.mark.parametrize("keep", [HEADER_LENGTH, HEADER_LENGTH + 5, -1])
def test_decode_rejects_truncated_bytes(keep: int) -> None:
    data = encode_event(_event())
    with pytest.raises(DecodeError) as caught:
        decode_event(data[:keep])
    assert caught.value.field == "event"
    assert "not a valid Event datum" in caught.value.rule


def test_decode_rejects_unknown_fingerprint() -> None:
    data = encode_event(_event())
    with pytest.raises(UnknownSchemaError) as caught:
        decode_event(SINGLE_OBJECT_MARKER + b"\xff" * 8 + data[HEADER_LENGTH:])
    assert caught.value.field == "schema_fingerprint"
    assert caught.value.reason == "unknown_schema"


def test_decode_rejects_trailing_bytes() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_event(encode_event(_event()) + b"\x00\x00")
    assert "2 trailing bytes" in caught.value.rule


def test_decode_rejects_oversized_input() -> None:
    data = encode_event(_event())
    with pytest.raises(DecodeError) as caught:
        decode_event(data + b"\x00" * MAX_EVENT_BYTES)
    assert f"at most {MAX_EVENT_BYTES}" in caught.value.rule


def test_decode_rejects_a_batch_where_an_event_is_expected() -> None:
    batch = encode_batch(SignedBatch("00168958eccdfa49", b"s" * 64, (encode_event(_event()),)))
    with pytest.raises(DecodeError) as caught:
        decode_event(batch)
    assert "is a SignedBatch, not an Event" in caught.value.rule


def test_decode_rejects_text() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_event("c301")  # type: ignore[arg-type]
    assert "must be bytes" in caught.value.rule


def test_decode_rejects_a_timestamp_without_offset() -> None:
    codec = default_codec()
    datum = codec.event_datum(_event())
    datum["occurred_at"] = "2024-05-06T08:30:00"
    stream = io.BytesIO()
    schemaless_writer(stream, codec.registry.event_schema.parsed, datum)
    data = SINGLE_OBJECT_MARKER + codec.registry.event_schema.fingerprint + stream.getvalue()
    with pytest.raises(DecodeError) as caught:
        decode_event(data)
    assert caught.value.field == "occurred_at"
    assert "zone offset" in caught.value.rule


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_after_a_valid_header_only_raises_decode_error(body: bytes) -> None:
    header = SINGLE_OBJECT_MARKER + default_codec().registry.event_schema.fingerprint
    with contextlib.suppress(DecodeError):
        decode_event(header + body)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_corrupted_event_bytes_only_raise_decode_error(data: st.DataObject) -> None:
    encoded = bytearray(encode_event(_event("CertificateIssued")))
    position = data.draw(st.integers(HEADER_LENGTH, len(encoded) - 1))
    encoded[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        decode_event(bytes(encoded))


# --- batches ------------------------------------------------------------------------------------


def _batch() -> SignedBatch:
    events = (encode_event(_event("Shipped")), encode_event(_event("Received")))
    return SignedBatch(key_id="00168958eccdfa49", signature=bytes(range(64)), events=events)


def test_batch_round_trips_and_keeps_exact_event_bytes() -> None:
    batch = _batch()
    data = encode_batch(batch)
    assert data[:2] == SINGLE_OBJECT_MARKER
    assert data[2:HEADER_LENGTH] == default_codec().registry.batch_schema.fingerprint
    decoded = decode_batch(data)
    assert decoded == batch
    assert [decode_event(item).event_type for item in decoded.events] == ["Shipped", "Received"]


def test_batch_must_hold_an_event() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_batch(dataclasses.replace(_batch(), events=()))
    assert caught.value.field == "events"
    assert "at least one event" in caught.value.rule


def test_batch_elements_must_be_encoded_events() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_batch(dataclasses.replace(_batch(), events=(b'{"event_id": 1}',)))
    assert caught.value.field == "events[0]"
    assert "single-object-encoded event" in caught.value.rule


def test_batch_elements_are_bounded() -> None:
    huge = SINGLE_OBJECT_MARKER + b"\x00" * MAX_EVENT_BYTES
    with pytest.raises(EventValidationError) as caught:
        encode_batch(dataclasses.replace(_batch(), events=(huge,)))
    assert caught.value.field == "events[0]"


def test_batch_needs_key_id_and_signature() -> None:
    with pytest.raises(EventValidationError) as caught:
        encode_batch(dataclasses.replace(_batch(), key_id=""))
    assert caught.value.field == "key_id"
    with pytest.raises(EventValidationError) as caught:
        encode_batch(dataclasses.replace(_batch(), signature=b""))
    assert caught.value.field == "signature"


def test_decode_batch_checks_the_same_rules() -> None:
    codec = default_codec()
    stream = io.BytesIO()
    datum = {"key_id": "k", "signature": b"s", "events": []}
    schemaless_writer(stream, codec.registry.batch_schema.parsed, datum)
    data = SINGLE_OBJECT_MARKER + codec.registry.batch_schema.fingerprint + stream.getvalue()
    with pytest.raises(DecodeError) as caught:
        decode_batch(data)
    assert caught.value.field == "events"


def test_decode_batch_rejects_an_event_and_oversized_input() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_batch(encode_event(_event()))
    assert "is an Event, not a SignedBatch" in caught.value.rule
    with pytest.raises(DecodeError) as caught:
        decode_batch(b"\xc3\x01" + b"\x00" * MAX_BATCH_BYTES)
    assert f"at most {MAX_BATCH_BYTES}" in caught.value.rule


def test_encode_batch_rejects_an_oversized_batch() -> None:
    element = SINGLE_OBJECT_MARKER + b"\x00" * (MAX_EVENT_BYTES - 2)
    count = MAX_BATCH_BYTES // MAX_EVENT_BYTES + 1
    with pytest.raises(EventValidationError) as caught:
        encode_batch(dataclasses.replace(_batch(), events=(element,) * count))
    assert caught.value.field == "batch"
    assert f"at most {MAX_BATCH_BYTES}" in caught.value.rule


def test_decode_batch_rejects_an_element_that_is_not_an_event() -> None:
    codec = default_codec()
    stream = io.BytesIO()
    datum = {"key_id": "k", "signature": b"s", "events": [b"plain text"]}
    schemaless_writer(stream, codec.registry.batch_schema.parsed, datum)
    data = SINGLE_OBJECT_MARKER + codec.registry.batch_schema.fingerprint + stream.getvalue()
    with pytest.raises(DecodeError) as caught:
        decode_batch(data)
    assert caught.value.field == "events[0]"
    assert "single-object-encoded event" in caught.value.rule


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_batches_only_raise_decode_error(body: bytes) -> None:
    header = SINGLE_OBJECT_MARKER + default_codec().registry.batch_schema.fingerprint
    with contextlib.suppress(DecodeError):
        decode_batch(header + body)


# --- the summary the audit reads (id, type, actor) ----------------------------------------------


def _summary_of(event: Event) -> EventSummary:
    return EventSummary(event.event_id, event.event_type, event.actor)


@settings(max_examples=200, deadline=None)
@given(events_json())
def test_summary_is_what_the_full_decoder_reads(obj: dict[str, Any]) -> None:
    data = encode_event(event_from_json(obj))
    assert event_summary(data) == _summary_of(decode_event(data))


@pytest.mark.parametrize("path", sorted(FIXTURES_DIR.glob("*.bin")), ids=lambda p: p.stem)
def test_summary_of_data_written_under_an_older_schema(path: Path) -> None:
    data = path.read_bytes()
    if data[2:HEADER_LENGTH] == default_codec().registry.batch_schema.fingerprint:
        return  # the signed batch fixture
    assert data[2:HEADER_LENGTH] != default_codec().registry.event_schema.fingerprint
    assert event_summary(data) == _summary_of(decode_event(data))


def _decode_error(data: bytes) -> str:
    with pytest.raises(DecodeError) as raised:
        decode_event(data)
    return str(raised.value)


def test_a_damaged_envelope_is_refused_in_the_decoders_words() -> None:
    data = encode_event(_event("Shipped"))
    summary = event_summary(data)
    # Every cut before the payload's branch index (the last byte the summary reads).
    envelope_end = next(n for n in range(HEADER_LENGTH, len(data)) if _reads(data[:n]) == summary)
    for cut in range(envelope_end):
        with pytest.raises(DecodeError) as raised:
            event_summary(data[:cut])
        assert str(raised.value) == _decode_error(data[:cut]), cut
    for damaged in (
        b"\x00" + data[1:],  # not the single-object marker
        data[:2] + bytes(8) + data[HEADER_LENGTH:],  # no known schema
        data[:HEADER_LENGTH] + b"\x01" + data[HEADER_LENGTH + 1 :],  # a negative id length
        data[: HEADER_LENGTH + 1] + b"\xff" * 8 + data[HEADER_LENGTH + 9 :],  # not UTF-8
    ):
        with pytest.raises(DecodeError) as raised:
            event_summary(damaged)
        assert str(raised.value) == _decode_error(damaged)


def _reads(data: bytes) -> EventSummary | None:
    try:
        return event_summary(data)
    except DecodeError:
        return None


def test_the_summary_does_not_read_past_the_payloads_branch() -> None:
    """What the summary leaves to others: bytes after the branch index are never read (the
    audit relies on the hash chain and the batch signature over them)."""
    data = encode_event(_event("Shipped"))
    _decode_error(data + b"\x00")
    assert event_summary(data + b"\x00") == _summary_of(decode_event(data))
