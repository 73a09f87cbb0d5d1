"""The faults, each undone by the harness before the next one starts:

- ``worker_sigkill`` — SIGKILL an ingest worker mid-work, restart it a moment later;
- ``worker_freeze`` — SIGSTOP a worker for longer than its session timeout, then SIGCONT,
  preferably while it has a database transaction open: the group gives its partitions to
  another worker while the frozen one still holds records and a half-done append — the zombie
  writer the offset compare-and-set is for;
- ``broker_pause`` — SIGSTOP the broker for 10–30 s, then SIGCONT;
- ``pg_terminate_backend`` — cut every database session of the workers;
- ``pg_outage`` — cut the sessions *and* refuse new ones for 10–15 s (``ALLOW_CONNECTIONS
  false``); a worker is killed as it starts and restarted when it ends, so that the group
  rebalances — and the surviving workers look up their stored offsets — while the database is
  away.

The schedule is drawn from the seed: the first faults are one of each kind in a random order,
then kinds are drawn by weight.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from chaos._services import APPLICATION_NAME, WORKER_APPLICATION_PREFIX, WorkerPool

KILL = "worker_sigkill"
FREEZE = "worker_freeze"
PAUSE = "broker_pause"
TERMINATE = "pg_terminate_backend"
OUTAGE = "pg_outage"
KINDS = (KILL, FREEZE, PAUSE, TERMINATE, OUTAGE)
WEIGHTS = (4, 2, 2, 3, 2)
PAUSE_S = (10.0, 30.0)
#: Longer than the workers' session timeout (6 s) plus a Tansu rebalance (~3-5 s).
FREEZE_S = (8.0, 15.0)
#: Longer than a session timeout (6 s) plus a rebalance: the group reassigns within it.
OUTAGE_S = (10.0, 15.0)
#: How long a freeze waits for a worker to be inside a database transaction.
BUSY_WAIT_S = 5.0
RESTART_AFTER_S = (0.2, 4.0)
GAP_S = (1.0, 6.0)

_TERMINATE_SQL = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = %(database)s AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend' AND coalesce(application_name, '') <> %(ours)s"
)


_BUSY_SQL = (
    "SELECT application_name FROM pg_stat_activity WHERE datname = %(database)s "
    "AND application_name LIKE %(prefix)s AND state IN ('active', 'idle in transaction')"
)


def _slot(application_name: str) -> int | None:
    suffix = application_name.removeprefix(WORKER_APPLICATION_PREFIX)
    return int(suffix) if suffix.isdigit() else None


@dataclass
class FaultLog:
    """What was injected, by kind, with when (seconds from the start) and what it hit."""

    counts: Counter[str] = field(default_factory=Counter)
    broker_paused_s: float = 0.0
    backends_terminated: int = 0
    events: list[dict[str, object]] = field(default_factory=list)


class Injector:
    """Injects faults until a deadline; ``tick`` is called while waiting (monitoring)."""

    def __init__(
        self,
        workers: WorkerPool,
        broker_pid: int,
        admin_url: str,
        database: str,
        rng: random.Random,
        tick: Callable[[], None],
    ) -> None:
        """``admin_url`` must name another database than the ledger's ``database``: the
        outage refuses new sessions to the ledger's."""
        self.log = FaultLog()
        self._workers = workers
        self._broker_pid = broker_pid
        self._database = database
        self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._rng = rng
        self._tick = tick
        self._started = time.monotonic()
        self._first = list(KINDS)
        rng.shuffle(self._first)
        self._inject: dict[str, Callable[[float], None]] = {
            KILL: self._kill_worker,
            FREEZE: self._freeze_worker,
            PAUSE: self._pause_broker,
            TERMINATE: self._terminate,
            OUTAGE: self._outage,
        }

    def run_until(self, deadline: float) -> None:
        """Inject faults with random gaps until ``deadline`` (``time.monotonic()``)."""
        try:
            while True:
                self._wait(self._rng.uniform(*GAP_S), deadline)
                if time.monotonic() >= deadline:
                    return
                self._inject[self._next_kind(deadline - time.monotonic())](deadline)
        finally:
            self._admin.dispose()

    def _next_kind(self, remaining: float) -> str:
        kind = self._first.pop(0) if self._first else self._rng.choices(KINDS, WEIGHTS)[0]
        if kind == PAUSE and remaining < PAUSE_S[0]:
            return KILL  # too little time left for a pause of the promised length
        return kind

    def _pick_worker(self) -> int | None:
        running = self._workers.running()
        return self._rng.choice(running) if running else None

    # --- the faults -------------------------------------------------------------------------

    def _kill_worker(self, deadline: float) -> None:
        number = self._pick_worker()
        if number is None:
            return
        self._workers.kill(number)
        self._record(KILL, worker=number)
        self._wait(self._rng.uniform(*RESTART_AFTER_S), deadline + RESTART_AFTER_S[1])
        self._workers.start(number)

    def _freeze_worker(self, _deadline: float) -> None:
        busy = self._busy_worker()
        number = busy if busy is not None else self._pick_worker()
        if number is None:
            return
        seconds = self._rng.uniform(*FREEZE_S)
        self._record(FREEZE, worker=number, seconds=round(seconds, 1), mid_transaction=busy)
        self._workers.signal(number, signal.SIGSTOP)
        try:
            self._wait(seconds, time.monotonic() + seconds)
        finally:
            self._workers.signal(number, signal.SIGCONT)

    def _pause_broker(self, deadline: float) -> None:
        seconds = min(self._rng.uniform(*PAUSE_S), max(0.0, deadline - time.monotonic()))
        os.kill(self._broker_pid, signal.SIGSTOP)
        started = time.monotonic()
        try:
            self._record(PAUSE, seconds=round(seconds, 1))
            self._wait(seconds, started + seconds)
        finally:
            os.kill(self._broker_pid, signal.SIGCONT)
            self.log.broker_paused_s += time.monotonic() - started

    def _terminate(self, _deadline: float) -> None:
        count = self._cut_sessions()
        self._record(TERMINATE, backends=count)

    def _outage(self, _deadline: float) -> None:
        seconds = self._rng.uniform(*OUTAGE_S)
        killed = self._pick_worker() if len(self._workers.running()) > 1 else None
        started = time.monotonic()
        self._allow_connections(False)
        try:
            count = self._cut_sessions()
            if killed is not None:
                self._workers.kill(killed)
            self._record(OUTAGE, seconds=round(seconds, 1), backends=count, killed_worker=killed)
            self._wait(seconds, started + seconds)
        finally:
            self._allow_connections(True)
            if killed is not None:
                self._workers.start(killed)

    def _busy_worker(self) -> int | None:
        """A worker with a database transaction open right now, if one shows up within
        :data:`BUSY_WAIT_S` (frozen there, it holds its shard while the group moves on)."""
        end = time.monotonic() + BUSY_WAIT_S
        with self._admin.connect() as conn:
            while time.monotonic() < end:
                names = conn.exec_driver_sql(
                    _BUSY_SQL,
                    {"database": self._database, "prefix": f"{WORKER_APPLICATION_PREFIX}%"},
                ).scalars()
                running = set(self._workers.running())
                slots = [n for n in (_slot(name) for name in names) if n in running]
                if slots:
                    return self._rng.choice(slots)
                time.sleep(0.01)
        return None

    def _cut_sessions(self) -> int:
        with self._admin.connect() as conn:
            count = int(
                conn.exec_driver_sql(
                    _TERMINATE_SQL, {"database": self._database, "ours": APPLICATION_NAME}
                ).scalar_one()
            )
        self.log.backends_terminated += count
        return count

    def _allow_connections(self, allow: bool) -> None:
        name = self._database.replace('"', '""')
        with self._admin.connect() as conn:
            conn.exec_driver_sql(
                f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allow else "false"}'
            )

    # --- helpers ----------------------------------------------------------------------------

    def _record(self, kind: str, **what: object) -> None:
        self.log.counts[kind] += 1
        at = round(time.monotonic() - self._started, 1)
        self.log.events.append({"at_s": at, "kind": kind, **what})

    def _wait(self, seconds: float, deadline: float) -> None:
        """Sleep ``seconds`` (at most until ``deadline``), calling ``tick`` about twice a second."""
        end = min(time.monotonic() + seconds, deadline)
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
            self._tick()
