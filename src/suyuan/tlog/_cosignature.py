"""Witness cosignatures on checkpoints (Ed25519, timestamped).

Specification: https://c2sp.org/tlog-cosignature. A cosignature is a note signature line on
the checkpoint::

    — <witness name> base64(key ID || u64 timestamp || Ed25519 signature)

where the key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` and the Ed25519
signature covers ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note text.
It says: at that time, this was the largest tree the witness had seen of the log, consistent
with every tree of it the witness saw before.

Keys are written as note key strings with type byte 0x04: a verifier key
``<name>+<hex key ID>+base64(0x04 || public key)``, a signer key
``PRIVATE+KEY+<name>+<hex key ID>+base64(0x04 || seed)``.

Errors: :class:`~suyuan.tlog.NoteError` for a malformed key string or note,
:class:`~suyuan.tlog.NoteSignatureError` for a cosignature by a trusted witness that does
not verify, :class:`QuorumError` when fewer trusted witnesses cosigned than a client requires.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from suyuan.errors import SignatureError
from suyuan.tlog._checkpoint import Checkpoint, open_checkpoint
from suyuan.tlog._note import (
    Note,
    NoteError,
    NoteSignature,
    NoteSignatureError,
    NoteVerifier,
    _check_key_id,
    _ed25519_material,
    _split_key_string,
    note_key_id,
)

#: Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/signed-note).
COSIGNATURE_TYPE = 0x04
_HEADER = "cosignature/v1\n"
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_MAX_TIMESTAMP = 2**63 - 1


class QuorumError(SignatureError):
    """Fewer of the trusted witnesses cosigned a checkpoint than the client requires."""

    reason = "no_witness_quorum"


def cosigner_key_id(name: str, public_key: bytes) -> int:
    """``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` as an integer.

    Raises:
        NoteError: ``name`` is not a valid key name.
    """
    return note_key_id(name, public_key, COSIGNATURE_TYPE)


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a witness signs: the header line, the time line, then the checkpoint text."""
    return f"{_HEADER}time {timestamp}\n{text}".encode()


class WitnessVerifier:
    """A witness's public key under its name: checks its cosignatures."""

    __slots__ = ("_key_id", "_name", "_public_key")

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self._name = name
        self._public_key = public_key
        self._key_id = cosigner_key_id(name, public_key.public_bytes_raw())

    @classmethod
    def from_key(cls, key: str) -> WitnessVerifier:
        """Read ``<name>+<hex key ID>+base64(0x04 || public key)``.

        Raises:
            NoteError: not of that form, or the key ID does not match (field
                ``witness_key``).
        """
        name, key_id_hex, material = _split_key_string("witness_key", key)
        raw = _ed25519_material("witness_key", key, material, COSIGNATURE_TYPE)
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw))
        _check_key_id("witness_key", key, key_id_hex, verifier.key_id)
        return verifier

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    def to_key(self) -> str:
        raw = bytes([COSIGNATURE_TYPE]) + self._public_key.public_bytes_raw()
        return f"{self._name}+{self._key_id:08x}+{_b64(raw)}"

    def matches(self, signature: NoteSignature) -> bool:
        return signature.name == self._name and signature.key_id == self._key_id

    def timestamp(self, text: str, signature: NoteSignature) -> int | None:
        """The cosignature's time if it is this witness's valid cosignature over ``text``."""
        if not self.matches(signature) or len(signature.signature) != 8 + 64:
            return None
        timestamp = int.from_bytes(signature.signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            return None
        try:
            self._public_key.verify(signature.signature[8:], cosigned_message(text, timestamp))
        except InvalidSignature:
            return None
        return timestamp

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WitnessVerifier) and other.to_key() == self.to_key()

    def __hash__(self) -> int:
        return hash(self.to_key())

    def __repr__(self) -> str:
        return f"WitnessVerifier({self._name}+{self._key_id:08x})"


class Cosigner:
    """A witness's private key under its name."""

    __slots__ = ("_name", "_private_key", "_verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._name = name
        self._private_key = private_key
        self._verifier = WitnessVerifier(name, private_key.public_key())

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        """A new random key. Raises: NoteError: ``name`` is not a valid key name."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_key(cls, key: str) -> Cosigner:
        """Read ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x04 || seed)``.

        Raises:
            NoteError: not of that form, or the key ID does not match (field
                ``cosigner_key``).
        """
        if not key.startswith(_PRIVATE_PREFIX):
            raise NoteError("cosigner_key", "…", f"must start with {_PRIVATE_PREFIX}")
        name, key_id_hex, material = _split_key_string("cosigner_key", key[len(_PRIVATE_PREFIX) :])
        seed = _ed25519_material("cosigner_key", "…", material, COSIGNATURE_TYPE)
        cosigner = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        _check_key_id("cosigner_key", "…", key_id_hex, cosigner.verifier.key_id)
        return cosigner

    @property
    def name(self) -> str:
        return self._name

    @property
    def verifier(self) -> WitnessVerifier:
        return self._verifier

    def to_key(self) -> str:
        """The signer key string. Keep it secret."""
        raw = bytes([COSIGNATURE_TYPE]) + self._private_key.private_bytes_raw()
        return f"{_PRIVATE_PREFIX}{self._name}+{self._verifier.key_id:08x}+{_b64(raw)}"

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        """This witness's cosignature over a checkpoint text at ``timestamp`` (POSIX seconds)."""
        signature = self._private_key.sign(cosigned_message(text, timestamp))
        return NoteSignature(
            self._name, self._verifier.key_id, timestamp.to_bytes(8, "big") + signature
        )

    def __repr__(self) -> str:
        return f"Cosigner({self._name}+{self._verifier.key_id:08x})"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: which witness, and when it cosigned."""

    witness: WitnessVerifier
    timestamp: int


def witnessed(note: str | bytes, witnesses: Sequence[WitnessVerifier]) -> list[Cosignature]:
    """The valid cosignatures on a signed note by the trusted ``witnesses`` (others ignored).

    Raises:
        NoteError: the note is malformed.
        NoteSignatureError: a trusted witness's cosignature does not verify.
    """
    parsed = Note.parse(note)
    found: dict[WitnessVerifier, Cosignature] = {}
    for signature in parsed.signatures:
        for witness in witnesses:
            if not witness.matches(signature) or witness in found:
                continue
            timestamp = witness.timestamp(parsed.text, signature)
            if timestamp is None:
                raise NoteSignatureError(
                    "cosignature", signature.to_line(), f"does not verify with witness {witness!r}"
                )
            found[witness] = Cosignature(witness, timestamp)
    return list(found.values())


def open_witnessed_checkpoint(
    note: str | bytes,
    verifier: NoteVerifier,
    witnesses: Sequence[WitnessVerifier],
    quorum: int,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """A checkpoint signed by the log and cosigned by at least ``quorum`` of ``witnesses``.

    Raises:
        NoteError, NoteSignatureError, UnverifiedNoteError, CheckpointError: as
            :func:`~suyuan.tlog.open_checkpoint`, or a witness's cosignature fails.
        QuorumError: fewer than ``quorum`` trusted witnesses cosigned it.
    """
    checkpoint = open_checkpoint(note, verifier, origin=origin)
    cosigned = witnessed(note, witnesses)
    if len(cosigned) < quorum:
        names = ", ".join(c.witness.name for c in cosigned) or "none"
        raise QuorumError(
            "cosignatures",
            names,
            f"needs {quorum} of the {len(witnesses)} trusted witnesses; "
            f"cosigned by {len(cosigned)}",
        )
    return checkpoint


def add_cosignatures(note: str, lines: Sequence[NoteSignature]) -> str:
    """``note`` with the cosignature lines added after its own (one per witness key)."""
    parsed = Note.parse(note)
    new = {(s.name, s.key_id) for s in lines}
    kept = [s for s in parsed.signatures if (s.name, s.key_id) not in new]
    return Note(parsed.text, (*kept, *lines)).to_text()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
