"""Throwaway databases: on the test PostgreSQL server (one per test, dropped afterwards) and
SQLite ledgers in a test's temporary directory."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD, SqlLedgerStore, create_ledger_engine, migrate

if TYPE_CHECKING:
    from tests.ledger_world import World


@contextlib.contextmanager
def fresh_database(server_url: str, prefix: str = "test", options: str = "") -> Iterator[str]:
    """The URL of a new, empty database on the server of ``server_url`` (created with the
    ``CREATE DATABASE`` ``options`` given); dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" {options}')
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def migrated_store(url: str) -> Iterator[SqlLedgerStore]:
    """A ledger store on ``url`` with the newest schema; closed on exit."""
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def sqlite_store(directory: Path, world: World | None = None) -> Iterator[SqlLedgerStore]:
    """A SQLite ledger in ``directory`` with the newest schema and, given a ``world``, its
    organisations registered on the trust shard; closed on exit."""
    with migrated_store(f"sqlite:///{directory / 'ledger.sqlite'}") as store:
        if world is not None:
            LedgerWriter(store, [world.scenario.root]).write(
                TRUST_SHARD, [Message("setup", world.trust_message())]
            )
        yield store
