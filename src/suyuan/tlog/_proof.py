"""Proof receipts: offline proof that a ledger entry is in a signed checkpoint.

Specification: https://c2sp.org/tlog-proof (version ``c2sp.org/tlog-proof@v1``)::

    c2sp.org/tlog-proof@v1
    [extra <base64 opaque data>]          optional, not authenticated
    index <leaf index, ASCII decimal>
    <base64 hash>                         the RFC 6962 audit path, leaf's sibling first
    ...
                                          (an empty line)
    <signed checkpoint note, verbatim>    see c2sp.org/tlog-checkpoint

Anyone holding the ledger's verifier key can check a receipt with :func:`verify_receipt`,
without contacting the ledger (design.md §6: ``suyuan prove`` / ``suyuan verify-receipt``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import NamedTuple

from suyuan.errors import InvalidInputError
from suyuan.merkle import HASH_SIZE, verify_inclusion
from suyuan.merkle import leaf_hash as hash_leaf
from suyuan.tlog._checkpoint import Checkpoint, open_checkpoint
from suyuan.tlog._note import NoteVerifier

#: First line of every receipt.
RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
#: An audit path in a tree of fewer than 2**64 leaves has at most 64 hashes.
MAX_PROOF_HASHES = 64

_EXTRA_PREFIX = "extra "
_INDEX_PREFIX = "index "
# At most 20 digits (2**64 has 20): int() refuses a text of over 4,300 with a ValueError.
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_INDEX = 2**64 - 1


class ReceiptError(InvalidInputError):
    """A proof receipt breaks the c2sp.org/tlog-proof format."""

    reason = "malformed_receipt"


@dataclass(frozen=True, slots=True)
class Receipt:
    """A parsed receipt: leaf index, audit path, signed checkpoint text and optional extra data.

    ``checkpoint`` is the signed checkpoint note exactly as the ledger issued it; ``extra`` is
    opaque and unauthenticated, so it must never be trusted on its own.
    """

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not 0 <= self.index <= _MAX_INDEX:
            raise ReceiptError("index", self.index, "must be an integer in 0..2**64-1")
        if len(self.proof) > MAX_PROOF_HASHES:
            raise ReceiptError("proof", len(self.proof), "has at most 64 hashes")
        for position, hash_ in enumerate(self.proof):
            if len(hash_) != HASH_SIZE:
                raise ReceiptError("proof", hash_, f"hash {position} must be 32 bytes")
        if not self.checkpoint.endswith("\n") or not self.checkpoint.strip():
            raise ReceiptError(
                "checkpoint", self.checkpoint, "must be a signed note ending in a newline"
            )

    def to_text(self) -> str:
        """The receipt in c2sp.org/tlog-proof@v1 form."""
        lines = [RECEIPT_HEADER]
        if self.extra is not None:
            lines.append(_EXTRA_PREFIX + base64.b64encode(self.extra).decode())
        lines.append(f"{_INDEX_PREFIX}{self.index}")
        lines.extend(base64.b64encode(hash_).decode() for hash_ in self.proof)
        return "".join(line + "\n" for line in lines) + "\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str | bytes) -> Receipt:
        """Read a receipt, checking its layout only (no signature or proof is verified).

        Raises:
            ReceiptError: the text is not UTF-8 or has no empty line before the checkpoint
                (field ``receipt``); the first line is not the header (``header``); the extra
                data is not base64 (``extra``); the index line is missing or not a decimal
                without leading zeros (``index``); a proof line is not base64 of 32 bytes or
                there are more than 64 (``proof``); the checkpoint is empty (``checkpoint``).
        """
        text = _as_text(text)
        head, separator, checkpoint = text.partition("\n\n")
        if not separator:
            raise ReceiptError("receipt", text, "needs an empty line before the checkpoint")
        lines = head.split("\n")
        if lines[0] != RECEIPT_HEADER:
            raise ReceiptError("header", lines[0], f"first line must be {RECEIPT_HEADER!r}")
        position = 1
        extra = None
        if position < len(lines) and lines[position].startswith(_EXTRA_PREFIX):
            extra = _parse_extra(lines[position])
            position += 1
        if position >= len(lines):
            raise ReceiptError("index", "", "an 'index <n>' line must follow the header")
        index = _parse_index(lines[position])
        proof = tuple(_parse_hash(i, line) for i, line in enumerate(lines[position + 1 :]))
        return cls(index, proof, checkpoint, extra)


class VerifiedReceipt(NamedTuple):
    """What :func:`verify_receipt` proved: the receipt, and the checkpoint holding its leaf."""

    receipt: Receipt
    checkpoint: Checkpoint


def verify_receipt(
    receipt_text: str | bytes,
    verifier: NoteVerifier,
    *,
    leaf_hash: bytes | None = None,
    leaf_data: bytes | None = None,
    origin: str | None = None,
) -> VerifiedReceipt:
    """Check a receipt offline: the ledger signed its checkpoint, and the leaf is in that tree.

    Give the leaf either as ``leaf_data`` (hashed as an RFC 6962 leaf) or as ``leaf_hash``.
    When ``origin`` is given, the checkpoint must name exactly that log.

    Raises:
        TypeError: not exactly one of ``leaf_hash`` and ``leaf_data`` is given.
        ReceiptError: the receipt is malformed (see :meth:`Receipt.parse`).
        NoteError, NoteSignatureError, UnverifiedNoteError, CheckpointError: the checkpoint is
            malformed, not signed by ``verifier``'s key, or names another origin (see
            :func:`~suyuan.tlog.open_checkpoint`).
        ProofError: the audit path does not lead from the leaf at the receipt's index to the
            checkpoint's root (see :func:`suyuan.merkle.verify_inclusion`).
    """
    if leaf_data is not None and leaf_hash is None:
        leaf = hash_leaf(leaf_data)
    elif leaf_hash is not None and leaf_data is None:
        leaf = leaf_hash
    else:
        raise TypeError("give exactly one of leaf_hash and leaf_data")
    receipt = Receipt.parse(receipt_text)
    checkpoint = open_checkpoint(receipt.checkpoint, verifier, origin=origin)
    verify_inclusion(leaf, receipt.index, checkpoint.size, receipt.proof, checkpoint.root_hash)
    return VerifiedReceipt(receipt, checkpoint)


def _parse_extra(line: str) -> bytes:
    encoded = line[len(_EXTRA_PREFIX) :]
    try:
        return base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ReceiptError("extra", encoded, "must be standard padded base64") from None


def _parse_index(line: str) -> int:
    if not line.startswith(_INDEX_PREFIX):
        raise ReceiptError("index", line, "an 'index <n>' line must follow the header")
    digits = line[len(_INDEX_PREFIX) :]
    if not _DECIMAL.fullmatch(digits) or int(digits) > _MAX_INDEX:
        raise ReceiptError("index", digits, "must be ASCII decimal without leading zeros, < 2**64")
    return int(digits)


def _parse_hash(position: int, line: str) -> bytes:
    if position >= MAX_PROOF_HASHES:
        raise ReceiptError("proof", position + 1, "has at most 64 hashes")
    try:
        hash_ = base64.b64decode(line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        hash_ = b""
    if len(hash_) != HASH_SIZE:
        raise ReceiptError("proof", line, f"hash {position} must be base64 of 32 bytes")
    return hash_


def _as_text(text: str | bytes) -> str:
    if isinstance(text, str):
        return text
    try:
        return bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise ReceiptError("receipt", text, "must be valid UTF-8") from None
