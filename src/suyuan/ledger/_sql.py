"""SQLAlchemy implementation of :class:`LedgerStore`: SQLite (WAL, embedded) and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from suyuan.events.model import TRUST_EVENT_TYPES
from suyuan.ledger import _tables as t
from suyuan.ledger._interface import (
    TRUST_SHARD,
    AppendResult,
    CodeEdge,
    CodeEventRef,
    EntryNotFoundError,
    LedgerError,
    LedgerStore,
    OffsetCommit,
    Reached,
    ReachedEdges,
    ReachedEvents,
    Rejection,
    ShardHead,
    StaleWriterError,
    StoredCheckpoint,
    StoredEntry,
    StoredRejection,
    Submission,
)
from suyuan.ledger._leaf import Leaf, from_micros, leaf_bytes, signer_part, to_micros
from suyuan.ledger._projections import projections_of
from suyuan.merkle import Frontier, leaf_hash

#: chain_{-1}: the chain starts from 32 zero bytes.
GENESIS_CHAIN = bytes(32)
_READ_CHUNK = 2000
_MAX_RAW = 4096  # bytes of a rejected message kept for the producer to look at
#: The store whose reads the current context makes through one connection (``reading``), and
#: the shard heads read in that block so far.
_READING: ContextVar[tuple[SqlLedgerStore, Connection, dict[int, ShardHead]] | None] = ContextVar(
    "suyuan_ledger_reading", default=None
)


def chain_next(previous: bytes, leaf_hash_: bytes) -> bytes:
    """chain_i = SHA-256(chain_{i-1} || leaf_hash_i) (design.md §6)."""
    return hashlib.sha256(previous + leaf_hash_).digest()


def create_ledger_engine(url: str, *, for_writing: bool = True) -> Engine:
    """An engine for ``url`` with the settings the ledger relies on.

    SQLite: WAL journal. A writing engine opens every transaction with ``BEGIN IMMEDIATE`` so
    that a writer takes the write lock before reading the shard head (two writers never both
    read the same head); a reading engine (``for_writing=False``) uses plain deferred
    transactions, so readers see a consistent snapshot and never queue on the write lock.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        begin = "BEGIN IMMEDIATE" if for_writing else "BEGIN"

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

        return engine
    # PostgreSQL's JIT compiles any statement its planner costs high, as it does a walk whose
    # size it cannot know: ~25 ms of compiling for a trace that reads a few rows. Plans are left
    # to PostgreSQL (plan_cache_mode auto): a generic plan kept for every prepared statement
    # saved a regulator's trace ~0.6 ms of planning, but a plan made while a table was small
    # stayed a sequential scan as it grew (a new ledger's writes fell from 3,300 to 640
    # events/s; bench/README.md, "PostgreSQL traces"). Left to itself PostgreSQL kept such a plan
    # too, for the writer's reads of a message's codes: reads of many codes are never prepared
    # (_many_codes).
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"options": "-c jit=off"})


