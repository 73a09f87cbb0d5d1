"""A PostgreSQL trace ledger copied row for row from the SQLite one of the same shape.

Building the 10M-event trace ledger through ``LedgerWriter`` takes 1–2 hours on each backend
(~2,000 farm-lot events/s). What the trace, recall, proof and audit benchmarks read is the same
whichever backend wrote it, so when the SQLite ledger of the same settings is kept the
PostgreSQL one is made from it: every row of every table by binary ``COPY``, the indexes built
afterwards, then ``ANALYZE``. The copy is checked, not trusted: the ``ledger_scale`` benchmarks
audit the whole ledger (``suyuan verify``: leaves, chain, Merkle nodes, signatures,
projections) on it. The write path's own rate on PostgreSQL is the ``append_postgresql_*`` and
``kafka_*`` figures.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._report import progress
from suyuan.ledger import create_ledger_engine, migrate

#: Rows read from SQLite and written by one COPY call at a time.
_CHUNK = 20_000
#: Types PostgreSQL's binary COPY is told, by the column's type name there.
_BINARY = {"int2", "int4", "int8", "text", "varchar", "bytea", "bool", "float8"}


def copy_sqlite_ledger(source: Path, url: str) -> None:
    """Copy every row of the SQLite ledger ``source`` into the new, empty ledger at ``url``.

    Raises:
        sqlite3.Error, sqlalchemy.exc.DBAPIError: a database refused; the caller discards the
            half-made ledger.
    """
    engine = create_ledger_engine(url)
    migrate(engine)
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        with engine.begin() as conn:
            rebuild = _drop_indexes(conn)
        for table in _tables(reader):
            _copy_table(reader, engine, table)
        with engine.begin() as conn:
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            for name, statement in rebuild:
                started = time.perf_counter()
                conn.exec_driver_sql(statement)
                progress(f"  copy: {name} built in {time.perf_counter() - started:,.0f} s")
            serials = conn.exec_driver_sql(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_default LIKE 'nextval%%'"
            ).all()
            for table, column in serials:  # rows came with their ids: the next id follows them
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f'COALESCE((SELECT max("{column}") FROM "{table}"), 0) + 1, false)'
                )
            conn.exec_driver_sql("ANALYZE")
    finally:
        reader.close()
        engine.dispose()


def _tables(reader: sqlite3.Connection) -> list[str]:
    rows = reader.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'alembic_version' ORDER BY name"
    )
    return [str(name) for (name,) in rows]


def _drop_indexes(conn: sa.Connection) -> list[tuple[str, str]]:
    """Drop the indexes and key constraints of the ledger's tables (filled faster without
    them); the statements that make them again, indexes after constraints."""
    constraints = conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = 'public' AND c.contype IN ('p', 'u')"
    ).all()
    indexes = conn.exec_driver_sql(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).all()
    rebuild: list[tuple[str, str]] = []
    for table, name, definition in constraints:
        if table == "alembic_version":
            continue
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild.append((name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for name, definition in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
        rebuild.append((name, definition))
    return rebuild


def _copy_table(reader: sqlite3.Connection, engine: sa.Engine, table: str) -> None:
    columns = [str(row[1]) for row in reader.execute(f'PRAGMA table_info("{table}")')]
    with engine.begin() as conn:
        found = dict(
            conn.exec_driver_sql(
                "SELECT column_name, udt_name FROM information_schema.columns "
                f"WHERE table_schema = 'public' AND table_name = '{table}'"
            ).all()
        )
    missing = [c for c in columns if c not in found]
    if missing:
        raise ValueError(f"{table}: columns {missing} are not in the PostgreSQL schema")
    types = [str(found[c]) for c in columns]
    binary = all(t in _BINARY for t in types)
    flags = [n for n, t in enumerate(types) if t == "bool"]  # SQLite keeps them as 0 and 1
    started = time.perf_counter()
    copied = 0
    statement = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN' + (
        " (FORMAT BINARY)" if binary else ""
    )
    with engine.begin() as conn:
        driver: Any = conn.connection.driver_connection  # psycopg
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            if binary:
                copy.set_types(types)
            for rows in _chunks(reader, table, columns):
                for row in rows:
                    copy.write_row(_with_bools(row, flags) if flags else row)
                copied += len(rows)
                if copied % 2_000_000 < len(rows) <= copied - 2_000_000 + len(rows):
                    progress(f"  copy: {table} {copied:,} rows")
    took = time.perf_counter() - started
    progress(f"  copy: {table}: {copied:,} rows in {took:,.0f} s")


def _chunks(
    reader: sqlite3.Connection, table: str, columns: list[str]
) -> Iterator[list[tuple[Any, ...]]]:
    cursor = reader.execute(f'SELECT {", ".join(columns)} FROM "{table}"')
    while rows := cursor.fetchmany(_CHUNK):
        yield rows


def _with_bools(row: tuple[Any, ...], flags: list[int]) -> list[Any]:
    values = list(row)
    for n in flags:
        values[n] = None if values[n] is None else bool(values[n])
    return values
