"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs (design.md §6).

Specification: RFC 9162 §2.1 (https://www.rfc-editor.org/rfc/rfc9162#section-2.1), which keeps the
tree of RFC 6962 §2.1 with SHA-256:

- leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``;
- the root of an empty tree is ``SHA-256("")``;
- a tree of ``n > 1`` leaves splits at ``k``, the largest power of two below ``n``.

What is here:

- :func:`root_from_leaf_hashes`, :func:`inclusion_proof`, :func:`consistency_proof`: the tree head
  MTH, PATH and PROOF of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 over a list of leaf hashes;
  :func:`inclusion_proofs` gives every leaf's PATH at once (a signed batch needs them all);
- :func:`verify_inclusion`, :func:`verify_consistency`: the verification algorithms of RFC 9162
  §2.1.3.2 and §2.1.4.2, step by step, rejecting proofs with extra or missing hashes;
- :class:`Frontier`: an append-only accumulator holding the roots of the perfect subtrees on the
  right edge of the tree, so a ledger can append leaves and read the root in O(log n) memory;
- proofs from stored nodes: a ledger with millions of leaves keeps the hash of every *perfect*
  subtree (these never change once complete; :meth:`Frontier.append` hands them out as they are
  made) and passes a :data:`NodeReader` to :func:`inclusion_proof_from_nodes`,
  :func:`consistency_proof_from_nodes` or :func:`root_from_nodes`. :func:`inclusion_proof_nodes`
  and :func:`consistency_proof_nodes` list the nodes a proof reads, so they can be fetched in one
  query first.

A node is named by its ``level`` (0 for leaves) and ``index`` within the level: node ``(level, i)``
is the root of the perfect subtree over leaves ``[i * 2**level, (i + 1) * 2**level)``.

Every failure raises :class:`ProofError`, which names the field and the rule that was broken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from suyuan.errors import InvalidInputError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "Frontier",
    "Node",
    "NodeReader",
    "ProofError",
    "consistency_proof",
    "consistency_proof_from_nodes",
    "consistency_proof_nodes",
    "inclusion_proof",
    "inclusion_proof_from_nodes",
    "inclusion_proof_nodes",
    "inclusion_proofs",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_path",
    "root_from_leaf_hashes",
    "root_from_nodes",
    "verify_consistency",
    "verify_inclusion",
]

#: Bytes in a SHA-256 hash: every leaf hash, node hash, root and proof element.
HASH_SIZE = 32
#: Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
#: Tree sizes and leaf indexes are uint64 in RFC 9162 and C2SP formats; larger ones are refused.
_MAX_TREE_SIZE = 2**64 - 1

#: Reads a stored perfect-subtree hash: ``reader(level, index)`` returns the root of the subtree
#: over leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 are the leaf hashes.
NodeReader = Callable[[int, int], bytes]


class ProofError(InvalidInputError):
    """A Merkle proof, root, size or index breaks a rule of RFC 9162 §2.1."""

    reason = "bad_proof"


@dataclass(frozen=True, slots=True)
class Node:
    """A perfect-subtree hash: the root of leaves ``[index * 2**level, (index + 1) * 2**level)``."""

    level: int
    index: int
    hash: bytes


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: ``SHA-256(0x00 || data)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: ``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# --- the right frontier -------------------------------------------------------------------------


