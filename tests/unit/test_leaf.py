"""The ledger leaf's bytes (docs/ledger.md): what is hashed must parse back to the same fields,
and damaged bytes must be refused as a damaged leaf, never read as another one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suyuan.errors import DecodeError
from suyuan.ledger import Leaf

_HASH = st.binary(min_size=32, max_size=32)

leaves = st.builds(
    Leaf,
    shard=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 2**63),
    recorded_at=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    key_id=st.text("0123456789abcdef", min_size=1, max_size=40),
    signature=st.binary(min_size=0, max_size=80),
    batch_size=st.integers(1, 2**32 - 1),
    batch_index=st.integers(0, 2**32 - 1),
    batch_path=st.lists(_HASH, max_size=12).map(tuple),
    event=st.binary(max_size=300),
    trust_size=st.none() | st.integers(0, 2**64 - 1),
)


@given(leaves)
def test_a_leaf_parses_back_to_its_fields(leaf: Leaf) -> None:
    assert Leaf.from_bytes(leaf.to_bytes()) == leaf


@given(leaves, st.data())
def test_a_cut_leaf_is_refused_as_truncated(leaf: Leaf, data: st.DataObject) -> None:
    raw = leaf.to_bytes()
    keep = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(DecodeError) as caught:
        Leaf.from_bytes(raw[:keep])
    assert caught.value.field == "leaf"


@given(leaves, st.binary(min_size=1, max_size=40))
def test_bytes_after_a_leaf_are_refused(leaf: Leaf, extra: bytes) -> None:
    with pytest.raises(DecodeError, match="trailing bytes"):
        Leaf.from_bytes(leaf.to_bytes() + extra)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_a_leaf_or_a_decode_error(raw: bytes) -> None:
    try:
        leaf = Leaf.from_bytes(raw)
    except DecodeError:
        return
    assert leaf.to_bytes() == raw


@given(st.sampled_from([b"suyuan-leaf/v2\n", b"suyuan-leaf/v1\n"]), st.binary(max_size=200))
def test_bytes_behind_a_leaf_magic_are_a_leaf_or_a_decode_error(magic: bytes, rest: bytes) -> None:
    try:
        leaf = Leaf.from_bytes(magic + rest)
    except DecodeError:
        return
    assert leaf.to_bytes() == magic + rest
