"""Regulator recalls: start one, find its scope and follow it to closure (design.md §1, §4, §7, §8).

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

4. **holders** acknowledge (:func:`acknowledge_recall`) with the quantities they have on hand,
   sold on, returned and destroyed; each holder's account (:class:`HolderAccount`) reconciles
   what the ledger says it received against them, and has deadlines by the recall's level
   (:data:`NOTIFY_HOURS`, :data:`FINISH_WORKING_DAYS`; ``docs/recalls.md``);
5. **closure** (:func:`close_recall`) only when every holder is reconciled, or by a regulator
   overriding with a reason.

The recall id of a recall started here is the ``event_id`` of its ``RecallInitiated`` event, so
finding it is one indexed lookup; a recall recorded otherwise is found by its payload's
``recall_id`` among the recorded ``RecallInitiated`` events. Once recorded, every code of the
scope traces as ``recalled`` (the trace derives that from the event). No web framework here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from suyuan.authority import MAKERS, originator
from suyuan.codes import parse_trace_code
from suyuan.contacts import organisation_contacts
from suyuan.custody import NoCustodialKeyError, load_custodial_key
from suyuan.directory import Directory
from suyuan.errors import InvalidInputError, SuyuanError
from suyuan.events import encode_batch, encode_event, event_from_json, validate_event
from suyuan.events.model import Event
from suyuan.follower import load_trust
from suyuan.foodchain import Alert, region_within
from suyuan.ledger import CodeEventRef, EntryNotFoundError, LedgerStore, SqlLedgerStore
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
OPEN = "open"
CLOSED = "closed"
STATUSES = (OPEN, CLOSED)
#: Hours after the start within which the holders must be told and stop selling
#: (食品召回管理办法 2015 art. 13: 一级 1 日, 二级 2 日, 三级 3 日): a holder's acknowledgement is
#: due by then (docs/recalls.md).
NOTIFY_HOURS = {"LEVEL_1": 24, "LEVEL_2": 48, "LEVEL_3": 72}
#: Working days after the start within which the recall must be completed (same 办法, art. 13:
#: 10 / 20 / 30 工作日): every holder's account is due to be reconciled by then.
FINISH_WORKING_DAYS = {"LEVEL_1": 10, "LEVEL_2": 20, "LEVEL_3": 30}
#: The alert kind of a holder past a deadline of its recall.
RECALL_OVERDUE = "recall_overdue"
NOT_ACKNOWLEDGED = "not_acknowledged"
NOT_RECONCILED = "not_reconciled"
#: Most recalls one page of :func:`list_recalls` may hold.
MAX_PAGE = 200
_FOLLOW_UP_TYPES = frozenset({RECALL_ACKNOWLEDGED, RECALL_CLOSED, DESTROYED})
_CERTIFICATE = "CertificateIssued"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RecallError(SuyuanError):
    """A recall cannot be started or found. ``reason`` is machine-readable."""

    reason = "recall_error"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class RecallRefusedError(RecallError):
    """The regulator cannot start a recall here: no signing key usable for it, not a registered
    regulator, or the ledger refused the event (``reason`` says which; ``field`` the field the
    ledger named, if any)."""

    field: str | None = None


class RecallNotFoundError(RecallError, LookupError):
    """No recall has this id."""

    def __init__(self, recall_id: str) -> None:
        super().__init__("not_found", f"no recall with id {recall_id}")


class RecallClosedError(RecallError):
    """The recall is closed already: nothing more can be acknowledged or closed."""

    def __init__(self, recall_id: str) -> None:
        super().__init__("recall_closed", f"recall {recall_id} is closed")


class NotReconciledError(InvalidInputError):
    """Closure asked while holders are not reconciled, without a regulator's override."""

    reason = "not_reconciled"


class NotAHolderError(InvalidInputError):
    """The organisation holds nothing in the recall's scope."""

    reason = "not_a_holder"


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
class Deadlines:
    """When a recall's holders must have acknowledged, and reconciled (docs/recalls.md)."""

    acknowledge_by: datetime
    finish_by: datetime


