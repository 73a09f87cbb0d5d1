"""From signed batch messages to ledger entries or rejections (design §5, §6).

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

from collections.abc import Sequence
from dataclasses import dataclass

from suyuan.errors import InvalidInputError
from suyuan.events import MAX_BATCH_BYTES, decode_batch, decode_event, validate_event
from suyuan.events.model import TRUST_EVENT_TYPES, Event, SignedBatch
from suyuan.foodchain import Reads, certificate_codes, check_certificate
from suyuan.ledger import (
    TRUST_SHARD,
    AppendResult,
    EntryNotFoundError,
    Leaf,
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


@dataclass(frozen=True, slots=True)
class WriteResult:
    append: AppendResult
    rejections: tuple[Rejection, ...]

    @property
    def accepted(self) -> int:
        return len(self.append.appended)

    @property
    def duplicates(self) -> int:
        return len(self.append.duplicates)


def load_trust(store: LedgerStore, roots: Sequence[RootKey]) -> TrustStore:
    """Rebuild the trust store by replaying the ledger's trust events in recorded order."""
    trust = TrustStore(roots)
    for shard, seq in store.trust_positions():
        trust.apply(decode_event(Leaf.from_bytes(store.entry(shard, seq).leaf).event))
    return trust


class LedgerWriter:
    """Checks signed batches and appends them to a ledger, one shard at a time."""

    def __init__(
        self,
        store: LedgerStore,
        roots: Sequence[RootKey],
        *,
        max_message_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._store = store
        self._roots = tuple(roots)
        self._max_message_bytes = max_message_bytes
        self._trust_events = 0
        self._applied = 0  # trust events applied while checking, not yet appended
        self.trust = self._reload_trust()

    def _reload_trust(self) -> TrustStore:
        positions = self._store.trust_positions()
        self._trust_events = len(positions)
        self._applied = 0
        self.trust = load_trust(self._store, self._roots)
        return self.trust

    def refresh_trust(self) -> None:
        """Catch up with trust events other writers appended (keys registered or revoked on
        other shards). Called before every write: one small indexed query."""
        if len(self._store.trust_positions()) != self._trust_events:
            self._reload_trust()

    def write(
        self, shard: int, messages: Sequence[Message], *, offset: OffsetCommit | None = None
    ) -> WriteResult:
        """Check ``messages`` in order and append what passes, atomically with ``offset``.

        Raises:
            StaleWriterError: the offset compare-and-set failed (nothing written; the trust
                store is rebuilt from the ledger).
        """
        self.refresh_trust()
        submissions: list[Submission] = []
        rejections: list[Rejection] = []
        for message in messages:
            # Rules that look at earlier events (a certificate resting on an inspection) also
            # see the good events of this call, which are not in the ledger yet.
            good, bad = self._take_in(shard, message, [sub.event for sub in submissions])
            submissions.extend(good)
            rejections.extend(bad)
        try:
            result = self._store.append(shard, submissions, rejections=rejections, offset=offset)
        except Exception:
            # Trust events were applied while checking; the ledger did not take them.
            self._reload_trust()
            raise
        appended = {event_id for event_id, _seq in result.appended}
        self._trust_events += sum(
            1
            for sub in submissions
            if sub.event.event_type in TRUST_EVENT_TYPES and sub.event.event_id in appended
        )
        self._applied = 0
        return WriteResult(result, tuple(rejections))

    def message_problem(self, data: bytes) -> InvalidInputError | None:
        """What would refuse this whole message now (undecodable, oversized, unknown or revoked
        key, bad signature), or ``None`` if its signature counts under the ledger's current
        trust. Used to replay rejected messages once their cause is gone."""
        self.refresh_trust()
        if len(data) > self._max_message_bytes:
            return OversizedMessageError(
                "message", data, f"is {len(data)} bytes; at most {self._max_message_bytes}"
            )
        try:
            batch = decode_batch(data)
            verify_batch_signature(batch, self.trust.usable_key(batch.key_id))
        except InvalidInputError as err:
            return err
        return None

    @property
    def trust_size(self) -> int:
        """How many trust events (in trust order) the trust store holds: the ledger's, as of the
        last refresh, and those this writer applied since."""
        return self._trust_events + self._applied

    def _take_in(
        self, shard: int, message: Message, pending: list[Event]
    ) -> tuple[list[Submission], list[Rejection]]:
        if len(message.data) > self._max_message_bytes:
            oversized = OversizedMessageError(
                "message",
                message.data,
                f"is {len(message.data)} bytes; at most {self._max_message_bytes}",
            )
            return [], [_rejection(message, oversized, raw=message.data)]
        try:
            batch = decode_batch(message.data)
        except InvalidInputError as err:
            return [], [_rejection(message, err, raw=message.data)]
        try:
            verify_batch_signature(batch, self.trust.usable_key(batch.key_id))
        except InvalidInputError as err:
            # The whole message is refused: it goes to the rejections (and the dead-letter
            # topic) as it was sent, attributed to the first actor it claims to speak for.
            return [], [_rejection(message, err, raw=message.data, actor=_claimed_actor(batch))]
        signer = self._signer_organisation(batch.key_id)
        events: list[Event | None] = []
        rejections: list[Rejection] = []
        for index, data in enumerate(batch.events):
            try:
                event = decode_event(data)
            except InvalidInputError as err:
                events.append(None)
                rejections.append(_rejection(message, err, raw=data, index=index, actor=signer))
                continue
            try:
                validate_event(event)
            except InvalidInputError as err:
                events.append(None)
                rejections.append(_rejection(message, err, event=event, index=index, raw=data))
            else:
                events.append(event)
        return self._accept(shard, message, batch, events, rejections, pending)

    def _accept(
        self,
        shard: int,
        message: Message,
        batch: SignedBatch,
        events: list[Event | None],
        rejections: list[Rejection],
        pending: list[Event],
    ) -> tuple[list[Submission], list[Rejection]]:
        proofs = batch_proofs(batch)
        accepted: list[Submission] = []
        reads = Reads(self._store)
        reads.prefetch(code for event in events if event for code in certificate_codes(event))
        for index, event in enumerate(events):
            if event is None:
                continue
            trust_size = self.trust_size
            try:
                _check_shard(shard, index, event)
                self.trust.check_signer(batch.key_id, index, event)
                # 合格证 rules that need the ledger (design §4; docs/food-chain.md).
                check_certificate(event, self._store, pending=pending, reads=reads)
                if event.event_type in TRUST_EVENT_TYPES and not self._known(event.event_id):
                    self.trust.apply(event)
                    self._applied += 1
            except InvalidInputError as err:
                rejections.append(_rejection(message, err, event=event, index=index))
                continue
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


def _claimed_actor(batch: SignedBatch) -> str | None:
    for data in batch.events:
        try:
            return decode_event(data).actor
        except InvalidInputError:
            continue
    return None


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
    "LedgerWriter",
    "Message",
    "StaleWriterError",
    "WriteResult",
    "WrongTopicError",
    "carries_trust",
    "load_trust",
    "shard_for",
]
