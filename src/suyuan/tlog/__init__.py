"""Verifiable-log wire formats: signed notes, checkpoints and proof receipts (design.md §6).

Three C2SP formats, one module each:

- signed notes (:mod:`suyuan.tlog._note`): https://c2sp.org/signed-note, Ed25519 keys in the
  key-string form of Go's ``golang.org/x/mod/sumdb/note``;
- checkpoints (:mod:`suyuan.tlog._checkpoint`): https://c2sp.org/tlog-checkpoint, a shard's
  signed tree head;
- proof receipts (:mod:`suyuan.tlog._proof`): https://c2sp.org/tlog-proof, an inclusion proof
  with its signed checkpoint, verifiable offline;
- witness cosignatures (:mod:`suyuan.tlog._cosignature`): https://c2sp.org/tlog-cosignature,
  timestamped Ed25519 signatures by witnesses on a checkpoint;
- tiles (:mod:`suyuan.tlog._tiles`): https://c2sp.org/tlog-tiles, a shard's tree and entries as
  static resources anyone can mirror.

The Merkle tree itself (hashes, proofs, the append-only frontier) is :mod:`suyuan.merkle`.

Errors, all :class:`~suyuan.errors.InvalidInputError` (``field: rule (got 'value')``)::

    NoteError            a note or note key string is malformed          reason malformed_note
    NoteSignatureError   a trusted key's signature does not verify       reason bad_signature
    UnverifiedNoteError  no signature by a trusted key                   reason unverified_note
    CheckpointError      a checkpoint body is malformed / wrong origin   reason malformed_checkpoint
    ReceiptError         a receipt is malformed                          reason malformed_receipt
    QuorumError          fewer trusted witnesses cosigned than required  reason no_witness_quorum
    TileError            a tile path is not canonical, an entry too long reason malformed_tile_path

``NoteSignatureError`` is a :class:`~suyuan.errors.SignatureError`; a proof that does not hold
raises :class:`suyuan.merkle.ProofError`.
"""

from suyuan.tlog._checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    sign_checkpoint,
    verify_checkpoint_consistency,
)
from suyuan.tlog._cosignature import (
    COSIGNATURE_TYPE,
    Cosignature,
    Cosigner,
    QuorumError,
    WitnessVerifier,
    add_cosignatures,
    cosigned_message,
    open_witnessed_checkpoint,
    witnessed,
)
from suyuan.tlog._note import (
    Note,
    NoteError,
    NoteSignature,
    NoteSignatureError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNoteError,
    note_key_id,
    open_note,
    sign_note,
)
from suyuan.tlog._proof import (
    RECEIPT_HEADER,
    Receipt,
    ReceiptError,
    VerifiedReceipt,
    verify_receipt,
)
from suyuan.tlog._tiles import (
    MAX_ENTRY_BYTES,
    TILE_WIDTH,
    TileError,
    TileRef,
    encode_index,
    entry_bundle,
    parse_tile_path,
    split_entry_bundle,
    tile_bytes,
    tiles_of_size,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "MAX_ENTRY_BYTES",
    "RECEIPT_HEADER",
    "TILE_WIDTH",
    "Checkpoint",
    "CheckpointError",
    "Cosignature",
    "Cosigner",
    "Note",
    "NoteError",
    "NoteSignature",
    "NoteSignatureError",
    "NoteSigner",
    "NoteVerifier",
    "QuorumError",
    "Receipt",
    "ReceiptError",
    "TileError",
    "TileRef",
    "UnverifiedNoteError",
    "VerifiedReceipt",
    "WitnessVerifier",
    "add_cosignatures",
    "cosigned_message",
    "encode_index",
    "entry_bundle",
    "note_key_id",
    "open_checkpoint",
    "open_note",
    "open_witnessed_checkpoint",
    "parse_tile_path",
    "sign_checkpoint",
    "sign_note",
    "split_entry_bundle",
    "tile_bytes",
    "tiles_of_size",
    "verify_checkpoint_consistency",
    "verify_receipt",
    "witnessed",
]
