"""Batch signatures over a Merkle root, and per-event proofs (design.md §5, docs/signing.md)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.errors import InvalidInputError, SignatureError
from suyuan.events.model import SignedBatch
from suyuan.signing import (
    BatchProof,
    SigningKey,
    batch_message,
    batch_proof,
    batch_proofs,
    sign_batch,
    verify_batch_signature,
    verify_event_in_batch,
)

KEY = SigningKey.generate()
EVENTS = (b"first event", b"second event", b"third event")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def flip_bit(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position // 8] ^= 1 << (position % 8)
    return bytes(changed)


# --- the signed message, byte for byte --------------------------------------------------------


def test_message_of_one_event_is_context_count_and_leaf_hash() -> None:
    # RFC 6962: the tree hash of a single leaf is its leaf hash.
    expected = b"suyuan/event-batch/v1\n" + bytes(7) + b"\x01" + leaf(b"only")
    assert batch_message([b"only"]) == expected


def test_message_of_three_events_uses_the_rfc6962_tree_shape() -> None:
    a, b, c = (leaf(event) for event in EVENTS)
    # RFC 6962 splits 3 leaves as 2 + 1.
    expected = b"suyuan/event-batch/v1\n" + (3).to_bytes(8, "big") + node(node(a, b), c)
    assert batch_message(EVENTS) == expected


def test_message_of_five_events() -> None:
    leaves = [leaf(bytes([i])) for i in range(5)]
    root = node(node(node(leaves[0], leaves[1]), node(leaves[2], leaves[3])), leaves[4])
    assert batch_message([bytes([i]) for i in range(5)]).endswith(b"\x05" + root)


def test_empty_batch_is_refused_everywhere() -> None:
    for attempt in (
        lambda: batch_message([]),
        lambda: sign_batch(KEY, []),
        lambda: verify_batch_signature(SignedBatch(KEY.key_id, bytes(64), ()), KEY.verify_key),
        lambda: batch_proofs(SignedBatch(KEY.key_id, bytes(64), ())),
    ):
        with pytest.raises(InvalidInputError) as caught:
            attempt()
        assert caught.value.field == "events"
        assert caught.value.rule == "a signed batch holds at least one event"


# --- signing and verifying a batch ------------------------------------------------------------


def test_sign_verify_round_trip() -> None:
    batch = sign_batch(KEY, EVENTS)
    assert batch.key_id == KEY.key_id
    assert batch.events == EVENTS
    verify_batch_signature(batch, KEY.verify_key)


def test_single_event_is_a_batch_of_one() -> None:
    batch = sign_batch(KEY, [b"alone"])
    verify_batch_signature(batch, KEY.verify_key)
    KEY.verify_key.verify(batch.signature, batch_message([b"alone"]))


@pytest.mark.parametrize("position", [0, 100, 511])
def test_flipped_signature_bit_is_rejected_naming_the_key(position: int) -> None:
    batch = sign_batch(KEY, EVENTS)
    forged = dataclasses.replace(batch, signature=flip_bit(batch.signature, position))
    with pytest.raises(SignatureError) as caught:
        verify_batch_signature(forged, KEY.verify_key)
    assert caught.value.field == "signature"
    assert KEY.key_id in caught.value.rule


@pytest.mark.parametrize("event_index", [0, 1, 2])
def test_any_flipped_event_bit_is_rejected(event_index: int) -> None:
    batch = sign_batch(KEY, EVENTS)
    for position in range(len(EVENTS[event_index]) * 8):
        events = list(EVENTS)
        events[event_index] = flip_bit(events[event_index], position)
        with pytest.raises(SignatureError):
            verify_batch_signature(dataclasses.replace(batch, events=tuple(events)), KEY.verify_key)


@pytest.mark.parametrize(
    "events",
    [
        (EVENTS[1], EVENTS[0], EVENTS[2]),  # reordered
        (EVENTS[2], EVENTS[1], EVENTS[0]),  # reversed
        EVENTS[:2],  # one dropped
        (*EVENTS, b"extra event"),  # one added
        (EVENTS[0], EVENTS[1], EVENTS[2], EVENTS[2]),  # one repeated
        (EVENTS[0] + EVENTS[1], EVENTS[2]),  # two merged
    ],
)
def test_changed_event_list_is_rejected(events: tuple[bytes, ...]) -> None:
    batch = sign_batch(KEY, EVENTS)
    with pytest.raises(SignatureError):
        verify_batch_signature(dataclasses.replace(batch, events=events), KEY.verify_key)


def test_batch_checked_with_another_key_names_both_key_ids() -> None:
    other = SigningKey.generate()
    with pytest.raises(SignatureError) as caught:
        verify_batch_signature(sign_batch(KEY, EVENTS), other.verify_key)
    assert caught.value.field == "key_id"
    assert KEY.key_id in caught.value.rule
    assert other.key_id in caught.value.rule


def test_batch_claiming_another_key_id_is_rejected() -> None:
    other = SigningKey.generate()
    batch = dataclasses.replace(sign_batch(KEY, EVENTS), key_id=other.key_id)
    with pytest.raises(SignatureError) as caught:
        verify_batch_signature(batch, other.verify_key)
    assert caught.value.field == "signature"
    assert other.key_id in caught.value.rule


def test_signature_over_concatenated_events_is_not_a_batch_signature() -> None:
    # Only the domain-separated Merkle message counts, not a naive signature over the bytes.
    batch = SignedBatch(KEY.key_id, KEY.sign(b"".join(EVENTS)), EVENTS)
    with pytest.raises(SignatureError):
        verify_batch_signature(batch, KEY.verify_key)


# --- one event alone --------------------------------------------------------------------------


def test_proof_of_an_event_in_three() -> None:
    batch = sign_batch(KEY, EVENTS)
    proof = batch_proof(batch, 2)
    a, b, _ = (leaf(event) for event in EVENTS)
    assert proof == BatchProof(count=3, index=2, audit_path=(node(a, b),), root=proof.root)
    assert batch_message(EVENTS).endswith(proof.root)
    verify_event_in_batch(EVENTS[2], proof, batch.signature, KEY.verify_key)


def test_batch_proofs_equal_single_proofs() -> None:
    batch = sign_batch(KEY, [bytes([i]) for i in range(13)])
    assert batch_proofs(batch) == tuple(batch_proof(batch, i) for i in range(13))


@pytest.mark.parametrize("index", [-1, 3, 100])
def test_proof_index_outside_the_batch_is_refused(index: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        batch_proof(sign_batch(KEY, EVENTS), index)
    assert caught.value.field == "index"
    assert caught.value.rule == "must be in 0..2"


def test_event_with_a_forged_root_is_rejected_by_the_signature() -> None:
    forged_events = (b"forged", EVENTS[1], EVENTS[2])
    batch = sign_batch(KEY, EVENTS)
    # A proof that is internally consistent but for a batch the key never signed.
    forged_proof = batch_proof(SignedBatch(KEY.key_id, batch.signature, forged_events), 0)
    with pytest.raises(SignatureError) as caught:
        verify_event_in_batch(b"forged", forged_proof, batch.signature, KEY.verify_key)
    assert caught.value.field == "signature"


def test_event_checked_with_another_key_is_rejected() -> None:
    batch = sign_batch(KEY, EVENTS)
    with pytest.raises(SignatureError):
        verify_event_in_batch(
            EVENTS[0], batch_proof(batch, 0), batch.signature, SigningKey.generate().verify_key
        )


def test_proof_with_a_wrong_count_is_rejected() -> None:
    batch = sign_batch(KEY, [bytes([i]) for i in range(4)])
    proof = dataclasses.replace(batch_proof(batch, 3), count=5)
    with pytest.raises(SignatureError) as caught:
        verify_event_in_batch(bytes([3]), proof, batch.signature, KEY.verify_key)
    assert caught.value.field == "proof"
    assert "not at index 3" in caught.value.rule


batches = st.lists(st.binary(max_size=40), min_size=1, max_size=64, unique=True)


@settings(max_examples=40, deadline=None)
@given(events=batches, data=st.data())
def test_every_event_verifies_alone_and_no_other_does(
    events: list[bytes], data: st.DataObject
) -> None:
    batch = sign_batch(KEY, events)
    proofs = batch_proofs(batch)
    for index, proof in enumerate(proofs):
        verify_event_in_batch(events[index], proof, batch.signature, KEY.verify_key)
    index = data.draw(st.integers(0, len(events) - 1), label="index")
    proof = proofs[index]
    if len(events) > 1:
        other = data.draw(st.integers(0, len(events) - 1).filter(lambda i: i != index))
        with pytest.raises(SignatureError):  # another event's bytes with this proof
            verify_event_in_batch(events[other], proof, batch.signature, KEY.verify_key)
        with pytest.raises(SignatureError):  # this event at another index
            wrong_index = dataclasses.replace(proof, index=other)
            verify_event_in_batch(events[index], wrong_index, batch.signature, KEY.verify_key)
    with pytest.raises(SignatureError):  # an index past the end
        past_end = dataclasses.replace(proof, index=len(events))
        verify_event_in_batch(events[index], past_end, batch.signature, KEY.verify_key)
    with pytest.raises(SignatureError):  # bytes never in the batch
        verify_event_in_batch(b"\xffnot in batch" * 5, proof, batch.signature, KEY.verify_key)
