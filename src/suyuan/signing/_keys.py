"""Ed25519 keys, key ids and key files (design.md §5; ``docs/signing.md``).

Small wrappers around the ``cryptography`` Ed25519 keys so the rest of Suyuan never touches the
library directly: a :class:`SigningKey` signs, a :class:`VerifyKey` verifies and raises
:class:`~suyuan.errors.SignatureError`, and both expose the same ``key_id``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from suyuan.errors import InvalidInputError, KeyFileError, SignatureError

#: Length of a raw Ed25519 public key and of a private seed (RFC 8032 §5.1.5).
RAW_KEY_LENGTH = 32
#: Bytes of SHA-256(public key) kept in a key id (16 hex characters).
_KEY_ID_BYTES = 8
#: Permission bits that must be clear on a private key file (group and other: none).
_PRIVATE_KEY_FORBIDDEN_BITS = stat.S_IRWXG | stat.S_IRWXO
_PRIVATE_KEY_MODE = 0o600
_PUBLIC_KEY_MODE = 0o644


def key_id_of(raw_public_key: bytes) -> str:
    """Key id of a raw 32-byte public key: lowercase hex of the first 8 bytes of its SHA-256."""
    return hashlib.sha256(raw_public_key).digest()[:_KEY_ID_BYTES].hex()


class VerifyKey:
    """An Ed25519 public key that checks signatures."""

    __slots__ = ("_key", "_key_id", "_raw")

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self._raw = key.public_bytes_raw()
        self._key_id = key_id_of(self._raw)

    @classmethod
    def from_raw(cls, raw: bytes) -> VerifyKey:
        """The key whose raw 32-byte encoding is ``raw``.

        Raises:
            InvalidInputError: ``raw`` is not 32 bytes (field ``public_key``).
        """
        if len(raw) != RAW_KEY_LENGTH:
            raise InvalidInputError("public_key", raw, "an Ed25519 public key is 32 bytes")
        return cls(Ed25519PublicKey.from_public_bytes(bytes(raw)))

    @property
    def raw(self) -> bytes:
        """The raw 32-byte public key (RFC 8032 encoding)."""
        return self._raw

    @property
    def key_id(self) -> str:
        """16 lowercase hex characters: the first 8 bytes of SHA-256(:attr:`raw`)."""
        return self._key_id

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check that ``signature`` is this key's Ed25519 signature of ``message``.

        Raises:
            SignatureError: the signature does not verify (field ``signature``, names the key id).
        """
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise SignatureError(
                "signature", signature, f"does not verify with key {self._key_id}"
            ) from None

    def to_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of this key."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"VerifyKey(key_id={self._key_id!r})"


