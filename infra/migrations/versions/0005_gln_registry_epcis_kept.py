"""GS1 identifiers of the organisations' places and parties, and the EPCIS members of captured
events that our events do not hold (docs/epcis.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gln_registry",
        sa.Column("gln", sa.String(13), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("organisation", sa.String(18), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("registered_at", BigInt, nullable=False),
    )
    op.create_index("ix_gln_registry_organisation", "gln_registry", ["organisation"])
    op.create_table(
        "epcis_kept_members",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_hash", sa.String(128), nullable=False),
        sa.Column("members", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("epcis_kept_members")
    op.drop_index("ix_gln_registry_organisation", "gln_registry")
    op.drop_table("gln_registry")
