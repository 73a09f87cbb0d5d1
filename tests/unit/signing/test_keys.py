"""Ed25519 key wrapper, key ids and key files (design.md §5, docs/signing.md)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from suyuan.errors import InvalidInputError, KeyFileError, SignatureError
from suyuan.signing import (
    SigningKey,
    VerifyKey,
    key_id_of,
    load_signing_key,
    load_verify_key,
    save_key_pair,
)

# RFC 8032 §7.1, TEST 1 (empty message).
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
# First 8 bytes of SHA-256(RFC8032_PUBLIC), hex.
RFC8032_KEY_ID = "21fe31dfa154a261"


def flip_bit(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position // 8] ^= 1 << (position % 8)
    return bytes(changed)


# --- known answers ---------------------------------------------------------------------------


def test_rfc8032_test1_public_key_and_signature() -> None:
    key = SigningKey.from_raw(RFC8032_SECRET)
    assert key.verify_key.raw == RFC8032_PUBLIC
    assert key.sign(b"") == RFC8032_SIGNATURE


def test_rfc8032_test1_signature_verifies_with_raw_public_key() -> None:
    VerifyKey.from_raw(RFC8032_PUBLIC).verify(RFC8032_SIGNATURE, b"")


def test_rfc8032_test1_signature_fails_for_another_message() -> None:
    with pytest.raises(SignatureError):
        VerifyKey.from_raw(RFC8032_PUBLIC).verify(RFC8032_SIGNATURE, b"\x00")


def test_key_id_is_first_8_bytes_of_sha256_of_raw_public_key() -> None:
    assert hashlib.sha256(RFC8032_PUBLIC).hexdigest()[:16] == RFC8032_KEY_ID
    assert VerifyKey.from_raw(RFC8032_PUBLIC).key_id == RFC8032_KEY_ID
    assert SigningKey.from_raw(RFC8032_SECRET).key_id == RFC8032_KEY_ID
    assert key_id_of(RFC8032_PUBLIC) == RFC8032_KEY_ID


# --- sign / verify ---------------------------------------------------------------------------


def test_sign_verify_round_trip() -> None:
    key = SigningKey.generate()
    signature = key.sign(b"payload")
    assert len(signature) == 64
    key.verify_key.verify(signature, b"payload")


@pytest.mark.parametrize("position", [0, 7, 255, 511])
def test_flipped_signature_bit_is_rejected_naming_the_key(position: int) -> None:
    key = SigningKey.generate()
    signature = flip_bit(key.sign(b"payload"), position)
    with pytest.raises(SignatureError) as caught:
        key.verify_key.verify(signature, b"payload")
    assert caught.value.field == "signature"
    assert key.key_id in caught.value.rule
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("position", [0, 9, 55])
def test_flipped_message_bit_is_rejected(position: int) -> None:
    key = SigningKey.generate()
    signature = key.sign(b"payload")
    with pytest.raises(SignatureError):
        key.verify_key.verify(signature, flip_bit(b"payload", position))


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_wrong_length_is_rejected(length: int) -> None:
    key = SigningKey.generate()
    with pytest.raises(SignatureError):
        key.verify_key.verify(b"\x01" * length, b"payload")


def test_signature_of_another_key_is_rejected() -> None:
    signature = SigningKey.generate().sign(b"payload")
    other = SigningKey.generate().verify_key
    with pytest.raises(SignatureError) as caught:
        other.verify(signature, b"payload")
    assert other.key_id in caught.value.rule


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_raw_public_key_must_be_32_bytes(length: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        VerifyKey.from_raw(b"\x01" * length)
    assert caught.value.field == "public_key"
    assert "32 bytes" in caught.value.rule


def test_secret_seed_must_be_32_bytes_and_is_not_echoed() -> None:
    seed = bytes(range(31))
    with pytest.raises(InvalidInputError) as caught:
        SigningKey.from_raw(seed)
    assert caught.value.field == "private_key"
    assert "32 bytes" in caught.value.rule
    assert seed.hex()[:20] not in str(caught.value)


def test_key_id_is_16_lowercase_hex_and_same_on_both_halves() -> None:
    key = SigningKey.generate()
    assert key.key_id == key.verify_key.key_id
    assert len(key.key_id) == 16
    assert key.key_id == key.key_id.lower()
    int(key.key_id, 16)


def test_verify_keys_compare_by_raw_bytes() -> None:
    key = SigningKey.generate()
    assert VerifyKey.from_raw(key.verify_key.raw) == key.verify_key
    assert hash(VerifyKey.from_raw(key.verify_key.raw)) == hash(key.verify_key)
    assert SigningKey.generate().verify_key != key.verify_key


def test_signing_key_repr_shows_no_secret() -> None:
    key = SigningKey.from_raw(RFC8032_SECRET)
    assert RFC8032_SECRET.hex() not in repr(key)
    assert RFC8032_KEY_ID in repr(key)


# --- key files -------------------------------------------------------------------------------


def test_saved_key_pair_loads_with_the_same_key_id(tmp_path: Path) -> None:
    key = SigningKey.generate()
    private_path, public_path = save_key_pair(key, tmp_path, "farm")
    assert (private_path, public_path) == (tmp_path / "farm.key", tmp_path / "farm.pub")
    loaded = load_signing_key(private_path)
    assert loaded.key_id == key.key_id
    assert load_verify_key(public_path) == key.verify_key
    loaded.verify_key.verify(key.sign(b"m"), b"m")


def test_saved_files_are_pkcs8_and_spki_pem(tmp_path: Path) -> None:
    private_path, public_path = save_key_pair(SigningKey.generate(), tmp_path, "farm")
    assert private_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")


def test_private_key_file_is_mode_0600(tmp_path: Path) -> None:
    private_path, _ = save_key_pair(SigningKey.generate(), tmp_path, "farm")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600


def test_save_creates_a_missing_directory(tmp_path: Path) -> None:
    private_path, _ = save_key_pair(SigningKey.generate(), tmp_path / "keys" / "farm", "k")
    assert private_path.exists()


def test_save_refuses_to_overwrite_and_leaves_files_unchanged(tmp_path: Path) -> None:
    first = SigningKey.generate()
    private_path, public_path = save_key_pair(first, tmp_path, "farm")
    before = private_path.read_bytes(), public_path.read_bytes()
    with pytest.raises(KeyFileError) as caught:
        save_key_pair(SigningKey.generate(), tmp_path, "farm")
    assert str(private_path) in str(caught.value)
    assert "already exists" in str(caught.value)
    assert (private_path.read_bytes(), public_path.read_bytes()) == before


def test_save_refuses_when_only_the_public_file_exists(tmp_path: Path) -> None:
    (tmp_path / "farm.pub").write_bytes(b"old")
    with pytest.raises(KeyFileError, match=r"farm\.pub: already exists"):
        save_key_pair(SigningKey.generate(), tmp_path, "farm")
    assert not (tmp_path / "farm.key").exists()


def test_save_with_overwrite_replaces_and_tightens_permissions(tmp_path: Path) -> None:
    save_key_pair(SigningKey.generate(), tmp_path, "farm")
    os.chmod(tmp_path / "farm.key", 0o644)
    second = SigningKey.generate()
    private_path, public_path = save_key_pair(second, tmp_path, "farm", overwrite=True)
    assert load_signing_key(private_path).key_id == second.key_id
    assert load_verify_key(public_path) == second.verify_key
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["farm.key", "farm.pub"]


@pytest.mark.parametrize("name", ["", "..", "a/b"])
def test_save_rejects_names_that_are_not_plain_file_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(KeyFileError, match="plain file name"):
        save_key_pair(SigningKey.generate(), tmp_path, name)


def test_missing_key_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    for load in (load_signing_key, load_verify_key):
        with pytest.raises(KeyFileError) as caught:
            load(path)
        assert str(caught.value) == f"{path}: missing (no such key file)"


def write_private(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def test_garbage_is_not_pem(tmp_path: Path) -> None:
    path = write_private(tmp_path / "garbage.key", b"\x00\x01 not a key")
    for load in (load_signing_key, load_verify_key):
        with pytest.raises(KeyFileError, match=r"garbage\.key: not PEM"):
            load(path)


def test_corrupt_pem_body_is_rejected(tmp_path: Path) -> None:
    body = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    path = write_private(tmp_path / "corrupt.key", body)
    with pytest.raises(KeyFileError, match=r"corrupt\.key: not a PEM private key"):
        load_signing_key(path)


def test_rsa_private_key_is_not_ed25519(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = write_private(tmp_path / "rsa.key", pem)
    with pytest.raises(KeyFileError, match=r"rsa\.key: not an Ed25519 key \(found RSA"):
        load_signing_key(path)


def test_ec_public_key_is_not_ed25519(tmp_path: Path) -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "ec.pub"
    path.write_bytes(pem)
    with pytest.raises(KeyFileError, match=r"ec\.pub: not an Ed25519 key \(found EC"):
        load_verify_key(path)


def test_public_key_file_is_not_a_private_key(tmp_path: Path) -> None:
    _, public_path = save_key_pair(SigningKey.generate(), tmp_path, "farm")
    public_path.chmod(0o600)
    with pytest.raises(KeyFileError, match=r"farm\.pub: not a PEM private key"):
        load_signing_key(public_path)


def test_private_key_file_is_not_a_public_key(tmp_path: Path) -> None:
    private_path, _ = save_key_pair(SigningKey.generate(), tmp_path, "farm")
    with pytest.raises(KeyFileError, match=r"farm\.key: not a PEM public key"):
        load_verify_key(private_path)


def test_encrypted_private_key_is_refused(tmp_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    path = write_private(tmp_path / "locked.key", pem)
    with pytest.raises(KeyFileError, match=r"locked\.key: the private key is encrypted"):
        load_signing_key(path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o601])
def test_private_key_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    private_path, _ = save_key_pair(SigningKey.generate(), tmp_path, "farm")
    private_path.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        load_signing_key(private_path)
    assert str(caught.value).startswith(f"{private_path}: wrong permissions {mode:04o}")
    assert "chmod 600" in str(caught.value)


def test_private_key_mode_0400_is_accepted(tmp_path: Path) -> None:
    key = SigningKey.generate()
    private_path, _ = save_key_pair(key, tmp_path, "farm")
    private_path.chmod(0o400)
    assert load_signing_key(private_path).key_id == key.key_id
