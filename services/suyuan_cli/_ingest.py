"""``suyuan ingest-worker`` and ``suyuan publish`` (design.md §6, §9).

The Kafka client is imported inside the commands, so the other commands start without it.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from suyuan.config import get_settings
from suyuan.errors import InvalidInputError, KeyFileError
from suyuan.events import encode_batch, encode_event, event_from_json, validate_event
from suyuan.events.model import TRUST_EVENT_TYPES, Event
from suyuan.runtime import tune_garbage_collector
from suyuan.signing import SigningKey, load_signing_key, sign_batch
from suyuan.transport import produced_headers
from suyuan_cli._common import DbOption, console, fail, open_store

BootstrapOption = Annotated[
    str | None, typer.Option("--bootstrap", help="Kafka bootstrap HOST:PORT.")
]


def ingest_worker(
    bootstrap: BootstrapOption = None,
    db: DbOption = None,
    topic: Annotated[str | None, typer.Option(help="Events topic to consume.")] = None,
    trust_topic: Annotated[
        str | None, typer.Option(help="Trust topic to consume (one partition).")
    ] = None,
    group: Annotated[str, typer.Option(help="Consumer group id.")] = "suyuan-ingest",
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.")
    ] = None,
) -> None:
    """Consume signed batches from Kafka into the ledger, exactly once, until SIGTERM/Ctrl-C."""
    from suyuan_ingest.worker import IngestWorker, WorkerConfig

    settings = get_settings()
    servers = bootstrap or settings.kafka_bootstrap
    if not servers:
        fail("--bootstrap (or SUYUAN_KAFKA_BOOTSTRAP) is required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = open_store(db)
    config = WorkerConfig(
        bootstrap=servers,
        topic=topic or settings.events_topic,
        trust_topic=trust_topic or settings.trust_topic,
        trust_wait_s=settings.trust_wait_ms / 1000,
        reference_wait_s=settings.reference_wait_ms / 1000,
        dead_letter_topic=settings.dead_letter_topic,
        group_id=group,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_records=settings.kafka_max_poll_records,
        max_message_bytes=settings.max_message_bytes,
    )
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    tune_garbage_collector()
    IngestWorker(config, store).run(stop)


def publish(
    file: Annotated[Path, typer.Argument(help="Events in the JSON form, one per line.")],
    key: Annotated[Path, typer.Option("--key", help="The producer's signing key (.key).")],
    bootstrap: BootstrapOption = None,
    db: DbOption = None,
    topic: Annotated[
        str | None, typer.Option(help="Events topic (trust events go to the trust topic).")
    ] = None,
    trust_topic: Annotated[str | None, typer.Option(help="Trust topic.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="Events per signature.")] = 500,
) -> None:
    """Sign events in batches and send them to Kafka (--bootstrap) or an embedded ledger (--db).

    Trust events (signed with a regulator root key) go to the trust topic, everything else to
    the events topic; a file must not mix the two. Bad lines are reported with their line number
    and are not sent; the rest go on.
    """
    if (bootstrap is None) == (db is None):
        fail("give exactly one of --bootstrap HOST:PORT or --db URL")
    try:
        signer = load_signing_key(key)
    except KeyFileError as err:
        fail(str(err))
    events, bad = _read_events(file)
    for line, problem in bad:
        console.print(f"[red]line {line}[/]: {problem}", highlight=False)
    kinds = {event.event_type in TRUST_EVENT_TYPES for event in events}
    if len(kinds) > 1:
        fail(
            f"{file} mixes trust events with other events: they go to different topics and "
            "are signed by different keys; publish them as two files"
        )
    batches = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
    if bootstrap is not None:
        settings = get_settings()
        if kinds == {True}:
            chosen = trust_topic or settings.trust_topic
        else:
            chosen = topic or settings.events_topic
        summary = _publish_kafka(batches, signer, bootstrap, chosen)
    else:
        summary = _publish_embedded(batches, signer, db)
    summary["invalid_lines"] = len(bad)
    console.print(" ".join(f"{name}={value}" for name, value in summary.items()))
    if bad or summary.get("rejected"):
        raise typer.Exit(1)


def _read_events(file: Path) -> tuple[list[Event], list[tuple[int, str]]]:
    events: list[Event] = []
    bad: list[tuple[int, str]] = []
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        fail(f"{file}: {err}")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
            event = event_from_json(obj)
            validate_event(event)
        except json.JSONDecodeError as err:
            bad.append((number, f"not JSON: {err.msg} at column {err.colno}"))
        except InvalidInputError as err:
            bad.append((number, str(err)))
        else:
            events.append(event)
    return events, bad


def _signed(batches: list[list[Event]], signer: SigningKey) -> Iterator[tuple[list[Event], bytes]]:
    for batch in batches:
        yield batch, encode_batch(sign_batch(signer, [encode_event(e) for e in batch]))


def _progress() -> Progress:
    return Progress(
        TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    )


def _publish_kafka(
    batches: list[list[Event]], signer: SigningKey, bootstrap: str, topic: str
) -> dict[str, int]:
    from suyuan_ingest import kafka_clients

    producer = kafka_clients.producer(bootstrap, max_message_bytes=get_settings().max_message_bytes)
    sent = 0
    total = sum(len(b) for b in batches)
    with _progress() as progress:
        task = progress.add_task("events", total=total)
        futures = []
        for batch, message in _signed(batches, signer):
            # One organisation's events share a key (its USCC), so they stay in order.
            futures.append(
                (
                    len(batch),
                    producer.send(
                        topic,
                        key=batch[0].actor.encode(),
                        value=message,
                        headers=produced_headers(),
                    ),
                )
            )
        for count, future in futures:
            future.get(timeout=60)
            sent += count
            progress.advance(task, count)
    producer.close()
    return {"sent": sent, "messages": len(batches)}


def _publish_embedded(
    batches: list[list[Event]], signer: SigningKey, db: str | None
) -> dict[str, int]:
    from suyuan.intake import LedgerWriter, Message
    from suyuan.ledger import TRUST_SHARD, root_keys

    store = open_store(db)
    writer = LedgerWriter(store, root_keys(store))
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    total = sum(len(b) for b in batches)
    with _progress() as progress:
        task = progress.add_task("events", total=total)
        for number, (batch, message) in enumerate(_signed(batches, signer)):
            shard = TRUST_SHARD if batch[0].event_type in TRUST_EVENT_TYPES else 0
            result = writer.write(shard, [Message(f"{signer.key_id}#{number}", message)])
            counts["accepted"] += result.accepted
            counts["duplicate"] += result.duplicates
            counts["rejected"] += len(result.rejections)
            for rejection in result.rejections:
                console.print(
                    f"[red]rejected[/] {rejection.event_id or rejection.source}: "
                    f"{rejection.field}: {rejection.rule}",
                    highlight=False,
                )
            progress.advance(task, len(batch))
    return counts
