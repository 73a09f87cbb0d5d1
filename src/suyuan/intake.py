"""From signed batch messages to ledger entries or rejections (design.md §5, §6).

:class:`LedgerWriter` is the one write path of every transport (Kafka worker, HTTP, embedded):
decode the batch, check its signature against the trust chain, validate every event, append
the good ones together with a reason for each bad one and the consumer offset, and keep the
trust store in step with the trust events that entered the ledger. A bad message never stops
the good ones beside it; every message ends in the ledger or in the rejections.

Trust events (organisations, signing keys, revocations) live on one shard of their own,
:data:`~suyuan.ledger.TRUST_SHARD`, fed by the one-partition trust topic; every other event
lives on an event shard. That gives trust events one order. Every entry's leaf records how many
of them its writer had applied, so the audit judges its key exactly as the writer did; the
Kafka worker makes sure that number covers every trust event produced before the event
(docs/ledger.md, "Trust order").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from suyuan.authority import Custody, check_authority
from suyuan.codegraph import CodeGraph
from suyuan.errors import IdConflictError, InvalidInputError, SuyuanError
from suyuan.events import MAX_BATCH_BYTES, decode_batch, decode_event, validate_event
from suyuan.events.model import TRUST_EVENT_TYPES, Event, SignedBatch
from suyuan.follower import TrustFollower, load_trust
from suyuan.foodchain import Reads, certificate_codes, check_chain_rules
from suyuan.ledger import (
    TRUST_SHARD,
    AppendResult,
    EntryNotFoundError,
    LedgerStore,
    OffsetCommit,
    Rejection,
    StaleWriterError,
    Submission,
)
from suyuan.signing import RootKey, TrustStore, batch_proofs, verify_batch_signature


class OversizedMessageError(InvalidInputError):
    """A consumed message is larger than this writer accepts."""

    reason = "oversized"


class MessageDeferredError(SuyuanError):
    """A message refers to events the ledger does not hold yet (``write(defer_missing=True)``).

    Nothing was written. ``index`` is the message's place in the write: the messages before it
    may be written on their own; ``cause`` is the rule that would refuse it now.
    """

    def __init__(self, index: int, cause: InvalidInputError) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"message {index}: {cause}")


class _DeferralError(Exception):
    def __init__(self, cause: InvalidInputError) -> None:
        self.cause = cause


class _RefusedWholeError(Exception):
    """A message refused as a whole, and its batch when it decoded (for the actor it claims
    to speak for and the ids of its events)."""

    def __init__(self, cause: InvalidInputError, batch: SignedBatch | None = None) -> None:
        self.cause = cause
        self.batch = batch


class WrongTopicError(InvalidInputError):
    """A trust event outside the trust topic (shard), or another event on it."""

    reason = "wrong_topic"


def shard_for(data: bytes, events_shard: int = 0) -> int:
    """The shard an embedded writer appends a message to: the trust shard for trust events,
    else ``events_shard``."""
    return TRUST_SHARD if carries_trust(data) else events_shard


def carries_trust(data: bytes) -> bool:
    """Whether a signed batch message holds trust events, so belongs on the trust topic (and
    the trust shard). An undecodable message does not: the events topic's writer refuses it
    with its reason."""
    try:
        events = decode_batch(data).events
        return bool(events) and decode_event(events[0]).event_type in TRUST_EVENT_TYPES
    except InvalidInputError:
        return False


@dataclass(frozen=True, slots=True)
class Message:
    """One consumed message: where it came from (e.g. ``topic[2]@1041``) and its bytes."""

    source: str
    data: bytes


class EventStatus(StrEnum):
    ACCEPTED = "accepted"
    """In the ledger (embedded) or queued for it (Kafka)."""
    DUPLICATE = "duplicate"
    """Its ``event_id`` is already in the ledger: counted, not stored again."""
    REJECTED = "rejected"
    """Refused, with a machine-readable reason; recorded in the rejections store."""


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What became of one event (or of a whole message that could not be read)."""

    message: int
    """Index of the message in the submitted sequence."""
    index: int | None
    """Index of the event in its batch; ``None`` when the message itself was unreadable."""
    event_id: str | None
    status: EventStatus
    reason: str | None = None
    field: str | None = None
    rule: str | None = None
    problems: tuple[InvalidInputError, ...] = ()
    """Every rule a rejected event broke, when it was checked before signing (JSON over HTTP):
    ``reason``, ``field`` and ``rule`` are the first's. Empty otherwise."""

    @classmethod
    def rejected(cls, message: int, index: int | None, rejection: Rejection) -> EventOutcome:
        return cls(
            message=message,
            index=index,
            event_id=rejection.event_id,
            status=EventStatus.REJECTED,
            reason=rejection.reason,
            field=rejection.field,
            rule=rejection.rule,
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    append: AppendResult
    rejections: tuple[Rejection, ...]
    outcomes: tuple[EventOutcome, ...] = ()
    """One per event of the written messages, in message and batch order (``message`` counts
    this write's messages from 0); a message that could not be read as a batch has one, with
    ``index`` ``None``. Transports answer with these instead of decoding the batches again."""

    @property
    def accepted(self) -> int:
        return len(self.append.appended)

    @property
    def duplicates(self) -> int:
        return len(self.append.duplicates)


class LedgerWriter:
    """Checks signed batches and appends them to a ledger, one shard at a time."""

    def __init__(
        self,
        store: LedgerStore,
        roots: Sequence[RootKey],
        *,
        max_message_bytes: int = MAX_BATCH_BYTES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._roots = tuple(roots)
        self._max_message_bytes = max_message_bytes
        #: The time of recording, which bounds the dates of the events (validate_event).
        self._clock = clock or (lambda: datetime.now(UTC))
        self._follower = TrustFollower(store, self._roots)
        self._follower.refresh()
        self._applied = 0  # trust events applied while checking, not yet appended
        self._event_ids = _EventIds(store)

    @property
    def trust(self) -> TrustStore:
        """Who may sign what, as this writer judges it now."""
        return self._follower.trust

    def _reload_trust(self) -> None:
        self._follower.reload()
        self._applied = 0

    def refresh_trust(self) -> None:
        """Catch up with trust events other writers appended (keys registered or revoked on
        the trust shard). Called before every write: one small indexed query."""
        if self._applied:
            self._reload_trust()
        else:
            self._follower.refresh()

    def write(
        self,
        shard: int,
        messages: Sequence[Message],
        *,
        offset: OffsetCommit | None = None,
        defer_missing: bool = False,
        settled: int = 0,
    ) -> WriteResult:
        """Check ``messages`` in order and append what passes, atomically with ``offset``.

        With ``defer_missing``, an event refused for something other partitions may still
        bring (``err.may_arrive_later``: a cited certificate, goods shipped to the actor, a
        recall) is not refused: nothing is written and
        :class:`MessageDeferredError` names its message, so the caller can write the messages before
        it and judge it again once the events it may refer to had time to arrive. The first
        ``settled`` messages are judged for good even so: the caller knows nothing they may
        refer to can still arrive (so one write holds messages judged both ways).

        Raises:
            StaleWriterError: the offset compare-and-set failed (nothing written; the trust
                store is rebuilt from the ledger).
            MessageDeferredError: only with ``defer_missing`` (nothing written).
        """
        self.refresh_trust()
        submissions: list[Submission] = []
        rejections: list[Rejection] = []
        slots: list[tuple[int, _Slot]] = []
        judging = _Judging(self._store)
        self._event_ids.new_pass()
        # The checks read one snapshot, through one connection and transaction, instead of one
        # of each per read (a per-event-signed write reads a few codes per message); the append
        # comes after the block, and locks and checks the shard head and the event ids itself.
        with self._store.reading():
            reads: list[_Read | _Taken | None] = [None] * len(messages)
            if shard != TRUST_SHARD:
                # Every message read first, so that the checks read the ledger for all of them
                # in a few statements, not a few per message. (Not on the trust shard: a trust
                # message's signature may rest on a key an earlier message of the write adds.)
                reads = [self._read(message) for message in messages]
                judging.message(
                    [e for read in reads if isinstance(read, _Read) for e in read.events]
                )
            for number, message in enumerate(messages):
                # Rules that look at earlier events (a certificate resting on an inspection)
                # also see the good events of this call, which are not in the ledger yet.
                try:
                    good, bad, fates = self._take_in(
                        shard, message, judging, defer_missing and number >= settled, reads[number]
                    )
                except _DeferralError as deferral:
                    self._reload_trust()  # trust events applied while checking are undone
                    raise MessageDeferredError(number, deferral.cause) from None
                submissions.extend(good)
                rejections.extend(bad)
                slots.extend((number, fate) for fate in fates)
        if self._event_ids.taken_in_ledger(submissions):
            # Rare: an id of this write is stored with other content. Check the write again
            # knowing it, so that event is refused before it registers a key or counts for the
            # rules of later events (trust events applied by this pass are undone first).
            self._reload_trust()
            return self.write(
                shard, messages, offset=offset, defer_missing=defer_missing, settled=settled
            )
        try:
            result = self._store.append(shard, submissions, rejections=rejections, offset=offset)
        except Exception:
            # Trust events were applied while checking; the ledger did not take them.
            self._reload_trust()
            raise
        if self._applied:
            # The trust events this write applied while checking are in the ledger now (or
            # were duplicates): follow the ledger again rather than apply them twice.
            self._reload_trust()
        return WriteResult(result, tuple(rejections), _outcomes(slots, result))

    def message_problem(self, data: bytes) -> InvalidInputError | None:
        """What would refuse this whole message now (undecodable, oversized, unknown or revoked
        key, bad signature), or ``None`` if its signature counts under the ledger's current
        trust. Used to replay rejected messages once their cause is gone."""
        self.refresh_trust()
        try:
            self._signed_batch(data)
        except _RefusedWholeError as refused:
            return refused.cause
        return None

    def _signed_batch(self, data: bytes) -> SignedBatch:
        """The batch of a message whose signature counts under the trust store now.

        Raises:
            _RefusedWholeError: oversized, undecodable, or the key or signature is refused.
        """
        if len(data) > self._max_message_bytes:
            raise _RefusedWholeError(
                OversizedMessageError(
                    "message", data, f"is {len(data)} bytes; at most {self._max_message_bytes}"
                )
            )
        try:
            batch = decode_batch(data)
        except InvalidInputError as err:
            raise _RefusedWholeError(err) from None
        try:
            verify_batch_signature(batch, self.trust.usable_key(batch.key_id))
        except InvalidInputError as err:
            raise _RefusedWholeError(err, batch) from None
        return batch

    @property
    def trust_size(self) -> int:
        """How many trust events (in trust order) the trust store holds: the ledger's, as of the
        last refresh, and those this writer applied since."""
        return self._follower.size + self._applied

    def _take_in(
        self,
        shard: int,
        message: Message,
        judging: _Judging,
        defer_missing: bool,
        read: _Read | _Taken | None = None,
    ) -> _Taken:
        """The message's good events, its rejections, and what became of each event (in batch
        order); ``read``: the message as :meth:`_read` read it, if it was read already."""
        read = read or self._read(message)
        if not isinstance(read, _Read):
            return read  # refused whole
        accepted, rejections = self._accept(
            shard,
            message,
            read.batch,
            read.events,
            read.rejections,
            judging,
            defer_missing,
            read.fates,
        )
        return accepted, rejections, [read.fates[index] for index in sorted(read.fates)]

    def _read(self, message: Message) -> _Read | _Taken:
        """The message's signed batch and its events, decoded and validated (``None`` for an
        event refused, with its rejection), or, refused whole, what it gives."""
        try:
            batch = self._signed_batch(message.data)
        except _RefusedWholeError as refused:
            # The whole message is refused: it goes to the rejections (and the dead-letter
            # topic) as it was sent, attributed to the first actor it claims to speak for.
            return _refused_whole(message, refused)
        signer = self._signer_organisation(batch.key_id)
        events: list[Event | None] = []
        rejections: list[Rejection] = []
        fates: dict[int, _Slot] = {}
        for index, data in enumerate(batch.events):
            try:
                event = decode_event(data)
            except InvalidInputError as err:
                events.append(None)
                rejected = _rejection(message, err, raw=data, index=index, actor=signer)
                rejections.append(rejected)
                fates[index] = _Slot(index, None, rejected)
                continue
            try:
                validate_event(event, now=self._clock())
            except InvalidInputError as err:
                events.append(None)
                rejected = _rejection(message, err, event=event, index=index, raw=data)
                rejections.append(rejected)
                fates[index] = _Slot(index, event.event_id, rejected)
            else:
                events.append(event)
        return _Read(batch, events, rejections, fates)

    def _accept(
        self,
        shard: int,
        message: Message,
        batch: SignedBatch,
        events: list[Event | None],
        rejections: list[Rejection],
        judging: _Judging,
        defer_missing: bool,
        fates: dict[int, _Slot],
    ) -> tuple[list[Submission], list[Rejection]]:
        proofs = batch_proofs(batch)
        accepted: list[Submission] = []
        pending = judging.pending
        reads, custody = judging.message(events)
        for index, event in enumerate(events):
            if event is None:
                continue
            trust_size = self.trust_size
            try:
                _check_shard(shard, index, event)
                self.trust.check_signer(batch.key_id, index, event)
                # Who may say what (docs/authority.md), by the roles registered right now.
                check_authority(
                    event,
                    self.trust.organisation(event.actor),
                    self._store,
                    pending=pending,
                    custody=custody,
                    final=not defer_missing,
                )
                # The chains' rules that need the ledger (docs/food-chain.md, docs/verdicts.md).
                check_chain_rules(event, self._store, pending=pending, reads=reads)
                self._event_ids.check(event.event_id, batch.events[index])
                if event.event_type in TRUST_EVENT_TYPES and not self._known(event.event_id):
                    self.trust.apply(event)
                    self._applied += 1
            except InvalidInputError as err:
                if defer_missing and err.may_arrive_later:
                    raise _DeferralError(err) from None
                rejected = _rejection(message, err, event=event, index=index)
                rejections.append(rejected)
                fates[index] = _Slot(index, event.event_id, rejected)
                continue
            fates[index] = _Slot(index, event.event_id, None)
            self._event_ids.claim(event.event_id, batch.events[index])
            pending.append(event)
            proof = proofs[index]
            accepted.append(
                Submission(
                    event=event,
                    event_bytes=batch.events[index],
                    key_id=batch.key_id,
                    signature=batch.signature,
                    batch_size=proof.count,
                    batch_index=index,
                    batch_path=proof.audit_path,
                    trust_size=trust_size,
                )
            )
        return accepted, rejections

    def _signer_organisation(self, key_id: str) -> str | None:
        """Whose key signed the batch, so producers see rejections of undecodable events."""
        try:
            return self.trust.organisation_of(key_id)
        except InvalidInputError:
            return None

    def _known(self, event_id: str) -> bool:
        try:
            self._store.locate(event_id)
        except EntryNotFoundError:
            return False
        return True


def _check_shard(shard: int, index: int, event: Event) -> None:
    trust = event.event_type in TRUST_EVENT_TYPES
    if trust and shard != TRUST_SHARD:
        raise WrongTopicError(
            f"events[{index}].event_type",
            event.event_type,
            "trust events are sent to the trust topic (they enter the ledger on the trust "
            "shard only, so every writer sees them in one order)",
        )
    if not trust and shard == TRUST_SHARD:
        raise WrongTopicError(
            f"events[{index}].event_type",
            event.event_type,
            "the trust topic takes only trust events (organisation and key registrations, "
            "revocations); send this to the events topic",
        )


class _EventIds:
    """The event bytes under the event ids of a write: those in the ledger and those taken
    earlier in the write.

    An id names one event: a repeat of the same bytes passes on (the store counts it as a
    duplicate); other bytes under a taken id are an ``id_conflict``, so no one can make
    another organisation's event disappear as a "duplicate" by using its id first. The ledger
    is asked once per write, after the write's events were checked
    (:meth:`taken_in_ledger`); only when that finds a conflict is the write checked again,
    knowing the stored ids, so that :meth:`check` refuses the event before it is trusted or
    seen by the rules of later events.
    """

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        #: Event bytes of ids found in the ledger (it never changes what an id holds).
        self._stored: dict[str, bytes] = {}
        #: Event bytes of ids taken by events accepted earlier in this pass.
        self._claimed: dict[str, bytes] = {}
        self._checking_again = False

    def new_pass(self) -> None:
        """Start checking a write; a write checked again keeps what the ledger told."""
        if not self._checking_again:
            self._stored.clear()
        self._checking_again = False
        self._claimed.clear()

    def check(self, event_id: str, data: bytes) -> None:
        """Check that ``event_id`` is free or holds the event ``data`` already.

        Raises:
            IdConflictError: the id is taken by other event bytes (in the ledger or earlier in
                this write).
        """
        if event_id in self._stored:
            taken, where = self._stored[event_id], "in the ledger"
        else:
            taken, where = self._claimed.get(event_id, data), "earlier in this write"
        if taken != data:
            raise IdConflictError(
                "event_id",
                event_id,
                f"event id {event_id} is taken by an event with other content ({where}); "
                "give each event its own id",
            )

    def claim(self, event_id: str, data: bytes) -> None:
        """``data`` passed every check: later events of the write meet it under ``event_id``."""
        self._claimed.setdefault(event_id, data)

    def taken_in_ledger(self, submissions: Sequence[Submission]) -> bool:
        """Look up the ids of ``submissions`` in the ledger (one query); whether one of them
        is stored with other event bytes, so that the write must be checked again."""
        if not submissions:
            return False
        self._stored = self._store.stored_events([sub.event.event_id for sub in submissions])
        self._checking_again = any(
            self._stored.get(sub.event.event_id, sub.event_bytes) != sub.event_bytes
            for sub in submissions
        )
        return self._checking_again


class _Judging:
    """What the checks of one write share: the events accepted so far (in order; not in the
    ledger yet, so the rules of later events see them) and the reads of the ledger made for
    them — kept from message to message, since the ledger does not change during a write (a
    write of 500 one-event messages reads and indexes once, not 500 times)."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self.pending: list[Event] = []
        self._reads: Reads | None = None
        self._custody: Custody | None = None

    def message(self, events: Sequence[Event | None]) -> tuple[Reads, Custody]:
        """The reads and custody view, with what ``events`` (the next message's) need read."""
        if self._reads is None or self._custody is None:
            # One code graph for the write: the custody checks and the chains' rules load
            # and walk the same edges, and the pending events' edges are added once.
            graph = CodeGraph(self.store)
            self._reads = Reads(self.store, graph=graph)
            self._custody = Custody(self.store, self.pending, graph)
        self._reads.prefetch(code for event in events if event for code in certificate_codes(event))
        self._custody.add_message(events)
        return self._reads, self._custody


@dataclass(frozen=True, slots=True)
class _Read:
    """A message as read before it is judged (:meth:`LedgerWriter._read`)."""

    batch: SignedBatch
    events: list[Event | None]
    """Its events in batch order, ``None`` for one refused (its rejection is in ``rejections``)."""
    rejections: list[Rejection]
    fates: dict[int, _Slot]


@dataclass(frozen=True, slots=True)
class _Slot:
    """One event of a message as checked: its batch index (``None`` for a message that is not
    a batch), its id if it decoded, and its rejection, or ``None`` if it went to the store."""

    index: int | None
    event_id: str | None
    rejection: Rejection | None


#: What a message gives: its good events, its rejections, and what became of each event.
_Taken = tuple[list[Submission], list[Rejection], list[_Slot]]


def _refused_whole(message: Message, refused: _RefusedWholeError) -> _Taken:
    """A message refused as a whole: one rejection, and every event of it (when it decoded as
    a batch) shares its reason."""
    batch = refused.batch
    decoded = [_decoded_or_none(data) for data in batch.events] if batch else []
    actor = next((event.actor for event in decoded if event is not None), None)
    rejection = _rejection(message, refused.cause, raw=message.data, actor=actor)
    if not decoded:
        return [], [rejection], [_Slot(None, None, rejection)]
    fates = [
        _Slot(index, event.event_id if event else None, rejection)
        for index, event in enumerate(decoded)
    ]
    return [], [rejection], fates


def _decoded_or_none(data: bytes) -> Event | None:
    try:
        return decode_event(data)
    except InvalidInputError:
        return None


def _outcomes(slots: Sequence[tuple[int, _Slot]], result: AppendResult) -> tuple[EventOutcome, ...]:
    """What became of each event: refused, appended, or counted as a duplicate (the first copy
    of an id appended by this write is the stored one; later copies repeat it)."""
    appended = {event_id for event_id, _ in result.appended}
    outcomes: list[EventOutcome] = []
    for number, slot in slots:
        if slot.rejection is not None:
            named = replace(slot.rejection, event_id=slot.event_id)
            outcomes.append(EventOutcome.rejected(number, slot.index, named))
            continue
        status = EventStatus.ACCEPTED if slot.event_id in appended else EventStatus.DUPLICATE
        appended.discard(slot.event_id or "")
        outcomes.append(EventOutcome(number, slot.index, slot.event_id, status))
    return tuple(outcomes)


def _rejection(
    message: Message,
    err: InvalidInputError,
    *,
    event: Event | None = None,
    index: int | None = None,
    raw: bytes | None = None,
    actor: str | None = None,
) -> Rejection:
    source = message.source if index is None else f"{message.source} events[{index}]"
    return Rejection(
        source=source,
        reason=err.reason,
        rule=err.rule,
        field=err.field,
        event_id=event.event_id if event else None,
        actor=event.actor if event else actor,
        raw=raw,
    )


__all__ = [
    "EventOutcome",
    "EventStatus",
    "LedgerWriter",
    "Message",
    "MessageDeferredError",
    "StaleWriterError",
    "WriteResult",
    "WrongTopicError",
    "carries_trust",
    "load_trust",
    "shard_for",
]
