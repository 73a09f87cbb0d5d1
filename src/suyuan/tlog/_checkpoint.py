"""Transparency-log checkpoints: the signed tree head of one ledger shard.

Specification: https://c2sp.org/tlog-checkpoint. A checkpoint is the text of a signed note
(https://c2sp.org/signed-note)::

    <origin>                  the log's identity, e.g. suyuan.example/ledger/0
    <tree size>               ASCII decimal, no leading zeros
    <root hash>               standard base64 of the 32-byte RFC 6962 root
    [<extension line>...]     optional, opaque, non-empty

The ledger signs a new checkpoint only after :func:`verify_checkpoint_consistency` accepts it
against the previous one (design.md §6); the specification forbids signing inconsistent ones.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from suyuan.errors import InvalidInputError
from suyuan.merkle import HASH_SIZE, verify_consistency
from suyuan.tlog._note import NoteSigner, NoteVerifier, open_note, sign_note

# At most 20 digits (2**64 has 20): int() refuses a text of over 4,300 with a ValueError.
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_SIZE = 2**64 - 1
_FIXED_LINES = 3


class CheckpointError(InvalidInputError):
    """A checkpoint body breaks the c2sp.org/tlog-checkpoint format, or has the wrong origin."""

    reason = "malformed_checkpoint"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: origin, number of leaves, RFC 6962 root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_SIZE:
            raise CheckpointError("size", self.size, "must be an integer in 0..2**64-1")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError("root_hash", self.root_hash, "must be a 32-byte SHA-256 hash")
        for extension in self.extensions:
            _check_line("extension", extension)

    def to_text(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in a newline."""
        root = base64.b64encode(self.root_hash).decode()
        lines = (self.origin, str(self.size), root, *self.extensions)
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint from a note text (the part of a signed note before the blank line).

        Raises:
            CheckpointError: the text does not end in a newline or has fewer than three lines
                (field ``checkpoint``); a line is empty (field ``origin``, ``size``,
                ``root_hash`` or ``extension``); the size is not a decimal without leading
                zeros below 2**64 (field ``size``); the root is not base64 of 32 bytes (field
                ``root_hash``).
        """
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint", text, "must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < _FIXED_LINES:
            raise CheckpointError(
                "checkpoint", text, "needs three lines: origin, tree size and root hash"
            )
        origin, size, root, *extensions = lines
        return cls(origin, _parse_size(size), _parse_root(root), tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The checkpoint as a signed note, signed by ``signer`` (the ledger key of design.md §6).

    The caller must have checked consistency with the previous checkpoint first
    (:func:`verify_checkpoint_consistency`).

    Raises:
        NoteError: the checkpoint text is not a valid note text (a control character in the
            origin or an extension line; field ``text``).
    """
    return sign_note(checkpoint.to_text(), signer)


def open_checkpoint(
    note_text: str | bytes, verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint against the ledger's public key and read it.

    Signatures by other keys (witnesses, say) are ignored. When ``origin`` is given, the
    checkpoint must name exactly that log.

    Raises:
        NoteError: the signed note is malformed.
        NoteSignatureError: the ledger key's signature does not verify.
        UnverifiedNoteError: the note has no signature by the ledger key.
        CheckpointError: the note text is not a checkpoint, or names another origin (field
            ``origin``).
    """
    note = open_note(note_text, [verifier])
    checkpoint = Checkpoint.parse(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError("origin", checkpoint.origin, f"must be {origin!r}")
    return checkpoint


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check that ``new`` extends ``old``: same log, and an RFC 9162 consistency proof holds.

    Raises:
        CheckpointError: the checkpoints name different origins (field ``origin``).
        ProofError: ``new`` is smaller than ``old``, or the proof does not hold (see
            :func:`suyuan.merkle.verify_consistency`).
    """
    if old.origin != new.origin:
        raise CheckpointError("origin", new.origin, f"must be the old checkpoint's {old.origin!r}")
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)


def _check_line(field: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise CheckpointError(field, value, "must be a non-empty line")
    if "\n" in value:
        raise CheckpointError(field, value, "must be a single line (no newline)")


def _parse_size(line: str) -> int:
    if not _DECIMAL.fullmatch(line):
        raise CheckpointError("size", line, "must be ASCII decimal digits without leading zeros")
    size = int(line)
    if size > _MAX_SIZE:
        raise CheckpointError("size", line, "must be below 2**64")
    return size


def _parse_root(line: str) -> bytes:
    try:
        root = base64.b64decode(line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CheckpointError("root_hash", line, "must be standard padded base64") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError("root_hash", line, "must be base64 of a 32-byte hash")
    return root
