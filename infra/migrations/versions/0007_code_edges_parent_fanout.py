"""PostgreSQL plans walks down the code graph for about ten children a code, not a hundred.

PostgreSQL estimates how many distinct values a column holds from a sample of its rows. On
``code_edges.parent`` most parents (cases) hold a few codes and a few (pallets, lots cut into
thousands of pieces) hold thousands, and the sample's estimate came out 16 times too low on the
10M-event benchmark ledger: 310,371 parents where there are 5,002,011, so 100 children a parent
instead of 6.2. Every walk down the graph was planned for that many rows a level, and the
recursive walk's check for rows it already has (a hash table PostgreSQL sizes from the
estimate: 334,310 rows for a case of six units) cost 1.3 ms of the 1.6 ms a regulator's trace
spent walking forward. ``n_distinct = -0.1`` (one parent for every ten edges) replaces the
sample's figure; a ratio, it holds as the ledger grows. ANALYZE applies it.

SQLite plans these walks from its indexes alone; there is nothing to change there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Distinct parents per edge, as PostgreSQL's ``n_distinct`` takes a ratio (negative).
PARENTS_PER_EDGE = -0.1


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE code_edges ALTER COLUMN parent SET (n_distinct = {PARENTS_PER_EDGE})")
    op.execute("ANALYZE code_edges")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE code_edges ALTER COLUMN parent RESET (n_distinct)")
    op.execute("ANALYZE code_edges")
