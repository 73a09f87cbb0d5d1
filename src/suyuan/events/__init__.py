"""Event contract: model, Avro schemas, codec (design.md §4, §5).

- :class:`Event`, :class:`Location`, :class:`SignedBatch`: the immutable values (``model``).
- Wire form: Avro single-object encoding under the schemas in ``schemas/``
  (:func:`encode_event`, :func:`decode_event`, :func:`encode_batch`, :func:`decode_batch`).
- HTTP form: the JSON of ``docs/events.md`` (:func:`event_from_json`, :func:`event_to_json`).
- Content rules: :func:`validate_event`.
- Schema evolution: :class:`SchemaRegistry` knows every schema data was ever written with;
  :func:`snapshot_current_schemas` freezes the current one (see ``schemas/README.md``).
"""

from __future__ import annotations

from suyuan.events._codec import (
    HEADER_LENGTH,
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    SINGLE_OBJECT_MARKER,
    Codec,
    EventSummary,
    default_codec,
)
from suyuan.events._json import event_from_json, event_to_json
from suyuan.events._registry import (
    BATCH_SCHEMA_NAME,
    EVENT_SCHEMA_NAME,
    SchemaFileError,
    SchemaRegistry,
    WriterSchema,
    resolution_form,
    schema_fingerprint,
    snapshot_current_schemas,
)
from suyuan.events._validate import validate_event
from suyuan.events.model import (
    ORGANISATION_REGISTERED,
    SIGNING_KEY_REGISTERED,
    SIGNING_KEY_REVOKED,
    TRUST_EVENT_TYPES,
    Event,
    Location,
    SignedBatch,
)


def encode_event(event: Event) -> bytes:
    """Single-object-encode ``event`` with the current Event schema.

    The shape is checked (every field fits the schema); the content rules are not: call
    :func:`validate_event` first for untrusted input.

    Raises:
        EventValidationError: a field does not fit the schema (named by its path, e.g.
            ``payload.items[0].passed``), or the result exceeds :data:`MAX_EVENT_BYTES`.
    """
    return default_codec().encode_event(event)


def decode_event(data: bytes) -> Event:
    """Decode a single-object-encoded event, written with any known version of the schema.

    Raises:
        UnknownSchemaError: the fingerprint names no known schema.
        DecodeError: too long (over :data:`MAX_EVENT_BYTES`), truncated, wrong marker, a batch
            instead of an event, trailing bytes, or a value the event model cannot hold.
    """
    return default_codec().decode_event(data)


def event_summary(data: bytes) -> EventSummary:
    """The id, type and actor of a single-object-encoded event, read from the Avro fields that
    come before the payload, without decoding the rest (a fraction of :func:`decode_event`).

    For bytes whose content was already checked: the audit reads ledger leaves this way,
    whose events the writer decoded and validated before appending them, and whose bytes the
    hash chain, the Merkle tree and the batch signature cover. The answer equals the full
    decoder's for every event it decodes; what follows the payload's branch index is not read,
    so damage there is not seen here. Any event this cannot read (a damaged envelope, an
    unknown schema, a record the current schema reads under another name) is decoded in full.

    Raises:
        UnknownSchemaError, DecodeError: as :func:`decode_event`, for an event it cannot read.
    """
    return default_codec().event_summary(data)


def encode_batch(batch: SignedBatch) -> bytes:
    """Single-object-encode a signed batch.

    Raises:
        EventValidationError: an empty key id, signature or event list, an element that is not a
            single-object-encoded event or exceeds :data:`MAX_EVENT_BYTES`, or a result over
            :data:`MAX_BATCH_BYTES`.
    """
    return default_codec().encode_batch(batch)


def decode_batch(data: bytes) -> SignedBatch:
    """Decode a single-object-encoded signed batch (its events stay encoded bytes).

    Raises:
        UnknownSchemaError: the fingerprint names no known schema.
        DecodeError: as for :func:`decode_event`, or a batch breaking the rules of
            :func:`encode_batch`.
    """
    return default_codec().decode_batch(data)


__all__ = [
    "BATCH_SCHEMA_NAME",
    "EVENT_SCHEMA_NAME",
    "HEADER_LENGTH",
    "MAX_BATCH_BYTES",
    "MAX_EVENT_BYTES",
    "ORGANISATION_REGISTERED",
    "SIGNING_KEY_REGISTERED",
    "SIGNING_KEY_REVOKED",
    "SINGLE_OBJECT_MARKER",
    "TRUST_EVENT_TYPES",
    "Codec",
    "Event",
    "EventSummary",
    "Location",
    "SchemaFileError",
    "SchemaRegistry",
    "SignedBatch",
    "WriterSchema",
    "decode_batch",
    "decode_event",
    "default_codec",
    "encode_batch",
    "encode_event",
    "event_from_json",
    "event_summary",
    "event_to_json",
    "resolution_form",
    "schema_fingerprint",
    "snapshot_current_schemas",
    "validate_event",
]
