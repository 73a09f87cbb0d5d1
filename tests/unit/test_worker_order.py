"""The ingest worker's ordering decisions against hostile inputs, with a fake broker and ledger.

The real-broker tests (tests/integration/test_trust_order.py) show the waits work; these pin down
what a producer must not be able to do with them: hold a partition for ever with junk on the
trust topic, make a partition look caught up with a record timestamp from the future, or keep the
ledger short of a topic's end with transaction markers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition

from suyuan.errors import MissingReferenceError
from suyuan.intake import MessageDeferredError, WriteResult
from suyuan.ledger import TRUST_SHARD, AppendResult, OffsetCommit
from suyuan.transport import PRODUCED_HEADER
from suyuan_ingest import metrics
from suyuan_ingest.worker import IngestWorker, WorkerConfig, _Held

EVENTS = "suyuan.events.v1"
TRUST = "suyuan.trust.v1"
NOW = int(time.time() * 1000)


@dataclass
class Record:
    offset: int
    timestamp: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    value: bytes = b""


@dataclass
class Store:
    offsets: dict[int, int]

    def consumer_offset(self, shard: int) -> int | None:
        return self.offsets.get(shard)


@dataclass
class Peek:
    """The broker as a peek consumer sees it: (partition, offset) → timestamp, or (timestamp,
    produced-ns header)."""

    records: dict[tuple[int, int], Any]
    tp: Any = None
    at: int = 0

    def assign(self, tps: list[TopicPartition]) -> None:
        self.tp = tps[0]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.at = offset

    def poll(self, timeout_ms: int, max_records: int) -> dict[Any, list[Record]]:
        found = self.records.get((self.tp.partition, self.at))
        if found is None:
            return {}
        stamp, produced = found if isinstance(found, tuple) else (found, None)
        headers = [] if produced is None else [(PRODUCED_HEADER, str(produced).encode())]
        return {self.tp: [Record(self.at, stamp, headers)]}


@dataclass
class Consumer:
    ends: dict[tuple[str, int], int]
    positions: dict[TopicPartition, int] = field(default_factory=dict)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1}

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[(tp.topic, tp.partition)] for tp in tps}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        return self.positions[tp]


@dataclass
class Writer:
    writes: list[tuple[int, OffsetCommit | None]] = field(default_factory=list)

    def write(self, shard: int, messages: list[Any], *, offset: OffsetCommit | None = None) -> None:
        assert messages == []
        self.writes.append((shard, offset))


def _worker(offsets: dict[int, int], ends: dict[tuple[str, int], int], records: Any) -> Any:
    worker: Any = IngestWorker.__new__(IngestWorker)  # no broker: the parts under test only
    worker.config = WorkerConfig(bootstrap="fake")
    worker.store, worker.consumer, worker._peek = Store(offsets), Consumer(ends), Peek(records)
    worker.writer = Writer()
    worker.deferred, worker.waiting, worker.expected, worker.unpositioned = {}, {}, {}, set()
    worker.seen, worker._horizons = {}, {}
    worker._ends = worker.consumer  # one fake broker answers both
    worker._trust_tp = TopicPartition(TRUST, 0)
    worker._trust_backoff, worker._next_trust_check = 0.2, 0.0
    worker._trust_end_now = worker._trust_applied_now = None  # what a new poll starts with
    return worker


def test_junk_on_the_trust_topic_after_the_records_came_does_not_hold_them_back() -> None:
    p0 = TopicPartition(EVENTS, 0)
    worker = _worker({TRUST_SHARD: 8}, {(TRUST, 0): 9}, {})
    assert worker._may_judge(p0, [Record(3, NOW)]) is False  # waits for trust offset 9
    worker.store.offsets[TRUST_SHARD] = 9  # the ledger has everything produced before them
    worker.consumer.ends[(TRUST, 0)] = 10  # …and somebody produced one more since
    # the next poll
    worker._trust_end_now = worker._trust_applied_now = None
    worker._next_trust_check = 0.0

    assert worker._may_judge(p0, [Record(3, NOW)]) is True


def test_a_record_stamped_in_the_future_does_not_make_its_partition_look_caught_up() -> None:
    p0 = TopicPartition(EVENTS, 0)
    # p1's next record to judge claims a CreateTime far in the future; the shipment behind it
    # was produced before the held record.
    worker = _worker({1: 10}, {(EVENTS, 1): 12}, {(1, 10): 2**62, (1, 11): NOW - 1000})
    held = _Held(7, NOW, 0, time.monotonic(), "not_in_custody")

    assert worker._deferred_ready(p0, held) is False


def test_a_record_of_the_same_millisecond_produced_first_is_waited_for() -> None:
    # A burst of sends shares a millisecond: the shipment on p1 was produced 3 µs before the
    # receipt held on p0, though p1 > p0. Partition numbers say nothing of who came first.
    p0 = TopicPartition(EVENTS, 0)
    worker = _worker({1: 10}, {(EVENTS, 1): 11}, {(1, 10): (NOW, 5_000)})
    receipt = _Held(7, NOW, 8_000, time.monotonic(), "not_in_custody")

    assert worker._deferred_ready(p0, receipt) is False
    worker.store.offsets[1] = 11  # the shipment is appended
    receipt.next_check = 0.0
    assert worker._deferred_ready(p0, receipt) is True


def test_two_held_records_of_one_millisecond_never_wait_for_each_other() -> None:
    # One total order (timestamp, produced-ns, partition): of two held heads of the same
    # millisecond, exactly one goes on.
    p0, p1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)
    records = {(0, 7): (NOW, 9_000), (1, 10): (NOW, 9_000)}
    worker = _worker({0: 7, 1: 10}, {(EVENTS, 0): 8, (EVENTS, 1): 11}, records)

    first = worker._deferred_ready(p0, _Held(7, NOW, 9_000, time.monotonic(), "x"))
    second = worker._deferred_ready(p1, _Held(10, NOW, 9_000, time.monotonic(), "x"))

    assert [first, second] == [True, False]


def test_a_held_record_stamped_in_the_future_is_treated_as_now() -> None:
    p0 = TopicPartition(EVENTS, 0)
    worker = _worker({}, {}, {})

    worker._defer(p0, Record(7, 2**62), "unknown_recall")

    assert worker.deferred[p0].timestamp <= int(time.time() * 1000)


def test_the_offset_past_transaction_markers_is_stored_so_the_ledger_reaches_the_end() -> None:
    trust = TopicPartition(TRUST, 0)
    p1 = TopicPartition(EVENTS, 1)
    worker = _worker({}, {}, {})
    worker.expected = {TRUST_SHARD: 8, 1: 4}
    worker.consumer.positions = {trust: 9, p1: 4}  # a marker at trust offset 8; p1 has nothing

    worker._commit_skipped({})

    assert worker.writer.writes == [(TRUST_SHARD, OffsetCommit(8, 9))]
    assert worker.expected[TRUST_SHARD] == 9


def _produced(ns: int) -> list[tuple[str, bytes]]:
    return [(PRODUCED_HEADER, str(ns).encode())]


def test_records_produced_before_what_other_partitions_still_hold_are_judged_at_once() -> None:
    # p1's next record to append was produced at (NOW, 5 µs): p0's records before it have
    # nothing left to wait for and go in one write; the one after it may still be held back.
    p0 = TopicPartition(EVENTS, 0)
    worker = _worker({1: 10}, {(EVENTS, 1): 12}, {(1, 10): (NOW, 5_000)})
    records = [
        Record(3, NOW - 20, _produced(1_000)),
        Record(4, NOW, _produced(4_000)),
        Record(5, NOW, _produced(6_000)),
        Record(6, NOW - 30, _produced(500)),  # after one that may wait: not judged at once
    ]

    assert worker._settled(p0, records, fresh=True) == 2


def test_the_order_of_a_partition_the_worker_fetched_itself_needs_no_peek() -> None:
    p0, p1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)
    worker = _worker({1: 10}, {(EVENTS, 1): 12}, {})  # the peek consumer would find nothing
    worker.seen[p1] = {10: (NOW, 5_000)}

    assert worker._settled(p0, [Record(3, NOW, _produced(4_000))], fresh=True) == 1
    assert worker._settled(p0, [Record(3, NOW, _produced(6_000))], fresh=True) == 0


def test_no_record_is_judged_at_once_while_another_partition_cannot_be_read() -> None:
    p0 = TopicPartition(EVENTS, 0)
    worker = _worker({1: 10}, {(EVENTS, 1): 12}, {})  # p1's next record cannot be found

    assert worker._settled(p0, [Record(3, NOW - 60_000)], fresh=True) == 0


@dataclass
class _DeferringWriter:
    """Holds back the record at ``held`` (as a reference to an event not in the ledger yet)."""

    held: int
    written: list[list[str]] = field(default_factory=list)

    def write(self, shard: int, messages: list[Any], **_options: Any) -> Any:
        sources = [m.source for m in messages]
        for index, source in enumerate(sources):
            if source.endswith(f"@{self.held}"):
                raise MessageDeferredError(index, MissingReferenceError("ref", "x", "not yet"))
        self.written.append(sources)
        appended = tuple((f"event-{n}", n) for n in range(len(messages)))
        return WriteResult(AppendResult(shard, appended, (), len(messages), b""), ())


def test_a_record_held_back_is_counted_as_consumed_once_when_written() -> None:
    # The write of records 3..5 is refused at 4 (held back); 3 goes alone. The metric counts
    # what ended in the ledger or in rejections, once: not 3, 4, 5 and then 3 again.
    p0 = TopicPartition(EVENTS, 0)
    worker = _worker({0: 3}, {(EVENTS, 0): 6}, {})
    worker.writer = _DeferringWriter(held=4)
    worker.expected, worker._appended, worker._dead_letter = {0: 3}, (0.0, 0.0), lambda _r: None
    worker._settled = lambda *_args, **_kw: 0
    before = metrics.CONSUMED.labels(0)._value.get()

    assert not worker._process(p0, [Record(3, NOW), Record(4, NOW), Record(5, NOW)])

    assert worker.writer.written == [[f"{EVENTS}[0]@3"]]
    assert worker.deferred[p0].offset == 4
    assert metrics.CONSUMED.labels(0)._value.get() - before == 1


@dataclass
class _HandOverWriter:
    """Writes a record only after the record produced just before it (``order``): each packs
    goods the one before hands over. Counts every judgement, held back or written."""

    order: list[str]
    store: Store
    judged: int = 0
    written: list[list[str]] = field(default_factory=list)

    def write(self, shard: int, messages: list[Any], **_options: Any) -> Any:
        sources = [m.source for m in messages]
        done = {source for write in self.written for source in write}
        for index, source in enumerate(sources):
            self.judged += 1
            before = self.order[self.order.index(source) - 1] if self.order.index(source) else None
            if before is not None and before not in done:
                raise MessageDeferredError(index, MissingReferenceError("ref", "x", "not yet"))
            done.add(source)
        self.written.append(sources)
        self.store.offsets[shard] = int(sources[-1].rsplit("@", 1)[1]) + 1
        appended = tuple((f"event-{n}", n) for n in range(len(messages)))
        return WriteResult(AppendResult(shard, appended, (), len(messages), b""), ())


def _poll_once(polled: dict[Any, list[Record]], order: list[str]) -> Any:
    """The worker after one poll returning ``polled``, with :class:`_HandOverWriter`."""
    ends = {(EVENTS, 0): 3, (EVENTS, 1): 3, (TRUST, 0): 0}
    worker = _worker({}, ends, {})
    worker.writer = _HandOverWriter(order, worker.store)
    worker.expected = {0: None, 1: None, TRUST_SHARD: 0}
    worker._appended, worker._dead_letter = (0.0, 0.0), lambda _r: None
    worker._gather = lambda: polled
    worker._commit_skipped = worker._report_lag = lambda *_a: None
    worker.config = WorkerConfig(bootstrap="fake", max_poll_interval_ms=60_000)
    worker.poll_once()
    return worker


def test_records_of_two_partitions_are_judged_in_the_order_they_were_produced() -> None:
    # Farms on two partitions, each 500-event message packing goods that the other partition's
    # message, produced just before it, hands over. Taken partition by partition, every message
    # after the first was judged, held back, and judged again once the other one was written.
    p0, p1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)
    message = b"x" * 100_000
    polled = {
        p0: [Record(n, NOW, _produced(2 * n), message) for n in range(3)],
        p1: [Record(n, NOW, _produced(2 * n + 1), message) for n in range(3)],
    }
    order = [f"{EVENTS}[{n % 2}]@{n // 2}" for n in range(6)]

    worker = _poll_once(polled, order)

    assert worker.writer.written == [[source] for source in order]
    assert worker.writer.judged == len(order)
    assert worker.deferred == {}


def test_small_records_of_interleaved_producers_are_not_cut_into_a_write_each() -> None:
    # Cut at every record of the other partition, a stream of many producers would cost a write
    # per record; small runs are written together, as fetched (the first record, produced
    # before anything the other partition holds, goes alone: judged for good).
    p0, p1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)
    polled = {
        p0: [Record(n, NOW, _produced(2 * n), b"x" * 1_000) for n in range(3)],
        p1: [Record(n, NOW, _produced(2 * n + 1), b"x" * 1_000) for n in range(3)],
    }
    order = [f"{EVENTS}[{p}]@{n}" for p in (0, 1) for n in range(3)]

    worker = _poll_once(polled, order)

    assert worker.writer.written == [order[:1], order[1:3], order[3:]]
