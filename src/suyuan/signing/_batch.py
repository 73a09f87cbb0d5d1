"""Batch signatures: one Ed25519 signature over a Merkle root of encoded events (design.md §5).

What is signed, byte for byte (``docs/signing.md``)::

    b"suyuan/event-batch/v1\\n" || count (8 bytes, big-endian) || root (32 bytes)

where ``root`` is the RFC 6962 / RFC 9162 Merkle tree hash over the batch's encoded event bytes
(leaf = SHA-256(0x00 || event bytes)). Signing a root instead of the concatenated events lets one
ledger entry later prove, with a log2(n) audit path, that its event was signed within its batch.
A single event is a batch of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from suyuan.errors import InvalidInputError, SignatureError
from suyuan.events.model import SignedBatch
from suyuan.merkle import (
    ProofError,
    inclusion_proofs,
    leaf_hash,
    root_from_inclusion_path,
    root_from_leaf_hashes,
    verify_inclusion,
)
from suyuan.signing._keys import SigningKey, VerifyKey

#: Domain separation: starts every batch message, so a batch signature cannot pass for a
#: signature over any other kind of Suyuan message.
BATCH_SIGNATURE_CONTEXT = b"suyuan/event-batch/v1\n"
_COUNT_BYTES = 8


@dataclass(frozen=True, slots=True)
class BatchProof:
    """Where one event sits in a signed batch: batch size, its index and its Merkle audit path.

    ``root`` is the batch's Merkle root; it is not trusted on its own — it counts only once the
    batch signature over it verifies (see :func:`verify_event_in_batch`).
    """

    count: int
    index: int
    audit_path: tuple[bytes, ...]
    root: bytes


def batch_message(event_bytes: Sequence[bytes]) -> bytes:
    """The exact bytes a batch signature covers (see the module docstring).

    Raises:
        InvalidInputError: the batch is empty (field ``events``).
    """
    return _message(len(event_bytes), _root(event_bytes))


def sign_batch(key: SigningKey, events: Sequence[bytes]) -> SignedBatch:
    """Sign encoded events as one batch (their order is part of what is signed).

    Raises:
        InvalidInputError: the batch is empty (field ``events``).
    """
    return SignedBatch(
        key_id=key.key_id, signature=key.sign(batch_message(events)), events=tuple(events)
    )


def verify_batch_signature(batch: SignedBatch, key: VerifyKey) -> None:
    """Check the batch signature with ``key``: one Ed25519 verification and ~2n hashes.

    Raises:
        SignatureError: ``batch.key_id`` is not ``key``'s id (field ``key_id``), or the signature
            does not verify (field ``signature``); the message names the key id.
        InvalidInputError: the batch is empty (field ``events``).
    """
    if batch.key_id != key.key_id:
        raise SignatureError(
            "key_id", batch.key_id, f"batch names key {batch.key_id}, checked with key {key.key_id}"
        )
    key.verify(batch.signature, batch_message(batch.events))


def batch_proof(batch: SignedBatch, index: int) -> BatchProof:
    """The audit path proving that ``batch.events[index]`` is covered by the batch signature.

    Raises:
        InvalidInputError: ``index`` is outside the batch (field ``index``) or the batch is empty.
    """
    if not 0 <= index < len(batch.events):
        raise InvalidInputError("index", index, f"must be in 0..{len(batch.events) - 1}")
    return _BatchTree(batch.events).proof(index)


def batch_proofs(batch: SignedBatch) -> tuple[BatchProof, ...]:
    """The proof of every event of the batch, in order, in O(n log n) hashing overall.

    Raises:
        InvalidInputError: the batch is empty (field ``events``).
    """
    tree = _BatchTree(batch.events)
    return tuple(tree.proof(index) for index in range(len(batch.events)))


class _BatchTree:
    """The Merkle tree of one batch with every leaf's audit path, computed together in
    O(n log n) hashing and lookups instead of being rehashed per proof."""

    def __init__(self, event_bytes: Sequence[bytes]) -> None:
        self._root, self._paths = inclusion_proofs(_leaf_hashes(event_bytes))
        self._count = len(event_bytes)

    def proof(self, index: int) -> BatchProof:
        return BatchProof(
            count=self._count, index=index, audit_path=self._paths[index], root=self._root
        )


def verify_event_in_batch(
    event_bytes: bytes, proof: BatchProof, signature: bytes, key: VerifyKey
) -> None:
    """Check one event alone: it is at ``proof.index`` of a batch that ``key`` signed.

    Costs log2(count) hashes and one Ed25519 verification; the rest of the batch is not needed.

    Raises:
        SignatureError: the audit path does not lead from this event to the proof's root (field
            ``proof``), or the signature over (count, root) does not verify (field ``signature``).
    """
    try:
        verify_inclusion(
            leaf_hash(event_bytes), proof.index, proof.count, list(proof.audit_path), proof.root
        )
    except ProofError as err:
        raise SignatureError(
            "proof", event_bytes, f"event is not at index {proof.index} of the signed batch ({err})"
        ) from err
    verify_batch_root(proof, signature, key)


def _message(count: int, root: bytes) -> bytes:
    return BATCH_SIGNATURE_CONTEXT + count.to_bytes(_COUNT_BYTES, "big") + root


def _root(event_bytes: Sequence[bytes]) -> bytes:
    return root_from_leaf_hashes(_leaf_hashes(event_bytes))


def _leaf_hashes(event_bytes: Sequence[bytes]) -> list[bytes]:
    if not event_bytes:
        raise InvalidInputError("events", "[]", "a signed batch holds at least one event")
    return [leaf_hash(event) for event in event_bytes]


def batch_proof_from_path(
    event_bytes: bytes, count: int, index: int, audit_path: Sequence[bytes]
) -> BatchProof:
    """Rebuild the :class:`BatchProof` of a stored event from its audit path (the root follows).

    Raises:
        SignatureError: the path does not fit a batch of ``count`` at ``index`` (field ``proof``).
    """
    try:
        root = root_from_inclusion_path(leaf_hash(event_bytes), index, count, list(audit_path))
    except ProofError as err:
        raise SignatureError(
            "proof", event_bytes, f"is not a valid batch audit path ({err})"
        ) from err
    return BatchProof(count=count, index=index, audit_path=tuple(audit_path), root=root)


def verify_batch_root(proof: BatchProof, signature: bytes, key: VerifyKey) -> None:
    """Check the batch signature over ``(proof.count, proof.root)``: one Ed25519 verification.

    Raises:
        SignatureError: the signature does not verify (field ``signature``).
    """
    key.verify(signature, _message(proof.count, proof.root))
