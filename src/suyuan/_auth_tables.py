"""Tables of the HTTP side (design.md §5, §8): API tokens, custodial signing keys, the
organisations' own contact telephones, their GS1 identifiers (GLNs of places and parties) and
the EPCIS members of captured events that our events do not hold.

They live outside the ledger proper (nothing here is hashed or proven) but in the same database
and on the same SQLAlchemy ``metadata`` as the ledger's tables, so that one Alembic history
(``infra/migrations``, revisions ``0002``, ``0004`` and ``0005``) manages them all.
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

#: GS1 identifiers of the organisations' places (GLN, AI 414) and of the organisations
#: themselves (party GLN, AI 417), registered by an admin (``suyuan.places``): an EPCIS event
#: names places and parties only by them. A GLN is one organisation's.
gln_registry = sa.Table(
    "gln_registry",
    metadata,
    sa.Column("gln", sa.String(13), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("organisation", sa.String(18), nullable=False),
    sa.Column("region_code", sa.String(6), nullable=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("address", sa.String(500), nullable=True),
    sa.Column("registered_at", BigInt, nullable=False),
    sa.Index("ix_gln_registry_organisation", "organisation"),
)

#: The members of a captured EPCIS event that its event in the ledger does not hold, as sent
#: (``suyuan.epcis``): the export puts them back, so the event exports with the hash it was
#: captured with. Keyed by our event id, which derives from that hash.
epcis_kept_members = sa.Table(
    "epcis_kept_members",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("event_hash", sa.String(128), nullable=False),
    sa.Column("members", sa.Text, nullable=False),
)
