"""Signatures and the trust chain (design.md §5; byte-level details in ``docs/signing.md``).

- Keys: :class:`SigningKey` / :class:`VerifyKey` (Ed25519), their ``key_id``, and PEM key files.
- Batches: one signature over the RFC 6962 Merkle root of a batch's encoded events
  (:func:`sign_batch`, :func:`verify_batch_signature`), and per-event proofs (:func:`batch_proof`,
  :func:`batch_proofs`, :func:`verify_event_in_batch`) so one event can be checked alone.
- Trust: :class:`TrustStore`, anchored in regulator :class:`RootKey` values, decides which key
  may sign for which organisation.
"""

from suyuan.signing._batch import (
    BATCH_SIGNATURE_CONTEXT,
    BatchProof,
    batch_message,
    batch_proof,
    batch_proof_from_path,
    batch_proofs,
    sign_batch,
    verify_batch_root,
    verify_batch_signature,
    verify_event_in_batch,
)
from suyuan.signing._keys import (
    SigningKey,
    VerifyKey,
    key_id_of,
    load_signing_key,
    load_verify_key,
    save_key_pair,
)
from suyuan.signing._trust import Organisation, RootKey, TrustStore

__all__ = [
    "BATCH_SIGNATURE_CONTEXT",
    "BatchProof",
    "Organisation",
    "RootKey",
    "SigningKey",
    "TrustStore",
    "VerifyKey",
    "batch_message",
    "batch_proof",
    "batch_proof_from_path",
    "batch_proofs",
    "key_id_of",
    "load_signing_key",
    "load_verify_key",
    "save_key_pair",
    "sign_batch",
    "verify_batch_root",
    "verify_batch_signature",
    "verify_event_in_batch",
]
