"""C2SP signed notes with Ed25519 keys.

Specification: https://c2sp.org/signed-note (signature type ``0x01``, Ed25519), byte-compatible
with Go's ``golang.org/x/mod/sumdb/note``, including its key strings:

- verifier key ``<name>+<key ID, 8 hex digits>+base64(0x01 || 32-byte public key)``;
- signer key ``PRIVATE+KEY+<name>+<key ID>+base64(0x01 || 32-byte private seed)``.

A signed note is its text (ending in a newline), a blank line, then one line per signature::

    — <key name> base64(4-byte big-endian key ID || Ed25519 signature over the text)

The key ID is the first four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``.
Signatures by keys the reader does not know are ignored, as the specification requires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from suyuan.errors import InvalidInputError, SignatureError

#: Signature type byte of Ed25519 note signatures (c2sp.org/signed-note, "Signature types").
ED25519_TYPE = 0x01
#: Starts every signature line: em dash (U+2014) and a space.
SIGNATURE_PREFIX = "\u2014 "
#: More signatures than this make a note malformed (the spec asks to accept at least 16).
MAX_SIGNATURES = 100

_KEY_ID_SIZE = 4
_ED25519_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")
#: ASCII control characters other than newline, which no note may contain.
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(InvalidInputError):
    """A signed note, or a note key string, breaks the c2sp.org/signed-note format."""

    reason = "malformed_note"


class NoteSignatureError(SignatureError):
    """A signature line by a trusted key does not verify over the note text."""


class UnverifiedNoteError(NoteSignatureError):
    """No signature on the note comes from a trusted key (name and key ID both match)."""

    reason = "unverified_note"


def note_key_id(name: str, public_key: bytes, signature_type: int = ED25519_TYPE) -> int:
    """Key ID of an Ed25519 note key: ``SHA-256(name || 0x0A || type || public key)[:4]``, the
    type being 0x01 for note signatures (0x04 for witness cosignatures).

    Raises:
        NoteError: ``name`` is not a valid key name (field ``key_name``).
    """
    check_key_name(name)
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


def check_key_name(name: str) -> None:
    """Check a key name: non-empty, with no Unicode space and no plus sign.

    Raises:
        NoteError: the name breaks that rule (field ``key_name``).
    """
    if not name or "+" in name or any(char.isspace() for char in name):
        raise NoteError("key_name", name, "must be non-empty, without spaces or '+'")
    _check_characters("key_name", name)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, key ID and the raw signature bytes (without the key ID)."""

    name: str
    key_id: int
    signature: bytes

    def to_line(self) -> str:
        """The signature line, without its final newline."""
        payload = self.key_id.to_bytes(_KEY_ID_SIZE, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(payload).decode()}"

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        """Parse one signature line (without its newline).

        Raises:
            NoteError: the line does not start with an em dash and a space, the key name is
                invalid, or the base64 payload is malformed or shorter than 5 bytes (field
                ``signature_line``).
        """
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("signature_line", line, "must start with an em dash (U+2014) and space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            check_key_name(name)
        except NoteError as err:
            raise NoteError("signature_line", line, f"key name {err.rule}") from err
        payload = _decode_base64(encoded)
        if payload is None or len(payload) <= _KEY_ID_SIZE:
            raise NoteError(
                "signature_line", line, "signature must be base64 of a key ID and signature bytes"
            )
        return cls(name, int.from_bytes(payload[:_KEY_ID_SIZE], "big"), payload[_KEY_ID_SIZE:])


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (ending in a newline) and its signatures, in the order written."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def __post_init__(self) -> None:
        check_note_text(self.text)

    def to_text(self) -> str:
        """The signed-note form: text, blank line, one signature line each.

        Raises:
            NoteError: the note has no signature (field ``signatures``).
        """
        if not self.signatures:
            raise NoteError("signatures", 0, "a signed note has at least one signature")
        lines = "".join(signature.to_line() + "\n" for signature in self.signatures)
        return f"{self.text}\n{lines}"

    @classmethod
    def parse(cls, message: str | bytes) -> Note:
        """Split a signed note into text and signatures, verifying nothing.

        The text is everything up to the last blank line. Use :func:`open_note` to trust it.

        Raises:
            NoteError: the message is not UTF-8 (field ``note``), has a control character other
                than newline (``note``), has no blank line before the signatures or does not
                end in a newline (``note``), has more than 100 signatures (``signatures``), or a
                signature line is malformed (``signature_line``).
        """
        message = _as_text(message)
        _check_characters("note", message)
        split = message.rfind("\n\n")
        if split < 0:
            raise NoteError("note", message, "needs a blank line between text and signatures")
        text, block = message[: split + 1], message[split + 2 :]
        if not block.endswith("\n"):
            raise NoteError("note", message, "signature lines must follow and end in a newline")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError("signatures", len(lines), f"at most {MAX_SIGNATURES} are accepted")
        return cls(text, tuple(NoteSignature.from_line(line) for line in lines))


def check_note_text(text: str) -> None:
    """Check a note text: non-empty, ending in a newline, no control character but newline.

    Raises:
        NoteError: the text breaks one of these rules (field ``text``).
    """
    if not text.endswith("\n"):
        raise NoteError("text", text, "a note text must end with a newline")
    _check_characters("text", text)


class NoteVerifier:
    """An Ed25519 public key under a name: checks note signatures made by that named key."""

    __slots__ = ("_key_id", "_name", "_public_key", "_raw")

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        """Raises: NoteError: ``name`` is not a valid key name (field ``key_name``)."""
        self._name = name
        self._public_key = public_key
        self._raw = public_key.public_bytes_raw()
        self._key_id = note_key_id(name, self._raw)

    @classmethod
    def from_key(cls, verifier_key: str) -> NoteVerifier:
        """Read a verifier key ``<name>+<hex key ID>+base64(0x01 || public key)``.

        Raises:
            NoteError: the string is not of that form, the key is not a 32-byte Ed25519 key
                with type byte 0x01, or the key ID does not match name and key (field
                ``verifier_key``).
        """
        name, key_id_hex, material = _split_key_string("verifier_key", verifier_key)
        raw = _ed25519_material("verifier_key", verifier_key, material)
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw))
        _check_key_id("verifier_key", verifier_key, key_id_hex, verifier.key_id)
        return verifier

    @property
    def name(self) -> str:
        """The key name that signature lines carry."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID that starts each signature by this key."""
        return self._key_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The Ed25519 public key."""
        return self._public_key

    def to_key(self) -> str:
        """The verifier key string, as :meth:`from_key` reads it."""
        material = base64.b64encode(bytes([ED25519_TYPE]) + self._raw).decode()
        return f"{self._name}+{self._key_id:08x}+{material}"

    def matches(self, signature: NoteSignature) -> bool:
        """Whether a signature line claims this key (same name and same key ID)."""
        return signature.name == self._name and signature.key_id == self._key_id

    def verify(self, text: str, signature: NoteSignature) -> bool:
        """Whether ``signature`` is this key's valid Ed25519 signature over ``text``."""
        if not self.matches(signature) or len(signature.signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            self._public_key.verify(signature.signature, text.encode())
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteVerifier):
            return NotImplemented
        return self._name == other._name and self._raw == other._raw

    def __hash__(self) -> int:
        return hash((self._name, self._raw))

    def __repr__(self) -> str:
        return f"NoteVerifier({self.to_key()!r})"


