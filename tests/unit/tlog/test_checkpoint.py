"""Checkpoints: a real sum.golang.org checkpoint and the spec examples first, then every rule."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from suyuan.tlog import (
    Checkpoint,
    CheckpointError,
    Note,
    NoteSignatureError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNoteError,
    open_checkpoint,
    sign_checkpoint,
    sign_note,
    verify_checkpoint_consistency,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "tlog" / "checkpoints.json").read_text()
)
SUMDB = VECTORS["sum_golang_org"]
SPEC = VECTORS["tlog_checkpoint_spec_example"]
GO_TREE = VECTORS["go_tlog_format_tree"]
SUMDB_KEY = NoteVerifier.from_key(SUMDB["verifier_key"])

ORIGIN = "suyuan.example/ledger/0"
LEDGER = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
LEAVES = [leaf_hash(f"event {i}".encode()) for i in range(20)]


def checkpoint_of(size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, root_from_leaf_hashes(LEAVES[:size]))


def error_of(error_type: type[Exception], call: Any, *args: Any, **kwargs: Any) -> Any:
    with pytest.raises(error_type) as caught:
        call(*args, **kwargs)
    return caught.value


# --- published vectors --------------------------------------------------------------------------


def test_real_sum_golang_org_checkpoint_opens_and_witness_cosignatures_are_ignored() -> None:
    checkpoint = open_checkpoint(SUMDB["signed_note"], SUMDB_KEY, origin=SUMDB["origin"])
    assert checkpoint == Checkpoint(
        SUMDB["origin"], SUMDB["size"], base64.b64decode(SUMDB["root_hash"])
    )
    assert len(Note.parse(SUMDB["signed_note"]).signatures) == 4


def test_real_checkpoint_with_one_changed_character_is_rejected() -> None:
    tampered = SUMDB["signed_note"].replace("8789035", "8789036", 1)
    err = error_of(NoteSignatureError, open_checkpoint, tampered, SUMDB_KEY)
    assert err.field == "signature"


def test_real_checkpoint_for_another_origin_is_rejected() -> None:
    err = error_of(
        CheckpointError, open_checkpoint, SUMDB["signed_note"], SUMDB_KEY, origin="other.log"
    )
    assert (err.field, err.value, err.rule) == ("origin", SUMDB["origin"], "must be 'other.log'")


def test_spec_example_parses_and_needs_its_own_key() -> None:
    note = Note.parse(SPEC["signed_note"])
    assert Checkpoint.parse(note.text) == Checkpoint(
        SPEC["origin"], SPEC["size"], base64.b64decode(SPEC["root_hash"])
    )
    # Its signature carries sum.golang.org's key ID under another name: it must be ignored.
    assert note.signatures[0].key_id == SUMDB_KEY.key_id
    error_of(UnverifiedNoteError, open_checkpoint, SPEC["signed_note"], SUMDB_KEY)


def test_go_sumdb_tree_text_is_a_checkpoint() -> None:
    checkpoint = Checkpoint(
        "go.sum database tree", GO_TREE["size"], leaf_hash(GO_TREE["leaf_data"].encode())
    )
    assert checkpoint.to_text() == GO_TREE["text"]
    assert Checkpoint.parse(GO_TREE["text"]) == checkpoint


@pytest.mark.parametrize("text", GO_TREE["bad_texts"])
def test_go_sumdb_bad_tree_texts_are_rejected(text: str) -> None:
    err = error_of(CheckpointError, Checkpoint.parse, text)
    assert err.field in {"size", "root_hash"}


# --- signing and opening ------------------------------------------------------------------------


def test_signed_checkpoint_opens_with_the_ledger_key() -> None:
    checkpoint = Checkpoint(ORIGIN, 5, root_from_leaf_hashes(LEAVES[:5]), ("extension one",))
    signed = sign_checkpoint(checkpoint, LEDGER)
    assert signed.startswith(f"{ORIGIN}\n5\n")
    assert open_checkpoint(signed, LEDGER.verifier, origin=ORIGIN) == checkpoint
    assert open_checkpoint(signed.encode(), LEDGER.verifier) == checkpoint


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    other = NoteSigner.generate(ORIGIN)
    signed = sign_checkpoint(checkpoint_of(3), other)
    err = error_of(UnverifiedNoteError, open_checkpoint, signed, LEDGER.verifier)
    assert err.field == "signatures"


def test_signed_note_that_is_not_a_checkpoint_is_rejected() -> None:
    signed = sign_note("just one line\n", LEDGER)
    err = error_of(CheckpointError, open_checkpoint, signed, LEDGER.verifier)
    assert err.field == "checkpoint"


def test_empty_tree_checkpoint() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert checkpoint.to_text() == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert open_checkpoint(sign_checkpoint(checkpoint, LEDGER), LEDGER.verifier) == checkpoint


def test_consistent_checkpoints_pass_and_others_fail() -> None:
    old, new = checkpoint_of(6), checkpoint_of(13)
    proof = consistency_proof(LEAVES[:13], 6)
    verify_checkpoint_consistency(old, new, proof)
    forked = Checkpoint(ORIGIN, 13, root_from_leaf_hashes([*LEAVES[:12], leaf_hash(b"forged")]))
    err = error_of(ProofError, verify_checkpoint_consistency, old, forked, proof)
    assert err.field == "new_root"
    err = error_of(ProofError, verify_checkpoint_consistency, new, old, proof)
    assert err.field == "old_size"
    other_log = Checkpoint("other.example/log", 13, new.root_hash)
    err = error_of(CheckpointError, verify_checkpoint_consistency, old, other_log, proof)
    assert err.field == "origin"


# --- every rule ---------------------------------------------------------------------------------

ROOT_B64 = base64.b64encode(LEAVES[0]).decode()


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        (f"{ORIGIN}\n5\n{ROOT_B64}", "checkpoint", "must end with a newline"),
        (f"{ORIGIN}\n5\n", "checkpoint", "needs three lines"),
        (f"\n5\n{ROOT_B64}\n", "origin", "non-empty line"),
        (f"{ORIGIN}\n05\n{ROOT_B64}\n", "size", "without leading zeros"),
        (f"{ORIGIN}\n+5\n{ROOT_B64}\n", "size", "ASCII decimal digits"),
        (f"{ORIGIN}\n 5\n{ROOT_B64}\n", "size", "ASCII decimal digits"),
        (f"{ORIGIN}\n\u0665\n{ROOT_B64}\n", "size", "ASCII decimal digits"),
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "size", "ASCII decimal digits"),
        (f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", "size", "below 2**64"),
        (f"{ORIGIN}\n5\nnot base64!\n", "root_hash", "padded base64"),
        (f"{ORIGIN}\n5\n{ROOT_B64[:-2]}\n", "root_hash", "padded base64"),
        (f"{ORIGIN}\n5\n{base64.b64encode(bytes(31)).decode()}\n", "root_hash", "32-byte hash"),
        (f"{ORIGIN}\n5\n{ROOT_B64}\n\n", "extension", "non-empty line"),
        (f"{ORIGIN}\n5\n{ROOT_B64}\next\n\nmore\n", "extension", "non-empty line"),
    ],
)
def test_parse_rules(text: str, field: str, rule: str) -> None:
    err = error_of(CheckpointError, Checkpoint.parse, text)
    assert err.field == field
    assert rule in err.rule
    assert err.as_dict()["reason"] == "malformed_checkpoint"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"origin": ""}, "origin"),
        ({"origin": "two\nlines"}, "origin"),
        ({"size": -1}, "size"),
        ({"size": 2**64}, "size"),
        ({"root_hash": bytes(31)}, "root_hash"),
        ({"extensions": ("",)}, "extension"),
        ({"extensions": ("a\nb",)}, "extension"),
    ],
)
def test_constructor_rules(kwargs: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {"origin": ORIGIN, "size": 1, "root_hash": LEAVES[0]}
    err = error_of(CheckpointError, Checkpoint, **{**fields, **kwargs})
    assert err.field == field


lines = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(
    lines,
    st.integers(min_value=0, max_value=2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(lines, max_size=3),
)
def test_checkpoint_text_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(checkpoint.to_text()) == checkpoint
    assert open_checkpoint(sign_checkpoint(checkpoint, LEDGER), LEDGER.verifier) == checkpoint
