"""The ledger's tables (SQLAlchemy Core). Alembic migrations in ``infra/migrations`` create them.

Only ``ledger_entries`` (the leaves) and ``merkle_nodes`` are the ledger proper; everything else
is a projection or bookkeeping written in the same transaction and checked by ``suyuan verify``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: A trace code's canonical text, compared by code point on every backend so that the units of a
#: GS1 lot are one index range (migration 0006; SQLite compares text as bytes already).
Code = sa.String(512).with_variant(sa.String(512, collation="C"), "postgresql")

#: One row per shard: the tree head, the chain head and the Kafka offset committed with them.
shards = sa.Table(
    "shards",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", BigInt, nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),
    sa.Column("chain_head", sa.LargeBinary(32), nullable=False),
    sa.Column("consumer_offset", BigInt, nullable=True),
    sa.Column("duplicates", BigInt, nullable=False),
)

#: The leaves. ``leaf`` is exactly what is hashed; the other columns are derived for lookups.
ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", BigInt, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("leaf", sa.LargeBinary, nullable=False),
    sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
)

#: Perfect-subtree hashes of each shard's Merkle tree from level 1 up; never updated. Level 0,
#: the leaf hashes, is not stored (migration 0003): a proof reads at most a few of them, and
#: hashes them from ``ledger_entries.leaf``.
merkle_nodes = sa.Table(
    "merkle_nodes",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", BigInt, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

#: Signed checkpoints (C2SP tlog-checkpoint notes), one per shard and size.
checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", BigInt, primary_key=True, autoincrement=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", BigInt, nullable=False),
)

#: Projection: which events are about which code (design.md §7).
code_events = sa.Table(
    "code_events",
    metadata,
    sa.Column("code", Code, nullable=False),
    sa.Column("shard", sa.Integer, nullable=False),
    sa.Column("seq", BigInt, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(18), nullable=False),
    sa.Column("occurred_at", BigInt, nullable=False),
    sa.Index("ix_code_events_code", "code", "occurred_at"),
)

#: Projection: edges between codes (aggregation, transformation, certificate lineage).
code_edges = sa.Table(
    "code_edges",
    metadata,
    sa.Column("parent", Code, nullable=False),
    sa.Column("child", Code, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("shard", sa.Integer, nullable=False),
    sa.Column("seq", BigInt, nullable=False),
    sa.Index("ix_code_edges_parent", "parent"),
    sa.Index("ix_code_edges_child", "child"),
)

#: Projection: positions of trust events (design.md §5), replayed in ledger order to rebuild the
#: trust store without reading the whole ledger; the audit checks it is complete.
trust_entries = sa.Table(
    "trust_entries",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", BigInt, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", BigInt, nullable=False),
)

#: Configuration fixed at ``suyuan ledger init``: the ledger's checkpoint verifier key and the
#: regulator root keys. Auditors may (and should) pass their own copies instead.
ledger_meta = sa.Table(
    "ledger_meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

#: Everything that did not enter the ledger, with a machine-readable reason (design.md §6).
rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("shard", sa.Integer, nullable=True),
    sa.Column("source", sa.String(256), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("field", sa.String(256), nullable=True),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("event_id", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(64), nullable=True),
    sa.Column("raw", sa.LargeBinary, nullable=True),
    sa.Column("rejected_at", BigInt, nullable=False),
    sa.Index("ix_rejections_actor", "actor"),
)

#: Pseudonym → person mapping for vaccine recipients. Outside the ledger: erasable (design.md §6).
pseudonym_map = sa.Table(
    "pseudonym_map",
    metadata,
    sa.Column("pseudonym", sa.String(80), primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("created_at", BigInt, nullable=False),
)
