"""The ledger leaf: the exact bytes hashed into the chain and the Merkle tree (design.md §6).

Layout (all integers big-endian; documented in ``docs/ledger.md``)::

    magic        15 bytes  b"suyuan-leaf/v2\\n"
    shard         4 bytes  uint32
    seq           8 bytes  uint64   position in the shard, from 0
    recorded_at   8 bytes  int64    microseconds since the Unix epoch (UTC), set by the ledger
    trust_size    8 bytes  uint64   trust events (in trust order) the writer had applied when it
                                    judged this event: the audit checks the signing key against
                                    exactly that state (docs/ledger.md, "Trust order")
    key_id        1 byte length + ASCII
    signature     2 bytes length + bytes (the batch signature, Ed25519: 64 bytes)
    batch_size    4 bytes  uint32   events covered by that signature
    batch_index   4 bytes  uint32   this event's index in the batch
    batch_path    1 byte count + count x 32 bytes (RFC 6962 audit path of the event in its batch)
    event         4 bytes length + the exact single-object-encoded event bytes that were signed

Everything needed to re-check the signature of this one event is inside the leaf, so a receipt
for one event can be verified with nothing but the signer's public key and the ledger key.

Leaves of the first format (``suyuan-leaf/v1``, no ``trust_size``) still parse; their
``trust_size`` is ``None`` and the audit judges them by time of recording.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from suyuan.errors import DecodeError
from suyuan.merkle import HASH_SIZE

LEAF_MAGIC = b"suyuan-leaf/v2\n"
_LEAF_MAGIC_V1 = b"suyuan-leaf/v1\n"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEAD = struct.Struct(">IQq")
_TRUST = struct.Struct(">Q")
_BATCH = struct.Struct(">II")
_HEAD_V2 = struct.Struct(">IQqQ")
_BATCH_PATH = struct.Struct(">IIB")
_LENGTH = struct.Struct(">I")


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def signer_part(key_id: str, signature: bytes) -> bytes:
    """The key id and signature fields of a leaf, which every event of a batch shares."""
    key = key_id.encode("ascii")
    return b"".join((bytes((len(key),)), key, len(signature).to_bytes(2, "big"), signature))


def leaf_bytes(
    shard: int,
    seq: int,
    recorded_micros: int,
    trust_size: int | None,
    signer: bytes,
    batch_size: int,
    batch_index: int,
    batch_path: tuple[bytes, ...],
    event: bytes,
) -> bytes:
    """The canonical leaf of :class:`Leaf` from its fields, without building one (the append
    path makes one per event); ``signer`` is :func:`signer_part` of the key id and signature.
    ``trust_size`` ``None`` makes a first-format leaf (kept for old ledgers and their tests)."""
    if trust_size is None:
        head = _LEAF_MAGIC_V1 + _HEAD.pack(shard, seq, recorded_micros)
    else:
        head = LEAF_MAGIC + _HEAD.pack(shard, seq, recorded_micros) + _TRUST.pack(trust_size)
    return b"".join(
        (
            head,
            signer,
            _BATCH.pack(batch_size, batch_index),
            bytes((len(batch_path),)),
            *batch_path,
            len(event).to_bytes(4, "big"),
            event,
        )
    )


@dataclass(frozen=True, slots=True)
class Leaf:
    """One ledger entry's hashed content. Immutable; :meth:`to_bytes` is its canonical form."""

    shard: int
    seq: int
    recorded_at: datetime
    key_id: str
    signature: bytes
    batch_size: int
    batch_index: int
    batch_path: tuple[bytes, ...]
    event: bytes
    trust_size: int | None = None
    """Trust events applied when the event was judged; ``None`` in a first-format leaf."""

    def to_bytes(self) -> bytes:
        return leaf_bytes(
            self.shard,
            self.seq,
            to_micros(self.recorded_at),
            self.trust_size,
            signer_part(self.key_id, self.signature),
            self.batch_size,
            self.batch_index,
            self.batch_path,
            self.event,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Leaf:
        """Parse a leaf.

        Raises:
            DecodeError: wrong magic, truncated, or trailing bytes (field ``leaf``).
        """
        # Offsets and struct.unpack_from rather than a reader object: the audit and every trace
        # parse each leaf they read, so this is on the hot path of both.
        magic = data[: len(LEAF_MAGIC)]
        pos = len(LEAF_MAGIC)
        trust_size: int | None = None
        try:
            if magic == LEAF_MAGIC:
                shard, seq, micros, trust_size = _HEAD_V2.unpack_from(data, pos)
                pos += _HEAD_V2.size
            elif magic == _LEAF_MAGIC_V1:
                shard, seq, micros = _HEAD.unpack_from(data, pos)
                pos += _HEAD.size
            else:
                raise DecodeError("leaf", data, f"must start with {LEAF_MAGIC!r}")
            end = pos + 1 + data[pos]
            key_id = data[pos + 1 : end].decode("ascii", errors="replace")
            pos = end
            end = pos + 2 + int.from_bytes(data[pos : pos + 2], "big")
            signature = data[pos + 2 : end]
            pos = end
            batch_size, batch_index, count = _BATCH_PATH.unpack_from(data, pos)
            pos += _BATCH_PATH.size
            path = tuple(
                data[i : i + HASH_SIZE] for i in range(pos, pos + count * HASH_SIZE, HASH_SIZE)
            )
            pos += count * HASH_SIZE
            (length,) = _LENGTH.unpack_from(data, pos)
            pos += _LENGTH.size
            event = data[pos : pos + length]
            pos += length
        except (struct.error, IndexError):
            raise DecodeError("leaf", data, f"is truncated at byte {min(pos, len(data))}") from None
        if pos > len(data):
            raise DecodeError("leaf", data, f"is truncated at byte {len(data)}")
        if pos != len(data):
            raise DecodeError("leaf", data, f"has {len(data) - pos} trailing bytes")
        return cls(
            shard=shard,
            seq=seq,
            recorded_at=from_micros(micros),
            key_id=key_id,
            signature=signature,
            batch_size=batch_size,
            batch_index=batch_index,
            batch_path=path,
            event=event,
            trust_size=trust_size,
        )
