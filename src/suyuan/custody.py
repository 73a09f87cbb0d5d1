"""Custodial signing keys (design.md §5): the service signs for an organisation that asks it to.

"An HTTP client authenticated with an organisation token may instead have the service sign with
that organisation's custodial key (stored encrypted at rest)." Each custodial key is an Ed25519
key like any producer's, and enters the trust chain the same way: a regulator root key signs a
``SigningKeyRegistered`` event for it (:func:`key_registration_event`). Until then the ledger
refuses what it signs (``unknown_key``).

At rest, the key's 32-byte secret seed is sealed with AES-256-GCM under the **custody master
key** (table ``custodial_keys``: ``nonce ‖ ciphertext ‖ tag``). The associated data binds the
sealed seed to its organisation and key id, so a row copied to another organisation does not
open. The master key never enters the database:

- ``SUYUAN_CUSTODY_MASTER_KEY``: 32 random bytes, standard base64 (make one with
  ``openssl rand -base64 32``, or :func:`new_master_key`);
- otherwise the key file ``SUYUAN_CUSTODY_KEY_FILE`` (default ``var/custody.key``, the same
  base64 text, mode 0600), made on first use in the embedded mode.

Losing the master key loses the custodial keys (the regulator then revokes them and registers
new ones); it never endangers the ledger, whose entries carry their own signatures.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine

from suyuan._auth_tables import custodial_keys
from suyuan.codes import validate_uscc
from suyuan.config import Settings
from suyuan.errors import SuyuanError
from suyuan.events import event_from_json
from suyuan.events.model import SIGNING_KEY_REGISTERED, Event
from suyuan.signing import SigningKey, VerifyKey

#: AES-256: the master key is 32 bytes.
MASTER_KEY_BYTES = 32
_NONCE_BYTES = 12
_SEED_BYTES = 32
_AAD_CONTEXT = b"suyuan/custodial-key/v1\n"
_FORBIDDEN_FILE_BITS = 0o077


class CustodyError(SuyuanError):
    """The custody master key is missing or malformed, or a custodial key does not decrypt."""


class NoCustodialKeyError(CustodyError, LookupError):
    """The organisation has no custodial key."""


# --- the master key ------------------------------------------------------------------------------


def new_master_key() -> str:
    """A fresh master key in its text form (base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode("ascii")


def parse_master_key(text: str) -> bytes:
    """The 32 bytes of a master key given as standard base64.

    Raises:
        CustodyError: not base64, or not 32 bytes (the message never shows the key).
    """
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CustodyError("the custody master key is not standard base64") from None
    if len(raw) != MASTER_KEY_BYTES:
        raise CustodyError(
            f"the custody master key must be {MASTER_KEY_BYTES} bytes (got {len(raw)}); "
            "make one with `openssl rand -base64 32`"
        )
    return raw


def load_master_key(settings: Settings | None = None, *, create: bool = False) -> bytes:
    """The master key: ``SUYUAN_CUSTODY_MASTER_KEY`` if set, else the key file.

    With ``create`` a missing key file is made (mode 0600) — for the embedded mode only: services
    that run as several processes must share one key through the environment.

    Raises:
        CustodyError: the key is malformed, the file is missing (and ``create`` is false),
            readable by group or others, or cannot be written.
    """
    settings = settings or Settings()  # read now: a command may have changed the environment
    if settings.custody_master_key is not None:
        return parse_master_key(settings.custody_master_key.get_secret_value())
    path = settings.custody_key_file
    if not path.exists():
        if not create:
            raise CustodyError(
                f"no custody master key: set SUYUAN_CUSTODY_MASTER_KEY or create {path}"
            )
        _write_new_key_file(path)
    return _read_key_file(path)


def _write_new_key_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together never overwrite each other's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as err:
        raise CustodyError(f"{path}: cannot create the custody key file ({err.strerror})") from err
    with os.fdopen(fd, "w") as file:
        file.write(new_master_key() + "\n")


def _read_key_file(path: Path) -> bytes:
    try:
        if path.stat().st_mode & _FORBIDDEN_FILE_BITS:
            raise CustodyError(
                f"{path}: the custody key must not be readable by group or others (chmod 600)"
            )
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as err:
        raise CustodyError(f"{path}: cannot read the custody key file ({err})") from err
    try:
        return parse_master_key(text)
    except CustodyError as err:
        raise CustodyError(f"{path}: {err}") from None


# --- custodial keys --------------------------------------------------------------------------


def create_custodial_key(
    engine: Engine, master: bytes, organisation: str, *, replace: bool = False
) -> VerifyKey:
    """Make and store (encrypted) a new custodial key for ``organisation``; return its public key.

    An organisation has one key in use: the newest. ``replace`` adds a new one (after the old one
    was revoked, say); the old row stays so its key id remains known.

    Raises:
        CodeError: ``organisation`` is not a valid USCC.
        CustodyError: the organisation already has a custodial key and ``replace`` is false,
            or ``master`` is not 32 bytes.
    """
    organisation = validate_uscc(organisation, field="organisation")
    aead = _aead(master)
    if not replace and _newest_row(engine, organisation) is not None:
        raise CustodyError(f"{organisation} already has a custodial key")
    seed = secrets.token_bytes(_SEED_BYTES)
    key = SigningKey.from_raw(seed)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = nonce + aead.encrypt(nonce, seed, _associated_data(organisation, key.key_id))
    with engine.begin() as conn:
        conn.execute(
            custodial_keys.insert().values(
                key_id=key.key_id,
                organisation=organisation,
                encrypted_key=sealed,
                created_at=time.time_ns() // 1_000,
            )
        )
    return key.verify_key


def load_custodial_key(engine: Engine, master: bytes, organisation: str) -> SigningKey:
    """The organisation's custodial key in use (the newest), decrypted.

    Raises:
        NoCustodialKeyError: the organisation has none.
        CustodyError: it does not decrypt (a wrong master key, or an altered row), or ``master``
            is not 32 bytes.
    """
    aead = _aead(master)
    row = _newest_row(engine, organisation)
    if row is None:
        raise NoCustodialKeyError(f"{organisation} has no custodial key")
    key_id, sealed = row
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        seed = aead.decrypt(nonce, ciphertext, _associated_data(organisation, key_id))
    except InvalidTag:
        raise CustodyError(
            f"custodial key {key_id} of {organisation} does not decrypt: wrong custody master "
            "key, or the stored key was altered"
        ) from None
    key = SigningKey.from_raw(seed)
    if key.key_id != key_id:
        raise CustodyError(f"custodial key {key_id} of {organisation} decrypts to another key")
    return key


def custodial_key_id(engine: Engine, organisation: str) -> str | None:
    """Key id of the organisation's custodial key in use, or ``None`` (no decryption needed)."""
    row = _newest_row(engine, organisation)
    return None if row is None else row[0]


def _newest_row(engine: Engine, organisation: str) -> tuple[str, bytes] | None:
    c = custodial_keys.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(c.key_id, c.encrypted_key)
            .where(c.organisation == organisation)
            .order_by(c.created_at.desc(), c.key_id)
            .limit(1)
        ).first()
    return None if row is None else (str(row.key_id), bytes(row.encrypted_key))


