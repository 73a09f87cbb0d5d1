"""Organisations' own contact telephones (联系方式), prefilled on the certificates they issue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "organisation_contacts",
        sa.Column("organisation", sa.String(18), primary_key=True),
        sa.Column("contact", sa.String(64), nullable=False),
        sa.Column("updated_at", BigInt, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("organisation_contacts")
