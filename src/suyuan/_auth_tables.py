"""Tables of the HTTP side (design.md §5, §8): API tokens, custodial signing keys and the
organisations' own contact telephones.

They live outside the ledger proper (nothing here is hashed or proven) but in the same database
and on the same SQLAlchemy ``metadata`` as the ledger's tables, so that one Alembic history
(``infra/migrations``, revisions ``0002`` and ``0004``) manages them all.
"""

from __future__ import annotations

import sqlalchemy as sa

from suyuan.ledger import BigInt, metadata

#: API tokens. Only the SHA-256 of a token is stored; the token itself is shown once.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("organisation", sa.String(18), nullable=True),
    sa.Column("region", sa.String(6), nullable=True),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("created_at", BigInt, nullable=False),
    sa.Column("revoked_at", BigInt, nullable=True),
)

#: Organisations' custodial Ed25519 keys, AES-256-GCM encrypted under the custody master key.
custodial_keys = sa.Table(
    "custodial_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("organisation", sa.String(18), nullable=False),
    sa.Column("encrypted_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", BigInt, nullable=False),
    sa.Index("ix_custodial_keys_organisation", "organisation", "created_at"),
)

#: Each organisation's own 联系方式, set by the organisation (``suyuan.contacts``): what a new
#: certificate prints when its issuer gives none. Not a trust event: the regulator registers who
#: an organisation is; the organisation keeps its telephone current, and each certificate signs
#: the one it prints into the ledger.
organisation_contacts = sa.Table(
    "organisation_contacts",
    metadata,
    sa.Column("organisation", sa.String(18), primary_key=True),
    sa.Column("contact", sa.String(64), nullable=False),
    sa.Column("updated_at", BigInt, nullable=False),
)