def deadlines(level: str, started_at: datetime) -> Deadlines:
    """The deadlines of a recall of ``level`` started at ``started_at``.

    Working days are Monday to Friday in the recall's own time zone; public holidays and the
    调休 working weekends are not known here, so a deadline over a holiday is early.

    Raises:
        KeyError: ``level`` is not one of :data:`LEVELS`.
    """
    try:
        acknowledge_by = started_at + timedelta(hours=NOTIFY_HOURS[level])
    except OverflowError:  # an event dated at the end of the calendar: never due
        acknowledge_by = datetime.max.replace(tzinfo=started_at.tzinfo)
    return Deadlines(
        acknowledge_by=acknowledge_by,
        finish_by=add_working_days(started_at, FINISH_WORKING_DAYS[level]),
    )


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` moved on by ``days`` working days (Monday to Friday), same time of day; the
    last moment of the calendar when that is past it."""
    at = start
    left = days
    try:
        while left > 0:
            at += timedelta(days=1)
            if at.weekday() < 5:
                left -= 1
    except OverflowError:
        return datetime.max.replace(tzinfo=start.tzinfo)
    return at


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A holder's latest ``RecallAcknowledged``: what it reported, in ``unit``."""

    event_id: str
    at: datetime
    unit: str | None
    on_hand: Decimal | None
    sold_on: Decimal | None
    returned: Decimal | None
    destroyed: Decimal | None
    note: str | None


REPORTED = ("on_hand", "sold_on", "returned", "destroyed")


@dataclass(frozen=True, slots=True)
class HolderAccount:
    """One holder's account of the recalled goods: received (from the ledger) against what it
    reported; ``remaining`` = received − sold on − destroyed − returned."""

    organisation: str
    name: str | None
    region: str | None
    received: tuple[tuple[str, str], ...]
    """(quantity, unit) per unit: what the ledger says it received (or made)."""
    acknowledgement: Acknowledgement | None
    deadlines: Deadlines
    contact: str | None = None
    """联系方式 of its latest certificate (承诺达标合格证) for goods in scope, if it issued one."""

    @property
    def acknowledged(self) -> bool:
        return self.acknowledgement is not None

    @property
    def received_in_unit(self) -> Decimal | None:
        """What it received in the unit of its acknowledgement (``None``: not in that unit)."""
        ack = self.acknowledgement
        if ack is None or ack.unit is None:
            return None
        found = [Decimal(q) for q, u in self.received if u == ack.unit]
        return found[0] if found else None

    @property
    def remaining(self) -> Decimal | None:
        """received − sold on − destroyed − returned; ``None`` until all are known."""
        ack = self.acknowledgement
        received = self.received_in_unit
        if ack is None or received is None:
            return None
        parts = (ack.sold_on, ack.destroyed, ack.returned)
        if any(p is None for p in parts):
            return None
        return received - sum((p for p in parts if p is not None), Decimal(0))

    @property
    def missing(self) -> tuple[str, ...]:
        """What it still has to report or do, in words (empty when reconciled)."""
        ack = self.acknowledgement
        if ack is None:
            return ("acknowledge with on_hand, sold_on, returned and destroyed",)
        wanted = [f"report {name}" for name in REPORTED if getattr(ack, name) is None]
        if self.received_in_unit is None:
            units = ", ".join(u for _q, u in self.received) or "none recorded"
            wanted.append(f"report in the unit it received (ledger: {units})")
        if wanted:
            return tuple(wanted)
        remaining = self.remaining
        if remaining is not None and remaining != ack.on_hand:
            wanted.append(
                f"account for the difference: received − sold on − destroyed − returned is "
                f"{_text(remaining)} {ack.unit}, on hand {_text(ack.on_hand)}"
            )
        elif ack.on_hand:
            wanted.append(f"return or destroy the {_text(ack.on_hand)} {ack.unit} on hand")
        return tuple(wanted)

    @property
    def reconciled(self) -> bool:
        """Acknowledged, everything accounted for, and nothing left on hand."""
        return not self.missing

    def overdue(self, now: datetime) -> str | None:
        """:data:`NOT_ACKNOWLEDGED` or :data:`NOT_RECONCILED` when past that deadline."""
        if not self.acknowledged and now > self.deadlines.acknowledge_by:
            return NOT_ACKNOWLEDGED
        if not self.reconciled and now > self.deadlines.finish_by:
            return NOT_RECONCILED
        return None


def _plain(value: Decimal) -> str:
    """A quantity as the event's JSON form writes it: plain digits, never an exponent."""
    return format(value, "f")


def _text(value: Decimal | None) -> str:
    if value is None:
        return "?"
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True, slots=True)
class Closure:
    """The ``RecallClosed`` that ended a recall."""

    event_id: str
    actor: str
    at: datetime
    summary: str
    override_reason: str | None


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
    accounts: tuple[HolderAccount, ...] = ()
    """Every holder's account, the maker of the root codes included."""
    closure: Closure | None = None


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

    @property
    def status(self) -> str:
        """:data:`OPEN` or :data:`CLOSED`: a recall opens when started and closes once."""
        return CLOSED if self.progress.closed else OPEN

    @property
    def deadlines(self) -> Deadlines:
        return deadlines(self.level, self.event.occurred_at)

    @property
    def reconciled(self) -> bool:
        """Whether every holder's account is reconciled."""
        return all(a.reconciled for a in self.progress.accounts)

    def account(self, organisation: str) -> HolderAccount | None:
        return next((a for a in self.progress.accounts if a.organisation == organisation), None)

    def overdue(self, now: datetime) -> list[HolderAccount]:
        """Holders past a deadline (none once the recall is closed)."""
        if self.progress.closed:
            return []
        return [a for a in self.progress.accounts if a.overdue(now) is not None]

    def reaches(self, region: str | None) -> bool:
        """Whether a regulator of ``region`` follows it: a holder there, or its starter's."""
        if region is None:
            return True
        regions = [self.starter_region, *(a.region for a in self.progress.accounts)]
        return any(region_within(r, region) for r in regions)

    starter_region: str | None = None
    """Region of the organisation that started it."""
    ordered: bool = True
    """Started by a regulator (责令召回); false: by the maker of the goods (主动召回)."""


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
    own_goods: bool = False,
) -> Recall:
    """Record a ``RecallInitiated`` by ``regulator`` signed with ``key``; return it with its scope.

    ``own_goods``: ``regulator`` is a maker recalling its own goods (主动召回), not a regulator
    (责令召回); the ledger then refuses root codes it did not originate (``unauthorised``).

    Raises:
        InvalidInputError: no root code or more than :data:`MAX_ROOT_CODES` (field
            ``root_codes``).
        CodeError: a root code is malformed (field ``root_codes[i]``).
        UnknownRootCodeError: a root code has no recorded event (field ``root_codes[i]``).
        EventValidationError: ``reason`` or ``level`` breaks a rule of the event contract (field
            ``payload.reason`` / ``payload.level``).
        RecallRefusedError: ``key`` is not registered for ``regulator`` or was revoked
            (``unusable_key``); ``regulator`` is not registered as a regulator
            (``not_a_regulator``), or with ``own_goods`` as a maker (``not_a_maker``); the
            ledger refused the event (its rejection reason, e.g. ``unauthorised``).
        TransportError: the ledger cannot take the event now.
    """
    codes = _canonical_roots(store, root_codes)
    _check_signer(store, roots, key, regulator, MAKERS if own_goods else {REGULATOR_ROLE})
    recall_id = str(uuid.uuid4())
    event = _recall_event(recall_id, regulator, codes, reason, level, now or _now())
    committed = _submit(transport, key, event, f"recall:{recall_id}")
    position = _position(store, recall_id) if committed else None
    return _with_scope(store, tracer, event, position)


def _submit(transport: Transport, key: SigningKey, event: Event, source: str) -> bool:
    """Sign and submit one event; whether it is in the ledger already (not queued).

    Raises:
        RecallRefusedError: the ledger refused it (its rejection reason; field and rule in the
            message).
        TransportError: the ledger cannot take it now.
    """
    message = encode_batch(sign_batch(key, [encode_event(event)]))
    result = transport.submit([message], key=event.actor, source=source)
    outcome = result.outcomes[0]
    if outcome.status is EventStatus.REJECTED:
        refused = RecallRefusedError(
            outcome.reason or "rejected",
            f"the ledger refused the {event.event_type}: {outcome.rule}",
        )
        refused.field = outcome.field
        raise refused
    return result.committed


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
    store: LedgerStore,
    roots: Sequence[RootKey],
    key: SigningKey,
    regulator: str,
    roles: Iterable[str] | None = None,
) -> None:
    """``key`` may sign for ``regulator``, registered with one of ``roles`` (any: ``None``)."""
    trust = load_trust(store, roots)
    registered = trust.organisation(regulator)
    wanted = None if roles is None else set(roles)
    if registered is None or (wanted is not None and not wanted & set(registered.roles)):
        reason = "not_a_regulator" if wanted == {REGULATOR_ROLE} else "not_a_maker"
        raise RecallRefusedError(
            reason,
            f"{regulator} is not registered with the role "
            f"{' or '.join(sorted(wanted or ()))} in the trust chain",
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


def current_time() -> datetime:
    """Now, against which deadlines are judged (one place, so a test can move the clock)."""
    return datetime.now(UTC)


def _now() -> datetime:
    # The zone offset of the place the service runs, as events keep theirs.
    return datetime.now().astimezone()


# --- finding ----------------------------------------------------------------------------------


def find_recall(
    store: LedgerStore,
    tracer: Tracer,
    recall_id: str,
    *,
    recorded: Iterable[Event] = (),
) -> Recall:
    """The recall with this id (or the id of its ``RecallInitiated`` event), scope and progress.

    ``recorded``: the ``RecallInitiated`` events of the ledger, searched by their payload's
    ``recall_id`` when no event has this id (a recall recorded with an id of its own).

    Raises:
        InvalidInputError: ``recall_id`` is not a lower-case UUID (field ``recall_id``).
        RecallNotFoundError: no ``RecallInitiated`` event has this id or recall id.
    """
    wanted = recall_id.strip().lower()
    if not _UUID.fullmatch(wanted):
        raise InvalidInputError("recall_id", recall_id, "must be a UUID (8-4-4-4-12 hex digits)")
    try:
        position: LedgerPosition | None = _position(store, wanted)
    except EntryNotFoundError:
        position = None
    if position is not None:
        event = store.event_at(position.shard, position.seq)
        if event.event_type == RECALL_INITIATED:
            return _with_scope(store, tracer, event, position)
    for event in recorded:
        if event.event_type == RECALL_INITIATED and str(event.payload["recall_id"]) == wanted:
            return _with_scope(store, tracer, event, _position(store, event.event_id))
    raise RecallNotFoundError(wanted)


def _position(store: LedgerStore, event_id: str) -> LedgerPosition:
    shard, seq = store.locate(event_id)
    return LedgerPosition(shard, seq, store.entry(shard, seq).read_leaf().recorded_at)


def _with_scope(
    store: LedgerStore, tracer: Tracer, event: Event, position: LedgerPosition | None
) -> Recall:
    root_codes = [str(code) for code in event.payload["root_codes"]]
    with store.reading():  # scope and progress from one snapshot
        # the follow-ups and certificates come with the scope: one walk, not a second look-up
        # of every code in scope
        scope = tracer.recall_scope(root_codes, events_of=_FOLLOW_UP_TYPES | {_CERTIFICATE})
        directory = Directory(store)
        holders = [*_makers(store, directory, root_codes, scope.holders), *scope.holders]
        limits = deadlines(str(event.payload["level"]), event.occurred_at)
        progress = _progress(
            store, str(event.payload["recall_id"]), scope.events, holders, directory, limits
        )
    return Recall(
        event,
        position,
        scope.codes,
        tuple(holders),
        progress,
        complete=scope.complete,
        starter_region=directory.region(event.actor),
        ordered=directory.has_role(event.actor, {REGULATOR_ROLE}),
    )


def _makers(
    store: LedgerStore, directory: Directory, root_codes: Sequence[str], known: Sequence[Holder]
) -> list[Holder]:
    """The organisations that first recorded the root codes (their makers, importers or
    certifiers) and are not among the scope's holders already, with what they first recorded."""
    listed = {h.organisation for h in known}
    made: dict[str, dict[str, Decimal]] = {}
    for code in root_codes:
        maker = originator(store, code)
        if maker is None or maker in listed:
            continue
        units = made.setdefault(maker, {})
        mine = sorted((r for r in store.code_events(code) if r.actor == maker), key=lambda r: r.seq)
        entries = store.entries_at([(r.shard, r.seq) for r in mine])
        for ref in mine:
            first = entries[(ref.shard, ref.seq)].event()
            if first.quantity is not None and first.unit:
                units[first.unit] = units.get(first.unit, Decimal(0)) + first.quantity
                break
    return [
        Holder(
            org,
            directory.name(org),
            tuple((_text(q), unit) for unit, q in sorted(units.items())),
        )
        for org, units in sorted(made.items())
    ]


def _progress(
    store: LedgerStore,
    recall_id: str,
    every: Sequence[CodeEventRef],
    holders: list[Holder],
    directory: Directory,
    limits: Deadlines,
) -> RecallProgress:
    """The progress of the recall from ``every`` follow-up and certificate event about the
    codes in its scope."""
    refs = [r for r in every if r.event_type in _FOLLOW_UP_TYPES]
    events = store.events_at((r.shard, r.seq) for r in refs)
    contacts = _contacts(store, every, {h.organisation for h in holders})
    latest: dict[str, Acknowledgement] = {}
    acknowledgements = disposals = 0
    closure: Closure | None = None
    for event in events.values():
        if str(event.payload.get("recall_id")) != recall_id:
            continue
        if event.event_type == RECALL_ACKNOWLEDGED:
            acknowledgements += 1
            ack = _acknowledgement(event)
            known = latest.get(event.actor)
            if known is None or (ack.at, ack.event_id) > (known.at, known.event_id):
                latest[event.actor] = ack
        elif event.event_type == DESTROYED:
            disposals += 1
        elif event.event_type == RECALL_CLOSED and closure is None:
            override = event.payload.get("override_reason")
            closure = Closure(
                event.event_id,
                event.actor,
                event.occurred_at,
                str(event.payload["summary"]),
                None if override is None else str(override),
            )
    accounts = tuple(
        HolderAccount(
            h.organisation,
            h.name,
            directory.region(h.organisation),
            h.quantities,
            latest.get(h.organisation),
            limits,
            contacts.get(h.organisation),
        )
        for h in holders
    )
    outstanding = tuple(h.organisation for h in holders if h.organisation not in latest)
    return RecallProgress(
        acknowledged_by=tuple(sorted(latest)),
        outstanding=outstanding,
        acknowledgements=acknowledgements,
        disposals=disposals,
        closed=closure is not None,
        accounts=accounts,
        closure=closure,
    )


def _contacts(
    store: LedgerStore, refs: Sequence[CodeEventRef], holders: set[str]
) -> dict[str, str]:
    """Per holder, the 联系方式 it keeps itself (``suyuan.contacts``, the freshest), else that
    of the latest certificate it issued for codes of the scope: the trust chain registers no
    telephone (docs/recalls.md)."""
    kept = organisation_contacts(store.engine, holders) if isinstance(store, SqlLedgerStore) else {}
    issued = sorted(
        (r for r in refs if r.event_type == _CERTIFICATE and r.actor in holders),
        key=lambda r: (r.occurred_at, r.shard, r.seq),
    )
    events = store.events_at((r.shard, r.seq) for r in issued)
    found: dict[str, str] = {}
    for ref in issued:  # oldest first: a later certificate's contact replaces an earlier one
        contact = events[(ref.shard, ref.seq)].payload.get("contact")
        if isinstance(contact, str) and contact.strip():
            found[ref.actor] = contact.strip()
    return found | kept


def _acknowledgement(event: Event) -> Acknowledgement:
    payload = event.payload

    def amount(name: str) -> Decimal | None:
        value = payload.get(name)
        return None if value is None else Decimal(value)

    on_hand = amount("on_hand")
    if on_hand is None and "on_hand" not in payload:
        on_hand = event.quantity  # an acknowledgement of the first schema: its quantity held
    note = payload.get("note")
    return Acknowledgement(
        event.event_id,
        event.occurred_at,
        event.unit,
        on_hand,
        amount("sold_on"),
        amount("returned"),
        amount("destroyed"),
        None if note is None else str(note),
    )


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecallPage:
    """One page of recalls, newest first, and the cursor of the next (``None``: the last)."""

    recalls: list[Recall]
    next_cursor: str | None
    count: int = field(default=0)
    """How many recalls match in all."""


def list_recalls(
    store: LedgerStore,
    tracer: Tracer,
    recorded: Iterable[Event],
    *,
    status: str | None = None,
    level: str | None = None,
    region: str | None = None,
    started_by: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> RecallPage:
    """The recalls of ``recorded`` (the ledger's ``RecallInitiated`` events) that match, newest
    first: ``status`` (:data:`STATUSES`), ``level``, ``region`` (the scope reaches it, or the
    starter is there), ``started_by`` (its actor). ``cursor`` is the ``next_cursor`` of the
    page before (the recall id of its last recall).

    Raises:
        InvalidInputError: ``status`` or ``level`` unknown, or ``cursor`` not a recall of the
            list (field ``status``, ``level`` or ``cursor``; the first of them found).
    """
    if status is not None and status not in STATUSES:
        raise InvalidInputError("status", status, f"one of {', '.join(STATUSES)}")
    if level is not None and level not in LEVELS:
        raise InvalidInputError("level", level, f"one of {', '.join(LEVELS)}")
    chosen = [
        e
        for e in recorded
        if (level is None or e.payload.get("level") == level)
        and (started_by is None or e.actor == started_by)
    ]
    matching = [
        recall
        for recall in recorded_recalls(store, tracer, chosen)
        if (status is None or recall.status == status) and recall.reaches(region)
    ]
    start = 0
    if cursor is not None:
        ids = [r.recall_id for r in matching]
        if cursor not in ids:
            raise InvalidInputError(
                "cursor", cursor[:60], "the next_cursor of a page of this same query"
            )
        start = ids.index(cursor) + 1
    page = matching[start : start + limit]
    more = start + limit < len(matching)
    return RecallPage(page, page[-1].recall_id if more and page else None, len(matching))


def recorded_recalls(store: LedgerStore, tracer: Tracer, recorded: Iterable[Event]) -> list[Recall]:
    """The recalls ``recorded`` starts (its ``RecallInitiated`` events), newest first."""
    events = sorted(
        (e for e in recorded if e.event_type == RECALL_INITIATED),
        key=lambda e: (e.occurred_at, e.event_id),
        reverse=True,
    )
    return [_with_scope(store, tracer, e, _position(store, e.event_id)) for e in events]


# --- acknowledging and closing ----------------------------------------------------------------


def acknowledge_recall(
    *,
    store: LedgerStore,
    roots: Sequence[RootKey],
    transport: Transport,
    tracer: Tracer,
    key: SigningKey,
    recall: Recall,
    holder: str,
    unit: str,
    on_hand: Decimal,
    sold_on: Decimal,
    returned: Decimal,
    destroyed: Decimal,
    note: str | None = None,
    now: datetime | None = None,
) -> tuple[Recall, bool]:
    """Record ``holder``'s ``RecallAcknowledged`` of ``recall`` with its quantities (in ``unit``);
    return the recall as it is now, and whether the event is in the ledger already (false: it
    is queued, a Kafka transport, and the recall does not show it yet). A later acknowledgement
    replaces an earlier one.

    Raises:
        RecallClosedError: the recall is closed.
        NotAHolderError: ``holder`` holds nothing in the scope (field ``organisation``).
        EventValidationError: a quantity or the unit breaks the event contract (field
            ``payload.<name>``, ``quantity`` or ``unit``).
        RecallRefusedError: the key cannot sign for ``holder`` (``unusable_key``) or the ledger
            refused the event.
        TransportError: the ledger cannot take the event now.
    """
    if recall.progress.closed:
        raise RecallClosedError(recall.recall_id)
    if recall.account(holder) is None:
        raise NotAHolderError(
            "organisation", holder, f"holds nothing in the scope of recall {recall.recall_id}"
        )
    _check_signer(store, roots, key, holder)
    event = event_from_json(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": RECALL_ACKNOWLEDGED,
            "occurred_at": (now or _now()).isoformat(),
            "actor": holder,
            "location": None,
            "codes": list(recall.root_codes),
            "quantity": _plain(on_hand),
            "unit": unit,
            "biz_step": None,
            "disposition": "recalled",
            "payload": {
                "recall_id": recall.recall_id,
                "note": note,
                "on_hand": _plain(on_hand),
                "sold_on": _plain(sold_on),
                "returned": _plain(returned),
                "destroyed": _plain(destroyed),
            },
        }
    )
    validate_event(event)
    committed = _submit(transport, key, event, f"recall-ack:{event.event_id}")
    return _with_scope(store, tracer, recall.event, recall.position), committed


def close_recall(
    *,
    store: LedgerStore,
    roots: Sequence[RootKey],
    transport: Transport,
    tracer: Tracer,
    key: SigningKey,
    recall: Recall,
    closer: str,
    summary: str,
    override_reason: str | None = None,
    now: datetime | None = None,
) -> tuple[Recall, bool]:
    """Record the ``RecallClosed`` of ``recall`` by ``closer``; return the recall as it is now,
    and whether the event is in the ledger already (false: queued, not shown yet).

    Without ``override_reason`` every holder must be reconciled; with one, ``closer`` must be a
    regulator (the ledger refuses it from anyone else).

    Raises:
        RecallClosedError: the recall is closed already.
        NotReconciledError: holders are not reconciled and no override (field ``override``,
            the holders in the rule).
        EventValidationError: ``summary`` or ``override_reason`` breaks the event contract.
        RecallRefusedError: the key cannot sign for ``closer``, or the ledger refused the event
            (``unauthorised``: neither the starter nor a regulator, or an override by a
            non-regulator).
        TransportError: the ledger cannot take the event now.
    """
    if recall.progress.closed:
        raise RecallClosedError(recall.recall_id)
    if override_reason is None and not recall.reconciled:
        pending = [a.organisation for a in recall.progress.accounts if not a.reconciled]
        raise NotReconciledError(
            "override",
            "false",
            f"every holder must be reconciled first; not yet: {', '.join(pending)} (or a "
            "regulator closes it with override and a reason)",
        )
    _check_signer(store, roots, key, closer)
    event = event_from_json(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": RECALL_CLOSED,
            "occurred_at": (now or _now()).isoformat(),
            "actor": closer,
            "location": None,
            "codes": list(recall.root_codes),
            "quantity": None,
            "unit": None,
            "biz_step": None,
            "disposition": None,
            "payload": {
                "recall_id": recall.recall_id,
                "summary": summary,
                "override_reason": override_reason,
            },
        }
    )
    validate_event(event)
    committed = _submit(transport, key, event, f"recall-close:{event.event_id}")
    return _with_scope(store, tracer, recall.event, recall.position), committed


# --- overdue holders --------------------------------------------------------------------------


def overdue_alerts(recalls: Iterable[Recall], now: datetime) -> list[Alert]:
    """One open ``recall_overdue`` alert per holder past a deadline of an open recall.

    It concerns the holder (its region), opens at the deadline it missed and names the recall's
    ``RecallInitiated`` as the event that opened it; it disappears once the holder acknowledges
    or reconciles, or the recall closes (these alerts are a view of now, not a history).
    """
    alerts: list[Alert] = []
    for recall in recalls:
        for account in recall.overdue(now):
            missed = account.overdue(now)
            limits = account.deadlines
            due = limits.acknowledge_by if missed == NOT_ACKNOWLEDGED else limits.finish_by
            alerts.append(
                Alert(
                    kind=RECALL_OVERDUE,
                    event_id=f"{recall.event.event_id}:{account.organisation}",
                    codes=recall.root_codes,
                    organisation=account.organisation,
                    organisation_name=account.name,
                    region=account.region,
                    opened_at=due,
                    summary=(
                        f"recall {recall.recall_id} ({recall.level}): "
                        f"{missed.replace('_', ' ') if missed else ''} by {due.isoformat()}"
                    ),
                    outstanding=account.missing,
                )
            )
    alerts.sort(key=lambda a: (a.opened_at, a.event_id), reverse=True)
    return alerts


__all__ = [
    "CLOSED",
    "FINISH_WORKING_DAYS",
    "LEVELS",
    "MAX_PAGE",
    "MAX_ROOT_CODES",
    "NOTIFY_HOURS",
    "NOT_ACKNOWLEDGED",
    "NOT_RECONCILED",
    "OPEN",
    "RECALL_INITIATED",
    "RECALL_OVERDUE",
    "STATUSES",
    "Acknowledgement",
    "Closure",
    "Deadlines",
    "HolderAccount",
    "LedgerPosition",
    "NotAHolderError",
    "NotReconciledError",
    "Recall",
    "RecallClosedError",
    "RecallError",
    "RecallNotFoundError",
    "RecallPage",
    "RecallProgress",
    "RecallRefusedError",
    "UnknownRootCodeError",
    "acknowledge_recall",
    "add_working_days",
    "close_recall",
    "current_time",
    "custodial_recall_key",
    "deadlines",
    "find_recall",
    "list_recalls",
    "overdue_alerts",
    "recorded_recalls",
    "regulator_organisation",
    "start_recall",
]