class Frontier:
    """The roots of the perfect subtrees that make up a tree of ``size`` leaves, largest first.

    A tree of size ``n`` is the perfect subtrees given by the set bits of ``n`` (a "compact range"
    ``[0, n)``); appending a leaf merges equal-sized subtrees like carrying in binary addition.
    Memory is one hash per set bit of ``size``, so at most 64 hashes, whatever the size.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, largest (leftmost) first."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Add one leaf hash; return the perfect-subtree nodes this completed, leaf first.

        A ledger that stores these nodes can later build any proof with
        :func:`inclusion_proof_from_nodes` / :func:`consistency_proof_from_nodes`.

        Raises:
            ProofError: ``leaf_hash`` is not 32 bytes (field ``leaf_hash``), or the tree is full.
        """
        _check_hash("leaf_hash", leaf_hash)
        if self._size >= _MAX_TREE_SIZE:
            raise ProofError("size", self._size, "a tree holds at most 2**64 - 1 leaves")
        completed = [Node(0, self._size, bytes(leaf_hash))]
        merged = bytes(leaf_hash)
        level = 0
        while (self._size >> level) & 1:
            merged = node_hash(self._hashes.pop(), merged)
            level += 1
            completed.append(Node(level, self._size >> level, merged))
        self._hashes.append(merged)
        self._size += 1
        return completed

    def add(self, leaf_hash: bytes) -> None:
        """:meth:`append` for a caller that needs only the roots, not the completed nodes
        (the audit adds every leaf of the ledger).

        Raises:
            ProofError: as :meth:`append`.
        """
        _check_hash("leaf_hash", leaf_hash)
        if self._size >= _MAX_TREE_SIZE:
            raise ProofError("size", self._size, "a tree holds at most 2**64 - 1 leaves")
        merged = bytes(leaf_hash)
        size = self._size
        while size & 1:
            merged = node_hash(self._hashes.pop(), merged)
            size >>= 1
        self._hashes.append(merged)
        self._size += 1

    def join(self, following: Frontier) -> None:
        """Append the leaves of ``following``, a tree of the leaves that come next, knowing only
        its frontier (audit ranges checked apart are joined in order).

        Each perfect subtree of ``following`` must start at a multiple of its own size in the
        joined tree: true when this tree's size is a multiple of the largest power of two not
        above ``following.size`` (e.g. both start at multiples of one power of two).

        Raises:
            ProofError: the subtrees would not be aligned (field ``size``), or the joined tree
                would exceed 2**64 - 1 leaves.
        """
        if following.size == 0:
            return
        largest = 1 << (following.size.bit_length() - 1)
        if self._size % largest:
            raise ProofError(
                "size",
                self._size,
                f"a tree of {following.size} leaves joins only at a multiple of {largest}",
            )
        if self._size + following.size > _MAX_TREE_SIZE:
            raise ProofError("size", self._size, "a tree holds at most 2**64 - 1 leaves")
        levels = [
            b for b in range(following.size.bit_length() - 1, -1, -1) if following.size >> b & 1
        ]
        for level, subtree in zip(levels, following._hashes, strict=True):
            merged = subtree
            size = self._size >> level
            while size & 1:
                merged = node_hash(self._hashes.pop(), merged)
                size >>= 1
            self._hashes.append(merged)
            self._size += 1 << level

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[Node]:
        """Append every leaf hash in order; return all nodes completed, in the order made.

        Raises:
            ProofError: a leaf hash is not 32 bytes (the leaves before it stay appended).
        """
        completed: list[Node] = []
        for leaf in leaf_hashes:
            completed.extend(self.append(leaf))
        return completed

    def root(self) -> bytes:
        """The tree head MTH of the leaves appended so far (RFC 9162 §2.1.1)."""
        if not self._hashes:
            return EMPTY_ROOT
        root = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            root = node_hash(left, root)
        return root

    def copy(self) -> Frontier:
        """An independent frontier with the same state."""
        return Frontier._restore(self._size, list(self._hashes))

    def to_bytes(self) -> bytes:
        """Persistent form: the size as 8 bytes big-endian, then the hashes, largest first."""
        return self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Inverse of :meth:`to_bytes`.

        Raises:
            ProofError: ``data`` is shorter than 8 bytes or does not hold exactly one hash per
                set bit of the size (field ``frontier``).
        """
        if len(data) < 8:
            raise ProofError("frontier", data, "must start with an 8-byte size")
        size = int.from_bytes(data[:8], "big")
        expected = 8 + HASH_SIZE * size.bit_count()
        if len(data) != expected:
            raise ProofError(
                "frontier",
                data,
                f"a frontier of size {size} is {expected} bytes: 8 + 32 per set bit of the size",
            )
        hashes = [bytes(data[i : i + HASH_SIZE]) for i in range(8, len(data), HASH_SIZE)]
        return cls._restore(size, hashes)

    @classmethod
    def _restore(cls, size: int, hashes: list[bytes]) -> Frontier:
        frontier = cls()
        frontier._size = size
        frontier._hashes = hashes
        return frontier

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    def __repr__(self) -> str:
        return f"Frontier(size={self._size}, root={self.root().hex()})"


#: The same accumulator under the name used by transparency-dev: the compact range ``[0, size)``.
CompactRange = Frontier


# --- tree heads and proofs over a list of leaf hashes ------------------------------------------


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree head MTH(D[n]) over these leaf hashes (RFC 9162 §2.1.1).

    Raises:
        ProofError: a leaf hash is not 32 bytes (field ``leaf_hash``).
    """
    for leaf in leaf_hashes:
        _check_hash("leaf_hash", leaf)
    if not leaf_hashes:
        return EMPTY_ROOT
    level = [bytes(leaf) for leaf in leaf_hashes]
    while len(level) > 1:
        level = _level_above(level)
    return level[0]


