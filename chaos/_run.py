"""``python -m chaos``: load, faults, drain, verdict — one bounded run, JSON on stdout."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from chaos._faults import FaultLog, Injector
from chaos._load import FLUSH_S, Farms, LoadProducer, digest, event_ids
from chaos._services import Services, WorkerPool, create_topics, open_ledger
from chaos._verdict import (
    audit,
    end_offsets,
    read_ledger,
    read_topic,
    violations,
    wait_drained,
)
from suyuan.ledger import SqlLedgerStore
from suyuan.tlog import NoteSigner
from suyuan.transport import produced_headers

LOG_DIR = Path(__file__).resolve().parent.parent / "build" / "chaos-logs"
#: The worker log lines that show a recovery (services/suyuan_ingest/worker.py, kafka-python).
RECOVERIES = {
    "append_retries": "could not be appended; retrying",
    "stale_writer_refusals": "refused (",
    "poll_timeouts": "Consumer poll timeout has expired",
    "partition_assignments": "assigned; resuming from the ledger's stored offset",
}
EXIT_PASS, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2
#: The ledger must grow at least this often while events wait in the topic.
STALL_S = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    seconds: float
    events: int
    seed: int
    workers: int
    partitions: int
    resend_share: float
    drain_timeout: float


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m chaos",
        description=(
            "Faults under load against a real Kafka-protocol broker (Tansu) and PostgreSQL: "
            "SIGKILLed ingest workers, a stopped broker, cut database sessions. Exits 1 when an "
            "event was lost, stored twice or processed twice, or the audit fails."
        ),
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="fault phase (default 120)")
    parser.add_argument("--events", type=int, help="events to send (default 500 per second)")
    parser.add_argument("--seed", type=int, default=1, help="faults, load and keys (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="ingest workers (default 2)")
    parser.add_argument("--partitions", type=int, default=3, help="topic partitions (default 3)")
    parser.add_argument(
        "--resend-share",
        type=float,
        default=0.01,
        help="share of messages sent twice on purpose (default 0.01)",
    )
    parser.add_argument(
        "--drain-timeout", type=float, help="seconds to catch up after the faults (default 180)"
    )
    args = parser.parse_args(argv)
    if args.seconds < 10 or args.workers < 1 or args.partitions < 1:
        parser.error("--seconds must be at least 10, --workers and --partitions at least 1")
    return Settings(
        seconds=args.seconds,
        events=args.events or int(500 * args.seconds),
        seed=args.seed,
        workers=args.workers,
        partitions=args.partitions,
        resend_share=args.resend_share,
        drain_timeout=args.drain_timeout or 180.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run once; 0 = every check passed, 1 = a violation, 2 = the run could not be made."""
    settings = parse_args(argv)
    try:
        report = run(settings)
    except Exception as err:  # the services or the setup failed: not a verdict on the worker
        traceback.print_exc()
        print(json.dumps({"verdict": "error", "error": f"{type(err).__name__}: {err}"}))
        return EXIT_ERROR
    report["elapsed_s"] = {k: round(v, 1) for k, v in report["elapsed_s"].items()}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return EXIT_PASS if report["verdict"] == "pass" else EXIT_VIOLATION


