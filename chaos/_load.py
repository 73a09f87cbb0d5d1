"""The load: farms publishing signed batches to Kafka in the background while faults happen.

Each message is one farm's events (certificates, case aggregations, shipments from
:class:`suyuan.scenario.LotMaker`) under one signature — from 1 event per message (per-event
signatures) to 500 — keyed by the farm's USCC and kept on the farm's partition (design.md §6). The
producer uses ``acks=all`` with retries; only sends the broker acknowledged count as *sent*.
A small share of messages is deliberately sent a second time, exactly as a producer retry after
a lost acknowledgement would: the ledger must count those events as duplicates, never store them
twice.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from suyuan.events import decode_batch, decode_event
from suyuan.scenario import LotMaker, Organisation, Scenario
from suyuan.transport import produced_headers

#: Events per message and how often each size is chosen.
MESSAGE_SIZES = (1, 10, 50, 100, 250, 500)
SIZE_WEIGHTS = (3, 2, 2, 2, 1, 1)
FARMS_PER_PARTITION = 2
FLUSH_S = 120.0


def digest(message: bytes) -> bytes:
    """How the load and the topic read-back recognise a message."""
    return hashlib.sha256(message).digest()


def event_ids(message: bytes) -> list[str]:
    return [decode_event(e).event_id for e in decode_batch(message).events]


@dataclass
class Produced:
    """What the load sent, as the broker answered it. Shared with the producer's I/O thread."""

    messages: dict[bytes, tuple[str, ...]] = field(default_factory=dict)
    """Event ids of every message handed to the producer, by :func:`digest`."""
    acknowledged: set[str] = field(default_factory=set)
    acknowledged_messages: int = 0
    failed_messages: int = 0
    failed_events: set[str] = field(default_factory=set)
    resent_messages: int = 0
    resent_events: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, ids: Sequence[str]) -> None:
        with self.lock:
            self.acknowledged.update(ids)
            self.acknowledged_messages += 1

    def failed(self, ids: Sequence[str], error: BaseException) -> None:
        with self.lock:
            self.failed_messages += 1
            self.failed_events.update(ids)
            name = type(error).__name__
            self.errors[name] = self.errors.get(name, 0) + 1


class Farms:
    """Registered farms and a market, their trust message, and their signed batches."""

    def __init__(self, seed: int, partitions: int, events: int) -> None:
        # LotMaker's events are seven minutes apart (Scenario.tick): start early enough that
        # the last of ``events`` (and a margin) is not dated after today, which the writer refuses.
        start = datetime.now(UTC) - timedelta(minutes=7 * (events + events // 10 + 1_000))
        self.scenario = Scenario(seed, start=start)
        s = self.scenario
        self.farms: list[Organisation] = s.lot_farms(FARMS_PER_PARTITION * partitions)
        self.market = s.wholesale_market()
        self.partitions = partitions
        self._lots = LotMaker(s, self.market)

    def trust_message(self) -> bytes:
        return self.scenario.sign_as_root(self.scenario.registration(*self.farms, self.market))

    def message(self, rng: random.Random) -> tuple[bytes, tuple[str, ...], bytes, int]:
        """(message, its event ids, key, partition) of one farm's next signed batch."""
        number = rng.randrange(len(self.farms))
        farm = self.farms[number]
        events = self._lots.events(farm, rng.choices(MESSAGE_SIZES, SIZE_WEIGHTS)[0])
        message = self.scenario.sign(farm, events)
        ids = tuple(e.event_id for e in events)
        return message, ids, farm.uscc.encode(), number % self.partitions


class LoadProducer(threading.Thread):
    """Sends ``events`` events over ``seconds`` at an even rate, until done or stopped."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        farms: Farms,
        *,
        events: int,
        seconds: float,
        resend_share: float,
        seed: int,
    ) -> None:
        super().__init__(name="chaos-load", daemon=True)
        self.produced = Produced()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._servers = bootstrap
        self._topic = topic
        self._farms = farms
        self._events = events
        self._rate = events / seconds
        self._resend_share = resend_share
        self._rng = random.Random(seed)
        self._scheduled = 0

    @property
    def handed_over(self) -> int:
        """Events handed to the producer so far (acknowledged or not)."""
        return self._scheduled

    def run(self) -> None:
        from suyuan_ingest import kafka_clients

        producer = kafka_clients.producer(
            self._servers, retries=2**31 - 1, delivery_timeout_ms=int(FLUSH_S * 1000)
        )
        try:
            self._send_all(producer)
        except BaseException as err:  # reported by the harness, never swallowed
            self.error = err
        finally:
            producer.flush(FLUSH_S)
            producer.close(10)

    def _send_all(self, producer: Any) -> None:
        started = time.monotonic()
        while self._scheduled < self._events and not self.stop.is_set():
            due = started + self._scheduled / self._rate
            if (wait := due - time.monotonic()) > 0 and self.stop.wait(wait):
                return
            message, ids, key, partition = self._farms.message(self._rng)
            self._send(producer, message, ids, key, partition)
            if self._rng.random() < self._resend_share:
                self._send(producer, message, ids, key, partition)
                self.produced.resent_messages += 1
                self.produced.resent_events += len(ids)
            self._scheduled += len(ids)

    def _send(
        self, producer: Any, message: bytes, ids: tuple[str, ...], key: bytes, partition: int
    ) -> None:
        self.produced.messages[digest(message)] = ids
        try:
            future = producer.send(
                self._topic, value=message, key=key, partition=partition, headers=produced_headers()
            )
        except Exception as err:  # e.g. the buffer stayed full while the broker was stopped
            self.produced.failed(ids, err)
            return
        future.add_callback(lambda _meta: self.produced.ok(ids))
        future.add_errback(lambda err: self.produced.failed(ids, err))
