"""After the faults: wait for the workers to drain the topic, then compare three accounts of what
happened — the producer's acknowledgements, the topic read back from the broker, the ledger —
and audit the ledger (design.md §6: exactly once, nothing lost, verifiable).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos._load import Produced, digest
from suyuan.ledger import Auditor, Ledger, SqlLedgerStore
from suyuan.signing import RootKey
from suyuan.tlog import NoteSigner


@dataclass
class Topic:
    """The topic as the broker holds it at the end: copies of each event, and the end offsets."""

    end_offsets: dict[int, int]
    messages: int
    copies: Counter[str] = field(default_factory=Counter)
    foreign_messages: int = 0

    @property
    def redelivered_copies(self) -> int:
        """Events present more than once in the topic, counted once per extra copy."""
        return sum(n - 1 for n in self.copies.values())


@dataclass
class LedgerContents:
    event_ids: Counter[str]
    sizes: dict[int, int]
    consumer_offsets: dict[int, int | None]
    duplicates_counted: int
    gaps: list[str]
    rejections: Counter[str]


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = _consumer(bootstrap)
    try:
        tps = _partitions(topic, partitions)
        return {tp.partition: int(end) for tp, end in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def wait_drained(
    store: SqlLedgerStore, ends: dict[int, int], timeout: float, tick: Callable[[], None]
) -> tuple[bool, float]:
    """Wait until every partition's offset stored in the ledger reached the topic's end.

    Returns whether it did, and the seconds it took.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(store.consumer_offset(p) == end for p, end in ends.items() if end > 0):
            return True, time.monotonic() - started
        tick()
        time.sleep(0.5)
    return False, time.monotonic() - started


def read_topic(bootstrap: str, topic: str, partitions: int, produced: Produced) -> Topic:
    """Read every message of ``topic`` back and recognise it among the ones produced."""
    consumer = _consumer(bootstrap)
    try:
        tps = _partitions(topic, partitions)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = {tp: int(end) for tp, end in consumer.end_offsets(tps).items()}
        result = Topic({tp.partition: end for tp, end in ends.items()}, 0)
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"could not read {topic} back within 120 s")
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    _count(result, produced, record.value or b"")
        return result
    finally:
        consumer.close()


def _count(topic: Topic, produced: Produced, value: bytes) -> None:
    topic.messages += 1
    ids = produced.messages.get(digest(value))
    if ids is None:
        topic.foreign_messages += 1
        return
    topic.copies.update(ids)


def read_ledger(store: SqlLedgerStore) -> LedgerContents:
    """Every stored event id (with how often), sizes, offsets, counters, seq gaps, rejections."""
    ids: Counter[str] = Counter()
    sizes: dict[int, int] = {}
    offsets: dict[int, int | None] = {}
    gaps: list[str] = []
    duplicates = 0
    for shard in store.shard_ids():
        head = store.head(shard)
        sizes[shard] = head.size
        offsets[shard] = head.consumer_offset
        duplicates += head.duplicates
        expected_seq = 0
        for entry in store.entries(shard):
            if entry.seq != expected_seq:
                gaps.append(f"shard {shard}: seq {entry.seq} where {expected_seq} was due")
                expected_seq = entry.seq
            expected_seq += 1
            ids[entry.event_id] += 1
        if expected_seq != head.size:
            gaps.append(f"shard {shard}: {expected_seq} entries read, head says {head.size}")
    rejections = Counter(r.rejection.reason for r in store.rejections(limit=1_000_000))
    return LedgerContents(ids, sizes, offsets, duplicates, gaps, rejections)


def audit(store: SqlLedgerStore, signer: NoteSigner, root: RootKey) -> dict[str, Any]:
    """Sign a checkpoint of every shard (consistency-checked), then run the full audit."""
    ledger = Ledger(store, signer)
    for shard in store.shard_ids():
        ledger.checkpoint(shard)
    started = time.monotonic()
    report = Auditor(store, signer.verifier, [root], ledger_name=signer.name).run()
    return {
        "ok": report.ok,
        "entries": report.entries,
        "batch_signatures": report.signatures,
        "checkpoints": report.checkpoints,
        "seconds": round(time.monotonic() - started, 1),
        "findings": [str(f) for f in report.findings[:10]],
    }


def violations(
    produced: Produced, topic: Topic, ledger: LedgerContents, drained: bool
) -> list[str]:
    """Every broken promise of design.md §6, in words; empty when the run passed."""
    found: list[str] = []
    stored = set(ledger.event_ids)
    in_topic = set(topic.copies)
    lost = produced.acknowledged - stored
    if lost:
        found.append(f"{len(lost)} acknowledged events are not in the ledger, e.g. {min(lost)}")
    unread = set(topic.copies) - stored
    if unread:
        found.append(
            f"{len(unread)} events in the topic are neither in the ledger nor rejected, "
            f"e.g. {min(unread)}"
        )
    twice = [i for i, n in ledger.event_ids.items() if n > 1]
    if twice:
        found.append(f"{len(twice)} events stored more than once, e.g. {min(twice)}")
    # The trust message goes to the trust topic, not read back here: its send was acknowledged.
    unknown = stored - in_topic - produced.acknowledged
    if unknown:
        found.append(f"{len(unknown)} ledger events were never produced, e.g. {min(unknown)}")
    if ledger.duplicates_counted != topic.redelivered_copies:
        found.append(
            f"the ledger counted {ledger.duplicates_counted} duplicates but the topic holds "
            f"{topic.redelivered_copies} extra copies: a message was "
            + (
                "processed twice"
                if ledger.duplicates_counted > topic.redelivered_copies
                else "skipped"
            )
        )
    if topic.foreign_messages:
        found.append(f"{topic.foreign_messages} messages in the topic were not produced by us")
    if ledger.rejections:
        found.append(f"valid events were rejected: {dict(ledger.rejections)}")
    found.extend(ledger.gaps)
    if not drained:
        behind = {
            p: (ledger.consumer_offsets.get(p), end)
            for p, end in topic.end_offsets.items()
            if ledger.consumer_offsets.get(p) != end and end > 0
        }
        found.append(f"the workers did not drain the topic: (stored, end) offsets {behind}")
    return found


def _consumer(bootstrap: str) -> Any:
    from suyuan_ingest import kafka_clients

    return kafka_clients.consumer(bootstrap, fetch_max_bytes=64 * 1024 * 1024)


def _partitions(topic: str, partitions: int) -> list[Any]:
    from kafka import TopicPartition

    return [TopicPartition(topic, p) for p in range(partitions)]