def _aead(master: bytes) -> AESGCM:
    if len(master) != MASTER_KEY_BYTES:
        raise CustodyError(f"the custody master key must be {MASTER_KEY_BYTES} bytes")
    return AESGCM(master)


def _associated_data(organisation: str, key_id: str) -> bytes:
    return _AAD_CONTEXT + organisation.encode("ascii") + b"\n" + key_id.encode("ascii")


# --- the trust chain ---------------------------------------------------------------------------


def key_registration_event(
    regulator: str,
    organisation: str,
    key: VerifyKey,
    *,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """The ``SigningKeyRegistered`` event that puts ``key`` in the trust chain (design.md §5).

    It is to be signed by the regulator's root key (``regulator`` is the USCC owning that key),
    like every trust event, and written to the ledger before the organisation's first
    custodially signed event.

    Raises:
        EventValidationError: a field is malformed (e.g. the regulator is not a USCC).
    """
    return event_from_json(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "event_type": SIGNING_KEY_REGISTERED,
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
            "actor": regulator,
            "location": None,
            "codes": [],
            "quantity": None,
            "unit": None,
            "biz_step": None,
            "disposition": None,
            "payload": {
                "organisation": organisation,
                "key_id": key.key_id,
                "public_key": base64.b64encode(key.raw).decode("ascii"),
            },
        }
    )


__all__ = [
    "MASTER_KEY_BYTES",
    "CustodyError",
    "NoCustodialKeyError",
    "create_custodial_key",
    "custodial_key_id",
    "key_registration_event",
    "load_custodial_key",
    "load_master_key",
    "new_master_key",
    "parse_master_key",
]
