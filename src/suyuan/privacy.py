"""Personal data stays out of the ledger (design.md §6).

A vaccine recipient appears in the ledger only as a **keyed pseudonym**:
``rp1:`` + base32(HMAC-SHA256(secret, normalised subject id))[:32]. Without the secret, the
pseudonym reveals nothing and cannot be recomputed from a guessed ID number. The mapping back to
the person lives in ``pseudonym_map``, a table outside the hashed ledger; erasing a row (right to
erasure) leaves every leaf, chain hash, Merkle node and checkpoint untouched, so every proof still
verifies while the ledger no longer links to the person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from suyuan.errors import InvalidInputError
from suyuan.ledger import pseudonym_map, to_micros

PSEUDONYM_PREFIX = "rp1:"
_MIN_SECRET = 32


def _normalise(subject: str) -> str:
    text = unicodedata.normalize("NFKC", subject).strip().upper()
    if not text:
        raise InvalidInputError("subject", subject, "must not be empty")
    return text


def keyed_pseudonym(secret: bytes, subject: str) -> str:
    """``rp1:`` + base32(HMAC-SHA256(secret, normalised subject))[:32], lower case.

    Raises:
        InvalidInputError: ``subject`` is empty (field ``subject``).
    """
    digest = hmac.new(secret, _normalise(subject).encode(), hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + base64.b32encode(digest).decode("ascii")[:32].lower()


class PseudonymRegistry:
    """Issues keyed pseudonyms and keeps the erasable pseudonym → subject mapping."""

    def __init__(self, engine: Engine, secret: bytes) -> None:
        """Raises: ValueError if ``secret`` is shorter than 32 bytes."""
        if len(secret) < _MIN_SECRET:
            raise ValueError(f"pseudonym secret must be at least {_MIN_SECRET} bytes")
        self._engine = engine
        self._secret = secret

    def pseudonym(self, subject: str) -> str:
        """The pseudonym of ``subject`` (same subject, same secret → same pseudonym).

        Raises:
            InvalidInputError: ``subject`` is empty (field ``subject``).
        """
        return keyed_pseudonym(self._secret, subject)

    def register(self, subject: str) -> str:
        """Pseudonymise ``subject`` and remember who it is (outside the ledger)."""
        value = self.pseudonym(subject)
        with self._engine.begin() as conn:
            exists = conn.execute(
                sa.select(pseudonym_map.c.pseudonym).where(pseudonym_map.c.pseudonym == value)
            ).first()
            if exists is None:
                conn.execute(
                    pseudonym_map.insert().values(
                        pseudonym=value,
                        subject=_normalise(subject),
                        created_at=to_micros(datetime.now(UTC)),
                    )
                )
        return value

    def resolve(self, pseudonym: str) -> str | None:
        """Who a pseudonym stands for, or ``None`` (never registered, or erased)."""
        with self._engine.connect() as conn:
            value = conn.execute(
                sa.select(pseudonym_map.c.subject).where(pseudonym_map.c.pseudonym == pseudonym)
            ).scalar()
        return None if value is None else str(value)

    def erase(self, pseudonym: str) -> bool:
        """Forget who a pseudonym stands for. Returns whether a mapping was erased."""
        with self._engine.begin() as conn:
            result = conn.execute(
                pseudonym_map.delete().where(pseudonym_map.c.pseudonym == pseudonym)
            )
        return bool(result.rowcount)
