"""Stop storing level 0 of the Merkle trees: leaf hashes are hashed from the stored leaves.

``merkle_nodes`` kept one row per entry repeating SHA-256(0x00 ‖ leaf); proofs read at most a
few of them, so the store now hashes those from ``ledger_entries.leaf`` (design.md §6, §10:
bytes and inserts per event). The downgrade writes them back from the leaves.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_CHUNK = 2000


def upgrade() -> None:
    op.execute("DELETE FROM merkle_nodes WHERE level = 0")


def downgrade() -> None:
    conn = op.get_bind()
    entries = sa.table("ledger_entries", sa.column("shard"), sa.column("seq"), sa.column("leaf"))
    nodes = sa.table(
        "merkle_nodes", sa.column("shard"), sa.column("level"), sa.column("idx"), sa.column("hash")
    )
    last: tuple[int, int] = (-1, -1)
    while True:
        rows = conn.execute(
            sa.select(entries.c.shard, entries.c.seq, entries.c.leaf)
            .where(sa.tuple_(entries.c.shard, entries.c.seq) > sa.tuple_(*last))
            .order_by(entries.c.shard, entries.c.seq)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        conn.execute(
            nodes.insert(),
            [
                {
                    "shard": row.shard,
                    "level": 0,
                    "idx": row.seq,
                    "hash": hashlib.sha256(b"\x00" + bytes(row.leaf)).digest(),
                }
                for row in rows
            ],
        )
        last = (rows[-1].shard, rows[-1].seq)