def _level_above(below: list[bytes]) -> list[bytes]:
    """Hash nodes pairwise, left to right; an unpaired last node moves up unchanged (this
    builds exactly the tree of RFC 9162 §2.1.1, whose left subtrees are perfect)."""
    above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
    if len(below) % 2:
        above.append(below[-1])
    return above


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path PATH(index, D[n]) for leaf ``index`` in the tree of these leaves.

    RFC 9162 §2.1.3.1; the path runs from the leaf's sibling up to a child of the root. For a
    proof against an earlier tree size, pass ``leaf_hashes[:size]``. Costs O(n) hashing; a ledger
    should use :func:`inclusion_proof_from_nodes` instead.

    Raises:
        ProofError: ``index`` is not in ``0..n-1`` (field ``index``).
    """
    return inclusion_proof_from_nodes(index, len(leaf_hashes), _list_reader(leaf_hashes))


def inclusion_proofs(leaf_hashes: Sequence[bytes]) -> tuple[bytes, list[tuple[bytes, ...]]]:
    """The tree head and the audit path PATH(i, D[n]) of every leaf ``i``, in O(n log n).

    Builds the tree level by level (see :func:`_level_above`), so a leaf's path is its sibling
    on each level where it has one, bottom first.

    Raises:
        ProofError: a leaf hash is not 32 bytes (field ``leaf_hash``).
    """
    for leaf in leaf_hashes:
        _check_hash("leaf_hash", leaf)
    if not leaf_hashes:
        return EMPTY_ROOT, []
    levels: list[list[bytes]] = [[bytes(leaf) for leaf in leaf_hashes]]
    while len(levels[-1]) > 1:
        levels.append(_level_above(levels[-1]))
    paths: list[tuple[bytes, ...]] = []
    for index in range(len(leaf_hashes)):
        path: list[bytes] = []
        position = index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            position >>= 1
        paths.append(tuple(path))
    return levels[-1][0], paths


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof PROOF(old_size, D[n]) from the first ``old_size`` leaves to all.

    RFC 9162 §2.1.4.1; empty when ``old_size`` is 0 or n. For a proof between two earlier sizes,
    pass ``leaf_hashes[:new_size]``.

    Raises:
        ProofError: ``old_size`` is not in ``0..n`` (field ``old_size``).
    """
    return consistency_proof_from_nodes(old_size, len(leaf_hashes), _list_reader(leaf_hashes))


def _list_reader(leaf_hashes: Sequence[bytes]) -> NodeReader:
    def read(level: int, index: int) -> bytes:
        start = index << level
        return root_from_leaf_hashes(leaf_hashes[start : start + (1 << level)])

    return read


# --- proofs from stored perfect-subtree nodes --------------------------------------------------


def root_from_nodes(size: int, read_node: NodeReader) -> bytes:
    """The tree head of the first ``size`` leaves, read from stored perfect-subtree nodes.

    Reads one node per set bit of ``size``.

    Raises:
        ProofError: ``size`` is negative or too large (field ``size``), or ``read_node`` returned
            something that is not a 32-byte hash (field ``node``).
    """
    _check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _subtree_root(0, size, read_node)


