"""SQLAlchemy implementation of :class:`LedgerStore`: SQLite (WAL, embedded) and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from suyuan.events.model import TRUST_EVENT_TYPES
from suyuan.ledger import _tables as t
from suyuan.ledger._interface import (
    AppendResult,
    CodeEdge,
    CodeEventRef,
    EntryNotFoundError,
    LedgerError,
    LedgerStore,
    OffsetCommit,
    Rejection,
    ShardHead,
    StaleWriterError,
    StoredCheckpoint,
    StoredEntry,
    StoredRejection,
    Submission,
)
from suyuan.ledger._leaf import Leaf, from_micros, to_micros
from suyuan.ledger._projections import codes_of, edges_of
from suyuan.merkle import Frontier, leaf_hash

#: chain_{-1}: the chain starts from 32 zero bytes.
GENESIS_CHAIN = bytes(32)
_READ_CHUNK = 2000
_MAX_RAW = 4096  # bytes of a rejected message kept for the producer to look at


def chain_next(previous: bytes, leaf_hash_: bytes) -> bytes:
    """chain_i = SHA-256(chain_{i-1} || leaf_hash_i) (design §6)."""
    return hashlib.sha256(previous + leaf_hash_).digest()


def create_ledger_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings the ledger relies on.

    SQLite: WAL journal, and ``BEGIN IMMEDIATE`` so that a writer takes the write lock before
    reading the shard head (two writers never both read the same head).
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class SqlLedgerStore(LedgerStore):
    """The ledger in a SQL database through SQLAlchemy Core.

    The schema must exist (``suyuan.ledger.migrate(url)`` runs the Alembic migrations).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @classmethod
    def from_url(cls, url: str) -> SqlLedgerStore:
        return cls(create_ledger_engine(url))

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    # --- append ---------------------------------------------------------------------------

    def append(
        self,
        shard: int,
        submissions: Sequence[Submission],
        *,
        rejections: Sequence[Rejection] = (),
        offset: OffsetCommit | None = None,
    ) -> AppendResult:
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
        chain = row.chain_head
        size = row.size
        recorded_at = datetime.now(UTC)
        micros = to_micros(recorded_at)
        entry_rows: list[dict[str, Any]] = []
        node_rows: list[dict[str, Any]] = []
        code_rows: list[dict[str, Any]] = []
        edge_rows: list[dict[str, Any]] = []
        trust_rows: list[dict[str, Any]] = []
        appended: list[tuple[str, int]] = []
        for seq, sub in enumerate(fresh, start=size):
            leaf = Leaf(
                shard=shard,
                seq=seq,
                recorded_at=recorded_at,
                key_id=sub.key_id,
                signature=sub.signature,
                batch_size=sub.batch_size,
                batch_index=sub.batch_index,
                batch_path=sub.batch_path,
                event=sub.event_bytes,
            ).to_bytes()
            hashed = leaf_hash(leaf)
            chain = chain_next(chain, hashed)
            entry_rows.append(
                {
                    "shard": shard,
                    "seq": seq,
                    "event_id": sub.event.event_id,
                    "leaf": leaf,
                    "chain_hash": chain,
                }
            )
            node_rows.extend(
                {"shard": shard, "level": n.level, "idx": n.index, "hash": n.hash}
                for n in frontier.append(hashed)
            )
            occurred = to_micros(sub.event.occurred_at)
            code_rows.extend(
                {
                    "code": code,
                    "shard": shard,
                    "seq": seq,
                    "event_type": sub.event.event_type,
                    "actor": sub.event.actor,
                    "occurred_at": occurred,
                }
                for code in codes_of(sub.event)
            )
            edge_rows.extend(
                {"parent": parent, "child": child, "kind": kind, "shard": shard, "seq": seq}
                for parent, child, kind in edges_of(sub.event)
            )
            if sub.event.event_type in TRUST_EVENT_TYPES:
                trust_rows.append({"shard": shard, "seq": seq, "recorded_at": micros})
            appended.append((sub.event.event_id, seq))
        for table, rows in (
            (t.ledger_entries, entry_rows),
            (t.merkle_nodes, node_rows),
            (t.code_events, code_rows),
            (t.code_edges, edge_rows),
            (t.trust_entries, trust_rows),
            (t.rejections, [_rejection_row(shard, r, micros) for r in rejections]),
        ):
            if rows:
                conn.execute(table.insert(), rows)
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
            appended=tuple(appended),
            duplicates=tuple(duplicates),
            size=frontier.size,
            root=frontier.root(),
        )

    def add_rejections(self, rejections: Sequence[Rejection]) -> None:
        if not rejections:
            return
        micros = to_micros(datetime.now(UTC))
        rows = [{**_rejection_row(0, r, micros), "shard": None} for r in rejections]
        with self._engine.begin() as conn:
            conn.execute(t.rejections.insert(), rows)

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
        ids = [s.event.event_id for s in submissions]
        stored: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            stored.update(
                conn.execute(
                    sa.select(t.ledger_entries.c.event_id).where(
                        t.ledger_entries.c.event_id.in_(chunk)
                    )
                ).scalars()
            )
        fresh: list[Submission] = []
        duplicates: list[str] = []
        for sub in submissions:
            event_id = sub.event.event_id
            if event_id in stored:
                duplicates.append(event_id)
            else:
                stored.add(event_id)
                fresh.append(sub)
        return fresh, duplicates

    # --- reads ------------------------------------------------------------------------------

    def head(self, shard: int) -> ShardHead:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.shards).where(t.shards.c.shard == shard)).first()
        if row is None:
            empty = Frontier()
            return ShardHead(shard, 0, empty.root(), GENESIS_CHAIN, None, 0)
        return ShardHead(
            shard=shard,
            size=row.size,
            root=Frontier.from_bytes(row.frontier).root(),
            chain_head=row.chain_head,
            consumer_offset=row.consumer_offset,
            duplicates=row.duplicates,
        )

    def shard_ids(self) -> list[int]:
        with self._engine.connect() as conn:
            return list(conn.execute(sa.select(t.shards.c.shard).order_by("shard")).scalars())

    def consumer_offset(self, shard: int) -> int | None:
        return self.head(shard).consumer_offset

    def entries(self, shard: int, start: int = 0, end: int | None = None) -> Iterator[StoredEntry]:
        # Keyset pagination: bounded memory, and rows are read in seq order even if gaps exist.
        after = start - 1
        while True:
            query = (
                sa.select(t.ledger_entries)
                .where(t.ledger_entries.c.shard == shard, t.ledger_entries.c.seq > after)
                .order_by(t.ledger_entries.c.seq)
                .limit(_READ_CHUNK)
            )
            if end is not None:
                query = query.where(t.ledger_entries.c.seq < end)
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield StoredEntry(row.shard, row.seq, row.event_id, row.leaf, row.chain_hash)
            if len(rows) < _READ_CHUNK:
                return
            after = rows[-1].seq

    def entry(self, shard: int, seq: int) -> StoredEntry:
        with self._engine.connect() as conn:
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
        wanted = list(dict.fromkeys(positions))
        e = t.ledger_entries.c
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(t.ledger_entries).where(
                        sa.tuple_(e.shard, e.seq).in_(wanted[start : start + 500])
                    )
                ).all()
                for row in rows:
                    found[(row.shard, row.seq)] = StoredEntry(
                        row.shard, row.seq, row.event_id, row.leaf, row.chain_hash
                    )
        return found

    def locate(self, event_id: str) -> tuple[int, int]:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.ledger_entries.c.shard, t.ledger_entries.c.seq).where(
                    t.ledger_entries.c.event_id == event_id
                )
            ).first()
        if row is None:
            raise EntryNotFoundError(f"no ledger entry has event id {event_id!r}")
        return int(row.shard), int(row.seq)

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
        # One SELECT per level, each a primary-key lookup (SQLite would otherwise read every
        # node of the shard for a row-value IN list or an OR of levels).
        query = sa.union_all(
            *(
                sa.select(n.level, n.idx, n.hash).where(
                    n.shard == shard, n.level == level, n.idx.in_(idxs)
                )
                for level, idxs in by_level.items()
            )
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return {(int(r.level), int(r.idx)): bytes(r.hash) for r in rows}

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

    def checkpoints(self, shard: int) -> list[StoredCheckpoint]:
        c = t.checkpoints.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.checkpoints).where(c.shard == shard).order_by(c.size)
            ).all()
        return [StoredCheckpoint(r.shard, r.size, r.note, from_micros(r.created_at)) for r in rows]

    def code_events(self, code: str) -> list[CodeEventRef]:
        return self.code_events_for([code])

    def code_events_for(self, codes: Sequence[str]) -> list[CodeEventRef]:
        c = t.code_events.c
        refs: list[CodeEventRef] = []
        unique = list(dict.fromkeys(codes))
        with self._engine.connect() as conn:
            for start in range(0, len(unique), 500):
                rows = conn.execute(
                    sa.select(t.code_events).where(c.code.in_(unique[start : start + 500]))
                ).all()
                refs.extend(
                    CodeEventRef(
                        r.code, r.shard, r.seq, r.event_type, r.actor, from_micros(r.occurred_at)
                    )
                    for r in rows
                )
        refs.sort(key=lambda r: (r.occurred_at, r.shard, r.seq))
        return refs

    def edges_from(self, codes: Sequence[str]) -> list[CodeEdge]:
        return self._edges(t.code_edges.c.parent, codes)

    def edges_to(self, codes: Sequence[str]) -> list[CodeEdge]:
        return self._edges(t.code_edges.c.child, codes)

    def _edges(self, column: sa.ColumnElement[str], codes: Sequence[str]) -> list[CodeEdge]:
        unique = list(dict.fromkeys(codes))
        edges: list[CodeEdge] = []
        with self._engine.connect() as conn:
            for start in range(0, len(unique), 500):
                rows = conn.execute(
                    sa.select(t.code_edges).where(column.in_(unique[start : start + 500]))
                ).all()
                edges.extend(CodeEdge(r.parent, r.child, r.kind, r.shard, r.seq) for r in rows)
        edges.sort(key=lambda e: (e.shard, e.seq))
        return edges

    def rejections(self, *, actor: str | None = None, limit: int = 100) -> list[StoredRejection]:
        r = t.rejections.c
        query = sa.select(t.rejections).order_by(r.id.desc()).limit(limit)
        if actor is not None:
            query = query.where(r.actor == actor)
        with self._engine.connect() as conn:
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
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.shard, c.seq).order_by(c.recorded_at, c.shard, c.seq)
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
        with self._engine.connect() as conn:
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
        with self._engine.connect() as conn:
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
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(r.reason, sa.func.count()).group_by(r.reason)).all()
        return {str(reason): int(count) for reason, count in rows}


def _rejection_row(shard: int, rejection: Rejection, micros: int) -> dict[str, Any]:
    return {
        "shard": shard,
        "source": rejection.source[:256],
        "reason": rejection.reason[:64],
        "field": rejection.field[:256] if rejection.field else None,
        "rule": rejection.rule,
        "event_id": rejection.event_id[:64] if rejection.event_id else None,
        "actor": rejection.actor[:64] if rejection.actor else None,
        "raw": rejection.raw[:_MAX_RAW] if rejection.raw is not None else None,
        "rejected_at": micros,
    }
