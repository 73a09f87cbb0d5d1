"""API tokens and their callers (design.md §8: roles public, producer, regulator, admin).

A token is ``sy_`` followed by 32 URL-safe random characters (192 bits). It is shown once, when
it is made; the database keeps only its SHA-256, so a copy of the database grants nothing.

- :func:`create_token` makes a token for a :class:`Role`: a ``producer`` speaks for one
  organisation (its USCC), a ``regulator`` for one region (GB/T 2260 code), an ``admin`` for all.
  Callers without a token are ``public`` (:data:`PUBLIC`) and need no token.
- :func:`authenticate` turns a presented token into a :class:`Principal` or raises
  :class:`AuthError`; :func:`revoke_token` ends a token for good.

Tokens are never logged and never stored in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.engine import Engine

from suyuan._auth_tables import api_tokens
from suyuan.codes import validate_uscc
from suyuan.errors import InvalidInputError, SuyuanError
from suyuan.ledger import driver_markers, driver_rows

TOKEN_PREFIX = "sy_"
#: 24 random bytes are 32 URL-safe base64 characters.
_TOKEN_BYTES = 24
_TOKEN_FORMAT = re.compile(r"sy_[A-Za-z0-9_-]{32}")
_REGION_FORMAT = re.compile(r"[1-9][0-9]{5}")
_MAX_LABEL = 200


class Role(StrEnum):
    """What a caller may do (design.md §8)."""

    PUBLIC = "public"
    PRODUCER = "producer"
    REGULATOR = "regulator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request speaks for: a role, and the organisation (producer) or region (regulator)."""

    role: Role
    organisation: str | None = None
    region: str | None = None


#: A caller without a token.
PUBLIC = Principal(Role.PUBLIC)


class AuthError(SuyuanError):
    """A presented token is malformed, unknown or revoked.

    ``reason`` is machine-readable: ``malformed_token``, ``unknown_token`` or ``revoked_token``.
    The message never contains the token.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def token_hash(token: str) -> str:
    """The stored form of a token: lowercase hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    engine: Engine,
    role: Role | str,
    *,
    organisation: str | None = None,
    region: str | None = None,
    label: str | None = None,
) -> str:
    """Make a token for ``role`` and return it; this is the only time it is ever shown.

    A producer token needs ``organisation`` (a USCC), a regulator token ``region`` (a 6-digit
    GB/T 2260 code); an admin token takes neither. ``label`` is a note for operators.

    Raises:
        InvalidInputError: naming ``role``, ``organisation``, ``region`` or ``label`` and the rule.
        CodeError: ``organisation`` is not a valid USCC.
    """
    checked_role = _token_role(role)
    organisation, region = _scope(checked_role, organisation, region)
    if label is not None and (len(label) > _MAX_LABEL or not label.isprintable()):
        raise InvalidInputError(
            "label", label, f"at most {_MAX_LABEL} printable characters, no line breaks"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                token_hash=token_hash(token),
                role=checked_role.value,
                organisation=organisation,
                region=region,
                label=label,
                created_at=_now_micros(),
                revoked_at=None,
            )
        )
    return token


def authenticate(engine: Engine, token: str) -> Principal:
    """The principal a presented token stands for.

    Raises:
        AuthError: ``malformed_token`` (not ``sy_`` + 32 URL-safe characters),
            ``unknown_token`` or ``revoked_token``.
    """
    stored = _find(engine, token)
    if stored.revoked:
        raise AuthError("revoked_token", "the token was revoked")
    return stored.principal


def revoke_token(engine: Engine, token: str) -> Principal:
    """Revoke a token for good and return whom it stood for.

    Raises:
        AuthError: the token is malformed, unknown or already revoked (``revoked_token``).
    """
    stored = _find(engine, token)
    with engine.begin() as conn:
        updated = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.token_hash == stored.hash, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now_micros())
        )
    if updated.rowcount != 1:
        raise AuthError("revoked_token", "the token was already revoked")
    return stored.principal


@dataclass(frozen=True, slots=True)
class _StoredToken:
    hash: str
    principal: Principal
    revoked: bool


def _find(engine: Engine, token: str) -> _StoredToken:
    if not _TOKEN_FORMAT.fullmatch(token):
        raise AuthError("malformed_token", "a token is 'sy_' followed by 32 URL-safe characters")
    wanted = token_hash(token)
    # Through the driver: SQLAlchemy's statement and result objects cost twice the round trip
    # (a token check is asked of every authenticated request).
    sql = (
        "SELECT token_hash, role, organisation, region, revoked_at FROM api_tokens "
        f"WHERE token_hash = {driver_markers(engine, 1)}"
    )
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # One statement needs no transaction: no BEGIN and COMMIT, each a round trip (a
            # token check took four), and no ROLLBACK, at which psycopg forgets the pooled
            # connection's prepared statements (every regulator's trace was planned again).
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = driver_rows(conn, sql, (wanted,))
    # The lookup compares hashes of a 192-bit secret, so its timing tells nothing useful about
    # the token; the final check is constant-time all the same.
    if not rows or not hmac.compare_digest(str(rows[0][0]), wanted):
        raise AuthError("unknown_token", "no such token")
    _hash, role, organisation, region, revoked_at = rows[0]
    return _StoredToken(wanted, Principal(Role(role), organisation, region), revoked_at is not None)


def _token_role(role: Role | str) -> Role:
    try:
        checked = Role(role)
    except ValueError:
        raise InvalidInputError("role", role, "must be one of producer, regulator, admin") from None
    if checked is Role.PUBLIC:
        raise InvalidInputError("role", role, "public callers need no token")
    return checked


def _scope(
    role: Role, organisation: str | None, region: str | None
) -> tuple[str | None, str | None]:
    """The (organisation, region) a token of ``role`` is bound to, checked."""
    if role is Role.PRODUCER:
        if region is not None:
            raise InvalidInputError("region", region, "a producer token has no region")
        if organisation is None:
            raise InvalidInputError("organisation", None, "a producer token needs a USCC")
        return validate_uscc(organisation, field="organisation"), None
    if organisation is not None:
        raise InvalidInputError(
            "organisation", organisation, "only producer tokens name an organisation"
        )
    if role is Role.REGULATOR:
        if region is None or not _REGION_FORMAT.fullmatch(region):
            raise InvalidInputError(
                "region", region, "a regulator token needs a 6-digit GB/T 2260 region code"
            )
        return None, region
    if region is not None:
        raise InvalidInputError("region", region, "only regulator tokens name a region")
    return None, None


def _now_micros() -> int:
    return time.time_ns() // 1_000


__all__ = [
    "PUBLIC",
    "TOKEN_PREFIX",
    "AuthError",
    "Principal",
    "Role",
    "authenticate",
    "create_token",
    "revoke_token",
    "token_hash",
]
