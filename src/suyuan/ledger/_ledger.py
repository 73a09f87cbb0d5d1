"""The ledger's public operations over a :class:`LedgerStore`: checkpoints, proofs, receipts,
tiles.

Checkpoints are C2SP tlog-checkpoint notes signed with the ledger key, one origin per shard
(``{name}/shard/{n}``). A new checkpoint is signed only after the tree it commits to is shown
consistent with the previous checkpoint of the shard (design.md §6).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from suyuan.errors import KeyFileError
from suyuan.ledger._interface import EntryNotFoundError, LedgerError, LedgerStore
from suyuan.merkle import (
    consistency_proof_from_nodes,
    consistency_proof_nodes,
    inclusion_proof_from_nodes,
    inclusion_proof_nodes,
    root_from_nodes,
    verify_consistency,
)
from suyuan.tlog import (
    Checkpoint,
    Note,
    NoteSigner,
    NoteVerifier,
    Receipt,
    TileRef,
    entry_bundle,
    open_checkpoint,
    sign_checkpoint,
    tile_bytes,
)

DEFAULT_LEDGER_NAME = "suyuan.local/ledger"
#: ``cosign(shard, note)``: the signed checkpoint note with witnesses' cosignatures added.
Cosign = Callable[[int, str], str]


def shard_origin(name: str, shard: int) -> str:
    """The checkpoint origin line of one shard."""
    return f"{name}/shard/{shard}"


def load_or_create_ledger_key(path: Path, name: str = DEFAULT_LEDGER_NAME) -> NoteSigner:
    """The ledger's note signer from ``path`` (a signed-note private key line), made if missing.

    Raises:
        KeyFileError: the file exists but is not a note signer key, or is readable by others.
    """
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise KeyFileError(
                f"{path}: ledger key must not be readable by group/others (chmod 600)"
            )
        try:
            return NoteSigner.from_key(path.read_text().strip())
        except ValueError as err:
            raise KeyFileError(f"{path}: not a ledger signer key ({err})") from err
    signer = NoteSigner.generate(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(signer.to_key() + "\n")
    path.with_suffix(".pub").write_text(signer.verifier.to_key() + "\n")
    return signer


class Ledger:
    """Checkpoints, inclusion/consistency proofs and receipts of a sharded ledger."""

    def __init__(self, store: LedgerStore, signer: NoteSigner) -> None:
        self.store = store
        self._signer = signer

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def verifier(self) -> NoteVerifier:
        return self._signer.verifier

    def origin(self, shard: int) -> str:
        return shard_origin(self.name, shard)

    def root_at(self, shard: int, size: int) -> bytes:
        return root_from_nodes(size, self._reader(shard, _root_nodes(size)))

    def inclusion_proof(self, shard: int, seq: int, size: int) -> list[bytes]:
        wanted = inclusion_proof_nodes(seq, size)
        return inclusion_proof_from_nodes(seq, size, self._reader(shard, wanted))

    def consistency_proof(self, shard: int, old_size: int, new_size: int) -> list[bytes]:
        wanted = consistency_proof_nodes(old_size, new_size)
        return consistency_proof_from_nodes(old_size, new_size, self._reader(shard, wanted))

    def latest_checkpoint(self, shard: int) -> tuple[str, Checkpoint] | None:
        """The newest signed checkpoint of ``shard`` and its parsed body, if any."""
        stored = self.store.latest_checkpoint(shard)
        if stored is None:
            return None
        note = stored.note
        return note, open_checkpoint(note, self.verifier, origin=self.origin(shard))

    def checkpoint(self, shard: int, *, cosign: Cosign | None = None) -> str:
        """Sign a checkpoint of the shard's current head (or return the latest if unchanged).

        ``cosign(shard, note)`` may add witnesses' cosignatures before the note is stored, so a
        reader never sees the checkpoint without them when the witnesses answered.

        Raises:
            LedgerError: the current tree is not consistent with the previous checkpoint, or
                the stored tree does not match the shard head; nothing is signed then.
        """
        head = self.store.head(shard)
        root = self.root_at(shard, head.size)
        if root != head.root:
            raise LedgerError(f"shard {shard}: stored Merkle nodes do not match the shard head")
        latest = self.latest_checkpoint(shard)
        if latest is not None:
            note, previous = latest
            if previous.size == head.size and previous.root_hash == root:
                return note
            if previous.size > head.size:
                raise LedgerError(
                    f"shard {shard}: ledger has {head.size} entries, fewer than the "
                    f"{previous.size} of its last checkpoint"
                )
            proof = self.consistency_proof(shard, previous.size, head.size)
            try:
                verify_consistency(previous.size, head.size, previous.root_hash, root, proof)
            except ValueError as err:
                raise LedgerError(
                    f"shard {shard}: tree of size {head.size} is not consistent with the "
                    f"checkpoint at size {previous.size}: {err}"
                ) from err
        note = sign_checkpoint(Checkpoint(self.origin(shard), head.size, root), self._signer)
        if cosign is not None:
            note = cosign(shard, note)
        try:
            self.store.add_checkpoint(shard, head.size, note)
        except LedgerError:
            # Another process serving this ledger (several query workers) signed this size
            # first: its checkpoint of the same tree stands.
            stored = self.latest_checkpoint(shard)
            if stored is None or (stored[1].size, stored[1].root_hash) != (head.size, root):
                raise
            return stored[0]
        return note

    def add_cosignatures(self, shard: int, note: str) -> None:
        """Store ``note`` — a stored checkpoint of ``shard`` with more signatures — in its place.

        Raises:
            LedgerError: ``note`` is not a checkpoint this ledger stored (another text).
            NoteError, NoteSignatureError, CheckpointError: ``note`` is not a checkpoint signed
                by the ledger key.
        """
        checkpoint = open_checkpoint(note, self.verifier, origin=self.origin(shard))
        stored = {c.size: c.note for c in self.store.checkpoints(shard)}.get(checkpoint.size)
        if stored is None or Note.parse(stored).text != Note.parse(note).text:
            raise LedgerError(f"shard {shard}: no stored checkpoint has this note's text")
        self.store.replace_checkpoint_note(shard, checkpoint.size, note)

    def receipt(self, event_id: str) -> str:
        """A C2SP tlog-proof receipt for one event; ``extra`` carries the entry's leaf bytes.

        Uses the newest checkpoint that covers the entry, signing a new one when needed.

        Raises:
            EntryNotFoundError: no entry has this event id.
        """
        shard, seq = self.store.locate(event_id)
        latest = self.latest_checkpoint(shard)
        if latest is None or latest[1].size <= seq:
            note = self.checkpoint(shard)
            size = open_checkpoint(note, self.verifier, origin=self.origin(shard)).size
        else:
            note, size = latest[0], latest[1].size
        leaf = self.store.entry(shard, seq).leaf
        proof = self.inclusion_proof(shard, seq, size)
        return Receipt(index=seq, proof=tuple(proof), checkpoint=note, extra=leaf).to_text()

    def tile(self, shard: int, ref: TileRef) -> bytes:
        """The body of a c2sp.org/tlog-tiles hash tile or entry bundle of ``shard``, served only
        once the shard's newest checkpoint covers all of it (so a mirror never holds a tile no
        signed tree head vouches for).

        Raises:
            EntryNotFoundError: no checkpoint of the shard covers the tile (yet).
            TileError: an entry of the bundle is longer than a bundle can carry.
            LedgerError: a stored Merkle node is missing.
        """
        latest = self.latest_checkpoint(shard)
        size = 0 if latest is None else latest[1].size
        if ref.tree_size_needed > size:
            raise EntryNotFoundError(
                f"shard {shard}: {ref.path} needs a tree of {ref.tree_size_needed} entries; "
                f"the newest checkpoint has {size}"
            )
        if ref.is_entries:
            rows = self.store.entries(shard, ref.first, ref.first + ref.width)
            return entry_bundle(row.leaf for row in rows)
        wanted = ref.nodes()
        read = self._reader(shard, wanted)
        return tile_bytes([read(level, index) for level, index in wanted])

    def _reader(self, shard: int, wanted: list[tuple[int, int]]) -> _NodeReader:
        return _NodeReader(self.store.nodes(shard, wanted), shard)


def _root_nodes(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees (one per set bit of ``size``) whose hashes make the root."""
    nodes: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


class _NodeReader:
    """Serves prefetched nodes; a missing one means the stored tree is incomplete."""

    def __init__(self, nodes: dict[tuple[int, int], bytes], shard: int) -> None:
        self._nodes = nodes
        self._shard = shard

    def __call__(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise LedgerError(
                f"shard {self._shard}: Merkle node ({level}, {index}) is missing"
            ) from None


def leaf_from_receipt(receipt: Receipt) -> bytes:
    """The leaf bytes a Suyuan receipt carries in its ``extra`` line.

    Raises:
        LedgerError: the receipt has no ``extra`` line.
    """
    if receipt.extra is None:
        raise LedgerError("receipt has no 'extra' line holding the ledger leaf")
    return receipt.extra


__all__ = ["DEFAULT_LEDGER_NAME", "Ledger", "leaf_from_receipt", "load_or_create_ledger_key"]
