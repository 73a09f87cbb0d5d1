"""Tiles (c2sp.org/tlog-tiles): paths in their one canonical form, tiles made of the ledger's
stored Merkle nodes, entry bundles."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suyuan.merkle import Frontier, leaf_hash, root_from_leaf_hashes
from suyuan.tlog import (
    MAX_ENTRY_BYTES,
    TileError,
    TileRef,
    encode_index,
    entry_bundle,
    parse_tile_path,
    split_entry_bundle,
    tile_bytes,
    tiles_of_size,
)


def test_the_specification_s_index_example() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000"
    assert encode_index(999) == "999"
    assert encode_index(1000) == "x001/000"


@pytest.mark.parametrize(
    ("path", "ref"),
    [
        ("tile/0/000", TileRef(0, 0)),
        ("tile/0/x001/x234/067", TileRef(0, 1234067)),
        ("tile/1/000.p/17", TileRef(1, 0, 17)),
        ("tile/entries/x001/067.p/5", TileRef(None, 1067, 5)),
        ("tile/entries/042", TileRef(None, 42)),
    ],
)
def test_paths_name_their_tile(path: str, ref: TileRef) -> None:
    assert parse_tile_path(path) == ref
    assert ref.path == path


@given(
    level=st.one_of(st.none(), st.integers(0, 63)),
    index=st.integers(0, 2**56),
    width=st.integers(1, 256),
)
def test_every_tile_s_path_parses_back_to_it(level: int | None, index: int, width: int) -> None:
    ref = TileRef(level, index, width)
    assert parse_tile_path(ref.path) == ref


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",  # groups are three digits
        "tile/0/x000/001",  # a superfluous leading group
        "tile/0/001/002",  # every group but the last starts with x
        "tile/0/x001",  # the last does not
        "tile/00/000",  # the level has no leading zero
        "tile/64/000",  # levels are 0..63
        "tile/0/000.p/0",  # widths are 1..255
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/0/000.p",
        "tile/entry/000",
        "tiles/0/000",
        "tile/0/000/",
        "tile/0/-01",
    ],
)
def test_a_non_canonical_path_is_refused(path: str) -> None:
    with pytest.raises(TileError) as caught:
        parse_tile_path(path)
    assert caught.value.field == "path"
    assert caught.value.reason == "malformed_tile_path"


def test_a_tree_of_70000_leaves_is_the_specification_s_tiles() -> None:
    refs = tiles_of_size(70_000)
    level0 = [r for r in refs if r.level == 0]
    assert sum(not r.is_partial for r in level0) == 273
    assert [r.width for r in level0 if r.is_partial] == [112]
    assert [(r.index, r.width) for r in refs if r.level == 1] == [(0, 256), (1, 17)]
    assert [(r.index, r.width) for r in refs if r.level == 2] == [(0, 1)]
    assert [r.level for r in tiles_of_size(256)] == [0, 1]
    assert tiles_of_size(0) == []


def test_tiles_made_of_stored_nodes_hash_to_the_tree_they_cover() -> None:
    """A ledger stores every perfect subtree a Frontier completes; the tiles of its tree read
    those nodes, and each hash of a level-L tile is the root of 256**L leaves."""
    size = 65_536 + 256 * 3 + 5
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    frontier = Frontier()
    stored = {(n.level, n.index): n.hash for n in frontier.extend(leaves)}
    tiles = {r: tile_bytes([stored[node] for node in r.nodes()]) for r in tiles_of_size(size)}

    level1_full = tiles[TileRef(1, 0)]
    assert len(level1_full) == 256 * 32
    assert level1_full[32 * 7 : 32 * 8] == root_from_leaf_hashes(leaves[256 * 7 : 256 * 8])
    level1_partial = tiles[TileRef(1, 1, 3)]
    assert level1_partial[64:96] == root_from_leaf_hashes(leaves[65_536 + 512 : 65_536 + 768])
    assert tiles[TileRef(2, 0, 1)] == root_from_leaf_hashes(leaves[:65_536])
    assert tiles[TileRef(0, 259, 5)] == b"".join(leaves[-5:])
    assert TileRef(2, 0, 1).tree_size_needed == 65_536
    assert TileRef(0, 259, 5).tree_size_needed == size


def test_an_entry_bundle_holds_each_entry_with_its_length() -> None:
    entries = [b"", b"a", "溯源".encode() * 100, b"\x00" * MAX_ENTRY_BYTES]
    bundle = entry_bundle(entries)
    assert bundle[:2] == b"\x00\x00" and bundle[2:5] == b"\x00\x01a"
    assert split_entry_bundle(bundle) == entries
    assert [leaf_hash(e) for e in split_entry_bundle(bundle)] == [leaf_hash(e) for e in entries]


def test_an_entry_too_long_for_a_bundle_is_refused() -> None:
    with pytest.raises(TileError) as caught:
        entry_bundle([b"ok", b"\x00" * (MAX_ENTRY_BYTES + 1)])
    assert caught.value.field == "entries[1]"
    with pytest.raises(TileError):
        split_entry_bundle(b"\x00\x05abc")
