"""Code columns compare by code point on PostgreSQL (collation ``"C"``), as on SQLite.

The units of a GS1 lot are found by their canonical text's prefix (docs/codes.md, "Lots and
their units"), an indexed range read that is only complete when the index orders codes by code
point. A database created with a language collation (en_US.UTF-8, say) orders them otherwise —
glibc's ignores the parentheses of GS1 text at the first level — and a range read would miss
units. SQLite compares text as bytes already, so there is nothing to change there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CODE_COLUMNS = (("code_events", "code"), ("code_edges", "parent"), ("code_edges", "child"))


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _CODE_COLUMNS:
        # The type is unchanged, so PostgreSQL keeps the rows and rebuilds the column's indexes.
        op.alter_column(table, column, type_=sa.String(512, collation=collation))
    # ALTER COLUMN ... TYPE forgets the columns' statistics: without them the planner reads a
    # list of codes by scanning the table (seconds a query on a ledger of millions of events)
    # until autovacuum gets round to it.
    for table in dict.fromkeys(table for table, _column in _CODE_COLUMNS):
        op.execute(f"ANALYZE {table}")


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate(None)
