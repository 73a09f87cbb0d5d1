"""Every audit path of a tree at once (:func:`suyuan.merkle.inclusion_proofs`): the published
RFC 6962 vectors, and the same paths as one-at-a-time PATH for every size up to 70."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from suyuan.merkle import (
    EMPTY_ROOT,
    ProofError,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    root_from_leaf_hashes,
    verify_inclusion,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "merkle"
RFC6962 = json.loads((DATA / "transparency_dev_rfc6962.json").read_text())
VECTOR_LEAVES = [leaf_hash(bytes.fromhex(data)) for data in RFC6962["leaves"]]
VECTOR_ROOTS = [bytes.fromhex(root) for root in RFC6962["roots"]]
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(70)]


@pytest.mark.parametrize("vector", RFC6962["inclusion"], ids=lambda v: f"{v['index']}of{v['size']}")
def test_paths_match_published(vector: dict[str, Any]) -> None:
    index, size = vector["index"], vector["size"]
    root, paths = inclusion_proofs(VECTOR_LEAVES[:size])
    assert root == VECTOR_ROOTS[size - 1]
    assert list(paths[index]) == [bytes.fromhex(h) for h in vector["proof"]]


@pytest.mark.parametrize("size", range(1, len(LEAVES) + 1))
def test_paths_equal_one_at_a_time_paths_and_verify(size: int) -> None:
    leaves = LEAVES[:size]
    root, paths = inclusion_proofs(leaves)
    assert root == root_from_leaf_hashes(leaves)
    assert len(paths) == size
    for index, path in enumerate(paths):
        assert list(path) == inclusion_proof(leaves, index)
        verify_inclusion(leaves[index], index, size, path, root)


def test_empty_tree_has_the_empty_root_and_no_paths() -> None:
    assert inclusion_proofs([]) == (EMPTY_ROOT, [])


def test_a_leaf_that_is_not_a_hash_is_refused() -> None:
    with pytest.raises(ProofError) as caught:
        inclusion_proofs([LEAVES[0], b"short"])
    assert caught.value.field == "leaf_hash"
    assert "32-byte" in caught.value.rule
