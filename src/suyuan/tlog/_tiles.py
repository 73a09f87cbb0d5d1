"""Tiled transparency logs: a shard's Merkle tree and entries as static resources.

Specification: https://c2sp.org/tlog-tiles. Under a log's prefix::

    checkpoint                      the newest signed checkpoint (c2sp.org/tlog-checkpoint)
    tile/<L>/<N>[.p/<W>]            hashes: the <W> (256 when full) Merkle Tree Hashes
                                    MTH(D[(N*256+i) * 256**L : (N*256+i+1) * 256**L]), i < W
    tile/entries/<N>[.p/<W>]        entry bundle: entries N*256 .. N*256+W-1, each a big-endian
                                    uint16 length and the entry bytes

``<N>`` is written in zero-padded groups of three digits, all but the last prefixed with ``x``
(1234067 → ``x001/x234/067``). A hash in a level-``L`` tile is the root of a perfect subtree
of ``256**L`` leaves, i.e. the Merkle node ``(8 * L, N * 256 + i)`` of :mod:`suyuan.merkle`,
which the ledger stores; an entry is a ledger leaf (its hash is ``SHA-256(0x00 || leaf)``).

Errors: :class:`TileError` (reason ``malformed_tile_path``) for a path that is not the
canonical form of a tile, and for an entry too long for a bundle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from suyuan.errors import InvalidInputError

#: Hashes in a full tile, entries in a full bundle.
TILE_WIDTH = 256
#: Tree heights a tile spans: a level-L hash covers 2**(TILE_HEIGHT * L) leaves.
TILE_HEIGHT = 8
#: The largest entry a bundle can carry (its length is a uint16).
MAX_ENTRY_BYTES = 2**16 - 1
#: Levels the specification allows in a path (0..63).
MAX_TILE_LEVEL = 63

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_GROUP = re.compile(r"[0-9]{3}")
#: Index groups of a tile path: 21 digits hold every index below 2**64.
_MAX_GROUPS = 7


class TileError(InvalidInputError):
    """A tile path is not canonical c2sp.org/tlog-tiles, or an entry does not fit a bundle."""

    reason = "malformed_tile_path"


@dataclass(frozen=True, slots=True)
class TileRef:
    """One tile or entry bundle: ``level`` (``None`` for entries), ``index``, ``width``."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level is None

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def span(self) -> int:
        """Leaves under one hash of this tile (one entry per entry of a bundle)."""
        return 1 << (TILE_HEIGHT * (self.level or 0))

    @property
    def first(self) -> int:
        """Index of the first hash (or entry) in its level: ``index * 256``."""
        return self.index * TILE_WIDTH

    @property
    def tree_size_needed(self) -> int:
        """The smallest tree that holds every hash (or entry) of this tile."""
        return (self.first + self.width) * self.span

    def nodes(self) -> list[tuple[int, int]]:
        """The Merkle nodes ``(level, index)`` whose hashes make this tile, in order."""
        level = TILE_HEIGHT * (self.level or 0)
        return [(level, self.first + i) for i in range(self.width)]

    @property
    def path(self) -> str:
        """The path below the log's prefix, e.g. ``tile/0/x001/067.p/5``."""
        head = "tile/entries" if self.level is None else f"tile/{self.level}"
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"{head}/{encode_index(self.index)}{suffix}"


def encode_index(index: int) -> str:
    """``index`` in three-digit groups, all but the last prefixed ``x`` (``x001/x234/067``)."""
    text = str(index)
    text = "0" * (-len(text) % 3) + text
    groups = [text[i : i + 3] for i in range(0, len(text), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_tile_path(path: str) -> TileRef:
    """The tile a path below the log's prefix names (``tile/…`` or ``tile/entries/…``).

    Raises:
        TileError: the path is not the canonical form the specification requires (leading
            zeros, a level above 63, a width outside 1..255, a missing or extra ``x`` …).
    """
    shown = path[:120]
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TileError("path", shown, "must be tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    level: int | None
    if parts[1] == "entries":
        level = None
    elif len(parts[1]) <= 2 and _DECIMAL.fullmatch(parts[1]) and int(parts[1]) <= MAX_TILE_LEVEL:
        level = int(parts[1])
    else:
        raise TileError("path", shown, "the level must be a decimal 0..63 without leading zeros")
    rest = parts[2:]
    # Seven groups hold every index below 2**64; more digits are refused before int() reads
    # them (Python refuses a text of over 4,300 digits with a ValueError).
    if len(rest) > _MAX_GROUPS + 1:  # + 1: a partial tile's width
        raise TileError("path", shown, f"the index must be at most {_MAX_GROUPS} groups")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        text = rest[-1]  # its length first: int() of thousands of digits is a ValueError
        if len(text) > 3 or not _DECIMAL.fullmatch(text) or not 1 <= int(text) < TILE_WIDTH:
            raise TileError("path", shown, "a partial tile's width must be a decimal 1..255")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][: -len(".p")]]
    digits = []
    for position, group in enumerate(rest):
        last = position == len(rest) - 1
        body = group if last else group.removeprefix("x")
        if (not last and not group.startswith("x")) or not _GROUP.fullmatch(body):
            raise TileError(
                "path", shown, "the index must be 3-digit groups, all but the last starting x"
            )
        digits.append(body)
    if len(digits) > _MAX_GROUPS:
        raise TileError("path", shown, f"the index must be at most {_MAX_GROUPS} groups")
    ref = TileRef(level, int("".join(digits)), width)
    if ref.path != path:
        raise TileError("path", shown, f"not the canonical path of this tile ({ref.path})")
    return ref


def tile_bytes(hashes: Sequence[bytes]) -> bytes:
    """A hash tile's body: the hashes concatenated."""
    return b"".join(hashes)


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle's body: each entry as a big-endian uint16 length and its bytes.

    Raises:
        TileError: an entry is longer than :data:`MAX_ENTRY_BYTES`.
    """
    out = bytearray()
    for number, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_BYTES:
            raise TileError(f"entries[{number}]", entry, "must be at most 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def split_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle's body.

    Raises:
        TileError: a length runs past the end of the data.
    """
    entries = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise TileError("bundle", data[at:], "ends inside an entry's length")
        size = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + size > len(data):
            raise TileError("bundle", data[at:], "ends inside an entry")
        entries.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    return entries


def tiles_of_size(size: int) -> list[TileRef]:
    """Every hash tile a tree of ``size`` leaves is made of, full and partial, lowest level
    first (the specification's example: 70,000 leaves → 273 full and one partial level-0
    tiles, one full and one partial level-1 tile, one partial level-2 tile)."""
    refs: list[TileRef] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)
        refs.extend(TileRef(level, n) for n in range(hashes // TILE_WIDTH))
        if hashes % TILE_WIDTH:
            refs.append(TileRef(level, hashes // TILE_WIDTH, hashes % TILE_WIDTH))
        level += 1
    return refs