class NoteSigner:
    """An Ed25519 private key under a name: signs note texts."""

    __slots__ = ("_private_key", "_seed", "_verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Raises: NoteError: ``name`` is not a valid key name (field ``key_name``)."""
        self._private_key = private_key
        self._seed = private_key.private_bytes_raw()
        self._verifier = NoteVerifier(name, private_key.public_key())

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A new random key under ``name``.

        Raises:
            NoteError: ``name`` is not a valid key name (field ``key_name``).
        """
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_key(cls, signer_key: str) -> NoteSigner:
        """Read a signer key ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)``.

        Raises:
            NoteError: the string is not of that form, or the key ID does not match the name
                and the public key derived from the seed (field ``signer_key``). The field's
                value is never echoed: it is secret.
        """
        if not signer_key.startswith(_PRIVATE_KEY_PREFIX):
            raise NoteError("signer_key", "…", "must start with 'PRIVATE+KEY+'")
        try:
            name, key_id_hex, material = _split_key_string(
                "signer_key", signer_key[len(_PRIVATE_KEY_PREFIX) :]
            )
            seed = _ed25519_material("signer_key", signer_key, material)
            signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
            _check_key_id("signer_key", signer_key, key_id_hex, signer.key_id)
        except NoteError as err:
            raise NoteError("signer_key", "…", err.rule) from None
        return signer

    @property
    def name(self) -> str:
        """The key name written on signature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID written before each signature."""
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier (public half)."""
        return self._verifier

    def to_key(self) -> str:
        """The signer key string, as :meth:`from_key` reads it. Keep it secret."""
        material = base64.b64encode(bytes([ED25519_TYPE]) + self._seed).decode()
        return f"{_PRIVATE_KEY_PREFIX}{self.name}+{self.key_id:08x}+{material}"

    def sign(self, text: str) -> NoteSignature:
        """This key's signature over a note text.

        Raises:
            NoteError: ``text`` is not a valid note text (field ``text``).
        """
        check_note_text(text)
        return NoteSignature(self.name, self.key_id, self._private_key.sign(text.encode()))

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id:08x})"