def inclusion_proof_from_nodes(index: int, size: int, read_node: NodeReader) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1), reading only the perfect-subtree nodes it needs.

    Reads at most 2·log2(size) nodes; :func:`inclusion_proof_nodes` lists them beforehand.

    Raises:
        ProofError: ``index`` is not in ``0..size-1`` (field ``index``), ``size`` is out of range
            (field ``size``), or ``read_node`` returned something that is not a 32-byte hash.
    """
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise ProofError("index", index, f"must be less than the tree size {size}")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split_point(end - start)
        if index < middle:
            siblings.append(_subtree_root(middle, end, read_node))
            end = middle
        else:
            siblings.append(_subtree_root(start, middle, read_node))
            start = middle
    siblings.reverse()
    return siblings


def consistency_proof_from_nodes(
    old_size: int, new_size: int, read_node: NodeReader
) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1) from stored perfect-subtree nodes.

    Empty when ``old_size`` is 0 or equal to ``new_size``; :func:`consistency_proof_nodes` lists
    the nodes it reads.

    Raises:
        ProofError: ``old_size`` is not in ``0..new_size`` (field ``old_size``), ``new_size`` is
            out of range (field ``new_size``), or ``read_node`` returned a bad hash.
    """
    _check_size("new_size", new_size)
    _check_size("old_size", old_size)
    if old_size > new_size:
        raise ProofError("old_size", old_size, f"must not exceed the new tree size {new_size}")
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, unrolled: walk down towards the old
    # tree's right edge collecting siblings, then add the old subtree itself unless it is the
    # whole old tree (b = true).
    hashes: list[bytes] = []
    start, end = 0, new_size
    whole_old_tree = True
    while old_size != end:
        middle = start + _split_point(end - start)
        if old_size <= middle:
            hashes.append(_subtree_root(middle, end, read_node))
            end = middle
        else:
            hashes.append(_subtree_root(start, middle, read_node))
            start = middle
            whole_old_tree = False
    if not whole_old_tree:
        hashes.append(_subtree_root(start, end, read_node))
    hashes.reverse()
    return hashes


