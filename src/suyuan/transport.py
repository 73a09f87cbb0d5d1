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
from typing import Protocol

import sqlalchemy as sa

from suyuan.errors import SuyuanError
from suyuan.intake import (
    EventOutcome,
    EventStatus,
    LedgerWriter,
    Message,
    WriteResult,
    carries_trust,
)
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
                outcomes.extend(replace(o, message=o.message + start) for o in written.outcomes)
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
