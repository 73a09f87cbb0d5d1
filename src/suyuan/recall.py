"""Regulator recalls: start one, find its scope and follow it to closure (design §1, §4, §7, §8).

A regulator starts a recall of everything made from or packed with some **root codes**:

1. :func:`start_recall` builds a ``RecallInitiated`` event whose actor is the regulator's
   organisation, signs it with that organisation's key (in the service: its custodial key, see
   :func:`custodial_recall_key`), and submits it through a :class:`~suyuan.transport.Transport`
   — the same write path, signature and trust checks as every other event;
2. the **scope** is the forward trace of the root codes (:meth:`suyuan.trace.Tracer.recall_scope`):
   every code reached and every organisation that held any of it, with quantities;
3. **progress** (:func:`find_recall`) counts what the ledger holds for the recall id since:
   ``RecallAcknowledged`` by holders, ``Destroyed`` disposals and ``RecallClosed``. These are
   found through the code index, so an acknowledgement or closure counts when it names codes of
   the scope in its ``codes`` — the same condition under which a trace sees it.

The recall id of a recall started here is the ``event_id`` of its ``RecallInitiated`` event, so
finding it is one indexed lookup. Once recorded, every code of the scope traces as
``recalled`` (the trace derives that from the event). No web framework here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from suyuan.codes import parse_trace_code
from suyuan.custody import NoCustodialKeyError, load_custodial_key
from suyuan.directory import Directory
from suyuan.errors import InvalidInputError, SuyuanError
from suyuan.events import decode_event, encode_batch, encode_event, event_from_json, validate_event
from suyuan.events.model import Event
from suyuan.follower import load_trust
from suyuan.ledger import EntryNotFoundError, Leaf, LedgerStore
from suyuan.signing import RootKey, SigningKey, sign_batch
from suyuan.trace import Holder, Tracer
from suyuan.transport import EventStatus, Transport

RECALL_INITIATED = "RecallInitiated"
RECALL_ACKNOWLEDGED = "RecallAcknowledged"
RECALL_CLOSED = "RecallClosed"
DESTROYED = "Destroyed"
LEVELS = ("LEVEL_1", "LEVEL_2", "LEVEL_3")
#: Most root codes one recall may name (the scope itself is unbounded).
MAX_ROOT_CODES = 1000
REGULATOR_ROLE = "REGULATOR"
_FOLLOW_UP_TYPES = frozenset({RECALL_ACKNOWLEDGED, RECALL_CLOSED, DESTROYED})
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RecallError(SuyuanError):
    """A recall cannot be started or found. ``reason`` is machine-readable."""

    reason = "recall_error"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class RecallRefusedError(RecallError):
    """The regulator cannot start a recall here: no signing key usable for it, not a registered
    regulator, or the ledger refused the event (``reason`` says which)."""


class RecallNotFoundError(RecallError, LookupError):
    """No recall has this id."""

    def __init__(self, recall_id: str) -> None:
        super().__init__("not_found", f"no recall with id {recall_id}")


class UnknownRootCodeError(InvalidInputError):
    """A root code is well formed but no event was ever recorded for it."""

    reason = "unknown_code"


@dataclass(frozen=True, slots=True)
class LedgerPosition:
    """Where an event sits in the ledger."""

    shard: int
    seq: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RecallProgress:
    """How far a recall has come: who acknowledged, what was disposed of, whether it is closed."""

    acknowledged_by: tuple[str, ...]
    """Organisations that recorded a ``RecallAcknowledged`` for the recall."""
    outstanding: tuple[str, ...]
    """Holders in the scope that have not acknowledged yet."""
    acknowledgements: int
    disposals: int
    """``Destroyed`` events naming the recall."""
    closed: bool


@dataclass(frozen=True, slots=True)
class Recall:
    """A recall, its scope now, and its progress."""

    event: Event
    """The ``RecallInitiated`` event."""
    position: LedgerPosition | None
    """Its place in the ledger; ``None`` while it is queued (a Kafka transport)."""
    codes: tuple[str, ...]
    """Every code in scope (the root codes included), sorted."""
    holders: tuple[Holder, ...]
    progress: RecallProgress
    complete: bool = True
    """False when the scope was cut at ``suyuan.codegraph.MAX_CODES`` codes: it is larger."""

    @property
    def recall_id(self) -> str:
        return str(self.event.payload["recall_id"])

    @property
    def regulator(self) -> str:
        return self.event.actor

    @property
    def root_codes(self) -> tuple[str, ...]:
        return tuple(str(code) for code in self.event.payload["root_codes"])

    @property
    def reason(self) -> str:
        return str(self.event.payload["reason"])

    @property
    def level(self) -> str:
        return str(self.event.payload["level"])


# --- who starts it ---------------------------------------------------------------------------


def regulator_organisation(
    store: LedgerStore, *, organisation: str | None, region: str | None
) -> str:
    """The organisation a regulator token speaks for.

    The token's organisation when it names one; otherwise the one organisation registered
    with the ``REGULATOR`` role in the token's region.

    Raises:
        RecallRefusedError: ``no_regulator`` (none registered in the region) or
            ``ambiguous_regulator`` (several are, and the token names none of them).
    """
    if organisation is not None:
        return organisation
    found = sorted(
        org.uscc
        for org in Directory(store).organisations()
        if REGULATOR_ROLE in org.roles and org.region == region
    )
    if not found:
        raise RecallRefusedError(
            "no_regulator",
            f"no organisation is registered as a regulator of region {region} in the trust chain",
        )
    if len(found) > 1:
        raise RecallRefusedError(
            "ambiguous_regulator",
            f"several regulators are registered in region {region} ({', '.join(found)}) and "
            "the token does not say which one it speaks for",
        )
    return found[0]


def custodial_recall_key(engine: Engine, master: bytes, regulator: str) -> SigningKey:
    """The regulator's custodial signing key.

    Raises:
        RecallRefusedError: ``no_custodial_key``: the regulator has none.
        CustodyError: the key does not decrypt under ``master``.
    """
    try:
        return load_custodial_key(engine, master, regulator)
    except NoCustodialKeyError:
        raise RecallRefusedError(
            "no_custodial_key",
            f"regulator {regulator} has no custodial signing key: create one "
            "(`suyuan custody create`) and register it in the trust chain",
        ) from None


# --- starting ---------------------------------------------------------------------------------


def start_recall(
    *,
    store: LedgerStore,
    roots: Sequence[RootKey],
    transport: Transport,
    tracer: Tracer,
    key: SigningKey,
    regulator: str,
    root_codes: Sequence[str],
    reason: str,
    level: str,
    now: datetime | None = None,
) -> Recall:
    """Record a ``RecallInitiated`` by ``regulator`` signed with ``key``; return it with its scope.

    Raises:
        InvalidInputError: no root code or more than :data:`MAX_ROOT_CODES` (field
            ``root_codes``).
        CodeError: a root code is malformed (field ``root_codes[i]``).
        UnknownRootCodeError: a root code has no recorded event (field ``root_codes[i]``).
        EventValidationError: ``reason`` or ``level`` breaks a rule of the event contract (field
            ``payload.reason`` / ``payload.level``).
        RecallRefusedError: ``key`` is not registered for ``regulator`` or was revoked
            (``unusable_key``); ``regulator`` is not registered as a regulator
            (``not_a_regulator``); the ledger refused the event (its rejection reason).
        TransportError: the ledger cannot take the event now.
    """
    codes = _canonical_roots(store, root_codes)
    _check_signer(store, roots, key, regulator)
    recall_id = str(uuid.uuid4())
    event = _recall_event(recall_id, regulator, codes, reason, level, now or _now())
    message = encode_batch(sign_batch(key, [encode_event(event)]))
    result = transport.submit([message], key=regulator, source=f"recall:{recall_id}")
    outcome = result.outcomes[0]
    if outcome.status is EventStatus.REJECTED:
        raise RecallRefusedError(
            outcome.reason or "rejected", f"the ledger refused the recall: {outcome.rule}"
        )
    position = _position(store, recall_id) if result.committed else None
    return _with_scope(store, tracer, event, position)


def _canonical_roots(store: LedgerStore, root_codes: Sequence[str]) -> list[str]:
    if not root_codes:
        raise InvalidInputError("root_codes", "[]", "at least one root code")
    if len(root_codes) > MAX_ROOT_CODES:
        raise InvalidInputError(
            "root_codes", f"{len(root_codes)} codes", f"at most {MAX_ROOT_CODES} root codes"
        )
    canonical: dict[str, None] = {}
    for index, code in enumerate(root_codes):
        field = f"root_codes[{index}]"
        value = parse_trace_code(code, field=field).value
        if not store.code_events(value):
            raise UnknownRootCodeError(field, value, "no events recorded for this code")
        canonical.setdefault(value)
    return list(canonical)


def _check_signer(
    store: LedgerStore, roots: Sequence[RootKey], key: SigningKey, regulator: str
) -> None:
    trust = load_trust(store, roots)
    registered = trust.organisation(regulator)
    if registered is None or REGULATOR_ROLE not in registered.roles:
        raise RecallRefusedError(
            "not_a_regulator",
            f"{regulator} is not registered with the {REGULATOR_ROLE} role in the trust chain",
        )
    try:
        owner = trust.organisation_of(key.key_id)
        trust.usable_key(key.key_id)
    except InvalidInputError as err:
        raise RecallRefusedError(
            "unusable_key",
            f"the signing key {key.key_id} of {regulator} cannot sign: {err.rule}; a regulator "
            "root key must register it (SigningKeyRegistered)",
        ) from None
    if owner != regulator:
        raise RecallRefusedError(
            "unusable_key", f"the signing key {key.key_id} is registered to {owner}"
        )


def _recall_event(
    recall_id: str, regulator: str, codes: list[str], reason: str, level: str, at: datetime
) -> Event:
    event = event_from_json(
        {
            "event_id": recall_id,
            "event_type": RECALL_INITIATED,
            "occurred_at": at.isoformat(),
            "actor": regulator,
            "location": None,
            "codes": codes,
            "quantity": None,
            "unit": None,
            "biz_step": None,
            "disposition": "recalled",
            "payload": {
                "recall_id": recall_id,
                "root_codes": codes,
                "reason": reason,
                "level": level,
            },
        }
    )
    validate_event(event)
    return event


def _now() -> datetime:
    # The zone offset of the place the service runs, as events keep theirs.
    return datetime.now().astimezone()


# --- finding ----------------------------------------------------------------------------------


def find_recall(store: LedgerStore, tracer: Tracer, recall_id: str) -> Recall:
    """The recall with this id (or the id of its ``RecallInitiated`` event), scope and progress.

    Raises:
        InvalidInputError: ``recall_id`` is not a lower-case UUID (field ``recall_id``).
        RecallNotFoundError: no ``RecallInitiated`` event has this id.
    """
    wanted = recall_id.strip().lower()
    if not _UUID.fullmatch(wanted):
        raise InvalidInputError("recall_id", recall_id, "must be a UUID (8-4-4-4-12 hex digits)")
    try:
        position = _position(store, wanted)
    except EntryNotFoundError:
        raise RecallNotFoundError(wanted) from None
    event = decode_event(Leaf.from_bytes(store.entry(position.shard, position.seq).leaf).event)
    if event.event_type != RECALL_INITIATED:
        raise RecallNotFoundError(wanted)
    return _with_scope(store, tracer, event, position)


def _position(store: LedgerStore, event_id: str) -> LedgerPosition:
    shard, seq = store.locate(event_id)
    leaf = Leaf.from_bytes(store.entry(shard, seq).leaf)
    return LedgerPosition(shard, seq, leaf.recorded_at)


def _with_scope(
    store: LedgerStore, tracer: Tracer, event: Event, position: LedgerPosition | None
) -> Recall:
    scope = tracer.recall_scope(list(event.payload["root_codes"]))
    progress = _progress(store, str(event.payload["recall_id"]), scope.codes, scope.holders)
    return Recall(
        event,
        position,
        tuple(sorted(scope.codes)),
        tuple(scope.holders),
        progress,
        complete=scope.complete,
    )


def _progress(
    store: LedgerStore, recall_id: str, codes: set[str], holders: list[Holder]
) -> RecallProgress:
    refs = [r for r in store.code_events_for(sorted(codes)) if r.event_type in _FOLLOW_UP_TYPES]
    entries = store.entries_at(list(dict.fromkeys((r.shard, r.seq) for r in refs)))
    acknowledged: set[str] = set()
    acknowledgements = disposals = 0
    closed = False
    for entry in entries.values():
        event = decode_event(Leaf.from_bytes(entry.leaf).event)
        if str(event.payload.get("recall_id")) != recall_id:
            continue
        if event.event_type == RECALL_ACKNOWLEDGED:
            acknowledgements += 1
            acknowledged.add(event.actor)
        elif event.event_type == DESTROYED:
            disposals += 1
        elif event.event_type == RECALL_CLOSED:
            closed = True
    outstanding = tuple(h.organisation for h in holders if h.organisation not in acknowledged)
    return RecallProgress(
        acknowledged_by=tuple(sorted(acknowledged)),
        outstanding=outstanding,
        acknowledgements=acknowledgements,
        disposals=disposals,
        closed=closed,
    )


__all__ = [
    "LEVELS",
    "MAX_ROOT_CODES",
    "LedgerPosition",
    "Recall",
    "RecallError",
    "RecallNotFoundError",
    "RecallProgress",
    "RecallRefusedError",
    "UnknownRootCodeError",
    "custodial_recall_key",
    "find_recall",
    "regulator_organisation",
    "start_recall",
]
