"""How signed batches travel from the HTTP capture API to the ledger (design.md §6, §8, §9).

:class:`Transport` is what the API submits to. Every message is one encoded
:class:`~suyuan.events.SignedBatch` (design.md §5: one Kafka message = one signed batch) and ``key``
is the actor's USCC (the Kafka message key, so one organisation's events stay in order). The
answer is one :class:`EventOutcome` per event.

- :class:`EmbeddedTransport` (the embedded default, no broker) appends through
  :class:`~suyuan.intake.LedgerWriter` at once: ``accepted`` means *in the ledger*.
- A Kafka transport (``services/suyuan_ingest``) publishes instead: ``accepted`` then means *queued*
  (:attr:`SubmitResult.committed` is false); the worker appends later, and anything it refuses
  then lands in the rejections store. Per-event problems the API finds itself are known before
  publishing and are recorded with :meth:`Transport.reject`.

This module imports no Kafka client and no web framework.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

import sqlalchemy as sa

from suyuan.errors import InvalidInputError, SuyuanError
from suyuan.events import decode_batch, decode_event
from suyuan.intake import LedgerWriter, Message, WriteResult, carries_trust
from suyuan.ledger import TRUST_SHARD, LedgerStore, Rejection, StaleWriterError
from suyuan.signing import RootKey

#: Attempts of one write when another writer raced us on the shard (nothing was written then).
_WRITE_ATTEMPTS = 3

#: Kafka record header: when the message was produced, in nanoseconds of the producer's clock,
#: strictly increasing within one process. Record timestamps have millisecond resolution, and
#: a burst of sends shares one: the worker orders records of the same millisecond on different
#: partitions by this header (docs/runbook.md, "Events that cite other partitions' events").
PRODUCED_HEADER = "suyuan-produced-ns"
_produced_lock = threading.Lock()
_last_produced = 0


def produced_headers() -> list[tuple[str, bytes]]:
    """The headers every producer of the events and trust topics sends with a message."""
    global _last_produced
    with _produced_lock:
        _last_produced = max(time.time_ns(), _last_produced + 1)
        return [(PRODUCED_HEADER, str(_last_produced).encode())]


def produced_ns(headers: Sequence[tuple[str, bytes | None]] | None) -> int:
    """The :data:`PRODUCED_HEADER` of a record's ``headers``; 0 without a well-formed one."""
    for name, value in headers or ():
        if name == PRODUCED_HEADER and value is not None and value.isdigit() and len(value) < 21:
            return int(value)
    return 0


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
class SubmitResult:
    outcomes: tuple[EventOutcome, ...]
    committed: bool
    """True when accepted events are already in the ledger; false when they are queued."""

    def count(self, status: EventStatus) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status is status)


class TransportError(SuyuanError):
    """The transport could not take the messages (broker or database unavailable).

    Nothing of the failed call was accepted; the caller may retry the same messages (events
    that did get through are then reported as duplicates).
    """


class Transport(Protocol):
    """Where the HTTP capture API sends signed batches."""

    def submit(self, messages: Sequence[bytes], *, key: str, source: str) -> SubmitResult:
        """Submit encoded signed batches; one outcome per event, in order.

        ``key`` is the actor's USCC (the Kafka message key); ``source`` names where the
        messages came from (e.g. ``http:1a2b3c``) and is kept with every rejection.

        Raises:
            TransportError: nothing could be submitted.
        """
        ...

    def reject(self, rejections: Sequence[Rejection]) -> None:
        """Record events refused before submission (design.md §6: nothing is lost).

        Raises:
            TransportError: the rejections could not be recorded.
        """
        ...


