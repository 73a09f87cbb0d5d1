"""The ledger: shards, entries, Merkle nodes, checkpoints, projections, rejections, pseudonyms.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shards",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", BigInt, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.Column("chain_head", sa.LargeBinary(32), nullable=False),
        sa.Column("consumer_offset", BigInt, nullable=True),
        sa.Column("duplicates", BigInt, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", BigInt, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("leaf", sa.LargeBinary, nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", BigInt, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", BigInt, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", BigInt, nullable=False),
    )
    op.create_table(
        "code_events",
        sa.Column("code", sa.String(512), nullable=False),
        sa.Column("shard", sa.Integer, nullable=False),
        sa.Column("seq", BigInt, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(18), nullable=False),
        sa.Column("occurred_at", BigInt, nullable=False),
    )
    op.create_index("ix_code_events_code", "code_events", ["code", "occurred_at"])
    op.create_table(
        "code_edges",
        sa.Column("parent", sa.String(512), nullable=False),
        sa.Column("child", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("shard", sa.Integer, nullable=False),
        sa.Column("seq", BigInt, nullable=False),
    )
    op.create_index("ix_code_edges_parent", "code_edges", ["parent"])
    op.create_index("ix_code_edges_child", "code_edges", ["child"])
    op.create_table(
        "trust_entries",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", BigInt, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", BigInt, nullable=False),
    )
    op.create_table(
        "ledger_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "rejections",
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
    )
    op.create_index("ix_rejections_actor", "rejections", ["actor"])
    op.create_table(
        "pseudonym_map",
        sa.Column("pseudonym", sa.String(80), primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("created_at", BigInt, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "pseudonym_map", "rejections", "ledger_meta", "trust_entries", "code_edges", "code_events", "checkpoints",
        "merkle_nodes", "ledger_entries", "shards",
    ):
        op.drop_table(table)
