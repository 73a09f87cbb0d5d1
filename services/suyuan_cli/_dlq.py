"""``suyuan dlq replay``: re-submit rejected messages once their cause is gone (docs/runbook.md).

A message refused as a whole (e.g. ``unknown_key`` because its key's registration came late) is
kept in the rejections store (up to 4 KiB of it) and, in the Kafka deployment, whole on the
dead-letter topic. Replaying it sends it back through the one write path: events already in the
ledger count as duplicates, so replaying twice changes nothing. A message whose signature still
does not count under the ledger's trust now is skipped with its reason; events refused one by one
(a content rule) are not replayable — their signature covers the whole batch, which is not kept —
and must be sent again by their producer.

The Kafka client is imported inside the command, so the other commands start without it.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from suyuan.config import get_settings
from suyuan.errors import InvalidInputError
from suyuan.events import decode_batch, decode_event
from suyuan.intake import LedgerWriter, Message, shard_for
from suyuan.ledger import LedgerStore, root_keys
from suyuan.transport import TransportError
from suyuan_cli._common import DbOption, console, fail, open_store

app = typer.Typer(
    help="The dead-letter queue: rejected messages, replayed once their cause is gone.",
    no_args_is_help=True,
)


class Source(StrEnum):
    STORE = "store"
    TOPIC = "topic"


@dataclass(frozen=True, slots=True)
class _Rejected:
    where: str
    reason: str
    data: bytes


@app.command("replay")
def replay(
    db: DbOption = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap",
            help="Kafka HOST:PORT: re-publish to the events or trust topic (and read the "
            "dead-letter topic with --from topic). Without it, append to the ledger at --db.",
        ),
    ] = None,
    source: Annotated[
        Source,
        typer.Option(
            "--from",
            help="Where rejected messages are read: the rejections store "
            "(messages up to 4 KiB) or the dead-letter topic (whole messages).",
        ),
    ] = Source.STORE,
    reasons: Annotated[
        list[str] | None,
        typer.Option("--reason", help="Only rejections with this reason (repeatable)."),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", help="Only rejections made at or after this time (ISO 8601)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be replayed; send nothing.")
    ] = False,
) -> None:
    """Re-submit rejected messages whose cause is gone; print a summary."""
    if source is Source.TOPIC and bootstrap is None:
        fail("--from topic reads the dead-letter topic: give --bootstrap HOST:PORT")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    store = open_store(db)
    writer = LedgerWriter(
        store, root_keys(store), max_message_bytes=get_settings().max_message_bytes
    )
    wanted = set(reasons) if reasons else None
    if source is Source.STORE:
        candidates = list(_from_store(store, wanted, since))
    else:
        assert bootstrap is not None
        candidates = list(_from_topic(bootstrap, wanted, since))

    summary: Counter[str] = Counter()
    remaining: Counter[str] = Counter()
    seen: set[bytes] = set()
    ready: list[_Rejected] = []
    for rejected in candidates:
        if not _whole_message(rejected.data):
            summary["not_replayable"] += 1
            continue
        digest = hashlib.sha256(rejected.data).digest()
        if digest in seen:
            summary["repeated"] += 1
            continue
        seen.add(digest)
        problem = writer.message_problem(rejected.data)
        if problem is not None:
            remaining[problem.reason] += 1
            continue
        ready.append(rejected)
    summary["candidates"] = len(candidates)
    summary["ready"] = len(ready)
    if not dry_run and ready:
        if bootstrap is not None:
            summary.update(_publish(store, bootstrap, ready))
        else:
            summary.update(_append(writer, ready))
    line = " ".join(f"{name}={value}" for name, value in sorted(summary.items()))
    console.print(line + (" (dry run: nothing sent)" if dry_run else ""), highlight=False)
    for reason, count in sorted(remaining.items()):
        console.print(f"cause remains: {reason}: {count} message(s) skipped", highlight=False)
    store.close()


def _whole_message(data: bytes) -> bool:
    try:
        return bool(decode_batch(data).events)
    except InvalidInputError:
        return False


def _from_store(
    store: LedgerStore, reasons: set[str] | None, since: datetime | None
) -> Iterator[_Rejected]:
    """Oldest first, as they were sent: a replayed registration goes before what it signs."""
    for stored in reversed(store.rejections(limit=1_000_000, reasons=reasons, since=since)):
        rejection = stored.rejection
        yield _Rejected(rejection.source, rejection.reason, rejection.raw or b"")


def _from_topic(
    bootstrap: str, reasons: set[str] | None, since: datetime | None
) -> Iterator[_Rejected]:
    """Every record of the dead-letter topic (from ``since``) up to its end now."""
    from kafka import TopicPartition

    from suyuan_ingest import kafka_clients

    settings = get_settings()
    topic = settings.dead_letter_topic
    consumer = kafka_clients.consumer(bootstrap, max_message_bytes=settings.max_message_bytes)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        starts: dict[TopicPartition, int] = consumer.beginning_offsets(tps)
        if since is not None:
            found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
            starts = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}
        for tp in tps:
            consumer.seek(tp, starts[tp])
        todo = {tp for tp in tps if starts[tp] < ends[tp]}
        deadline = time.monotonic() + 600
        with _progress("reading the dead-letter topic") as progress:
            task = progress.add_task("records", total=sum(ends[tp] - starts[tp] for tp in tps))
            while todo and time.monotonic() < deadline:
                for tp, records in consumer.poll(timeout_ms=1000).items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            continue
                        progress.advance(task)
                        headers = {k: v.decode(errors="replace") for k, v in record.headers}
                        reason = headers.get("suyuan-reason", "")
                        if reasons is None or reason in reasons:
                            source = headers.get("suyuan-source", "")
                            yield _Rejected(source, reason, record.value or b"")
                # Done by position, not by records seen: control records are never returned.
                todo = {tp for tp in todo if (consumer.position(tp) or 0) < ends[tp]}
    finally:
        consumer.close()


def _append(writer: LedgerWriter, ready: list[_Rejected]) -> Counter[str]:
    counts: Counter[str] = Counter()
    with _progress("replaying") as progress:
        task = progress.add_task("messages", total=len(ready))
        for rejected in ready:
            result = writer.write(
                shard_for(rejected.data), [Message(f"replay of {rejected.where}", rejected.data)]
            )
            counts["appended"] += result.accepted
            counts["duplicates"] += result.duplicates
            counts["rejected_again"] += len(result.rejections)
            for rejection in result.rejections:
                console.print(
                    f"[red]rejected again[/] {rejection.source}: {rejection.reason}: "
                    f"{rejection.field}: {rejection.rule}",
                    highlight=False,
                )
            progress.advance(task)
    return counts


def _publish(store: LedgerStore, bootstrap: str, ready: list[_Rejected]) -> Counter[str]:
    from suyuan_ingest.kafka_transport import KafkaTransport

    transport = KafkaTransport.from_settings(get_settings(), store, bootstrap=bootstrap)
    counts: Counter[str] = Counter()
    try:
        with _progress("replaying") as progress:
            task = progress.add_task("messages", total=len(ready))
            for rejected in ready:
                actor = decode_event(decode_batch(rejected.data).events[0]).actor
                # One at a time, acknowledged: trust replayed first stays produced first.
                try:
                    transport.submit(
                        [rejected.data], key=actor, source=f"replay of {rejected.where}"
                    )
                except TransportError as err:
                    fail(f"{err} ({counts['sent']} message(s) were sent before)")
                counts["sent"] += 1
                progress.advance(task)
    finally:
        transport.close()
    return counts


def _progress(what: str) -> Progress:
    return Progress(
        TextColumn(what), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    )
