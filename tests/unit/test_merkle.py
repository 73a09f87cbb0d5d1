"""RFC 6962 / RFC 9162 Merkle tree: published vectors first, then properties and every rule.

Vectors (see ``tests/data/README.md``): transparency-dev/merkle's RFC 6962 test tree of 8 leaves,
and real proofs of Google's Argon 2020 Certificate Transparency log, as used by Go's sumdb/tlog.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.errors import InvalidInputError, SuyuanError
from suyuan.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    Frontier,
    Node,
    ProofError,
    consistency_proof,
    consistency_proof_from_nodes,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_from_nodes,
    verify_consistency,
    verify_inclusion,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "merkle"
RFC6962 = json.loads((DATA / "transparency_dev_rfc6962.json").read_text())
ARGON = json.loads((DATA / "argon2020_ct.json").read_text())

VECTOR_LEAVES = [leaf_hash(bytes.fromhex(data)) for data in RFC6962["leaves"]]
VECTOR_ROOTS = [bytes.fromhex(root) for root in RFC6962["roots"]]
SOME_HASH = bytes.fromhex(RFC6962["some_hash"])

# A 300-leaf tree for the properties, with every perfect-subtree node a ledger would store.
MAX_SIZE = 300
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(MAX_SIZE)]
STORED: dict[tuple[int, int], bytes] = {}
ROOTS = [EMPTY_ROOT]
PROOF_3_TO_5 = consistency_proof(LEAVES[:5], 3)
_frontier = Frontier()
for _leaf in LEAVES:
    STORED.update({(node.level, node.index): node.hash for node in _frontier.append(_leaf)})
    ROOTS.append(_frontier.root())


def read_stored(level: int, index: int) -> bytes:
    return STORED[(level, index)]


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def b64s(values: list[str]) -> list[bytes]:
    return [base64.b64decode(value) for value in values]


def flip(value: bytes, position: int = 0, bit: int = 3) -> bytes:
    changed = bytearray(value)
    changed[position % len(changed)] ^= 1 << bit
    return bytes(changed)


def fails(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except ProofError:
        return True
    return False


# --- published vectors --------------------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing() -> None:
    assert bytes.fromhex(RFC6962["empty_tree_hash"]) == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT
    assert root_from_nodes(0, read_stored) == EMPTY_ROOT


def test_leaf_hash_matches_go_sumdb_record_hash() -> None:
    # Go's tlog.RecordHash("hello world"), golden value of sumdb/tlog TestFormatTree.
    expected = base64.b64decode("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=")
    assert leaf_hash(b"hello world") == expected


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_every_size_match_published(size: int) -> None:
    expected = VECTOR_ROOTS[size - 1]
    assert root_from_leaf_hashes(VECTOR_LEAVES[:size]) == expected
    frontier = Frontier()
    stored = {(n.level, n.index): n.hash for n in frontier.extend(VECTOR_LEAVES[:size])}
    assert frontier.root() == expected
    assert root_from_nodes(size, lambda level, index: stored[(level, index)]) == expected


@pytest.mark.parametrize("vector", RFC6962["inclusion"], ids=lambda v: f"{v['index']}of{v['size']}")
def test_inclusion_proofs_match_published(vector: dict[str, Any]) -> None:
    index, size, expected = vector["index"], vector["size"], hexes(vector["proof"])
    assert inclusion_proof(VECTOR_LEAVES[:size], index) == expected
    verify_inclusion(VECTOR_LEAVES[index], index, size, expected, VECTOR_ROOTS[size - 1])


@pytest.mark.parametrize("vector", RFC6962["inclusion"], ids=lambda v: f"{v['index']}of{v['size']}")
def test_corrupted_published_inclusion_proofs_fail(vector: dict[str, Any]) -> None:
    # The probes of transparency-dev/merkle's corruptInclusionProof, each must be rejected.
    index, size, proof = vector["index"], vector["size"], hexes(vector["proof"])
    root, leaf = VECTOR_ROOTS[size - 1], VECTOR_LEAVES[index]
    probes: dict[str, tuple[Any, ...]] = {
        "index - 1": (leaf, index - 1, size, proof, root),
        "index + 1": (leaf, index + 1, size, proof, root),
        "index ^ 2": (leaf, index ^ 2, size, proof, root),
        "size * 2": (leaf, index, size * 2, proof, root),
        "size / 2": (leaf, index, size // 2, proof, root),
        "wrong leaf": (b"WrongLeaf", index, size, proof, root),
        "empty root": (leaf, index, size, proof, EMPTY_ROOT),
        "random root": (leaf, index, size, proof, SOME_HASH),
        "trailing garbage": (leaf, index, size, [*proof, b""], root),
        "trailing root": (leaf, index, size, [*proof, root], root),
        "preceding garbage": (leaf, index, size, [b"", *proof], root),
        "preceding root": (leaf, index, size, [root, *proof], root),
    }
    for i in range(len(proof)):
        modified = list(proof)
        modified[i] = flip(modified[i], 0, 3)
        probes[f"modified proof[{i}] bit 3"] = (leaf, index, size, modified, root)
    if proof:
        probes["removed component"] = (leaf, index, size, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted component"] = (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)
    accepted = [name for name, args in probes.items() if not fails(verify_inclusion, *args)]
    assert accepted == []


@pytest.mark.parametrize("index_and_size", RFC6962["inclusion_edge_cases"]["probes"])
def test_published_inclusion_edge_cases_fail(index_and_size: list[int]) -> None:
    index, size = index_and_size
    assert fails(verify_inclusion, SOME_HASH, index, size, [], b"")
    assert fails(verify_inclusion, b"", index, size, [], EMPTY_ROOT)
    assert fails(verify_inclusion, SOME_HASH, index, size, [], EMPTY_ROOT)


def test_single_leaf_tree_root_is_the_leaf_hash() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    assert fails(verify_inclusion, b"", 0, 1, [], leaf)
    assert fails(verify_inclusion, leaf, 0, 1, [], b"")


@pytest.mark.parametrize(
    "vector", RFC6962["consistency"], ids=lambda v: f"{v['old_size']}to{v['new_size']}"
)
def test_consistency_proofs_match_published(vector: dict[str, Any]) -> None:
    old, new, expected = vector["old_size"], vector["new_size"], hexes(vector["proof"])
    assert consistency_proof(VECTOR_LEAVES[:new], old) == expected
    verify_consistency(old, new, VECTOR_ROOTS[old - 1], VECTOR_ROOTS[new - 1], expected)


@pytest.mark.parametrize(
    "vector",
    [v for v in RFC6962["consistency"] if v["proof"]],
    ids=lambda v: f"{v['old_size']}to{v['new_size']}",
)
def test_corrupted_published_consistency_proofs_fail(vector: dict[str, Any]) -> None:
    # The probes of transparency-dev/merkle's corruptConsistencyProof, each must be rejected.
    old, new, proof = vector["old_size"], vector["new_size"], hexes(vector["proof"])
    old_root, new_root = VECTOR_ROOTS[old - 1], VECTOR_ROOTS[new - 1]
    wrong_root = SOME_HASH
    probes: dict[str, tuple[Any, ...]] = {
        "old - 1": (old - 1, new, old_root, new_root, proof),
        "old + 1": (old + 1, new, old_root, new_root, proof),
        "old ^ 2": (old ^ 2, new, old_root, new_root, proof),
        "new * 2": (old, new * 2, old_root, new_root, proof),
        "new / 2": (old, new // 2, old_root, new_root, proof),
        "wrong old root": (old, new, wrong_root, new_root, proof),
        "wrong new root": (old, new, old_root, wrong_root, proof),
        "swapped roots": (old, new, new_root, old_root, proof),
        "empty proof": (old, new, old_root, new_root, []),
        "trailing garbage": (old, new, old_root, new_root, [*proof, b""]),
        "trailing old root": (old, new, old_root, new_root, [*proof, old_root]),
        "trailing new root": (old, new, old_root, new_root, [*proof, new_root]),
        "preceding garbage": (old, new, old_root, new_root, [b"", *proof]),
        "preceding old root": (old, new, old_root, new_root, [old_root, *proof]),
        "preceding new root": (old, new, old_root, new_root, [new_root, *proof]),
        "preceding proof[0]": (old, new, old_root, new_root, [proof[0], *proof]),
        "truncated proof": (old, new, old_root, new_root, proof[:-1]),
    }
    for i in range(len(proof)):
        modified = list(proof)
        modified[i] = flip(modified[i], 0, 4)
        probes[f"modified proof[{i}] bit 4"] = (old, new, old_root, new_root, modified)
    accepted = [name for name, args in probes.items() if not fails(verify_consistency, *args)]
    assert accepted == []


@pytest.mark.parametrize("case", RFC6962["consistency_edge_cases"]["cases"])
def test_published_consistency_edge_cases(case: dict[str, Any]) -> None:
    named = {
        "root1": b"1" * HASH_SIZE,
        "root2": b"2" * HASH_SIZE,
        "empty": bytes.fromhex(RFC6962["empty_tree_hash"]),
    }
    args = (
        case["old_size"],
        case["new_size"],
        named[case["old_root"]],
        named[case["new_root"]],
        [named[name] for name in case["proof"]],
    )
    assert fails(verify_consistency, *args) is not case["ok"]


def test_real_certificate_transparency_inclusion_proof_verifies() -> None:
    size, root = ARGON["sth"]["tree_size"], base64.b64decode(ARGON["sth"]["sha256_root_hash"])
    leaf = leaf_hash(base64.b64decode(ARGON["leaf_input"]))
    path = b64s(ARGON["audit_path"])
    verify_inclusion(leaf, ARGON["leaf_index"], size, path, root)
    assert fails(verify_inclusion, leaf, ARGON["leaf_index"] + 1, size, path, root)
    assert fails(verify_inclusion, leaf, ARGON["leaf_index"], size, [flip(path[17]), *path], root)
    assert fails(verify_inclusion, flip(leaf), ARGON["leaf_index"], size, path, root)


def test_real_certificate_transparency_consistency_proof_verifies() -> None:
    size, root = ARGON["sth"]["tree_size"], base64.b64decode(ARGON["sth"]["sha256_root_hash"])
    old_size = ARGON["consistency"]["old_size"]
    old_root = base64.b64decode(ARGON["consistency"]["old_root"])
    path = b64s(ARGON["consistency"]["proof"])
    verify_consistency(old_size, size, old_root, root, path)
    assert fails(verify_consistency, old_size, size, flip(old_root), root, path)
    assert fails(verify_consistency, old_size + 1, size, old_root, root, path)
    assert fails(verify_consistency, old_size, size, old_root, root, path[:-1])


# --- properties ---------------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=MAX_SIZE)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def old_and_new_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(min_value=0, max_value=MAX_SIZE))
    return draw(st.integers(min_value=0, max_value=new)), new


@settings(max_examples=150, deadline=None)
@given(tree_and_index())
def test_inclusion_proofs_verify_and_match_stored_nodes(case: tuple[int, int]) -> None:
    size, index = case
    proof = inclusion_proof(LEAVES[:size], index)
    assert inclusion_proof_from_nodes(index, size, read_stored) == proof
    verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_any_change_to_an_inclusion_proof_fails(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    proof = inclusion_proof_from_nodes(index, size, read_stored)
    leaf, root = LEAVES[index], ROOTS[size]
    byte = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    assert fails(verify_inclusion, leaf, index, size, proof, flip(root, byte, bit))
    assert fails(verify_inclusion, flip(leaf, byte, bit), index, size, proof, root)
    if proof:
        hash_number = data.draw(st.integers(0, len(proof) - 1), label="hash")
        changed = list(proof)
        changed[hash_number] = flip(changed[hash_number], byte, bit)
        assert fails(verify_inclusion, leaf, index, size, changed, root)
        assert fails(verify_inclusion, leaf, index, size, proof[:-1], root)
    assert fails(verify_inclusion, leaf, index, size, [*proof, SOME_HASH], root)
    if size > 1:
        other_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        assert fails(verify_inclusion, leaf, other_index, size, proof, root)
    if index + 1 < MAX_SIZE:
        other_size = data.draw(st.integers(index + 1, MAX_SIZE).filter(lambda n: n != size))
        assert fails(verify_inclusion, leaf, index, other_size, proof, ROOTS[other_size])


@settings(max_examples=150, deadline=None)
@given(old_and_new_sizes())
def test_consistency_proofs_verify_and_match_stored_nodes(case: tuple[int, int]) -> None:
    old, new = case
    proof = consistency_proof(LEAVES[:new], old)
    assert consistency_proof_from_nodes(old, new, read_stored) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@settings(max_examples=150, deadline=None)
@given(old_and_new_sizes().filter(lambda c: 0 < c[0] < c[1]), st.data())
def test_any_change_to_a_consistency_proof_fails(
    case: tuple[int, int], data: st.DataObject
) -> None:
    old, new = case
    proof = consistency_proof_from_nodes(old, new, read_stored)
    byte = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    hash_number = data.draw(st.integers(0, len(proof) - 1), label="hash")
    changed = list(proof)
    changed[hash_number] = flip(changed[hash_number], byte, bit)
    assert fails(verify_consistency, old, new, ROOTS[old], ROOTS[new], changed)
    assert fails(verify_consistency, old, new, flip(ROOTS[old], byte, bit), ROOTS[new], proof)
    assert fails(verify_consistency, old, new, ROOTS[old], flip(ROOTS[new], byte, bit), proof)
    assert fails(verify_consistency, old, new, ROOTS[old], ROOTS[new], proof[:-1])
    assert fails(verify_consistency, old, new, ROOTS[old], ROOTS[new], [*proof, SOME_HASH])
    other_old = data.draw(st.integers(1, new).filter(lambda m: m != old), label="other old")
    assert fails(verify_consistency, other_old, new, ROOTS[other_old], ROOTS[new], proof)


@settings(max_examples=100, deadline=None)
@given(tree_and_index(), old_and_new_sizes())
def test_proofs_read_only_listed_nodes_complete_at_that_size(
    inclusion: tuple[int, int], consistency: tuple[int, int]
) -> None:
    # Each node read covers leaves the tree already had, so stored nodes never change later.
    size, index = inclusion
    for level, node_index in inclusion_proof_nodes(index, size):
        assert (node_index + 1) << level <= size
    old, new = consistency
    for level, node_index in consistency_proof_nodes(old, new):
        assert (node_index + 1) << level <= new


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_frontier_root_is_independent_of_how_appends_are_batched(batches: list[int]) -> None:
    frontier = Frontier()
    appended = 0
    for batch in batches:
        batch = min(batch, MAX_SIZE - appended)
        completed = frontier.extend(LEAVES[appended : appended + batch])
        appended += batch
        assert all(STORED[(node.level, node.index)] == node.hash for node in completed)
        assert frontier.size == appended
        assert frontier.root() == root_from_leaf_hashes(LEAVES[:appended]) == ROOTS[appended]
    assert len(frontier.hashes) == appended.bit_count()


@settings(max_examples=100, deadline=None)
@given(sizes, st.integers(min_value=0, max_value=20))
def test_frontier_persistence_round_trips(size: int, more: int) -> None:
    frontier = Frontier()
    frontier.extend(LEAVES[:size])
    restored = Frontier.from_bytes(frontier.to_bytes())
    assert restored == frontier
    assert restored.root() == ROOTS[size]
    more = min(more, MAX_SIZE - size)
    restored.extend(LEAVES[size : size + more])
    assert restored.root() == ROOTS[size + more]
    assert len(frontier.to_bytes()) == 8 + HASH_SIZE * size.bit_count()


def test_frontier_append_reports_the_completed_subtrees() -> None:
    frontier = Frontier()
    frontier.extend(LEAVES[:3])
    completed = frontier.append(LEAVES[3])
    assert completed == [
        Node(0, 3, LEAVES[3]),
        Node(1, 1, node_hash(LEAVES[2], LEAVES[3])),
        Node(2, 0, root_from_leaf_hashes(LEAVES[:4])),
    ]


def test_frontier_copy_is_independent() -> None:
    frontier = Frontier()
    frontier.extend(LEAVES[:5])
    copy = frontier.copy()
    copy.append(LEAVES[5])
    assert (frontier.size, copy.size) == (5, 6)
    assert frontier.root() == ROOTS[5]


@settings(max_examples=100, deadline=None)
@given(sizes)
def test_frontier_add_is_append_without_the_nodes(size: int) -> None:
    added, appended = Frontier(), Frontier()
    for leaf in LEAVES[:size]:
        added.add(leaf)
        appended.append(leaf)
    assert added == appended
    assert added.root() == ROOTS[size]


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=5), st.data())
def test_frontiers_of_aligned_ranges_join_into_the_whole_tree(
    power: int, data: st.DataObject
) -> None:
    """Ranges of a power-of-two length checked apart (the audit's ranges) give the root of
    the whole tree at every size, the last range being of any length."""
    span = 1 << power
    ranges = data.draw(st.integers(min_value=0, max_value=(MAX_SIZE - 1) // span))
    last = data.draw(st.integers(min_value=0, max_value=min(MAX_SIZE - ranges * span, 3 * span)))
    joined = Frontier()
    for start in range(0, ranges * span, span):
        part = Frontier()
        part.extend(LEAVES[start : start + span])
        joined.join(part)
        assert joined.root() == ROOTS[start + span]
    part = Frontier()
    part.extend(LEAVES[ranges * span : ranges * span + last])
    if last and ranges * span % (1 << (last.bit_length() - 1)):
        with pytest.raises(ProofError):
            joined.join(part)
        return
    joined.join(part)
    assert joined.size == ranges * span + last
    assert joined.root() == ROOTS[joined.size]


def test_a_frontier_joins_only_where_its_subtrees_stay_aligned() -> None:
    first, second = Frontier(), Frontier()
    first.extend(LEAVES[:2])
    second.extend(LEAVES[2:6])  # a subtree of 4 leaves cannot start at leaf 2
    with pytest.raises(ProofError) as raised:
        first.join(second)
    assert raised.value.field == "size"
    assert first.size == 2


def test_compact_range_is_the_frontier() -> None:
    assert CompactRange is Frontier


# --- every rule names its field -----------------------------------------------------------------


def rule_of(check: Any, *args: Any) -> ProofError:
    with pytest.raises(ProofError) as caught:
        check(*args)
    return caught.value


def test_proof_error_is_an_input_error_with_reason() -> None:
    err = rule_of(verify_inclusion, LEAVES[0], 5, 5, [], ROOTS[5])
    assert isinstance(err, InvalidInputError)
    assert isinstance(err, SuyuanError)
    assert err.as_dict()["reason"] == "bad_proof"
    assert str(err).startswith("index: must be less than the tree size 5")


@pytest.mark.parametrize(
    ("args", "field", "rule"),
    [
        ((LEAVES[0], 5, 5, [], ROOTS[5]), "index", "less than the tree size"),
        ((LEAVES[0], -1, 5, [], ROOTS[5]), "index", "0..2**64-1"),
        ((LEAVES[0], 0, 2**64, [], ROOTS[5]), "size", "0..2**64-1"),
        ((LEAVES[0], 0, 0, [], EMPTY_ROOT), "index", "less than the tree size 0"),
        ((b"short", 0, 1, [], ROOTS[1]), "leaf_hash", "32-byte"),
        ((LEAVES[0], 0, 1, [], b"short"), "root", "32-byte"),
        ((LEAVES[0], 0, 2, [b"short"], ROOTS[2]), "proof", "hash 0 must be a 32-byte"),
        ((LEAVES[0], 0, 2, [LEAVES[1], LEAVES[2]], ROOTS[2]), "proof", "more hashes"),
        ((LEAVES[0], 0, 4, [LEAVES[1]], ROOTS[4]), "proof", "fewer hashes"),
        ((LEAVES[0], 0, 2, [LEAVES[2]], ROOTS[2]), "root", "does not match"),
    ],
)
def test_inclusion_rules(args: tuple[Any, ...], field: str, rule: str) -> None:
    err = rule_of(verify_inclusion, *args)
    assert err.field == field
    assert rule in err.rule


@pytest.mark.parametrize(
    ("args", "field", "rule"),
    [
        ((5, 4, ROOTS[5], ROOTS[4], []), "old_size", "must not exceed the new tree size 4"),
        ((-1, 4, ROOTS[1], ROOTS[4], []), "old_size", "0..2**64-1"),
        ((1, 2**64, ROOTS[1], ROOTS[4], []), "new_size", "0..2**64-1"),
        ((3, 5, ROOTS[3], ROOTS[5], []), "proof", "must not be empty"),
        ((5, 5, ROOTS[5], ROOTS[5], [SOME_HASH]), "proof", "must be empty"),
        ((0, 5, EMPTY_ROOT, ROOTS[5], [SOME_HASH]), "proof", "must be empty"),
        ((5, 5, ROOTS[5], ROOTS[4], []), "new_root", "same size must have the same root"),
        ((3, 5, b"short", ROOTS[5], [SOME_HASH]), "old_root", "32-byte"),
        ((3, 5, ROOTS[3], b"short", [SOME_HASH]), "new_root", "32-byte"),
        ((3, 5, ROOTS[3], ROOTS[5], [b"x"]), "proof", "hash 0 must be a 32-byte"),
        ((3, 5, ROOTS[4], ROOTS[5], PROOF_3_TO_5), "old_root", "not match"),
        ((3, 5, ROOTS[3], ROOTS[4], PROOF_3_TO_5), "new_root", "not match"),
        ((3, 5, ROOTS[3], ROOTS[5], PROOF_3_TO_5[:-1]), "proof", "fewer"),
        (
            (3, 5, ROOTS[3], ROOTS[5], [*PROOF_3_TO_5, SOME_HASH]),
            "proof",
            "more",
        ),
    ],
)
def test_consistency_rules(args: tuple[Any, ...], field: str, rule: str) -> None:
    err = rule_of(verify_consistency, *args)
    assert err.field == field
    assert rule in err.rule


def test_proof_generation_rules() -> None:
    err = rule_of(inclusion_proof, LEAVES[:4], 4)
    assert (err.field, err.rule) == ("index", "must be less than the tree size 4")
    err = rule_of(inclusion_proof, [], 0)
    assert err.field == "index"
    err = rule_of(consistency_proof, LEAVES[:4], 5)
    assert (err.field, err.rule) == ("old_size", "must not exceed the new tree size 4")
    err = rule_of(root_from_nodes, -1, read_stored)
    assert err.field == "size"
    err = rule_of(inclusion_proof_from_nodes, 0, 2, lambda level, index: b"not a hash")
    assert (err.field, err.rule) == ("node", "node (0, 1) must be a 32-byte hash")


def test_frontier_rules() -> None:
    err = rule_of(Frontier().append, b"short")
    assert (err.field, err.rule) == ("leaf_hash", "must be a 32-byte SHA-256 hash")
    err = rule_of(Frontier.from_bytes, b"\x00\x00")
    assert (err.field, err.rule) == ("frontier", "must start with an 8-byte size")
    frontier = Frontier()
    frontier.extend(LEAVES[:3])
    err = rule_of(Frontier.from_bytes, frontier.to_bytes()[:-1])
    assert err.field == "frontier"
    assert "a frontier of size 3 is 72 bytes" in err.rule
