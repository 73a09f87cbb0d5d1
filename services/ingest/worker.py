"""The Kafka ingest worker: consume signed batches, append them to the ledger exactly once.

Failure policy (every case is explicit):

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
- **Long polls**: one append holds at most ``max_write_bytes`` of messages, and a poll stops
  appending after half of ``max_poll_interval_ms`` (the rest is fetched again by the next poll),
  so a big backlog never makes the worker miss its poll deadline and leave the group.
- **Broker unavailable**: kafka-python reconnects by itself; polling resumes where it was.
- **Dead-letter publish fails**: logged; the rejection is already stored (the source of truth).

Offsets live in the ledger database with the entries (design §6); on assignment the worker seeks
to the stored offset, so Kafka's own committed offsets are never used. Every log line carries
``topic[partition]@offset``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from suyuan.intake import LedgerWriter, Message, WriteResult
from suyuan.ledger import LedgerStore, OffsetCommit, Rejection, StaleWriterError, root_keys
from suyuan_ingest import metrics

log = logging.getLogger("suyuan.ingest")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    bootstrap: str
    topic: str = "suyuan.events.v1"
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


def position(topic: str, partition: int, offset: int | None) -> str:
    """How every log line names a place in the stream."""
    return f"{topic}[{partition}]@{offset if offset is not None else '-'}"


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: IngestWorker) -> None:
        self._worker = worker

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        for tp in revoked:
            self._worker.expected.pop(tp.partition, None)
            self._worker.unpositioned.discard(tp)
            log.info("%s revoked", position(tp.topic, tp.partition, None))

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
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
        #: The stored offset per owned partition (the compare-and-set value for the next append).
        self.expected: dict[int, int | None] = {}
        #: Owned partitions whose stored offset could not be read yet (paused until it is).
        self.unpositioned: set[TopicPartition] = set()
        self._backed_off = False
        self.consumer = KafkaConsumer(
            bootstrap_servers=config.bootstrap,
            group_id=config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=config.max_poll_records,
            max_poll_interval_ms=config.max_poll_interval_ms,
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
            fetch_max_bytes=max(52428800, config.max_message_bytes),
            max_partition_fetch_bytes=config.max_message_bytes,
        )
        self.producer = KafkaProducer(
            bootstrap_servers=config.bootstrap,
            acks="all",
            linger_ms=5,
            # a rejected message goes to the dead-letter topic whole
            max_request_size=config.max_message_bytes + 64 * 1024,
        )
        self.consumer.subscribe([config.topic], listener=_SeekToStoredOffsets(self))

    # --- assignment ---------------------------------------------------------------------------

    def seek_to_stored(self, tp: TopicPartition) -> None:
        """Seek to the offset stored in the ledger. Never raises: when the ledger cannot be read
        the partition is paused and :meth:`poll_once` tries again before its next poll."""
        try:
            stored = self.store.consumer_offset(tp.partition)
        except Exception as err:
            metrics.RETRIES.labels("offset_lookup").inc()
            # Logged on every retry while the database is away: one line, no traceback.
            log.warning(
                "%s: the stored offset cannot be read (%s); partition paused until it can",
                position(tp.topic, tp.partition, None),
                type(err).__name__,
            )
            self.expected.pop(tp.partition, None)
            self.unpositioned.add(tp)
            self.consumer.pause(tp)
            return
        if tp in self.unpositioned:
            self.unpositioned.discard(tp)
            self.consumer.resume(tp)
        self.expected[tp.partition] = stored
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
        polled = self.consumer.poll(
            timeout_ms=self.config.poll_timeout_ms, max_records=self.config.max_poll_records
        )
        # Leave half of max_poll_interval_ms to spare: a worker that misses it leaves the group.
        deadline = time.monotonic() + self.config.max_poll_interval_ms / 2000
        self._backed_off = False
        pending = [(tp, rs) for tp, rs in polled.items() if tp.partition in self.expected and rs]
        for n, (tp, records) in enumerate(pending):
            self._process_partition(tp, records, deadline)
            if self._backed_off or time.monotonic() > deadline:
                for later, _ in pending[n + 1 :]:  # fetched again by the next poll
                    self._seek_back(later, self.expected.get(later.partition), None)
                break
        self._report_lag()

    def _process_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord], deadline: float
    ) -> None:
        """Append ``records`` in writes of at most ``max_write_bytes``, in order, until one is
        not written (the partition was sought back) or the poll's time runs out."""
        records = sorted(records, key=lambda r: r.offset)
        for chunk in _chunks(records, self.config.max_write_bytes):
            if time.monotonic() > deadline:
                self.consumer.seek(tp, chunk[0].offset)  # fetched again by the next poll
                return
            if not self._process(tp, chunk):
                return

    def _process(self, tp: TopicPartition, records: list[ConsumerRecord]) -> bool:
        """Append ``records`` with the offset compare-and-set; False when nothing was written."""
        expected = self.expected.get(tp.partition, -1)
        if expected == -1:
            return False  # revoked meanwhile
        if expected is not None:
            records = [r for r in records if r.offset >= expected]
            if not records:
                return True
        first, last = records[0].offset, records[-1].offset
        messages = [
            Message(position(tp.topic, tp.partition, r.offset), r.value or b"") for r in records
        ]
        metrics.CONSUMED.labels(tp.partition).inc(len(records))
        started = time.perf_counter()
        try:
            result = self.writer.write(
                tp.partition, messages, offset=OffsetCommit(expected, last + 1)
            )
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
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        self.expected[tp.partition] = last + 1
        self._account(tp, first, last, result)
        self._dead_letter(result.rejections)
        return True

    def _seek_back(self, tp: TopicPartition, expected: int | None, first: int | None) -> None:
        if expected is None and first is None:
            self.seek_to_stored(tp)
        else:
            self.consumer.seek(tp, expected if expected is not None else first)

    def _account(self, tp: TopicPartition, first: int, last: int, result: WriteResult) -> None:
        metrics.APPENDED.labels(tp.partition).inc(result.accepted)
        metrics.DUPLICATES.labels(tp.partition).inc(result.duplicates)
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
            done = self.expected.get(tp.partition)
            if end is not None and done is not None:
                metrics.LAG.labels(tp.partition).set(max(0, end - done))

    def close(self) -> None:
        try:
            self.producer.flush(10)
        finally:
            self.producer.close(5)
            self.consumer.close()


def _chunks(records: list[ConsumerRecord], max_bytes: int) -> list[list[ConsumerRecord]]:
    """Consecutive runs of ``records`` of at most ``max_bytes`` (at least one record each)."""
    chunks: list[list[ConsumerRecord]] = []
    size = max_bytes + 1
    for record in records:
        length = len(record.value or b"")
        if size + length > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(record)
        size += length
    return chunks
