"""The event value every part of Suyuan speaks (design.md §4).

An :class:`Event` is an immutable value: an envelope (who, when, where, which codes, how much) and a
typed payload. Its wire form is Avro single-object encoding (see :mod:`suyuan.events`); its
HTTP form is the JSON documented in ``docs/events.md``. Records that enter the ledger are these
values, never mutable dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias

#: A payload is a deeply frozen mapping: nested dicts become read-only mappings, lists tuples.
FrozenPayload: TypeAlias = Mapping[str, Any]


def freeze(value: Any) -> Any:
    """Deep-freeze plain JSON/Avro data (dict → read-only mapping, list → tuple)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain dicts and lists again (for encoders)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Location:
    """Where an event happened: admin-region code (GB/T 2260, 6 digits), name, address, GLN."""

    region_code: str
    name: str
    address: str | None = None
    gln: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One traceability event: envelope plus a typed payload.

    ``event_type`` is the name of the payload record in ``schemas/`` (e.g. ``CertificateIssued``);
    ``payload`` holds that record's fields, deeply frozen. ``occurred_at`` is always timezone-aware.
    ``codes`` are the canonical trace codes the event is about (design.md §3).
    """

    event_id: str
    event_type: str
    occurred_at: datetime
    actor: str
    location: Location | None
    codes: tuple[str, ...]
    payload: FrozenPayload
    quantity: Decimal | None = None
    unit: str | None = None
    biz_step: str | None = None
    """GS1 CBV business step (EPCIS 2.0 ``bizStep``), e.g. ``shipping``."""
    disposition: str | None = None
    """GS1 CBV disposition (EPCIS 2.0), e.g. ``in_transit``."""


# Names of the trust events (design.md §5): signed by a regulator root key.
ORGANISATION_REGISTERED = "OrganisationRegistered"
SIGNING_KEY_REGISTERED = "SigningKeyRegistered"
SIGNING_KEY_REVOKED = "SigningKeyRevoked"
TRUST_EVENT_TYPES = frozenset(
    {ORGANISATION_REGISTERED, SIGNING_KEY_REGISTERED, SIGNING_KEY_REVOKED}
)


@dataclass(frozen=True, slots=True)
class SignedBatch:
    """One signature over one or more encoded events (design.md §5): one Kafka message = one batch.

    ``events`` are the exact single-object-encoded event bytes that were signed; ``key_id`` names
    the signer's registered Ed25519 key. What the signature covers is defined in
    :mod:`suyuan.signing`.
    """

    key_id: str
    signature: bytes
    events: tuple[bytes, ...]