def inclusion_proof_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` nodes :func:`inclusion_proof_from_nodes` reads, without duplicates.

    Raises:
        ProofError: as :func:`inclusion_proof_from_nodes`.
    """
    recorder = _NodeRecorder()
    inclusion_proof_from_nodes(index, size, recorder)
    return recorder.nodes


def consistency_proof_nodes(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` nodes :func:`consistency_proof_from_nodes` reads, no duplicates.

    Raises:
        ProofError: as :func:`consistency_proof_from_nodes`.
    """
    recorder = _NodeRecorder()
    consistency_proof_from_nodes(old_size, new_size, recorder)
    return recorder.nodes


class _NodeRecorder:
    """A node reader that remembers what was asked for (a proof's shape ignores hash values)."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        if (level, index) not in self.nodes:
            self.nodes.append((level, index))
        return EMPTY_ROOT


def _subtree_root(start: int, end: int, read_node: NodeReader) -> bytes:
    """MTH of leaves ``[start, end)``, where ``start`` is a multiple of the next power of two
    at or above ``end - start`` — true of every subtree RFC 6962's recursion visits.

    Such a range is the perfect subtrees given by the set bits of its length, largest first;
    the root folds them from the right, exactly as MTH splits them from the left.
    """
    perfect: list[bytes] = []
    position = start
    for level in reversed(range((end - start).bit_length())):
        if (end - start) >> level & 1:
            perfect.append(_read(read_node, level, position >> level))
            position += 1 << level
    root = perfect[-1]
    for left in reversed(perfect[:-1]):
        root = node_hash(left, root)
    return root


def _read(read_node: NodeReader, level: int, index: int) -> bytes:
    node = read_node(level, index)
    if not isinstance(node, bytes | bytearray) or len(node) != HASH_SIZE:
        raise ProofError("node", node, f"node ({level}, {index}) must be a 32-byte hash")
    return bytes(node)


def _split_point(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than ``n`` (for ``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Follows RFC 9162 §2.1.3.2 exactly: a proof with a hash too many or too few fails.

    Raises:
        ProofError: ``index >= size`` (field ``index``); a hash is not 32 bytes (fields
            ``leaf_hash``, ``proof``, ``root``); the proof is longer or shorter than the path for
            this index and size (field ``proof``); or the computed root differs (field ``root``).
    """
    _check_hash("root", root)
    computed = root_from_inclusion_path(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(
            "root", root, f"does not match the root computed from the proof ({computed.hex()})"
        )


def root_from_inclusion_path(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that an audit path leads to from ``leaf_hash`` at ``index`` of a ``size`` tree.

    The result is only as trustworthy as whatever vouches for the root (a signature, a
    checkpoint); :func:`verify_inclusion` compares it with a known root.

    Raises:
        ProofError: ``index``/``size`` out of range, or the path has too many or too few hashes.
    """
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise ProofError("index", index, f"must be less than the tree size {size}")
    _check_hash("leaf_hash", leaf_hash)
    _check_proof_hashes(proof)
    return _root_from_inclusion_path(leaf_hash, index, size, proof)


def _root_from_inclusion_path(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError(
                "proof", len(proof), f"has more hashes than leaf {index} of a tree of {size} needs"
            )
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            "proof", len(proof), f"has fewer hashes than leaf {index} of a tree of {size} needs"
        )
    return result


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` leaves with ``new_root`` extends the old one.

    Follows RFC 9162 §2.1.4.2 exactly for ``0 < old_size < new_size``. Equal sizes need an empty
    proof and equal roots; ``old_size == 0`` needs an empty proof (every tree extends the empty
    one).

    Raises:
        ProofError: ``old_size > new_size`` (field ``old_size``); a hash is not 32 bytes; the proof
            is empty, too long or too short (field ``proof``); or a computed root differs from the
            given one (field ``old_root`` or ``new_root``).
    """
    _check_size("new_size", new_size)
    _check_size("old_size", old_size)
    _check_hash("old_root", old_root)
    _check_hash("new_root", new_root)
    _check_proof_hashes(proof)
    if old_size > new_size:
        raise ProofError("old_size", old_size, f"must not exceed the new tree size {new_size}")
    if old_size == new_size or old_size == 0:
        _check_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    computed_old, computed_new = _roots_from_consistency_path(old_size, new_size, old_root, proof)
    if computed_old != old_root:
        raise ProofError("old_root", old_root, "does not match the root computed from the proof")
    if computed_new != new_root:
        raise ProofError("new_root", new_root, "does not match the root computed from the proof")


def _check_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    if proof:
        raise ProofError(
            "proof", len(proof), f"must be empty from size {old_size} to size {new_size}"
        )
    if old_size == new_size and old_root != new_root:
        raise ProofError("new_root", new_root, "trees of the same size must have the same root")


def _roots_from_consistency_path(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    if not proof:
        raise ProofError("proof", 0, f"must not be empty from size {old_size} to size {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a perfect subtree: its root starts it
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old, new = path[0], path[0]
    for hash_ in path[1:]:
        if sn == 0:
            raise ProofError(
                "proof", len(proof), f"has more hashes than sizes {old_size} → {new_size} need"
            )
        if fn & 1 or fn == sn:
            old = node_hash(hash_, old)
            new = node_hash(hash_, new)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new = node_hash(new, hash_)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            "proof", len(proof), f"has fewer hashes than sizes {old_size} → {new_size} need"
        )
    return old, new


# --- argument checks ----------------------------------------------------------------------------


def _check_size(field: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProofError(field, value, "must be an integer")
    if not 0 <= value <= _MAX_TREE_SIZE:
        raise ProofError(field, value, "must be in 0..2**64-1")


def _check_hash(field: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(field, value, "must be a 32-byte SHA-256 hash")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, hash_ in enumerate(proof):
        if not isinstance(hash_, bytes | bytearray) or len(hash_) != HASH_SIZE:
            raise ProofError("proof", hash_, f"hash {position} must be a 32-byte SHA-256 hash")