class EmbeddedTransport:
    """Appends to one shard of a ledger in this process, synchronously (the embedded mode);
    trust events go to the trust shard, as the Kafka path sends them to the trust topic.

    Owns its :class:`~suyuan.intake.LedgerWriter` (which is not thread-safe) and serialises
    writes, so one instance may serve a threaded web server.
    """

    def __init__(self, store: LedgerStore, roots: Sequence[RootKey], *, shard: int = 0) -> None:
        self._store = store
        self._roots = tuple(roots)
        self._shard = shard
        self._lock = threading.Lock()
        self._writer = LedgerWriter(store, self._roots)

    @property
    def writer(self) -> LedgerWriter:
        return self._writer

    def submit(self, messages: Sequence[bytes], *, key: str, source: str) -> SubmitResult:
        """Append ``messages`` to the shard now (see :meth:`Transport.submit`).

        Raises:
            TransportError: the database refused or another writer kept racing us.
        """
        named = [
            Message(_message_source(source, i, len(messages)), m) for i, m in enumerate(messages)
        ]
        outcomes: list[EventOutcome] = []
        with self._lock:
            # In order, a run of messages at a time: a key registered by one message may sign
            # the next.
            start = 0
            for trust, run in itertools.groupby(named, key=lambda m: carries_trust(m.data)):
                group = list(run)
                written = self._write(TRUST_SHARD if trust else self._shard, group)
                outcomes.extend(_outcomes(group, written, start=start))
                start += len(group)
        return SubmitResult(tuple(outcomes), committed=True)

    def reject(self, rejections: Sequence[Rejection]) -> None:
        """Store ``rejections`` (see :meth:`Transport.reject`).

        Raises:
            TransportError: the database refused.
        """
        if not rejections:
            return
        try:
            self._store.add_rejections(rejections)
        except sa.exc.SQLAlchemyError as err:
            raise TransportError(f"could not record rejections: {err}") from err

    def _write(self, shard: int, messages: Sequence[Message]) -> WriteResult:
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                return self._writer.write(shard, messages)
            except StaleWriterError as err:
                if attempt == _WRITE_ATTEMPTS:
                    raise TransportError(f"ledger busy: {err}") from err
            except sa.exc.SQLAlchemyError as err:
                raise TransportError(f"ledger database unavailable: {err}") from err
        raise AssertionError("unreachable")  # pragma: no cover


def _message_source(source: str, index: int, count: int) -> str:
    return source if count == 1 else f"{source}#{index}"


def _outcomes(
    messages: Sequence[Message], written: WriteResult, *, start: int = 0
) -> list[EventOutcome]:
    """One outcome per event, in message and batch order, from what the writer reported;
    messages are numbered from ``start``."""
    by_source = {rejection.source: rejection for rejection in written.rejections}
    appended = {event_id for event_id, _ in written.append.appended}
    outcomes: list[EventOutcome] = []
    for number, message in enumerate(messages, start=start):
        whole = by_source.get(message.source)
        if whole is not None:
            outcomes.extend(_whole_message_refused(number, message, whole))
            continue
        for index, data in enumerate(decode_batch(message.data).events):
            rejection = by_source.get(f"{message.source} events[{index}]")
            if rejection is not None:
                # The writer names no event id for an event that broke a content rule.
                named = rejection.event_id or _event_id_of(data)
                outcomes.append(
                    EventOutcome.rejected(number, index, replace(rejection, event_id=named))
                )
                continue
            event_id = decode_event(data).event_id
            # The first copy of an id appended in this call is the stored one; the rest repeat it.
            status = EventStatus.ACCEPTED if event_id in appended else EventStatus.DUPLICATE
            appended.discard(event_id)
            outcomes.append(EventOutcome(number, index, event_id, status))
    return outcomes


def _whole_message_refused(
    number: int, message: Message, rejection: Rejection
) -> list[EventOutcome]:
    """Every event of a refused message (e.g. a bad signature) shares its reason."""
    try:
        events = decode_batch(message.data).events
    except InvalidInputError:
        return [EventOutcome.rejected(number, None, rejection)]
    return [
        EventOutcome.rejected(number, index, replace(rejection, event_id=_event_id_of(data)))
        for index, data in enumerate(events)
    ]


def _event_id_of(data: bytes) -> str | None:
    try:
        return decode_event(data).event_id
    except InvalidInputError:
        return None


__all__ = [
    "PRODUCED_HEADER",
    "EmbeddedTransport",
    "EventOutcome",
    "EventStatus",
    "SubmitResult",
    "Transport",
    "TransportError",
    "produced_headers",
    "produced_ns",
]