class SigningKey:
    """An Ed25519 private key that signs. Its ``repr`` never shows secret material."""

    __slots__ = ("_key", "_verify_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._verify_key = VerifyKey(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, seed: bytes) -> SigningKey:
        """The key derived from a 32-byte secret seed (RFC 8032 §5.1.5).

        Raises:
            InvalidInputError: ``seed`` is not 32 bytes (field ``private_key``; value not echoed).
        """
        if len(seed) != RAW_KEY_LENGTH:
            raise InvalidInputError(
                "private_key", f"{len(seed)} bytes", "an Ed25519 secret seed is 32 bytes"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(bytes(seed)))

    @property
    def verify_key(self) -> VerifyKey:
        """The matching public key."""
        return self._verify_key

    @property
    def key_id(self) -> str:
        """The key id of :attr:`verify_key`."""
        return self._verify_key.key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def to_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM of this key (keep it private)."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"


# --- key files ---------------------------------------------------------------------------------


def save_key_pair(
    key: SigningKey, directory: str | os.PathLike[str], name: str, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write ``name.key`` (PKCS#8 PEM, mode 0600) and ``name.pub`` (SubjectPublicKeyInfo PEM).

    The directory is created (mode 0700) if missing. Returns ``(private_path, public_path)``.

    Raises:
        KeyFileError: ``name`` is not a plain file name, either file exists and ``overwrite`` is
            false (nothing is written then), or a file cannot be written.
    """
    _check_key_name(name)
    folder = Path(directory)
    private_path = folder / f"{name}.key"
    public_path = folder / f"{name}.pub"
    if not overwrite:
        for path in (private_path, public_path):
            if path.exists():
                raise KeyFileError(f"{path}: already exists (refusing to replace it)")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise KeyFileError(f"{folder}: cannot create the key directory ({err.strerror})") from err
    _write_file(private_path, key.to_pem(), _PRIVATE_KEY_MODE, overwrite=overwrite)
    _write_file(public_path, key.verify_key.to_pem(), _PUBLIC_KEY_MODE, overwrite=overwrite)
    return private_path, public_path


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Read an unencrypted PKCS#8 PEM Ed25519 private key.

    Raises:
        KeyFileError: the file is missing or unreadable, readable or writable by group or others,
            not PEM, encrypted, or not an Ed25519 private key. The message starts with the path.
    """
    file = Path(path)
    data = _read_key_file(file)
    _check_private_permissions(file)
    _check_pem(file, data)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as err:  # raised by cryptography when the key is encrypted
        raise KeyFileError(
            f"{file}: the private key is encrypted; Suyuan reads unencrypted PKCS#8"
        ) from err
    except (ValueError, UnsupportedAlgorithm) as err:
        raise KeyFileError(f"{file}: not a PEM private key ({err})") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{file}: not an Ed25519 key (found {_algorithm_name(key)})")
    return SigningKey(key)


def load_verify_key(path: str | os.PathLike[str]) -> VerifyKey:
    """Read a SubjectPublicKeyInfo PEM Ed25519 public key.

    Raises:
        KeyFileError: the file is missing or unreadable, not PEM, or not an Ed25519 public key.
            The message starts with the path.
    """
    file = Path(path)
    data = _read_key_file(file)
    _check_pem(file, data)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as err:
        raise KeyFileError(f"{file}: not a PEM public key ({err})") from err
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{file}: not an Ed25519 key (found {_algorithm_name(key)})")
    return VerifyKey(key)


def _check_key_name(name: str) -> None:
    if not name or name in {".", ".."} or os.sep in name or (os.altsep and os.altsep in name):
        raise KeyFileError(f"{name!r}: a key name is a plain file name without directories")


def _write_file(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    """Write ``data`` with ``mode``: exclusively (no clobbering), or atomically replacing."""
    try:
        if overwrite:
            _replace_file(path, data, mode)
        else:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "wb") as file:
                os.fchmod(file.fileno(), mode)  # the umask must not widen or narrow the mode
                file.write(data)
    except FileExistsError as err:
        raise KeyFileError(f"{path}: already exists (refusing to replace it)") from err
    except OSError as err:
        raise KeyFileError(f"{path}: cannot write the key file ({err.strerror})") from err


def _replace_file(path: Path, data: bytes, mode: int) -> None:
    # A temporary file in the same directory (created 0600) is renamed over the old one, so the
    # private key is never briefly readable with the old file's permissions or half written.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_key_file(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError as err:
        raise KeyFileError(f"{file}: missing (no such key file)") from err
    except OSError as err:
        raise KeyFileError(f"{file}: cannot read the key file ({err.strerror})") from err


def _check_private_permissions(file: Path) -> None:
    if os.name != "posix":  # no POSIX permission bits to check
        return
    mode = stat.S_IMODE(file.stat().st_mode)
    if mode & _PRIVATE_KEY_FORBIDDEN_BITS:
        raise KeyFileError(
            f"{file}: wrong permissions {mode:04o} on a private key "
            "(group or others have access; run chmod 600)"
        )


def _check_pem(file: Path, data: bytes) -> None:
    if b"-----BEGIN " not in data:
        raise KeyFileError(f"{file}: not PEM (no '-----BEGIN' line)")


def _algorithm_name(key: object) -> str:
    return type(key).__name__.removeprefix("_")