def _reading_engine(engine: Engine) -> Engine:
    """The engine reads go through: for a SQLite file a second, non-locking one (an in-memory
    database exists once per engine, so it keeps the one it has)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    return create_ledger_engine(engine.url.render_as_string(hide_password=False), for_writing=False)


class SqlLedgerStore(LedgerStore):
    """The ledger in a SQL database through SQLAlchemy Core.

    The schema must exist (``suyuan.ledger.migrate(url)`` runs the Alembic migrations).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = _reading_engine(engine)
        self._postgres = engine.dialect.name == "postgresql"
        self._insert_sql: dict[str, str] = {}

    @classmethod
    def from_url(cls, url: str) -> SqlLedgerStore:
        return cls(create_ledger_engine(url))

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()
        if self._reader is not self._engine:
            self._reader.dispose()

    def _bound(self) -> Connection | None:
        """The connection of the :meth:`reading` block the current context is in, if any."""
        bound = _READING.get()
        return bound[1] if bound is not None and bound[0] is self else None

    def _block_heads(self) -> dict[int, ShardHead] | None:
        """The shard heads read in the :meth:`reading` block the current context is in, if any."""
        bound = _READING.get()
        return bound[2] if bound is not None and bound[0] is self else None

    @contextmanager
    def reading(self) -> Iterator[None]:
        if self._bound() is not None:
            yield  # already reading: one snapshot for the outer block
            return
        with self._reader.connect() as conn:
            if self._postgres:  # READ COMMITTED would take a new snapshot for each statement
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.begin()  # SQLite: the snapshot holds from the block's first read to its end
            token = _READING.set((self, conn, {}))
            try:
                yield
                if self._postgres:
                    # The same as a rollback for a block that only reads, but psycopg forgets
                    # every prepared statement at a ROLLBACK: each trace would plan each of
                    # its statements again (a third of a point read's time, and of a walk's).
                    conn.commit()
            finally:
                _READING.reset(token)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """The connection a read goes through: the one :meth:`reading` holds, or a new one."""
        bound = self._bound()
        if bound is not None:
            yield bound
            return
        # On PostgreSQL it ends with COMMIT, as a reading block does: see reading().
        with self._reader.connect() as conn, conn.begin() if self._postgres else nullcontext():
            yield conn

    def _fetch(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of one read in the driver's own SQL (markers of :func:`driver_markers`, or
        :meth:`_named`), through :meth:`_read`'s connection (:func:`driver_rows`): SQLAlchemy's
        statement and result machinery cost a trace more than its queries (~17 of them).

        Raises:
            sqlalchemy.exc.DBAPIError: the database refused, as SQLAlchemy would raise it.
        """
        with self._read() as conn:
            # A plan of its own for many codes: psycopg prepares a statement run a few times,
            # and PostgreSQL may then keep one plan for it, made for a few codes.
            prepare = False if self._postgres and _many_codes(params) else None
            return driver_rows(conn, sql, params, prepare=prepare)

    def _named(self, name: str) -> str:
        """A named parameter marker in the driver's style."""
        return f"%({name})s" if self._postgres else f":{name}"

    # --- append ---------------------------------------------------------------------------

    def append(
        self,
        shard: int,
        submissions: Sequence[Submission],
        *,
        rejections: Sequence[Rejection] = (),
        offset: OffsetCommit | None = None,
    ) -> AppendResult:
        if self._bound() is not None:
            # its checks would have read the block's snapshot, not the ledger it appends to
            raise LedgerError("append inside a reading() block of the same store")
        try:
            with self._engine.begin() as conn:
                return self._append(conn, shard, submissions, rejections, offset)
        except sa.exc.IntegrityError as err:
            # Another shard stored one of these event ids between our duplicate check and
            # insert, or another writer raced us on this shard: the caller retries from the
            # stored offset, where the duplicate is then seen.
            raise StaleWriterError(f"shard {shard}: concurrent write refused ({err.orig})") from err

    def _append(
        self,
        conn: Connection,
        shard: int,
        submissions: Sequence[Submission],
        rejections: Sequence[Rejection],
        offset: OffsetCommit | None,
    ) -> AppendResult:
        row = self._lock_head(conn, shard)
        if offset is not None and row.consumer_offset != offset.expected:
            raise StaleWriterError(
                f"shard {shard}: stored offset is {row.consumer_offset}, "
                f"writer expected {offset.expected}"
            )
        fresh, duplicates = self._split_duplicates(conn, submissions)
        frontier = Frontier.from_bytes(row.frontier)
        rows, chain = _entry_rows(shard, row.size, row.chain_head, frontier, fresh)
        micros = rows.recorded_at
        rows.rejections.extend(_rejection_row(shard, r, micros) for r in rejections)
        for table in _APPEND_ORDER:
            self._insert_many(conn, table, getattr(rows, table.name))
        updated = conn.execute(
            t.shards.update()
            .where(t.shards.c.shard == shard, t.shards.c.size == row.size)
            .values(
                size=frontier.size,
                frontier=frontier.to_bytes(),
                chain_head=chain,
                consumer_offset=offset.next_offset if offset else row.consumer_offset,
                duplicates=row.duplicates + len(duplicates),
            )
        )
        if updated.rowcount != 1:
            raise StaleWriterError(f"shard {shard}: another writer appended concurrently")
        return AppendResult(
            shard=shard,
            appended=tuple(rows.appended),
            duplicates=tuple(duplicates),
            size=frontier.size,
            root=frontier.root(),
        )

    def _insert_many(self, conn: Connection, table: sa.Table, rows: list[tuple[Any, ...]]) -> None:
        """INSERT ``rows`` (tuples in column order) in one go: PostgreSQL by binary ``COPY``,
        SQLite by one DBAPI ``executemany``. SQLAlchemy Core would build and process a
        parameter dict per row, which costs more than the insert itself."""
        if not rows:
            return
        if self._postgres:
            self._copy(conn, table, rows)
            return
        sql = self._insert_sql.get(table.name)
        if sql is None:
            sql = self._insert_sql[table.name] = _insert_statement(self._engine, table)
        conn.exec_driver_sql(sql, rows)

    def _copy(self, conn: Connection, table: sa.Table, rows: list[tuple[Any, ...]]) -> None:
        """``COPY table FROM STDIN (FORMAT BINARY)`` through psycopg, in the transaction of
        ``conn``; a database error is raised as the SQLAlchemy exception an INSERT would raise
        (e.g. :class:`sqlalchemy.exc.IntegrityError` for a repeated ``event_id``)."""
        columns = _INSERT_COLUMNS[table.name]
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        types = [_PG_BINARY_TYPES[type(table.c[name].type).__name__] for name in columns]
        dbapi_error = self._engine.dialect.loaded_dbapi.Error
        driver: Any = conn.connection.driver_connection  # a psycopg connection
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        except dbapi_error as err:
            raise sa.exc.DBAPIError.instance(statement, None, err, dbapi_error) from err

    def add_rejections(self, rejections: Sequence[Rejection]) -> None:
        if not rejections:
            return
        micros = to_micros(datetime.now(UTC))
        rows = [_rejection_row(None, r, micros) for r in rejections]
        with self._engine.begin() as conn:
            self._insert_many(conn, t.rejections, rows)

    def _lock_head(self, conn: Connection, shard: int) -> sa.Row[Any]:
        query = sa.select(t.shards).where(t.shards.c.shard == shard)
        if self._postgres:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            conn.execute(
                t.shards.insert().values(
                    shard=shard,
                    size=0,
                    frontier=Frontier().to_bytes(),
                    chain_head=GENESIS_CHAIN,
                    consumer_offset=None,
                    duplicates=0,
                )
            )
            row = conn.execute(query).one()
        return row

    def _split_duplicates(
        self, conn: Connection, submissions: Sequence[Submission]
    ) -> tuple[list[Submission], list[str]]:
        stored = _stored_event_bytes(conn, [s.event.event_id for s in submissions])
        fresh: list[Submission] = []
        duplicates: list[str] = []
        for sub in submissions:
            event_id = sub.event.event_id
            if event_id not in stored:
                stored[event_id] = sub.event_bytes
                fresh.append(sub)
            elif stored[event_id] == sub.event_bytes:
                duplicates.append(event_id)
            else:
                # Only a repeat of the same event is a duplicate. The writer refuses an id
                # taken by other content (id_conflict); meeting one here means another
                # writer stored it since that check: retry, and the check then sees it.
                raise StaleWriterError(
                    f"event id {event_id} was taken by other content during this write"
                )
        return fresh, duplicates

    # --- reads ------------------------------------------------------------------------------

    def head(self, shard: int) -> ShardHead:
        # A head cannot change inside one snapshot: a reading() block reads each once (the
        # trust follower asks for the trust shard's several times in one trace).
        heads = self._block_heads()
        if heads is not None and shard in heads:
            return heads[shard]
        found = self._read_head(shard)
        if heads is not None:
            heads[shard] = found
        return found

    def _read_head(self, shard: int) -> ShardHead:
        rows = self._fetch(
            "SELECT size, frontier, chain_head, consumer_offset, duplicates FROM shards "
            f"WHERE shard = {driver_markers(self._engine, 1)}",
            (shard,),
        )
        if not rows:
            empty = Frontier()
            return ShardHead(shard, 0, empty.root(), GENESIS_CHAIN, None, 0)
        size, frontier, chain_head, consumer_offset, duplicates = rows[0]
        return ShardHead(
            shard=shard,
            size=size,
            root=Frontier.from_bytes(bytes(frontier)).root(),
            chain_head=bytes(chain_head),
            consumer_offset=consumer_offset,
            duplicates=duplicates,
        )

    def shard_ids(self) -> list[int]:
        with self._read() as conn:
            return list(conn.execute(sa.select(t.shards.c.shard).order_by("shard")).scalars())

    def consumer_offset(self, shard: int) -> int | None:
        return self.head(shard).consumer_offset

    def entries(self, shard: int, start: int = 0, end: int | None = None) -> Iterator[StoredEntry]:
        # Keyset pagination: bounded memory, and rows are read in seq order even if gaps exist.
        # The driver's own rows (the audit reads every entry this way).
        after = start - 1
        marker = driver_markers(self._engine, 1)
        sql = (
            "SELECT seq, event_id, leaf, chain_hash FROM ledger_entries "
            f"WHERE shard = {marker} AND seq > {marker}"
            + ("" if end is None else f" AND seq < {marker}")
            + f" ORDER BY seq LIMIT {_READ_CHUNK}"
        )
        bound = () if end is None else (end,)
        while True:
            rows = self._fetch(sql, (shard, after, *bound))
            for seq, event_id, leaf, chain_hash in rows:
                yield StoredEntry(shard, seq, event_id, bytes(leaf), bytes(chain_hash))
            if len(rows) < _READ_CHUNK:
                return
            after = rows[-1][0]

    def entry(self, shard: int, seq: int) -> StoredEntry:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.ledger_entries).where(
                    t.ledger_entries.c.shard == shard, t.ledger_entries.c.seq == seq
                )
            ).first()
        if row is None:
            raise EntryNotFoundError(f"no entry at shard {shard}, seq {seq}")
        return StoredEntry(row.shard, row.seq, row.event_id, row.leaf, row.chain_hash)

    def entries_at(
        self, positions: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], StoredEntry]:
        found: dict[tuple[int, int], StoredEntry] = {}
        by_shard: dict[int, list[int]] = {}
        for shard, seq in dict.fromkeys(positions):
            by_shard.setdefault(shard, []).append(seq)
        # One equality on shard per query: SQLite answers a row-value IN list by reading the
        # whole table, but uses the primary key for ``shard = ? AND seq IN (…)``.
        select = "SELECT shard, seq, event_id, leaf, chain_hash FROM ledger_entries WHERE shard = "
        with self.reading():
            for shard, seqs in by_shard.items():
                for start in range(0, len(seqs), 500):
                    part = seqs[start : start + 500]
                    seq_in = f"seq IN ({driver_markers(self._engine, len(part))})"
                    rows = self._fetch(
                        f"{select}{driver_markers(self._engine, 1)} AND {seq_in}", (shard, *part)
                    )
                    for shard_, seq, event_id, leaf, chain_hash in rows:
                        found[(shard_, seq)] = StoredEntry(
                            shard_, seq, event_id, bytes(leaf), bytes(chain_hash)
                        )
        return found

    def locate(self, event_id: str) -> tuple[int, int]:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.ledger_entries.c.shard, t.ledger_entries.c.seq).where(
                    t.ledger_entries.c.event_id == event_id
                )
            ).first()
        if row is None:
            raise EntryNotFoundError(f"no ledger entry has event id {event_id!r}")
        return int(row.shard), int(row.seq)

    def stored_events(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        with self._read() as conn:
            return _stored_event_bytes(conn, event_ids)

    def node(self, shard: int, level: int, index: int) -> bytes:
        found = self.nodes(shard, [(level, index)])
        if (level, index) not in found:
            raise EntryNotFoundError(f"no Merkle node ({level}, {index}) in shard {shard}")
        return found[(level, index)]

    def nodes(self, shard: int, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        if not wanted:
            return {}
        n = t.merkle_nodes.c
        by_level: dict[int, list[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, []).append(index)
        # Level 0 is not stored (migration 0003): those few nodes are hashed from the leaves.
        leaves = by_level.pop(0, [])
        found: dict[tuple[int, int], bytes] = {}
        with self._read() as conn:
            if leaves:
                found.update(
                    ((0, seq), leaf_hash(leaf)) for seq, leaf in _leaves(conn, shard, leaves)
                )
            if by_level:
                # One SELECT per level, each a primary-key lookup (SQLite would otherwise read
                # every node of the shard for a row-value IN list or an OR of levels).
                query = sa.union_all(
                    *(
                        sa.select(n.level, n.idx, n.hash).where(
                            n.shard == shard, n.level == level, n.idx.in_(idxs)
                        )
                        for level, idxs in by_level.items()
                    )
                )
                found.update(
                    ((int(r.level), int(r.idx)), bytes(r.hash)) for r in conn.execute(query)
                )
        return found

    def add_checkpoint(self, shard: int, size: int, note: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    t.checkpoints.insert().values(
                        shard=shard,
                        size=size,
                        note=note,
                        created_at=to_micros(datetime.now(UTC)),
                    )
                )
        except sa.exc.IntegrityError as err:
            raise LedgerError(f"shard {shard} already has a checkpoint at size {size}") from err

    def replace_checkpoint_note(self, shard: int, size: int, note: str) -> None:
        c = t.checkpoints.c
        with self._engine.begin() as conn:
            updated = conn.execute(
                t.checkpoints.update().where(c.shard == shard, c.size == size).values(note=note)
            ).rowcount
        if updated != 1:
            raise EntryNotFoundError(f"shard {shard} has no checkpoint at size {size}")

    def latest_checkpoint(self, shard: int) -> StoredCheckpoint | None:
        c = t.checkpoints.c
        with self._read() as conn:
            r = conn.execute(
                sa.select(t.checkpoints).where(c.shard == shard).order_by(c.size.desc()).limit(1)
            ).first()
        return (
            None
            if r is None
            else StoredCheckpoint(r.shard, r.size, r.note, from_micros(r.created_at))
        )

    def checkpoints(self, shard: int) -> list[StoredCheckpoint]:
        c = t.checkpoints.c
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.checkpoints).where(c.shard == shard).order_by(c.size)
            ).all()
        return [StoredCheckpoint(r.shard, r.size, r.note, from_micros(r.created_at)) for r in rows]

    def code_events(self, code: str) -> list[CodeEventRef]:
        return self.code_events_for([code])

    def code_events_for(
        self, codes: Sequence[str], event_types: Collection[str] | None = None
    ) -> list[CodeEventRef]:
        unique = sorted(dict.fromkeys(codes))  # read in index order (see reach)
        types = sorted(event_types) if event_types is not None else []
        if not unique or (event_types is not None and not types):
            return []  # nothing asked for (and PostgreSQL refuses an empty IN list)
        # One statement of plain SQL, the codes in one parameter: a recall's holders ask about a
        # million codes at once, the writer about ~2,500 per message, and SQLAlchemy's IN list,
        # built and expanded value by value, cost twice the query.
        marker = driver_markers(self._engine, 1)
        sql = (
            "SELECT code, shard, seq, event_type, actor, occurred_at FROM code_events "
            f"WHERE code IN ({self._code_list(marker)})"
        )
        if types:
            sql += f" AND event_type IN ({driver_markers(self._engine, len(types))})"
        rows = self._fetch(sql, (self._code_list_value(unique), *types))
        refs = [
            CodeEventRef(code, shard, seq, event_type, actor, _occurred(occurred_at))
            for code, shard, seq, event_type, actor, occurred_at in rows
        ]
        refs.sort(key=lambda r: (r.occurred_at, r.shard, r.seq))
        return refs

    def code_events_under(
        self,
        prefix: str,
        event_types: Collection[str] | None = None,
        *,
        other_than: str | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[CodeEventRef]:
        types = sorted(event_types) if event_types is not None else []
        if event_types is not None and not types:
            return []
        sql = (
            "SELECT code, shard, seq, event_type, actor, occurred_at FROM code_events "
            f"WHERE {self._under()}"
        )
        params: list[Any] = [*_code_range(prefix, limit)]
        if types:
            sql += f" AND event_type IN ({driver_markers(self._engine, len(types))})"
            params += types
        if other_than is not None:
            sql += f" AND actor <> {driver_markers(self._engine, 1)}"
            params.append(other_than)
        if after is not None:
            sql += f" AND code > {driver_markers(self._engine, 1)}"
            params.append(after)
        sql += f" ORDER BY code, shard, seq LIMIT {int(limit)}"
        return [
            CodeEventRef(code, shard, seq, event_type, actor, _occurred(occurred_at))
            for code, shard, seq, event_type, actor, occurred_at in self._fetch(sql, params)
        ]

    def codes_under(self, prefixes: Sequence[str], limit: int) -> list[str]:
        unique = sorted(set(prefixes))
        if not unique:
            return []
        if self._postgres:
            return self._codes_under_lateral(unique, limit)
        found: set[str] = set()
        # One bounded read of the index per prefix, in a UNION: ranges ORed in one WHERE make
        # SQLite scan the whole index.
        for start in range(0, len(unique), _PREFIXES_PER_QUERY):
            part = unique[start : start + _PREFIXES_PER_QUERY]
            branch = (
                f"SELECT DISTINCT code FROM code_events WHERE {self._under()} "
                f"ORDER BY code LIMIT {int(limit)}"
            )
            sql = " UNION ".join(f"SELECT * FROM ({branch}) AS b{n}" for n in range(len(part)))
            params = [bound for prefix in part for bound in _code_range(prefix, limit)]
            found.update(str(c) for (c,) in self._fetch(f"{sql} ORDER BY 1 LIMIT {limit}", params))
        return sorted(found)[:limit]

    def _codes_under_lateral(self, prefixes: list[str], limit: int) -> list[str]:
        """:meth:`codes_under` on PostgreSQL: one bounded index read per prefix, the ranges
        from two arrays joined LATERAL. A UNION of one branch per prefix took PostgreSQL
        ~14 ms to plan for a message's 125 lots; a plain join of the ranges, which it cannot
        tell hold few rows each, scanned the whole code index."""
        marker = driver_markers(self._engine, 1)
        ranges = [_code_range(prefix, limit) for prefix in prefixes]
        sql = (
            f"SELECT c.code FROM unnest(CAST({marker} AS TEXT[]), CAST({marker} AS TEXT[])) "
            "AS r(low, high) CROSS JOIN LATERAL (SELECT DISTINCT code FROM code_events "
            f"WHERE code >= r.low AND code < r.high ORDER BY code LIMIT {int(limit)}) AS c "
            f"ORDER BY 1 LIMIT {int(limit)}"
        )
        rows = self._fetch(sql, ([low for low, _ in ranges], [high for _, high in ranges]))
        return sorted({str(code) for (code,) in rows})[:limit]

    def _under(self) -> str:
        """The condition of :func:`_code_range`'s two parameters on ``code``."""
        marker = driver_markers(self._engine, 1)
        return f"code >= {marker} AND code < {marker}"

    def _code_list(self, marker: str) -> str:
        """A query of one column, ``code``, of the codes bound at ``marker`` (``:name``, or the
        driver's positional marker) as :meth:`_code_list_value`: a JSON list on SQLite, a text
        array on PostgreSQL, one parameter however many codes (past any limit on bound
        parameters)."""
        if self._postgres:
            return f"SELECT unnest(CAST({marker} AS TEXT[])) AS code"
        return f"SELECT value AS code FROM json_each({marker})"

    def _code_list_value(self, codes: list[str]) -> object:
        return codes if self._postgres else json.dumps(codes)

    def edges_from(self, codes: Sequence[str]) -> list[CodeEdge]:
        return self._edges("parent", codes)

    def edges_to(self, codes: Sequence[str]) -> list[CodeEdge]:
        return self._edges("child", codes)

    def _edges(self, column: str, codes: Sequence[str]) -> list[CodeEdge]:
        unique = sorted(dict.fromkeys(codes))  # read in index order (see reach)
        if not unique:
            return []
        # Plain SQL, the codes in one parameter, as in code_events_for: the code graph asks
        # this level by level, the writer for ~1,000 codes a message.
        sql = (
            "SELECT parent, child, kind, shard, seq FROM code_edges "
            f"WHERE {column} IN ({self._code_list(driver_markers(self._engine, 1))})"
        )
        edges = [CodeEdge(*row) for row in self._fetch(sql, (self._code_list_value(unique),))]
        edges.sort(key=lambda e: (e.shard, e.seq))
        return edges

    def reach(
        self,
        start: Sequence[str],
        *,
        upward: bool,
        kinds: Collection[str],
        depth: int,
        rows: int,
        ordered: bool = False,
    ) -> Reached:
        # Sorted, the walk reads the index in order: a million start codes in the order of a
        # Python set read it at random and took three times as long on SQLite.
        unique = sorted(dict.fromkeys(start))  # linear time for codes already sorted
        starting = set(unique)
        kind_list = sorted(kinds)
        if not unique or not kind_list:
            return Reached([], ended=True)
        names = [f"k{n}" for n in range(len(kind_list))]
        walk = self._walk_sql(
            "walk", self._code_list(self._named("start")), upward=upward, kinds=names
        )
        # Each answer row: code, distance, shard and seq of the edge that reached it nearest
        # (ordered only) and how many rows of the walk it stands for (the rows read are counted
        # without a window over the whole answer).
        if ordered:
            answer = """
                SELECT code, depth, shard, seq, rows_of_code FROM (
                    SELECT code, depth, shard, seq,
                           count(*) OVER (PARTITION BY code) AS rows_of_code,
                           row_number() OVER (PARTITION BY code ORDER BY depth, shard, seq) AS n
                    FROM bounded
                ) AS ranked
                WHERE n = 1"""
        else:
            answer = "SELECT code, min(depth), 0, 0, count(*) FROM bounded GROUP BY code"
        # SQLite (3.40) moves the window's sort below the LIMIT unless ``bounded`` is
        # materialized: the LIMIT then kept the first rows by code, not the nearest.
        materialized = "MATERIALIZED" if ordered else ""
        # Rows come out nearest first (each step reads the rows of the one before), so the LIMIT
        # keeps the nearest, and both databases stop walking once it is reached. UNION keeps one
        # row per (code, distance, edge): a cycle ends at ``depth``.
        query = f"""
            WITH RECURSIVE {walk},
            bounded AS {materialized} (
                SELECT code, depth, shard, seq FROM walk LIMIT {self._named("cap")}
            )
            {answer}
            """
        cap = rows + 1
        params = {
            "start": self._code_list_value(unique),
            "depth": depth,
            "cap": cap,
            **dict(zip(names, kind_list, strict=True)),
        }
        # The driver's own rows: a recall's million codes as SQLAlchemy rows cost a second.
        found = self._fetch(query, params)
        read = sum(row[4] for row in found)
        if ordered:
            found.sort(key=lambda r: (r[1], r[2], r[3], r[0]))
        distances = [(row[0], row[1]) for row in found if row[0] not in starting]
        return Reached(distances, ended=read < cap)

    def _walk_sql(
        self, name: str, start: str, *, upward: bool, kinds: Sequence[str], edges: bool = True
    ) -> str:
        """The one walk of ``code_edges`` in SQL: the recursive table ``name``(code, depth[,
        shard, seq]) of the codes reached from those the query ``start`` lists, along the kinds
        bound at ``kinds`` (parameter names), one row per (code, distance[, edge]), at most
        ``:depth`` edges. Without ``edges`` the rows leave out the edge: a million codes reaching
        the same thousand containers are a thousand rows, not a million."""
        near, far = ("child", "parent") if upward else ("parent", "child")
        position = ", e.shard, e.seq" if edges else ""
        step = f"""
            SELECT CAST(e.{far} AS TEXT), {{depth}}{position}
            FROM {{source}} JOIN code_edges AS e ON e.{near} = {{code}}
            WHERE e.kind IN ({", ".join(self._named(n) for n in kinds)})"""
        # The walk starts with the edges of the start codes, not the codes themselves: a million
        # start codes in the walk's own table (kept for UNION) tripled the time of a recall's
        # holders. A start code reached again comes back and is left out by the caller.
        first = step.format(depth="1", source=f"({start}) AS s", code="s.code")
        following = step.format(depth="w.depth + 1", source=f"{name} AS w", code="w.code")
        columns = "code, depth, shard, seq" if edges else "code, depth"
        # UNION keeps one row per (code, distance[, edge]): a cycle ends at ``depth``.
        return f"""{name}({columns}) AS (
                {first}
                UNION
                {following} AND w.depth < {self._named("depth")}
            )"""

    def reach_edges(
        self,
        start: Sequence[str],
        *,
        upward: bool,
        kinds: Collection[str],
        depth: int,
        rows: int,
    ) -> ReachedEdges:
        unique = sorted(dict.fromkeys(start))  # in index order, as in reach
        kind_list = sorted(kinds)
        if not unique:
            return ReachedEdges([], [], ended=True)
        near = "child" if upward else "parent"
        names = [f"k{n}" for n in range(len(kind_list))]
        start_list = self._code_list(self._named("start"))
        if kind_list:
            walk = self._walk_sql("walk", start_list, upward=upward, kinds=names, edges=False)
        else:  # nothing to follow: an empty walk of the same shape
            walk = "walk(code, depth) AS (SELECT '', 0 WHERE 1 = 0)"
        marker = self._named
        if self._postgres:
            # PostgreSQL cannot know how few codes the walk visits (it guessed a thousand for a
            # dozen) and then merged with the whole edge index, ~10 ms a load: a lateral look-up
            # per code (OFFSET 0 keeps it one) reads the index as the walk does.
            beside = f"""CROSS JOIN LATERAL (
                SELECT parent, child, kind, shard, seq FROM code_edges
                WHERE {near} = visited.code OFFSET 0
            ) AS e"""
        else:
            beside = f"JOIN code_edges AS e ON e.{near} = visited.code"
        # One statement: the walk (its first step is one edge away whatever ``depth``, hence
        # the filter), the codes it visited with the start codes, each once, and every edge
        # next to them; a tag tells the rows apart (0: a code, 1: an edge, 2: the walk's rows).
        query = f"""
            WITH RECURSIVE {walk},
            bounded AS MATERIALIZED (
                SELECT code FROM walk WHERE depth <= {marker("depth")} LIMIT {marker("cap")}
            ),
            visited AS MATERIALIZED (
                SELECT code FROM ({start_list}) AS s UNION SELECT code FROM bounded
            )
            SELECT 0, CAST(code AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), 0, 0
            FROM visited
            UNION ALL
            SELECT 1, e.parent, e.child, e.kind, e.shard, e.seq
            FROM visited {beside}
            UNION ALL
            SELECT 2, CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), count(*), 0
            FROM bounded
            """
        cap = rows + 1
        params: dict[str, object] = {
            "start": self._code_list_value(unique),
            "depth": depth,
            "cap": cap,
            **dict(zip(names, kind_list, strict=True)),
        }
        codes: list[str] = []
        edges: list[CodeEdge] = []
        read = 0
        for tag, parent, child, kind, shard, seq in self._fetch(query, params):
            if tag == 0:
                codes.append(parent)
            elif tag == 1:
                edges.append(CodeEdge(parent, child, kind, shard, seq))
            else:
                read = shard
        edges.sort(key=lambda e: (e.shard, e.seq))
        return ReachedEdges(codes, edges, ended=read < cap)

    def reach_events(
        self,
        start: Sequence[str],
        *,
        kinds: Collection[str],
        depth: int,
        rows: int,
        event_types: Collection[str],
        above_kinds: Collection[str],
        above_types: Collection[str],
        codes: bool = True,
    ) -> ReachedEvents:
        unique = sorted(dict.fromkeys(start))  # in index order, as in reach
        kind_list, above_list = sorted(kinds), sorted(above_kinds)
        types, above_types_ = sorted(event_types), sorted(above_types)
        if not unique:
            return ReachedEvents([], 0, 0, [], [], ended=True)
        down = [f"k{n}" for n in range(len(kind_list))]
        up = [f"u{n}" for n in range(len(above_list))]
        wanted = [f"t{n}" for n in range(len(types))]
        wanted_above = [f"a{n}" for n in range(len(above_types_))]

        def listed(names: list[str]) -> str:
            # an empty IN list is an error on PostgreSQL: a NULL matches nothing
            return ", ".join(self._named(n) for n in names) or "NULL"

        start_list = self._code_list(self._named("start"))
        cap_marker = self._named("cap")
        walks = []
        if kind_list:
            walks.append(self._walk_sql("walk", start_list, upward=False, kinds=down))
        else:  # nothing to follow: an empty walk of the same shape
            walks.append("walk(code, depth) AS (SELECT '', 0 WHERE 1 = 0)")
        if above_list:
            scope = "SELECT code FROM scope"
            walks.append(self._walk_sql("above", scope, upward=True, kinds=up, edges=False))
        else:
            walks.append("above(code, depth) AS (SELECT '', 0 WHERE 1 = 0)")
        reached = f"""
                    SELECT code, depth FROM (SELECT code, depth FROM walk LIMIT {cap_marker}) AS b
                    UNION ALL
                    SELECT code, 0 FROM ({start_list}) AS s"""
        if self._postgres:
            joined = "string_agg(code, E'\\n')" if codes else "''"
            # Each code once by sorting, not hashing: PostgreSQL cannot know how many codes a
            # walk reaches, planned a hash for a few hundred, spilled a million to disk in 37
            # batches and sorted them again (2 s of a 1M-unit recall; sorted, under 1 s). The
            # rows read are counted apart.
            each_once = f"""SELECT DISTINCT ON (code) code, depth FROM ({reached}
                ) AS reached
                ORDER BY code, depth"""
            read = f"(SELECT count(*) FROM (SELECT 1 FROM walk LIMIT {cap_marker}) AS r)"
        else:
            joined = "group_concat(code, char(10))" if codes else "''"
            each_once = f"""SELECT code, min(depth) AS depth, sum(depth > 0) AS rows_of_code
                FROM ({reached}
                ) AS reached
                GROUP BY code
                ORDER BY code"""
            read = "sum(rows_of_code)"
        # columns of the same types in every part (PostgreSQL checks): tag, code, event type,
        # actor, shard, seq, time; the summary row's counts stand where the numbers are
        event = "ce.code, ce.event_type, ce.actor, ce.shard, ce.seq, ce.occurred_at"
        # One statement: the walk down, each code once (``scope``: the start codes at distance
        # 0; a code's distance) and the rows of the walk read, the walk up from there
        # to the containers, and the events of both. The scope is in code order, so that both
        # look-ups of a million codes read their indexes in order (on PostgreSQL, in the order
        # of a hash, they took twice as long; SQLite's grouping gives that order anyway). The
        # codes come back as one text, not a million rows: building a million row tuples cost
        # the driver a second.
        query = f"""
            WITH RECURSIVE {walks[0]},
            scope AS MATERIALIZED ({each_once}
            ),
            {walks[1]}
            SELECT 0, {joined}, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
                   count(*), max(depth), CAST({read} AS BIGINT)
            FROM scope
            UNION ALL
            SELECT 1, {event}
            FROM scope JOIN code_events AS ce ON ce.code = scope.code
            WHERE ce.event_type IN ({listed(wanted)})
            UNION ALL
            SELECT 2, {event}
            FROM (SELECT DISTINCT code FROM (SELECT code FROM above LIMIT {cap_marker}) AS b) AS a
            JOIN code_events AS ce ON ce.code = a.code
            WHERE ce.event_type IN ({listed(wanted_above)})
            """
        cap = rows + 1
        params: dict[str, object] = {
            "start": self._code_list_value(unique),
            "depth": depth,
            "cap": cap,
            **dict(zip(down, kind_list, strict=True)),
            **dict(zip(up, above_list, strict=True)),
            **dict(zip(wanted, types, strict=True)),
            **dict(zip(wanted_above, above_types_, strict=True)),
        }
        found = self._fetch(query, params)
        refs: tuple[list[CodeEventRef], list[CodeEventRef]] = ([], [])
        summary: tuple[Any, ...] = ()
        for row in found:
            if row[0] == 0:
                summary = row
            else:
                code, event_type, actor, shard, seq, occurred_at = row[1:]
                ref = CodeEventRef(code, shard, seq, event_type, actor, _occurred(occurred_at))
                refs[row[0] - 1].append(ref)
        _tag, text, _none, _null, count, deepest, read = summary
        for part in refs:
            part.sort(key=lambda r: (r.occurred_at, r.shard, r.seq))
        listed_codes = text.split("\n") if codes and text else []
        if codes and len(listed_codes) != count:  # a code with a line break: never a trace code
            walked = self.reach(unique, upward=False, kinds=kind_list, depth=depth, rows=rows)
            listed_codes = list(dict.fromkeys([*unique, *(code for code, _d in walked.distances)]))
        return ReachedEvents(
            listed_codes, int(count), int(deepest or 0), refs[0], refs[1], ended=int(read) < cap
        )

    def rejections(
        self,
        *,
        actor: str | None = None,
        limit: int = 100,
        reasons: Collection[str] | None = None,
        since: datetime | None = None,
        before: int | None = None,
    ) -> list[StoredRejection]:
        r = t.rejections.c
        query = sa.select(t.rejections).order_by(r.id.desc()).limit(limit)
        if before is not None:
            query = query.where(r.id < before)
        if actor is not None:
            query = query.where(r.actor == actor)
        if reasons is not None:
            query = query.where(r.reason.in_(list(reasons)))
        if since is not None:
            query = query.where(r.rejected_at >= to_micros(since))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            StoredRejection(
                id=row.id,
                rejection=Rejection(
                    source=row.source,
                    reason=row.reason,
                    rule=row.rule,
                    field=row.field,
                    event_id=row.event_id,
                    actor=row.actor,
                    raw=row.raw,
                ),
                shard=row.shard,
                rejected_at=from_micros(row.rejected_at),
            )
            for row in rows
        ]

    def trust_positions(self) -> list[tuple[int, int]]:
        c = t.trust_entries.c
        with self._read() as conn:
            on_trust_shard = sa.case((c.shard == TRUST_SHARD, 1), else_=0)
            rows = conn.execute(
                sa.select(c.shard, c.seq).order_by(
                    on_trust_shard,
                    sa.case((c.shard == TRUST_SHARD, 0), else_=c.recorded_at),
                    c.shard,
                    c.seq,
                )
            ).all()
        return [(int(r.shard), int(r.seq)) for r in rows]

    def repeated_event_ids(self) -> dict[tuple[int, int], tuple[int, int]]:
        e = t.ledger_entries.c
        repeated = sa.select(e.event_id).group_by(e.event_id).having(sa.func.count() > 1)
        query = (
            sa.select(e.event_id, e.shard, e.seq)
            .where(e.event_id.in_(repeated.scalar_subquery()))
            .order_by(e.event_id, e.shard, e.seq)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        first: dict[str, tuple[int, int]] = {}
        later: dict[tuple[int, int], tuple[int, int]] = {}
        for row in rows:
            position = (int(row.shard), int(row.seq))
            if row.event_id in first:
                later[position] = first[row.event_id]
            else:
                first[row.event_id] = position
        return later

    def get_meta(self, name: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(
                sa.select(t.ledger_meta.c.value).where(t.ledger_meta.c.name == name)
            ).scalar()
        return None if value is None else str(value)

    def set_meta(self, name: str, value: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(t.ledger_meta.delete().where(t.ledger_meta.c.name == name))
            conn.execute(t.ledger_meta.insert().values(name=name, value=value))

    def rejection_counts(self) -> dict[str, int]:
        r = t.rejections.c
        with self._read() as conn:
            rows = conn.execute(sa.select(r.reason, sa.func.count()).group_by(r.reason)).all()
        return {str(reason): int(count) for reason, count in rows}


#: Columns written by :meth:`SqlLedgerStore.append`, in the order of the row tuples.
_INSERT_COLUMNS: dict[str, tuple[str, ...]] = {
    "ledger_entries": ("shard", "seq", "event_id", "leaf", "chain_hash"),
    "merkle_nodes": ("shard", "level", "idx", "hash"),
    "code_events": ("code", "shard", "seq", "event_type", "actor", "occurred_at"),
    "code_edges": ("parent", "child", "kind", "shard", "seq"),
    "trust_entries": ("shard", "seq", "recorded_at"),
    "rejections": (
        *("shard", "source", "reason", "field", "rule"),
        *("event_id", "actor", "raw", "rejected_at"),
    ),
}
#: PostgreSQL type of each column type of the tables, which binary COPY must be told exactly.
_PG_BINARY_TYPES = {
    "Integer": "int4",
    "BigInteger": "int8",
    "SmallInteger": "int2",
    "String": "varchar",
    "Text": "text",
    "LargeBinary": "bytea",
}
#: Tables written by one append, in this order.
_APPEND_ORDER = (
    t.ledger_entries,
    t.merkle_nodes,
    t.code_events,
    t.code_edges,
    t.trust_entries,
    t.rejections,
)


def _insert_statement(engine: Engine, table: sa.Table) -> str:
    """``INSERT INTO table (columns) VALUES (markers)`` in the driver's positional style."""
    columns = _INSERT_COLUMNS[table.name]
    markers = driver_markers(engine, len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({markers})"


#: Codes bound by one statement (in a list, or one marker each) past which a PostgreSQL statement
#: is planned for its own values.
_OWN_PLAN_CODES = 64


def _many_codes(params: Sequence[Any] | Mapping[str, Any]) -> bool:
    """Whether ``params`` bind more than :data:`_OWN_PLAN_CODES` codes."""
    values = params.values() if isinstance(params, Mapping) else params
    markers = 0 if isinstance(params, Mapping) else len(params)
    return markers > _OWN_PLAN_CODES or any(
        isinstance(v, list) and len(v) > _OWN_PLAN_CODES for v in values
    )


#: Prefixes read in one statement by ``codes_under`` (SQLite allows 500 SELECTs in a compound).
_PREFIXES_PER_QUERY = 200


def _code_range(prefix: str, limit: int) -> tuple[str, str]:
    """[``prefix``, ``prefix`` with its last character raised by one): every code that starts
    with it, in the code-point order the code index keeps (binary on SQLite, collation "C" on
    PostgreSQL).

    Raises:
        ValueError: ``prefix`` is empty, or ``limit`` is not positive.
    """
    if not prefix or limit < 1:
        raise ValueError("a read of codes by their prefix needs a prefix and a positive limit")
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def driver_markers(engine: Engine, count: int) -> str:
    """``count`` positional parameter markers in the driver's style (``?, ?`` or ``%s, %s``),
    for SQL run with :func:`driver_rows`.

    Raises:
        LedgerError: the driver uses a parameter style not handled here.
    """
    style = engine.dialect.paramstyle
    if style == "qmark":
        return ", ".join("?" * count)
    if style in ("format", "pyformat"):
        return ", ".join(["%s"] * count)
    if style == "numeric":
        return ", ".join(f":{n}" for n in range(1, count + 1))
    raise LedgerError(f"unsupported DBAPI parameter style {style!r}")


def driver_rows(
    conn: Connection,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] = (),
    *,
    prepare: bool | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of one statement in the driver's own SQL (:func:`driver_markers`), run on the
    DBAPI cursor of ``conn``: without SQLAlchemy's statement and result objects, which cost
    more than a point read itself. ``prepare`` is psycopg's (``None``: its own choice); other
    drivers take none.

    Raises:
        sqlalchemy.exc.DBAPIError: the database refused, as SQLAlchemy would raise it.
    """
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        if prepare is None:
            cursor.execute(sql, params)
        else:
            psycopg_cursor: Any = cursor
            psycopg_cursor.execute(sql, params, prepare=prepare)
        return list(cursor.fetchall())
    except dbapi_error as err:
        raise sa.exc.DBAPIError.instance(sql, params, err, dbapi_error) from err
    finally:
        cursor.close()


@dataclass(slots=True)
class _AppendRows:
    """Every row one append writes, as tuples in :data:`_INSERT_COLUMNS` order."""

    recorded_at: int
    ledger_entries: list[tuple[Any, ...]] = field(default_factory=list)
    merkle_nodes: list[tuple[Any, ...]] = field(default_factory=list)
    code_events: list[tuple[Any, ...]] = field(default_factory=list)
    code_edges: list[tuple[Any, ...]] = field(default_factory=list)
    trust_entries: list[tuple[Any, ...]] = field(default_factory=list)
    rejections: list[tuple[Any, ...]] = field(default_factory=list)
    appended: list[tuple[str, int]] = field(default_factory=list)


def _entry_rows(
    shard: int, size: int, chain: bytes, frontier: Frontier, fresh: Sequence[Submission]
) -> tuple[_AppendRows, bytes]:
    """Leaves, chain hashes, Merkle nodes and projections of ``fresh`` from position ``size``;
    ``frontier`` is advanced in place. Returns the rows and the new chain head."""
    micros = to_micros(datetime.now(UTC))
    rows = _AppendRows(micros)
    entries, nodes = rows.ledger_entries, rows.merkle_nodes
    code_rows, edge_rows = rows.code_events, rows.code_edges
    signers: dict[tuple[str, bytes], bytes] = {}
    for seq, sub in enumerate(fresh, start=size):
        event = sub.event
        signer = signers.get((sub.key_id, sub.signature))
        if signer is None:
            signer = signers[(sub.key_id, sub.signature)] = signer_part(sub.key_id, sub.signature)
        leaf = leaf_bytes(
            shard,
            seq,
            micros,
            sub.trust_size,
            signer,
            sub.batch_size,
            sub.batch_index,
            sub.batch_path,
            sub.event_bytes,
        )
        hashed = leaf_hash(leaf)
        chain = chain_next(chain, hashed)
        entries.append((shard, seq, event.event_id, leaf, chain))
        # Level 0 (the leaf hash) is not stored: :meth:`SqlLedgerStore.nodes` hashes the leaf.
        nodes.extend((shard, n.level, n.index, n.hash) for n in frontier.append(hashed)[1:])
        codes, edges = projections_of(event)
        occurred = to_micros(event.occurred_at)
        event_type, actor = event.event_type, event.actor
        code_rows.extend((code, shard, seq, event_type, actor, occurred) for code in codes)
        edge_rows.extend((parent, child, kind, shard, seq) for parent, child, kind in edges)
        if event_type in TRUST_EVENT_TYPES:
            rows.trust_entries.append((shard, seq, micros))
        rows.appended.append((event.event_id, seq))
    return rows, chain


def _stored_event_bytes(conn: Connection, event_ids: Sequence[str]) -> dict[str, bytes]:
    """The signed event bytes stored under each of ``event_ids`` that is in the ledger."""
    unique = list(dict.fromkeys(event_ids))
    found: dict[str, bytes] = {}
    for start in range(0, len(unique), 500):
        part = unique[start : start + 500]
        # In the driver's SQL: SQLAlchemy's expansion of a 500-value IN list cost more than
        # the look-up (~5 % of a per-event-signed write).
        sql = (
            "SELECT event_id, leaf FROM ledger_entries "
            f"WHERE event_id IN ({driver_markers(conn.engine, len(part))})"
        )
        found.update(
            (event_id, Leaf.from_bytes(bytes(leaf)).event)
            for event_id, leaf in driver_rows(conn, sql, part)
        )
    return found


def _leaves(conn: Connection, shard: int, seqs: list[int]) -> Iterator[tuple[int, bytes]]:
    """(seq, leaf) of the entries at ``seqs`` of ``shard`` that exist."""
    e = t.ledger_entries.c
    for start in range(0, len(seqs), 500):
        query = sa.select(e.seq, e.leaf).where(
            e.shard == shard, e.seq.in_(seqs[start : start + 500])
        )
        for row in conn.execute(query):
            yield int(row.seq), bytes(row.leaf)


#: Bounds of :func:`_occurred`, in microseconds since the epoch.
_FIRST_MOMENT = datetime.min.replace(tzinfo=UTC)
_LAST_MOMENT = datetime.max.replace(tzinfo=UTC)
_MICROS_RANGE = (to_micros(_FIRST_MOMENT), to_micros(_LAST_MOMENT))


def _occurred(micros: int) -> datetime:
    """The indexed time of an event. An entry stored before event times were bounded may lie
    outside what a UTC datetime holds (year 1 at +14:00): it reads as the first or last
    moment instead of failing every reader of its code."""
    if micros < _MICROS_RANGE[0]:
        return _FIRST_MOMENT
    if micros > _MICROS_RANGE[1]:
        return _LAST_MOMENT
    return from_micros(micros)


def _rejection_row(shard: int | None, rejection: Rejection, micros: int) -> tuple[Any, ...]:
    return (
        shard,
        rejection.source[:256],
        rejection.reason[:64],
        rejection.field[:256] if rejection.field else None,
        rejection.rule,
        rejection.event_id[:64] if rejection.event_id else None,
        rejection.actor[:64] if rejection.actor else None,
        rejection.raw[:_MAX_RAW] if rejection.raw is not None else None,
        micros,
    )