def progress(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


@dataclass
class _Rig:
    """The system under test and the load, once set up."""

    services: Services
    store: SqlLedgerStore
    signer: NoteSigner
    farms: Farms
    topic: str
    workers: WorkerPool
    load: LoadProducer
    monitor: _Monitor


def run(settings: Settings) -> dict[str, Any]:
    """One chaos run; the report as a JSON-ready dict (``verdict`` is ``pass`` or ``fail``).

    Raises:
        RuntimeError, OSError, subprocess.CalledProcessError: a service could not be started or
            the workers never registered the farms (no verdict possible).
    """
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    clock = time.monotonic()
    progress("starting Tansu and PostgreSQL")
    services = Services.start(LOG_DIR)
    store: SqlLedgerStore | None = None
    workers: WorkerPool | None = None
    try:
        farms = Farms(settings.seed, settings.partitions, settings.events)
        store, signer = open_ledger(services, farms.scenario.root)
        topic = f"chaos-{uuid.uuid4().hex[:8]}"
        create_topics(services.bootstrap, [topic, f"{topic}.dlq"], settings.partitions)
        create_topics(services.bootstrap, [f"{topic}.trust"], 1)
        workers = WorkerPool(
            services.bootstrap,
            services.database_url(),
            topic,
            f"chaos-{topic}",
            LOG_DIR,
            settings.workers,
        )
        workers.start_all()
        load = LoadProducer(
            services.bootstrap,
            topic,
            farms,
            events=settings.events,
            seconds=settings.seconds,
            resend_share=settings.resend_share,
            seed=settings.seed,
        )
        _register(services.bootstrap, topic, farms, load, store)
        rig = _Rig(
            services, store, signer, farms, topic, workers, load, _Monitor(store, workers, load)
        )
        elapsed = {"setup": time.monotonic() - clock}
        faults = _load_with_faults(rig, settings, elapsed)
        drained = _drain(rig, settings, elapsed)
        report = _verdict(rig, settings, faults, drained, elapsed)
        elapsed["total"] = time.monotonic() - clock
        return report
    finally:
        if workers is not None:
            workers.stop_all()
        if store is not None:
            store.close()
        services.close()


def _load_with_faults(rig: _Rig, settings: Settings, elapsed: dict[str, float]) -> FaultLog:
    progress(
        f"load of {settings.events} events over {settings.seconds:.0f} s with faults "
        f"(seed {settings.seed})"
    )
    started = time.monotonic()
    rig.load.start()
    injector = Injector(
        rig.workers,
        rig.services.broker_pid,
        rig.services.database_url(database="postgres"),
        rig.services.database,
        random.Random(settings.seed),
        rig.monitor.tick,
    )
    injector.run_until(started + settings.seconds)
    rig.load.stop.set()
    rig.load.join(FLUSH_S + 70)
    elapsed["load_and_faults"] = time.monotonic() - started
    return injector.log


def _drain(rig: _Rig, settings: Settings, elapsed: dict[str, float]) -> bool:
    progress("faults over; waiting for the workers to drain the topic")
    ends = end_offsets(rig.services.bootstrap, rig.topic, settings.partitions)
    drained, elapsed["drain"] = wait_drained(
        rig.store, ends, settings.drain_timeout, rig.monitor.tick
    )
    rig.workers.stop_all()
    return drained


def _verdict(
    rig: _Rig, settings: Settings, faults: FaultLog, drained: bool, elapsed: dict[str, float]
) -> dict[str, Any]:
    progress("reading the topic and the ledger back; auditing")
    started = time.monotonic()
    produced = rig.load.produced
    contents = read_topic(rig.services.bootstrap, rig.topic, settings.partitions, produced)
    ledger = read_ledger(rig.store)
    audited = audit(rig.store, rig.signer, rig.farms.scenario.root)
    found = violations(produced, contents, ledger, drained)
    found += [
        f"worker {c.slot} crashed while consuming (exit {c.exit_code}; {c.log})"
        for c in rig.workers.crashes
        if not c.at_start
    ]
    if rig.load.error is not None:
        found.append(f"the load producer failed: {type(rig.load.error).__name__}: {rig.load.error}")
    if not audited["ok"]:
        found.append(f"the audit failed: {audited['findings'][:3]}")
    elapsed["verify"] = time.monotonic() - started
    return {
        "verdict": "fail" if found else "pass",
        "violations": found,
        "settings": asdict(settings),
        "faults": {
            **dict(sorted(faults.counts.items())),
            "broker_paused_s": round(faults.broker_paused_s, 1),
            "pg_backends_terminated": faults.backends_terminated,
            "timeline": faults.events,
        },
        "events": {
            "sent_acknowledged": len(produced.acknowledged),
            "send_failed_unacknowledged": len(produced.failed_events - produced.acknowledged),
            "messages_acknowledged": produced.acknowledged_messages,
            "messages_failed": produced.failed_messages,
            "send_errors": produced.errors,
            "in_topic": len(contents.copies),
            "messages_in_topic": contents.messages,
            "in_ledger": sum(ledger.event_ids.values()),
            "ledger_shards": ledger.sizes,
            "missing_acknowledged": len(produced.acknowledged - set(ledger.event_ids)),
        },
        "duplicates": {
            "resent_on_purpose_messages": produced.resent_messages,
            "resent_on_purpose_events": produced.resent_events,
            "extra_copies_in_topic": contents.redelivered_copies,
            "counted_by_ledger": ledger.duplicates_counted,
            "stored_twice": sum(1 for n in ledger.event_ids.values() if n > 1),
        },
        "rejections": dict(ledger.rejections),
        "workers": {
            "starts": sum(s.starts for s in rig.workers.slots),
            "crashes": [asdict(c) for c in rig.workers.crashes],
            **_recoveries(rig.workers),
        },
        "drained": drained,
        "warnings": rig.monitor.rescue.warnings,
        "audit": audited,
        # seconds per phase; run() adds the total, main() rounds them
        "elapsed_s": elapsed,
        "logs": str(LOG_DIR),
    }


def _register(
    bootstrap: str, topic: str, farms: Farms, load: LoadProducer, store: SqlLedgerStore
) -> None:
    """Send the regulator's trust message through Kafka and wait until the ledger holds it."""
    from suyuan_ingest import kafka_clients

    message = farms.trust_message()
    ids = tuple(event_ids(message))
    producer = kafka_clients.producer(bootstrap)
    try:
        key = farms.scenario.regulator_uscc.encode()
        producer.send(f"{topic}.trust", value=message, key=key, headers=produced_headers()).get(
            timeout=60
        )
    finally:
        producer.close()
    load.produced.messages[digest(message)] = ids
    load.produced.ok(ids)
    progress("waiting for the workers to join and register the farms")
    deadline = time.monotonic() + 90
    while _entries(store) < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the trust events did not reach the ledger in 90 s; logs {LOG_DIR}")
        time.sleep(0.2)


def _entries(store: SqlLedgerStore) -> int:
    return sum(store.head(shard).size for shard in store.shard_ids())


class _Monitor:
    """Called while waiting: restarts crashed workers, rescues a wedged consumer group, prints
    progress every 10 s."""

    def __init__(self, store: SqlLedgerStore, workers: WorkerPool, load: LoadProducer) -> None:
        self._store = store
        self._workers = workers
        self._load = load
        self.rescue = _GroupRescue(workers)
        self._started = time.monotonic()
        self._printed = 0.0
        self._entries = -1
        self._moved = self._started

    def tick(self) -> None:
        for crash in self._workers.restart_crashed():
            when = "at start-up" if crash.at_start else "while consuming"
            progress(f"worker {crash.slot} exited {when} (exit {crash.exit_code}); restarted")
        now = time.monotonic()
        try:
            entries = _entries(self._store)
        except sa.exc.SQLAlchemyError:  # our own sessions may wait out a database outage
            return
        if entries != self._entries:
            self._entries, self._moved = entries, now
        elif now - self._moved > STALL_S and len(self._load.produced.acknowledged) > entries:
            self.rescue.on_stall()
            self._moved = now
        if now - self._printed >= 10:
            self._printed = now
            progress(
                f"t={now - self._started:4.0f}s handed to the producer {self._load.handed_over}, "
                f"acknowledged {len(self._load.produced.acknowledged)}, in the ledger {entries}"
            )


class _GroupRescue:
    """Gets the workers out of a consumer group that Tansu keeps in a rebalance.

    Tansu sometimes completes a join without electing a leader (seen after members left the
    group together): every member then waits for an assignment that never comes, SyncGroup fails
    with REBALANCE_IN_PROGRESS and the cycle repeats for good, whatever the members do. Offsets
    live in the ledger, not in Kafka, so the workers can move to a new group id without reading
    anything twice or skipping anything; the run reports that it did.
    """

    SIGNATURE = "failed due to coordinator rebalance"
    ASSIGNED = RECOVERIES["partition_assignments"]
    #: Failed SyncGroup rounds (about 8 s each) without any assignment that make a livelock.
    ROUNDS = 2
    LIMIT = 5

    def __init__(self, workers: WorkerPool) -> None:
        self._workers = workers
        self._base = workers.group
        self._seen = self._counts()
        self.warnings: list[str] = []

    def _counts(self) -> tuple[int, int]:
        return (
            self._workers.count_in_logs(self.SIGNATURE),
            self._workers.count_in_logs(self.ASSIGNED),
        )

    def on_stall(self) -> None:
        counts = self._counts()
        failed_syncs, assignments = counts[0] - self._seen[0], counts[1] - self._seen[1]
        self._seen = counts
        if failed_syncs < self.ROUNDS or assignments > 0 or len(self.warnings) >= self.LIMIT:
            return
        group = f"{self._base}-{len(self.warnings) + 1}"
        self.warnings.append(
            f"the broker kept consumer group {self._workers.group!r} rebalancing without a leader "
            f"({failed_syncs} failed SyncGroup rounds, no assignment); workers moved to {group!r}"
        )
        progress(self.warnings[-1])
        self._workers.regroup(group)
        self._seen = self._counts()


def _recoveries(workers: WorkerPool) -> dict[str, int]:
    texts = [log.read_text(errors="replace") for log in workers.logs()]
    return {name: sum(t.count(line) for t in texts) for name, line in RECOVERIES.items()}
