"""The system under test: a Tansu broker, a PostgreSQL ledger and ``suyuan ingest-worker``
processes that can be killed and restarted (design.md §6, §9).

Tansu and PostgreSQL are the throwaway services of ``infra/local_services.py``; the ledger is
the server's own database, initialised with the scenario's regulator root key.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from infra.local_services import PostgresServer, TansuBroker
from suyuan.ledger import SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.signing import RootKey
from suyuan.tlog import NoteSigner

#: Short consumer-group timings (design.md §9): a join on Tansu takes ~3 s instead of ~23 s.
FAST_GROUP_SETTINGS = {
    "SUYUAN_KAFKA_MAX_POLL_INTERVAL_MS": "5000",
    "SUYUAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
    "SUYUAN_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
}
#: Our own database sessions carry this name, so that the PostgreSQL fault spares them.
APPLICATION_NAME = "suyuan-chaos"
#: A worker's database sessions are named this prefix and its slot number.
WORKER_APPLICATION_PREFIX = "suyuan-worker-"
LEDGER_NAME = "chaos.suyuan.local/ledger"
WORKER_STOP_S = 20.0


@dataclass
class Services:
    """Tansu and PostgreSQL, running; :meth:`close` stops both and deletes the database."""

    broker: TansuBroker
    postgres: PostgresServer
    data_dir: Path

    @classmethod
    def start(cls, log_dir: Path) -> Services:
        """Raises: RuntimeError, OSError or CalledProcessError when a service cannot start."""
        # As root the server runs as 'postgres': its directory must sit directly under /tmp.
        data_dir = Path(tempfile.mkdtemp(prefix="suyuan-chaos-pg-"))
        postgres = PostgresServer(data_dir=data_dir, log_dir=log_dir)
        try:
            postgres.start()
            broker = TansuBroker(log_dir=log_dir).start()
        except BaseException:
            postgres.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
        return cls(broker, postgres, data_dir)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def broker_pid(self) -> int:
        if self.broker.proc is None:
            raise RuntimeError("the broker is not running")
        return self.broker.proc.pid

    @property
    def database(self) -> str:
        return self.postgres.database

    def database_url(self, application_name: str | None = None, database: str | None = None) -> str:
        url = sa.make_url(self.postgres.url)
        if database:
            url = url.set(database=database)
        if application_name:
            url = url.update_query_dict({"application_name": application_name})
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        try:
            if self.broker.proc is not None and self.broker.proc.poll() is None:
                os.kill(self.broker.proc.pid, signal.SIGCONT)  # never leave it stopped
            self.broker.stop()
        finally:
            self.postgres.stop()
            shutil.rmtree(self.data_dir, ignore_errors=True)


def open_ledger(services: Services, root: RootKey) -> tuple[SqlLedgerStore, NoteSigner]:
    """Migrate and initialise the ledger; its sessions are named :data:`APPLICATION_NAME`."""
    store = SqlLedgerStore(create_ledger_engine(services.database_url(APPLICATION_NAME)))
    migrate(store.engine)
    signer = NoteSigner.generate(LEDGER_NAME)
    initialise(store, signer.verifier, [root])
    return store, signer


def create_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    from suyuan_ingest import kafka_clients

    kafka_clients.create_topics(bootstrap, dict.fromkeys(topics, partitions))


@dataclass
class _Slot:
    number: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    starts: int = 0
    killed: bool = False


#: What a worker logs once it is set up and consuming (services/suyuan_ingest/worker.py).
CONSUMING = "INFO suyuan.ingest consuming "


@dataclass(frozen=True, slots=True)
class Crash:
    """A worker that exited without being told to: its exit code and the end of its log."""

    slot: int
    exit_code: int
    log: str
    tail: str
    at_start: bool
    """It exited before it began consuming (e.g. the database refused it at start-up): what a
    supervisor restarts, not a failure of the running worker."""


@dataclass
class WorkerPool:
    """``suyuan ingest-worker`` processes in fixed slots; one log file per start."""

    bootstrap: str
    db_url: str
    topic: str
    group: str
    log_dir: Path
    size: int
    slots: list[_Slot] = field(init=False)
    crashes: list[Crash] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.slots = [_Slot(n) for n in range(self.size)]

    def start_all(self) -> None:
        for slot in self.slots:
            self.start(slot.number)

    def start(self, number: int) -> None:
        slot = self.slots[number]
        slot.starts += 1
        slot.killed = False
        slot.log = self.log_dir / f"worker{number}.{slot.starts}.log"
        env = {
            **os.environ,
            **FAST_GROUP_SETTINGS,
            "SUYUAN_DEAD_LETTER_TOPIC": f"{self.topic}.dlq",
            # libpq names the worker's database sessions: the faults can find a busy worker
            "PGAPPNAME": f"{WORKER_APPLICATION_PREFIX}{number}",
        }
        command = [sys.executable, "-m", "suyuan_cli", "ingest-worker"]
        command += [
            "--bootstrap",
            self.bootstrap,
            "--db",
            self.db_url,
            "--topic",
            self.topic,
            "--trust-topic",
            f"{self.topic}.trust",
        ]
        command += ["--group", self.group]
        with slot.log.open("wb") as out:
            slot.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def running(self) -> list[int]:
        return [s.number for s in self.slots if s.proc is not None and s.proc.poll() is None]

    def kill(self, number: int) -> None:
        """SIGKILL the worker in slot ``number`` (no chance to finish what it was doing)."""
        slot = self.slots[number]
        if slot.proc is not None and slot.proc.poll() is None:
            slot.killed = True
            slot.proc.send_signal(signal.SIGKILL)
            slot.proc.wait(10)

    def signal(self, number: int, signum: signal.Signals) -> None:
        """Send ``signum`` (e.g. SIGSTOP, SIGCONT) to the worker in slot ``number`` if it runs."""
        proc = self.slots[number].proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signum)

    def restart_crashed(self) -> list[Crash]:
        """Record and restart every worker that exited on its own (as a supervisor would)."""
        found = []
        for slot in self.slots:
            proc = slot.proc
            if proc is None or slot.killed or proc.poll() is None:
                continue
            log = slot.log or Path("-")
            text = _read(log)
            crash = Crash(
                slot.number, int(proc.returncode), str(log), _tail(text), CONSUMING not in text
            )
            self.crashes.append(crash)
            found.append(crash)
            self.start(slot.number)
        return found

    def stop_all(self) -> None:
        """SIGTERM every worker, then SIGKILL what is still running after WORKER_STOP_S."""
        procs = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for slot in self.slots:
            slot.killed = True  # from now on an exit is ours, not a crash
        for proc in procs:
            proc.send_signal(signal.SIGCONT)  # a frozen worker could not act on SIGTERM
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + WORKER_STOP_S
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> list[Path]:
        return sorted(self.log_dir.glob("worker*.log"))

    def count_in_logs(self, text: str) -> int:
        return sum(_read(log).count(text) for log in self.logs())

    def regroup(self, group: str) -> None:
        """Restart every worker as a member of the consumer group ``group``."""
        self.stop_all()
        self.group = group
        self.start_all()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
