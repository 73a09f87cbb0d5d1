"""Witness cosignatures (c2sp.org/tlog-cosignature): the signed message and key id as the
specification writes them, checked with the bare primitives; quorums."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from suyuan.merkle import EMPTY_ROOT
from suyuan.tlog import (
    Checkpoint,
    Cosigner,
    NoteError,
    NoteSignatureError,
    NoteSigner,
    QuorumError,
    WitnessVerifier,
    add_cosignatures,
    open_witnessed_checkpoint,
    sign_checkpoint,
    witnessed,
)

LOG = NoteSigner("suyuan.example/ledger", Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
ORIGIN = "suyuan.example/ledger/shard/0"
W1 = Cosigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
W2 = Cosigner("witness.example/w2", Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))


def _checkpoint(size: int = 7, root: bytes = EMPTY_ROOT) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), LOG)


def _text(note: str) -> str:
    return note[: note.rfind("\n\n") + 1]


def test_the_cosignature_is_the_specification_s_bytes() -> None:
    note = _checkpoint()
    line = W1.cosign(_text(note), 1679315147).to_line()
    name, _, payload_b64 = line.removeprefix("\u2014 ").partition(" ")
    payload = base64.b64decode(payload_b64)
    public = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32).public_key().public_bytes_raw()
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert payload[:4] == key_id
    assert int.from_bytes(payload[4:12], "big") == 1679315147
    message = b"cosignature/v1\ntime 1679315147\n" + _text(note).encode()
    Ed25519PublicKey.from_public_bytes(public).verify(payload[12:], message)  # raises if not


def test_keys_round_trip_and_carry_type_4() -> None:
    assert Cosigner.from_key(W1.to_key()).verifier == W1.verifier
    assert WitnessVerifier.from_key(W1.verifier.to_key()) == W1.verifier
    material = base64.b64decode(W1.verifier.to_key().split("+", 2)[2])
    assert material[0] == 0x04
    with pytest.raises(NoteError):
        WitnessVerifier.from_key(LOG.verifier.to_key())  # a log key (type 1) is not a witness's


def test_a_quorum_of_trusted_witnesses_opens_the_checkpoint() -> None:
    note = _checkpoint()
    both = add_cosignatures(note, [W1.cosign(_text(note), 100), W2.cosign(_text(note), 101)])
    opened = open_witnessed_checkpoint(both, LOG.verifier, [W1.verifier, W2.verifier], 2)
    assert opened.size == 7
    assert sorted(c.timestamp for c in witnessed(both, [W1.verifier, W2.verifier])) == [100, 101]


def test_too_few_trusted_cosignatures_is_refused() -> None:
    note = _checkpoint()
    stranger = Cosigner.generate("witness.example/w1")  # same name, another key: ignored
    one = add_cosignatures(note, [W1.cosign(_text(note), 100), stranger.cosign(_text(note), 1)])
    with pytest.raises(QuorumError) as caught:
        open_witnessed_checkpoint(one, LOG.verifier, [W1.verifier, W2.verifier], 2)
    assert caught.value.reason == "no_witness_quorum"
    assert "cosigned by 1" in caught.value.rule


def test_a_cosignature_moved_to_another_checkpoint_fails() -> None:
    first, second = _checkpoint(7), _checkpoint(8)
    line = W1.cosign(_text(first), 100)
    moved = add_cosignatures(second, [line])
    with pytest.raises(NoteSignatureError):
        witnessed(moved, [W1.verifier])


def test_a_changed_timestamp_fails() -> None:
    note = _checkpoint()
    line = W1.cosign(_text(note), 100)
    shifted = type(line)(line.name, line.key_id, (200).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(NoteSignatureError):
        witnessed(add_cosignatures(note, [shifted]), [W1.verifier])