def sign_note(note: Note | str, *signers: NoteSigner) -> str:
    """Sign a note text (or add signatures to a note) and return the signed note.

    Existing signatures stay first, except those by one of ``signers`` (same name and key ID),
    which are replaced; the new signatures follow in the order given.

    Raises:
        NoteError: the text is not a valid note text (field ``text``) or no signer is given
            (field ``signatures``).
    """
    if isinstance(note, str):
        note = Note(note)
    new = [signer.sign(note.text) for signer in signers]
    replaced = {(signature.name, signature.key_id) for signature in new}
    kept = [sig for sig in note.signatures if (sig.name, sig.key_id) not in replaced]
    return Note(note.text, (*kept, *new)).to_text()


def open_note(message: str | bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse a signed note and verify it against trusted keys.

    Signatures whose name and key ID do not both match a trusted key are ignored; repeated
    signatures by one key count once. The returned note carries only the verified signatures.

    Raises:
        NoteError: the note is malformed (see :meth:`Note.parse`), or two different trusted
            keys share a name and key ID (field ``verifiers``).
        NoteSignatureError: a signature by a trusted key does not verify (field ``signature``).
        UnverifiedNoteError: no signature comes from a trusted key (field ``signatures``).
    """
    note = Note.parse(message)
    trusted = _index_verifiers(verifiers)
    verified: dict[tuple[str, int], NoteSignature] = {}
    for signature in note.signatures:
        name_and_id = (signature.name, signature.key_id)
        verifier = trusted.get(name_and_id)
        if verifier is None or name_and_id in verified:
            continue
        if not verifier.verify(note.text, signature):
            raise NoteSignatureError(
                "signature",
                signature.to_line(),
                f"does not verify with trusted key {signature.name}+{signature.key_id:08x}",
            )
        verified[name_and_id] = signature
    if not verified:
        names = ", ".join(f"{name}+{id_:08x}" for name, id_ in trusted) or "none"
        raise UnverifiedNoteError(
            "signatures",
            ", ".join(f"{sig.name}+{sig.key_id:08x}" for sig in note.signatures),
            f"none is by a trusted key (trusted: {names})",
        )
    return Note(note.text, tuple(verified.values()))


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    index: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        name_and_id = (verifier.name, verifier.key_id)
        known = index.setdefault(name_and_id, verifier)
        if known != verifier:
            raise NoteError(
                "verifiers",
                f"{verifier.name}+{verifier.key_id:08x}",
                "two different trusted keys share this name and key ID",
            )
    return index


def _split_key_string(field: str, key: str) -> tuple[str, str, str]:
    """``name+hex+base64`` → its three parts (base64 may itself contain '+')."""
    name, _, rest = key.partition("+")
    key_id_hex, _, material = rest.partition("+")
    _check_name_in_key(field, key, name)
    if not _HEX_KEY_ID.fullmatch(key_id_hex):
        raise NoteError(field, key, "key ID must be 8 hexadecimal digits after the name and '+'")
    return name, key_id_hex, material


def _check_name_in_key(field: str, key: str, name: str) -> None:
    try:
        check_key_name(name)
    except NoteError as err:
        raise NoteError(field, key, f"key name {err.rule}") from err


def _ed25519_material(
    field: str, key: str, material: str, signature_type: int = ED25519_TYPE
) -> bytes:
    decoded = _decode_base64(material)
    if decoded is None:
        raise NoteError(field, key, "key material must be standard padded base64")
    if len(decoded) != 1 + _ED25519_KEY_SIZE or decoded[0] != signature_type:
        raise NoteError(
            field,
            key,
            f"key material must be 0x{signature_type:02x} followed by a 32-byte Ed25519 key",
        )
    return decoded[1:]


def _check_key_id(field: str, key: str, key_id_hex: str, expected: int) -> None:
    if int(key_id_hex, 16) != expected:
        raise NoteError(field, key, f"key ID must be {expected:08x} for this name and key")


def _decode_base64(text: str) -> bytes | None:
    """Strict standard base64 (RFC 4648 §4, padded); None when malformed."""
    if not text:
        return None
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _as_text(message: str | bytes) -> str:
    if isinstance(message, str):
        return message
    try:
        return bytes(message).decode("utf-8")
    except UnicodeDecodeError as err:
        raise NoteError("note", message, "must be valid UTF-8") from err


def _check_characters(field: str, text: str) -> None:
    forbidden = _FORBIDDEN_CONTROL.search(text)
    if forbidden:
        raise NoteError(
            field, text, f"must not contain control character U+{ord(forbidden.group()):04X}"
        )
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise NoteError(field, text, "must be valid UTF-8 (found a lone surrogate)")
