"""API tokens and custodial signing keys of the HTTP capture API.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("organisation", sa.String(18), nullable=True),
        sa.Column("region", sa.String(6), nullable=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", BigInt, nullable=False),
        sa.Column("revoked_at", BigInt, nullable=True),
    )
    op.create_table(
        "custodial_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("organisation", sa.String(18), nullable=False),
        sa.Column("encrypted_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", BigInt, nullable=False),
    )
    op.create_index(
        "ix_custodial_keys_organisation", "custodial_keys", ["organisation", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_custodial_keys_organisation", table_name="custodial_keys")
    op.drop_table("custodial_keys")
    op.drop_table("api_tokens")
