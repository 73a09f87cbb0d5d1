"""The Kafka ingest worker: consume signed batches, append them to the ledger exactly once.

Failure policy (every case is explicit):

- **Trust order**: trust events (organisations, keys, revocations) come on their own
  one-partition topic and are appended to the trust shard. Before judging records of an events
  partition, the worker asks the broker for the trust topic's end offset; until the ledger's
  trust shard has consumed up to it, those records are not judged: the partition is sought back
  and retried with back-off (``trust_wait_s``, doubling to 5 s). So every event is judged
  against every trust event produced before it, whichever worker owns the trust partition; an
  unknown key is refused only once no trust event produced before the event is unread. If the
  end offset or the stored trust offset cannot be read, the partition waits the same way.
- **An event that cites what another partition may still bring** (a certificate, goods shipped
  to its actor, a recall; goods nobody holds yet): the records before it are appended, it is
  held (sought back) until every other events partition has appended what was produced before
  it, by record timestamp, or ``reference_wait_s`` passed; then it is judged for good. Its
  partition waits meanwhile (docs/runbook.md). A record produced before every record the other
  partitions have not appended waits for nothing: it is judged for good at once, in one write
  with the records around it that wait for nothing (a backlog is not written one held record
  at a time).
- **Control records** (transaction markers) move a partition's position without records: the
  offset past them is stored on its own, so the ledger can reach the topic's end.
- **Bad message** (undecodable, unknown schema, bad or revoked signature, wrong signer, invalid
  event, oversized): never stops the worker and never holds back good messages; it is written to
  the rejections table *in the same transaction* as the good events and the offset, then copied
  to the dead-letter topic with the reason in its headers.
- **Lost partition / another writer** (``StaleWriterError``): nothing was written; seek back to
  the offset stored in the database and go on.
- **Database unavailable when a partition is assigned** (the stored offset cannot be read):
  the partition is paused and its offset looked up again before every poll; the worker never
  raises from the rebalance listener (kafka-python re-raises that from ``poll()``).
- **Database unavailable or any other error while appending**: nothing was written; back off
  once, seek every partition of the poll back to its last committed offset and retry the same
  messages on the next poll. Never skip.
- **Backlog**: while polls come back full, the worker takes what the client has fetched
  already into the same round (up to ``max_write_bytes``), so one append holds many messages,
  not what one poll returns.
- **Long polls**: one append holds at most ``max_write_bytes`` of messages and no more than
  the recent appends got through in a tenth of ``max_poll_interval_ms``; a poll stops
  appending after half of ``max_poll_interval_ms`` (the rest is fetched again by the next poll),
  so a big backlog never makes the worker miss its poll deadline and leave the group.
- **Broker unavailable**: kafka-python reconnects by itself; polling resumes where it was.
- **Dead-letter publish fails**: logged; the rejection is already stored (the source of truth).

Shards: partition ``p`` of the events topic is ledger shard ``p``; the trust topic's one
partition is :data:`~suyuan.ledger.TRUST_SHARD`.

Offsets live in the ledger database with the entries (design.md §6); on assignment the worker seeks
to the stored offset, so Kafka's own committed offsets are never used. Every log line carries
``topic[partition]@offset``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from suyuan.intake import LedgerWriter, Message, MessageDeferredError, WriteResult
from suyuan.ledger import (
    TRUST_SHARD,
    LedgerStore,
    OffsetCommit,
    Rejection,
    StaleWriterError,
    root_keys,
)
from suyuan.transport import produced_ns
from suyuan_ingest import kafka_clients, metrics

log = logging.getLogger("suyuan.ingest")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    bootstrap: str
    topic: str = "suyuan.events.v1"
    trust_topic: str = "suyuan.trust.v1"
    #: First back-off while an events partition waits for the trust topic (doubles up to 5 s).
    trust_wait_s: float = 0.2
    #: How long a record that refers to events not in the ledger waits for the other partitions.
    reference_wait_s: float = 30.0
    dead_letter_topic: str = "suyuan.events.dlq"
    group_id: str = "suyuan-ingest"
    max_poll_records: int = 50
    poll_timeout_ms: int = 500
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    max_message_bytes: int = 8 * 1024 * 1024
    #: Messages per append (one transaction) are cut at this many bytes (at least one message).
    max_write_bytes: int = 2 * 1024 * 1024
    retry_backoff_s: float = 1.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def position(topic: str, partition: int, offset: int | None) -> str:
    """How every log line names a place in the stream."""
    return f"{topic}[{partition}]@{offset if offset is not None else '-'}"


@dataclass(slots=True)
class _Held:
    """A record held back because it refers to events the ledger does not hold yet."""

    offset: int
    timestamp: int
    produced_ns: int
    """The producer's :data:`~suyuan.transport.PRODUCED_HEADER` (0 without one): orders records
    of the same millisecond."""
    since: float
    cause: str
    next_check: float = 0.0


class TrustTopicError(RuntimeError):
    """The trust topic is missing or has more than one partition (the worker cannot start)."""


_MAX_TRUST_WAIT_S = 5.0
#: The order key after every record: the other partitions hold nothing the ledger does not.
_CAUGHT_UP = (2**63, 0, 0)
#: The most message bytes of a worker's first write, before it knows how fast it appends.
_FIRST_WRITE_BYTES = 64 * 1024
#: The fewest message bytes of a partition's records written apart from the records after them
#: when another partition's record was produced in between (:meth:`IngestWorker._next_run`).
_RUN_BYTES = 64 * 1024
#: Order keys kept per partition (records fetched and not yet appended).
_MAX_SEEN = 200_000


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: IngestWorker) -> None:
        self._worker = worker

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self._worker.rebalances += 1
        for tp in revoked:
            self._worker.expected.pop(self._worker.shard_of(tp), None)
            self._worker.unpositioned.discard(tp)
            self._worker.waiting.pop(tp, None)
            self._worker.deferred.pop(tp, None)
            self._worker.seen.pop(tp, None)
            log.info("%s revoked", position(tp.topic, tp.partition, None))

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._worker.rebalances += 1
        for tp in assigned:
            self._worker.seek_to_stored(tp)


class IngestWorker:
    """One member of the ingest consumer group."""

    def __init__(self, config: WorkerConfig, store: LedgerStore) -> None:
        self.config = config
        self.store = store
        self.writer = LedgerWriter(
            store, root_keys(store), max_message_bytes=config.max_message_bytes
        )
        #: The stored offset per owned shard (the compare-and-set value for the next append).
        self.expected: dict[int, int | None] = {}
        #: Owned partitions whose stored offset could not be read yet (paused until it is).
        self.unpositioned: set[TopicPartition] = set()
        #: Events partitions paused until the ledger's trust shard reaches this trust offset.
        self.waiting: dict[TopicPartition, int] = {}
        self._trust_tp = TopicPartition(config.trust_topic, 0)
        self._trust_backoff = config.trust_wait_s
        self._next_trust_check = 0.0
        #: The trust topic's end and the trust shard's stored offset, read once per poll.
        self._trust_end_now: int | None = None
        self._trust_applied_now: int | None = None
        #: Records held back because they refer to events not in the ledger yet, per partition.
        self.deferred: dict[TopicPartition, _Held] = {}
        #: The order key (timestamp, produced-ns) of events records fetched and not appended
        #: yet, by partition and offset: what another partition's held record waits for.
        self.seen: dict[TopicPartition, dict[int, tuple[int, int]]] = {}
        #: Per events partition, the order key of the earliest record the other partitions
        #: have not appended (read this poll; it only grows, so an old one errs on waiting).
        self._horizons: dict[TopicPartition, tuple[int, int, int]] = {}
        self._peek: KafkaConsumer | None = None
        #: Asks the broker for end offsets (never assigned, so it never has a fetch waiting).
        self._ends: KafkaConsumer | None = None
        self._backed_off = False
        #: Message bytes and seconds of the recent appends, halved at each (sizes the writes).
        self._appended = (0.0, 0.0)
        #: Counts rebalances (the listener's calls): a gathering of polls stops at one.
        self.rebalances = 0
        self.consumer = kafka_clients.consumer(
            config.bootstrap,
            group_id=config.group_id,
            max_message_bytes=config.max_message_bytes,
            auto_offset_reset="earliest",
            max_poll_records=config.max_poll_records,
            max_poll_interval_ms=config.max_poll_interval_ms,
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
        )
        self.producer = kafka_clients.producer(
            config.bootstrap, max_message_bytes=config.max_message_bytes
        )
        self._check_trust_topic()
        self.consumer.subscribe(
            [config.topic, config.trust_topic], listener=_SeekToStoredOffsets(self)
        )

    def shard_of(self, tp: TopicPartition) -> int:
        """The ledger shard a partition is appended to."""
        return TRUST_SHARD if tp.topic == self.config.trust_topic else int(tp.partition)

    def _check_trust_topic(self) -> None:
        """Raises: TrustTopicError: the trust topic is missing or has several partitions."""
        deadline = time.monotonic() + 30
        partitions = self.consumer.partitions_for_topic(self.config.trust_topic)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.5)
            partitions = self.consumer.partitions_for_topic(self.config.trust_topic)
        if not partitions:
            self.close()
            raise TrustTopicError(
                f"the trust topic {self.config.trust_topic} does not exist; create it with one "
                "partition (infra/topics.sh)"
            )
        if len(partitions) != 1:
            self.close()
            raise TrustTopicError(
                f"the trust topic {self.config.trust_topic} has {len(partitions)} partitions; "
                "it must have exactly one, so trust events keep one order"
            )

    # --- assignment ---------------------------------------------------------------------------

    def seek_to_stored(self, tp: TopicPartition) -> None:
        """Seek to the offset stored in the ledger. Never raises: when the ledger cannot be read
        the partition is paused and :meth:`poll_once` tries again before its next poll."""
        try:
            stored = self.store.consumer_offset(self.shard_of(tp))
        except Exception as err:
            metrics.RETRIES.labels("offset_lookup").inc()
            # Logged on every retry while the database is away: one line, no traceback.
            log.warning(
                "%s: the stored offset cannot be read (%s); partition paused until it can",
                position(tp.topic, tp.partition, None),
                type(err).__name__,
            )
            self.expected.pop(self.shard_of(tp), None)
            self.unpositioned.add(tp)
            self.consumer.pause(tp)
            return
        if tp in self.unpositioned:
            self.unpositioned.discard(tp)
            self.consumer.resume(tp)
        self.expected[self.shard_of(tp)] = stored
        if stored is None:
            self.consumer.seek_to_beginning(tp)
        else:
            self.consumer.seek(tp, stored)
        log.info(
            "%s assigned; resuming from the ledger's stored offset",
            position(tp.topic, tp.partition, stored),
        )

    # --- the loop -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info("consuming %s from %s", self.config.topic, self.config.bootstrap)
        try:
            while not stop.is_set():
                self.poll_once()
        finally:
            self.close()

    def poll_once(self) -> None:
        for tp in list(self.unpositioned):
            self.seek_to_stored(tp)
        polled = self._gather()
        # Leave half of max_poll_interval_ms to spare: a worker that misses it leaves the group.
        deadline = time.monotonic() + self.config.max_poll_interval_ms / 2000
        self._backed_off = False
        self._horizons.clear()
        self._remember(polled)
        pending = [
            (tp, rs) for tp, rs in polled.items() if self.shard_of(tp) in self.expected and rs
        ]
        # Trust first: the events of this poll may be signed with keys it registers.
        pending.sort(key=lambda item: item[0] != self._trust_tp)
        # Read once per poll, after this poll's trust records were appended (they go first).
        self._trust_end_now = self._trust_applied_now = None
        before = dict(self.expected)
        queues: dict[TopicPartition, list[ConsumerRecord]] = {}
        for tp, records in pending:
            if self._backed_off or time.monotonic() > deadline:
                queues[tp] = records  # sought back below
            elif tp == self._trust_tp:
                self._process_partition(tp, records, deadline)
            elif self._may_judge(tp, records):
                queues[tp] = sorted(records, key=lambda r: r.offset)
        # The events partitions' records in the order they were produced (_next_run).
        while queues and not self._backed_off and time.monotonic() <= deadline:
            tp, run = self._next_run(queues)
            self._process_partition(tp, run, deadline)
            if self.expected.get(self.shard_of(tp)) != run[-1].offset + 1:
                queues.pop(tp, None)  # sought back: the rest is fetched again
            # Another partition moved on: the horizons read before may be behind it.
            self._horizons.clear()
        for later in queues:  # out of time: fetched again by the next poll
            self._seek_back(later, self.expected.get(self.shard_of(later)), None)
        self._commit_skipped(polled)
        if pending and self.expected == before:
            # Everything polled waits (for the trust topic, or held back): do not spin on
            # fetching the same records again.
            wake = min([self._next_trust_check, *(h.next_check for h in self.deferred.values())])
            time.sleep(max(0.05, min(wake - time.monotonic(), 0.5)))
        self._report_lag()

    def _next_run(
        self, queues: dict[TopicPartition, list[ConsumerRecord]]
    ) -> tuple[TopicPartition, list[ConsumerRecord]]:
        """The records to write next, taken off ``queues`` (each partition's fetched records,
        in offset order): from the partition whose next record was produced first, the
        records produced before any other partition's next one — so that a record referring
        to another partition's earlier one is judged after it, not judged, held back and
        judged again. Only runs of :data:`_RUN_BYTES` or more are cut there: records of many
        producers interleave finely, and a write per record would cost more than the rare
        record held back."""
        now = _now_ms()
        tp = min(queues, key=lambda t: _order_key(t, queues[t][0], now))
        records = queues.pop(tp)
        others = [_order_key(t, rs[0], now) for t, rs in queues.items()]
        if not others:
            return tp, records
        limit = min(others)
        cut = next(
            (n for n, r in enumerate(records) if _order_key(tp, r, now) > limit), len(records)
        )
        if cut == len(records) or sum(len(r.value or b"") for r in records[:cut]) < _RUN_BYTES:
            return tp, records
        queues[tp] = records[cut:]
        return tp, records[:cut]

    def _gather(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """One poll, then, while each poll came back full, what the client has fetched
        already (polls that do not wait), up to ``max_write_bytes`` in all: with a backlog a
        write holds that much, however few records one poll returns.

        A rebalance in between moves positions back to the stored offsets: the same offset
        fetched twice is kept once, and the earlier records of a partition no longer owned are
        dropped by the caller."""
        limit = self.config.max_poll_records
        polled = self.consumer.poll(timeout_ms=self.config.poll_timeout_ms, max_records=limit)
        count = sum(len(records) for records in polled.values())
        size = sum(len(r.value or b"") for records in polled.values() for r in records)
        merged = False
        while count >= limit and size < self.config.max_write_bytes:
            generation = self.rebalances
            more = self.consumer.poll(timeout_ms=0, max_records=limit)
            for tp, records in more.items():
                polled[tp] = [*polled.get(tp, ()), *records]
                size += sum(len(r.value or b"") for r in records)
            merged = merged or bool(more)
            count = sum(len(records) for records in more.values())
            if generation != self.rebalances:
                break
        if merged:
            for tp, records in polled.items():
                polled[tp] = sorted({r.offset: r for r in records}.values(), key=lambda r: r.offset)
        return polled

    def _commit_skipped(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Store the offset of partitions whose position moved past records the client does not
        return (transaction markers): otherwise the ledger would never reach the topic's end,
        and the trust gate and held records wait for that end."""
        for tp in self.consumer.assignment():
            shard = self.shard_of(tp)
            expected = self.expected.get(shard, -1)
            if (
                expected == -1
                or polled.get(tp)
                or tp in self.waiting
                or tp in self.deferred
                or tp in self.unpositioned
            ):
                continue
            try:
                now_at = int(self.consumer.position(tp, timeout_ms=0) or 0)
            except Exception:
                continue
            if now_at <= (expected or 0):
                continue
            try:
                self.writer.write(shard, [], offset=OffsetCommit(expected, now_at))
            except Exception as err:
                log.warning(
                    "%s: could not store the offset past control records (%s)",
                    position(tp.topic, tp.partition, now_at),
                    type(err).__name__,
                )
                self.seek_to_stored(tp)
                continue
            self.expected[shard] = now_at
            log.info(
                "%s stored: the records before it are control records",
                position(tp.topic, tp.partition, now_at),
            )

    # --- trust order ----------------------------------------------------------------------------

    def _may_judge(self, tp: TopicPartition, records: list[ConsumerRecord]) -> bool:
        """Whether the ledger's trust shard has consumed the trust topic up to its end as read
        after ``records`` were consumed (so every trust event produced before them). If not,
        ``tp`` is sought back (fetched again by a later poll) and checked again with back-off.

        Partitions are sought back rather than paused: a paused partition's buffered fetch
        can stay parked after it is resumed (kafka-python 3.0), and the partition is then
        never fetched again.
        """
        first = records[0].offset
        where = position(tp.topic, tp.partition, first)
        if tp in self.waiting and time.monotonic() < self._next_trust_check:
            self._seek_back(tp, self.expected.get(self.shard_of(tp)), first)
            return False
        try:
            # The end read after these records were first consumed is all they must wait for:
            # trust events produced later (junk included) never hold them back further.
            end = self.waiting.get(tp)
            if end is None:
                if self._trust_end_now is None:
                    self._trust_end_now = self._end_offsets([self._trust_tp])[self._trust_tp]
                end = self._trust_end_now
            if self._trust_applied_now is None:
                self._trust_applied_now = self.store.consumer_offset(TRUST_SHARD) or 0
            applied = self._trust_applied_now
        except Exception as err:
            metrics.RETRIES.labels("trust_order").inc()
            log.warning(
                "%s: the trust topic's end or the trust shard's offset cannot be read (%s); "
                "fetched again",
                where,
                type(err).__name__,
            )
            end, applied = 1, 0
        if applied >= end:
            if self.waiting.pop(tp, None) is not None:
                log.info("%s goes on: the ledger has the trust topic up to offset %d", where, end)
            if not self.waiting:
                self._trust_backoff = self.config.trust_wait_s
            return True
        self._seek_back(tp, self.expected.get(self.shard_of(tp)), first)
        if tp not in self.waiting:
            metrics.TRUST_WAITS.inc()
            log.info(
                "%s waits for the trust topic: the ledger has %s up to offset %d, its end is %d",
                where,
                self.config.trust_topic,
                applied,
                end,
            )
        self.waiting[tp] = end
        self._next_trust_check = time.monotonic() + self._trust_backoff
        self._trust_backoff = min(_MAX_TRUST_WAIT_S, self._trust_backoff * 2)
        return False

    def _process_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord], deadline: float
    ) -> None:
        """Append ``records`` in writes of at most ``max_write_bytes``, in order, until one is
        not written (the partition was sought back) or the poll's time runs out."""
        records = sorted(records, key=lambda r: r.offset)
        held = self.deferred.get(tp)
        settled = 0
        if held is not None and records[0].offset > held.offset:
            del self.deferred[tp]  # judged meanwhile (the partition was sought past it)
        elif held is not None:
            if records[0].offset < held.offset or not self._deferred_ready(tp, held):
                self.consumer.seek(tp, records[0].offset)
                return
            # Everything produced before it had its chance: judge it for good, and the
            # records after it in the same write.
            settled = 1
        while records:
            if time.monotonic() > deadline:
                self.consumer.seek(tp, records[0].offset)  # fetched again by the next poll
                return
            chunk = _leading(records, self._write_bytes(deadline))
            records = records[len(chunk) :]
            if not self._process(tp, chunk, settled=settled):
                return
            if tp in self.deferred and self.deferred[tp].offset <= chunk[-1].offset:
                del self.deferred[tp]
            settled = 0

    def _write_bytes(self, deadline: float) -> int:
        """How many bytes of messages the next write may hold: ``max_write_bytes``, and no more
        than the recent appends got through in a tenth of the poll interval (or the time left
        before the poll's deadline, if less), so one write never outlasts the poll deadline."""
        written, took = self._appended
        if not written or not took:
            return min(self.config.max_write_bytes, _FIRST_WRITE_BYTES)
        budget = min(self.config.max_poll_interval_ms / 10_000, deadline - time.monotonic())
        return max(1, min(self.config.max_write_bytes, int(written / took * budget)))

    # --- events that refer to events on other partitions ---------------------------------------

    def _defer(self, tp: TopicPartition, record: ConsumerRecord, cause: str) -> None:
        """Hold ``record`` back: it refers to an event the ledger does not hold yet."""
        # A producer chooses its records' CreateTime: one from the future would let other
        # partitions look caught up at once (use LogAppendTime topics, infra/topics.sh).
        stamp = min(int(record.timestamp), _now_ms())
        self.deferred[tp] = _Held(
            record.offset, stamp, produced_ns(record.headers), time.monotonic(), cause
        )
        self.consumer.seek(tp, record.offset)
        metrics.REFERENCE_WAITS.inc()
        log.info(
            "%s waits for the events it refers to (%s)",
            position(tp.topic, tp.partition, record.offset),
            cause,
        )

    def _deferred_ready(self, tp: TopicPartition, held: _Held) -> bool:
        """Whether every other events partition holds in the ledger all it had of what was
        produced before the held record, or the held record waited ``reference_wait_s``.

        "Before" is by record timestamp; within one millisecond (a burst of sends shares one)
        by the producer's nanosecond header, then by partition: one total order, so two held
        records never wait for each other."""
        now = time.monotonic()
        where = position(tp.topic, tp.partition, held.offset)
        if now - held.since >= self.config.reference_wait_s:
            log.info(
                "%s judged after waiting %.0fs for the events it refers to", where, now - held.since
            )
            return True
        if now < held.next_check:
            return False
        held.next_check = now + min(1.0, self.config.trust_wait_s * 2)
        horizon = self._horizon(tp, where)
        if horizon is None or (held.timestamp, held.produced_ns, tp.partition) >= horizon:
            return False  # something produced before it is not in the ledger yet
        log.info("%s goes on: every partition holds what was produced before it", where)
        return True

    def _horizon(self, tp: TopicPartition, where: str) -> tuple[int, int, int] | None:
        """The order key (timestamp, produced-ns, partition) of the earliest record the other
        events partitions hold and the ledger does not (:data:`_CAUGHT_UP` if none): a record
        of ``tp`` before it has nothing left to wait for. ``None`` when it cannot be told (a
        partition cannot be read, or its next record claims a CreateTime from the future)."""
        try:
            others = [
                TopicPartition(tp.topic, p)
                for p in sorted(self.consumer.partitions_for_topic(tp.topic) or ())
                if p != tp.partition
            ]
            ends = self._end_offsets(others) if others else {}
            horizon = _CAUGHT_UP
            for other in others:
                stored = self.store.consumer_offset(other.partition) or 0
                if stored >= ends[other]:
                    continue
                found = self._timestamp_at(other, stored)
                if found is None or found[0] > _now_ms():
                    return None  # unknown, or a CreateTime from the future: proves nothing
                horizon = min(horizon, (found[0], found[1], other.partition))
        except Exception as err:
            metrics.RETRIES.labels("reference_order").inc()
            log.warning("%s: the other partitions cannot be read (%s)", where, type(err).__name__)
            return None
        self._horizons[tp] = horizon
        return horizon

    def _settled(self, tp: TopicPartition, records: list[ConsumerRecord], fresh: bool) -> int:
        """How many leading ``records`` come before every record the other partitions have
        not appended (by this poll's horizon, or a fresh one): nothing produced before them
        is missing, so they are judged for good at once instead of each being held back."""
        horizon = (
            self._horizon(tp, position(tp.topic, tp.partition, records[0].offset))
            if fresh
            else self._horizons.get(tp)
        )
        if horizon is None:
            return 0
        now = _now_ms()
        count = 0
        for record in records:
            if _order_key(tp, record, now) >= horizon:
                break
            count += 1
        return count

    def _remember(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Keep the order key of every events record fetched: another partition's held record
        asks for it, and this saves fetching it again with a consumer of its own."""
        for tp, records in polled.items():
            if tp.topic != self.config.topic:
                continue
            seen = self.seen.setdefault(tp, {})
            if len(seen) > _MAX_SEEN:
                seen.clear()  # bounded: what is forgotten is fetched again when asked for
            for record in records:
                seen[record.offset] = (int(record.timestamp), produced_ns(record.headers))

    def _end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The broker's end offsets of ``tps``, asked through a client of their own: a broker
        answers a connection's requests in order, and once the worker has fetched to a
        partition's end its consumer's next fetch waits there for new records (up to
        ``fetch_max_wait_ms``, 500 ms), which every request behind it would wait for too."""
        if self._ends is None:
            self._ends = kafka_clients.consumer(
                self.config.bootstrap, max_message_bytes=self.config.max_message_bytes
            )
        return {tp: int(end) for tp, end in self._ends.end_offsets(tps).items()}

    def _timestamp_at(self, tp: TopicPartition, offset: int) -> tuple[int, int] | None:
        """The timestamp and produced-ns header of the next record at or after ``offset`` of
        ``tp`` (control records are skipped), read by a consumer of its own; ``None`` if none
        came within half a second."""
        known = self.seen.get(tp, {}).get(offset)
        if known is not None:
            return known
        if self._peek is None:
            self._peek = kafka_clients.consumer(
                self.config.bootstrap, max_message_bytes=self.config.max_message_bytes
            )
        self._peek.assign([tp])
        self._peek.seek(tp, offset)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            for record in self._peek.poll(timeout_ms=200, max_records=1).get(tp, []):
                if record.offset >= offset:
                    return int(record.timestamp), produced_ns(record.headers)
        return None

    def _process(
        self, tp: TopicPartition, records: list[ConsumerRecord], *, settled: int = 0
    ) -> bool:
        """Append ``records`` with the offset compare-and-set; False when nothing was written
        (or only the records before one that is held back). The first ``settled`` records are
        judged for good (at least; see :meth:`_settled`), the others may be held back."""
        shard = self.shard_of(tp)
        expected = self.expected.get(shard, -1)
        if expected == -1:
            return False  # revoked meanwhile
        if expected is not None:
            kept = [r for r in records if r.offset >= expected]
            settled = max(0, settled - (len(records) - len(kept)))
            records = kept
            if not records:
                return True
        looked = False
        if shard != TRUST_SHARD:
            looked = tp not in self._horizons  # read once per poll, before the first write
            settled = max(settled, self._settled(tp, records, fresh=looked))
            if 0 < settled < len(records):
                # The records judged for good go in a write of their own: were a later record
                # held back, a write holding both would have judged them in vain.
                return self._process(tp, records[:settled], settled=settled) and self._process(
                    tp, records[settled:]
                )
        first, last = records[0].offset, records[-1].offset
        messages = [
            Message(position(tp.topic, tp.partition, r.offset), r.value or b"") for r in records
        ]
        started = time.perf_counter()
        try:
            result = self.writer.write(
                shard,
                messages,
                offset=OffsetCommit(expected, last + 1),
                defer_missing=shard != TRUST_SHARD,
                settled=settled,
            )
        except MessageDeferredError as deferred:
            index = deferred.index
            # Before holding it back, look whether the other partitions have meanwhile
            # appended all that was produced before it (unless just read): then it waits for
            # nothing, and is written with the records before it.
            ready = settled if looked else self._settled(tp, records, fresh=True)
            if ready > index:
                return self._process(tp, records, settled=ready)
            if index > 0 and not self._process(tp, records[:index], settled=min(settled, index)):
                return False
            self._defer(tp, records[index], str(deferred.cause))
            return False
        except StaleWriterError as err:
            metrics.RETRIES.labels("stale_writer").inc()
            log.warning(
                "%s..%d refused (%s); seeking to the stored offset",
                position(tp.topic, tp.partition, first),
                last,
                err,
            )
            self.seek_to_stored(tp)
            return False  # the rest of this poll's records for tp may not follow the stored offset
        except Exception:
            metrics.RETRIES.labels("append_error").inc()
            log.exception(
                "%s..%d could not be appended; retrying after %.1fs",
                position(tp.topic, tp.partition, first),
                last,
                self.config.retry_backoff_s,
            )
            time.sleep(self.config.retry_backoff_s)
            self._seek_back(tp, expected, first)
            self._backed_off = True
            return False
        took = time.perf_counter() - started
        metrics.BATCH_SECONDS.observe(took)
        # Recent writes weigh by their size: a one-record write says little about a big one.
        self._appended = (
            self._appended[0] / 2 + sum(len(m.data) for m in messages),
            self._appended[1] / 2 + took,
        )
        self.expected[shard] = last + 1
        seen = self.seen.get(tp)
        if seen:
            for done in range(first, last + 1):
                seen.pop(done, None)
        # Counted once written: a record held back or retried is tried again, and would
        # otherwise count once per try.
        metrics.CONSUMED.labels(shard).inc(len(records))
        self._account(tp, first, last, result)
        self._dead_letter(result.rejections)
        return True

    def _seek_back(self, tp: TopicPartition, expected: int | None, first: int | None) -> None:
        if expected is None and first is None:
            self.seek_to_stored(tp)
        else:
            self.consumer.seek(tp, expected if expected is not None else first)

    def _account(self, tp: TopicPartition, first: int, last: int, result: WriteResult) -> None:
        shard = self.shard_of(tp)
        metrics.APPENDED.labels(shard).inc(result.accepted)
        metrics.DUPLICATES.labels(shard).inc(result.duplicates)
        for rejection in result.rejections:
            metrics.REJECTED.labels(rejection.reason).inc()
            log.warning(
                "%s rejected: %s: %s: %s",
                rejection.source,
                rejection.reason,
                rejection.field,
                rejection.rule,
            )
        log.info(
            "%s..%d appended %d, duplicates %d, rejected %d",
            position(tp.topic, tp.partition, first),
            last,
            result.accepted,
            result.duplicates,
            len(result.rejections),
        )

    def _dead_letter(self, rejections: Sequence[Rejection]) -> None:
        for rejection in rejections:
            headers = [
                (name, value.encode())
                for name, value in (
                    ("suyuan-reason", rejection.reason),
                    ("suyuan-field", rejection.field or ""),
                    ("suyuan-rule", rejection.rule[:1000]),
                    ("suyuan-source", rejection.source),
                    ("suyuan-event-id", rejection.event_id or ""),
                )
            ]
            try:
                self.producer.send(
                    self.config.dead_letter_topic,
                    value=rejection.raw or b"",
                    key=(rejection.actor or "").encode() or None,
                    headers=headers,
                )
            except Exception:
                log.exception(
                    "%s: dead-letter publish failed (rejection is stored)", rejection.source
                )

    def _report_lag(self) -> None:
        for tp in self.consumer.assignment():
            end = self.consumer.highwater(tp)
            done = self.expected.get(self.shard_of(tp))
            if end is not None and done is not None:
                metrics.LAG.labels(self.shard_of(tp)).set(max(0, end - done))

    def close(self) -> None:
        try:
            self.producer.flush(10)
        finally:
            self.producer.close(5)
            self.consumer.close()
            for side in (self._peek, self._ends):
                if side is not None:
                    side.close()


def _order_key(tp: TopicPartition, record: ConsumerRecord, now_ms: int) -> tuple[int, int, int]:
    """Where ``record`` of ``tp`` stands in the order produced (docs/runbook.md): its timestamp
    (a CreateTime from the future counts as now), the producer's nanosecond header, then the
    partition — one total order."""
    return (min(int(record.timestamp), now_ms), produced_ns(record.headers), tp.partition)


def _leading(records: list[ConsumerRecord], max_bytes: int) -> list[ConsumerRecord]:
    """The first of ``records`` up to ``max_bytes`` in all (at least one record)."""
    size = 0
    for count, record in enumerate(records):
        size += len(record.value or b"")
        if size > max_bytes and count:
            return records[:count]
    return records
