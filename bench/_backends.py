"""Throwaway ledgers to measure: SQLite files in a temporary directory, and databases on a
PostgreSQL server started for the run (``infra/local_services.py``).

Every benchmark run gets a fresh, migrated ledger; :meth:`Backend.disk_usage` says how many
bytes a ledger takes on disk, per table including its indexes.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import subprocess
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from suyuan.ledger import SqlLedgerStore, create_ledger_engine, migrate

LOG_DIR = Path(__file__).resolve().parent.parent / "build" / "bench-logs"
_NOT_LEDGER = ("alembic_version",)


@dataclass(frozen=True, slots=True)
class DiskUsage:
    total: int
    tables: dict[str, int]
    """Bytes of each table with its indexes (and TOAST on PostgreSQL)."""

    def per_entry(self, entries: int) -> dict[str, float]:
        """Each table's bytes per ledger entry, largest first."""
        ranked = sorted(self.tables.items(), key=lambda kv: -kv[1])
        return {table: round(size / entries, 1) for table, size in ranked}


class Backend(ABC):
    name: str

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def new_store(self, label: str) -> SqlLedgerStore:
        """A fresh, migrated, empty ledger."""
        engine = create_ledger_engine(self._new_database(f"{label}_{next(self._numbers)}"))
        migrate(engine)
        return SqlLedgerStore(engine)

    @abstractmethod
    def _new_database(self, name: str) -> str:
        """Create an empty database; return its SQLAlchemy URL."""

    @abstractmethod
    def drop(self, store: SqlLedgerStore) -> None:
        """Close ``store`` and delete its database."""

    @abstractmethod
    def disk_usage(self, store: SqlLedgerStore) -> DiskUsage: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Settings that change what the figures mean."""

    @abstractmethod
    def close(self) -> None: ...


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self._dir = Path(tempfile.mkdtemp(prefix="suyuan-bench-sqlite-"))

    def _new_database(self, name: str) -> str:
        return f"sqlite:///{self._dir / name}.sqlite"

    def drop(self, store: SqlLedgerStore) -> None:
        path = _sqlite_path(store)
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def disk_usage(self, store: SqlLedgerStore) -> DiskUsage:
        """File size after moving the WAL into the database file (``wal_checkpoint(TRUNCATE)``)."""
        store.engine.dispose()  # no pooled connection may hold a read snapshot of the WAL
        return sqlite_disk_usage(_sqlite_path(store))

    def describe(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "directory": str(self._dir),
            "settings": "WAL journal, synchronous=NORMAL, BEGIN IMMEDIATE (create_ledger_engine)",
        }

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


class PostgresBackend(Backend):
    """Databases on a throwaway PostgreSQL server that this object starts and stops."""

    name = "postgresql"

    def __init__(self) -> None:
        super().__init__()
        from infra.local_services import PostgresServer

        # As root the server runs as 'postgres': the directory must sit directly under /tmp.
        self._data_dir = Path(tempfile.mkdtemp(prefix="suyuan-bench-pg-"))
        self._server = PostgresServer(data_dir=self._data_dir, log_dir=LOG_DIR)
        self._admin: sa.Engine | None = None
        try:
            self._server.start()
        except BaseException:
            self.close()
            raise
        self._admin = sa.create_engine(self._server.url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            self._version = str(conn.exec_driver_sql("SHOW server_version").scalar())

    @classmethod
    def start(cls) -> PostgresBackend | str:
        """A running backend, or why PostgreSQL could not be started here."""
        try:
            return cls()
        except (RuntimeError, OSError, subprocess.CalledProcessError, sa.exc.SQLAlchemyError) as e:
            return f"{type(e).__name__}: {e}".strip()

    def _sql(self, statement: str) -> None:
        if self._admin is None:
            raise RuntimeError("PostgreSQL server is not running")
        with self._admin.connect() as conn:
            conn.exec_driver_sql(statement)

    def _new_database(self, name: str) -> str:
        self._sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(self._server.url).set(database=name)
        return url.render_as_string(hide_password=False)

    def drop(self, store: SqlLedgerStore) -> None:
        name = store.engine.url.database
        store.close()
        self._sql(f'DROP DATABASE "{name}" WITH (FORCE)')

    def disk_usage(self, store: SqlLedgerStore) -> DiskUsage:
        return postgres_disk_usage(store.engine)

    def describe(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "server_version": self._version,
            "settings": (
                "throwaway server of infra/local_services.py: fsync=off, "
                "synchronous_commit=off, full_page_writes=off; one database per run"
            ),
            "log": str(self._server.log),
        }

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
        self._server.stop()
        shutil.rmtree(self._data_dir, ignore_errors=True)


def postgres_missing() -> str | None:
    """Why a PostgreSQL server cannot be started here (its binaries are missing), or None."""
    from infra.local_services import find_pg_bin

    try:
        for binary in ("initdb", "postgres"):
            find_pg_bin(binary)
    except RuntimeError as err:
        return str(err)
    return None


def sqlite_disk_usage(path: Path) -> DiskUsage:
    """The file's size after moving the WAL into it (``wal_checkpoint(TRUNCATE)``), and each
    table's pages (``dbstat``). No other connection may hold a read snapshot."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise RuntimeError(f"{path}: WAL checkpoint could not complete")
        rows = conn.execute(
            "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat AS d "
            "JOIN sqlite_master AS m ON m.name = d.name GROUP BY m.tbl_name"
        ).fetchall()
    finally:
        conn.close()
    tables = {str(name): int(size) for name, size in rows if name not in _NOT_LEDGER}
    wal = Path(f"{path}-wal")
    return DiskUsage(path.stat().st_size + (wal.stat().st_size if wal.exists() else 0), tables)


def postgres_disk_usage(engine: sa.Engine) -> DiskUsage:
    """``pg_total_relation_size`` of every ledger table, after a plain ``VACUUM``.

    The VACUUM makes the figure repeatable: autovacuum would otherwise add the visibility
    map and free-space map of insert-only tables at a moment of its choosing.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        rows = conn.exec_driver_sql(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).all()
    tables = {str(name): int(size) for name, size in rows if name not in _NOT_LEDGER}
    return DiskUsage(sum(tables.values()), tables)


def _sqlite_path(store: SqlLedgerStore) -> Path:
    database = store.engine.url.database
    if not database:
        raise ValueError("not a file-backed SQLite ledger")
    return Path(database)
