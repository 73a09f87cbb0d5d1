"""Running real ingest workers against the real broker and PostgreSQL, for the ingest tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from suyuan.ledger import SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.signing import save_key_pair
from suyuan.tlog import NoteSigner
from suyuan.transport import produced_headers
from suyuan_ingest import kafka_clients
from tests.ledger_world import World

#: Workers in these tests reject messages above this size as oversized.
MAX_TEST_MESSAGE_BYTES = 256 * 1024

FAST_GROUP_SETTINGS = {
    "SUYUAN_KAFKA_MAX_POLL_INTERVAL_MS": "5000",
    "SUYUAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
    "SUYUAN_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    # a poll must be appended well within the 5 s poll interval, even on a busy machine
    "SUYUAN_KAFKA_MAX_POLL_RECORDS": "10",
}


@dataclass
class IngestRig:
    """One topic pair, one initialised ledger, worker processes and a producer."""

    bootstrap: str
    db_url: str
    workdir: Path
    world: World = field(default_factory=World)
    partitions: int = 3
    topic: str = field(default_factory=lambda: f"events-{uuid.uuid4().hex[:8]}")
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dlq = f"{self.topic}.dlq"
        self.trust_topic = f"{self.topic}.trust"
        kafka_clients.create_topics(
            self.bootstrap,
            {self.topic: self.partitions, self.dlq: self.partitions, self.trust_topic: 1},
        )
        engine = create_ledger_engine(self.db_url)
        migrate(engine)
        self.store = SqlLedgerStore(engine)
        self.ledger_key = self.workdir / "ledger.key"
        signer = NoteSigner.generate("test.example/ledger")
        self.ledger_key.write_text(signer.to_key() + "\n")
        self.ledger_key.chmod(0o600)
        self.verifier = signer.verifier
        initialise(self.store, signer.verifier, [self.world.scenario.root])
        save_key_pair(self.world.scenario.root_key, self.workdir, "regulator")
        self.producer = kafka_clients.producer(self.bootstrap)

    # --- workers ------------------------------------------------------------------------------

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"worker-{len(self.workers)}.log").open("wb")
        env = {
            **os.environ,
            **FAST_GROUP_SETTINGS,
            "SUYUAN_DEAD_LETTER_TOPIC": self.dlq,
            "SUYUAN_MAX_MESSAGE_BYTES": str(MAX_TEST_MESSAGE_BYTES),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "suyuan_cli",
                "ingest-worker",
                "--bootstrap",
                self.bootstrap,
                "--db",
                self.db_url,
                "--topic",
                self.topic,
                "--trust-topic",
                self.trust_topic,
                "--group",
                f"g-{self.topic}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.workers.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.producer.close()
        self.store.close()

    def log_of(self, worker: int) -> str:
        return (self.workdir / f"worker-{worker}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.workdir.glob("worker-*.log"))
        )

    # --- producing and waiting ----------------------------------------------------------------

    def send(self, message: bytes, *, partition: int, key: bytes = b"k") -> None:
        self.producer.send(
            self.topic, value=message, key=key, partition=partition, headers=produced_headers()
        )

    def send_trust(self, message: bytes) -> None:
        """Send a message of trust events to the trust topic and wait for the broker's ack, so
        it is produced before anything sent after it."""
        self.producer.send(
            self.trust_topic, value=message, key=b"regulator", headers=produced_headers()
        ).get(30)

    def flush(self) -> None:
        self.producer.flush(30)

    def entries(self) -> int:
        return sum(self.store.head(s).size for s in self.store.shard_ids())

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.workers and all(p.poll() is not None for p in self.workers):
                raise AssertionError(f"all workers exited while waiting for {what}\n{self.logs()}")
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def register_world(self) -> None:
        """Register the world's organisations and wait until the ledger holds them."""
        before = self.entries()
        self.send_trust(self.world.trust_message())
        self.wait_for("trust events", lambda: self.entries() >= before + 4)
