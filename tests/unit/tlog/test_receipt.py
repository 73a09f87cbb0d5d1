"""Proof receipts (c2sp.org/tlog-proof): the spec example's layout, offline checks, every rule."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.merkle import Frontier, ProofError, inclusion_proof, leaf_hash
from suyuan.tlog import (
    RECEIPT_HEADER,
    Checkpoint,
    CheckpointError,
    NoteError,
    NoteSignatureError,
    NoteSigner,
    Receipt,
    ReceiptError,
    UnverifiedNoteError,
    sign_checkpoint,
    verify_receipt,
)

SPEC_EXAMPLE = (
    Path(__file__).resolve().parents[2] / "data" / "tlog" / "spec-example.tlog-proof"
).read_text(encoding="utf-8")

ORIGIN = "suyuan.example/ledger/0"
LEDGER = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x2a" * 32))
ENTRIES = [f"entry {i}".encode() for i in range(40)]
LEAVES = [leaf_hash(entry) for entry in ENTRIES]


def signed_checkpoint(size: int) -> str:
    frontier = Frontier()
    frontier.extend(LEAVES[:size])
    return sign_checkpoint(Checkpoint(ORIGIN, size, frontier.root()), LEDGER)


def receipt_text(index: int, size: int, extra: bytes | None = None) -> str:
    proof = tuple(inclusion_proof(LEAVES[:size], index))
    return Receipt(index, proof, signed_checkpoint(size), extra).to_text()


def error_of(error_type: type[Exception], call: Any, *args: Any, **kwargs: Any) -> Any:
    with pytest.raises(error_type) as caught:
        call(*args, **kwargs)
    return caught.value


# --- the specification's example ----------------------------------------------------------------


def test_spec_example_layout_parses_and_writes_back_verbatim() -> None:
    receipt = Receipt.parse(SPEC_EXAMPLE)
    assert receipt.index == 73894
    assert len(receipt.proof) == 5
    assert receipt.proof[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert receipt.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert receipt.checkpoint.startswith("example.com/fancylog\n109482\n")
    assert receipt.to_text() == SPEC_EXAMPLE


def test_spec_example_does_not_verify_its_signatures_are_elided() -> None:
    err = error_of(NoteError, verify_receipt, SPEC_EXAMPLE, LEDGER.verifier, leaf_hash=LEAVES[0])
    assert err.field == "signature_line"


def test_layout_matches_transparency_dev_writer() -> None:
    # transparency-dev/merkle proof/tlog_proof.go buildTLogProof: header, extra, index, hashes,
    # an empty line, then the checkpoint verbatim.
    hashes = (LEAVES[1], LEAVES[2])
    expected = (
        "c2sp.org/tlog-proof@v1\n"
        "extra ZXh0cmEgaW5mb3JtYXRpb24=\n"
        "index 5\n"
        f"{base64.b64encode(LEAVES[1]).decode()}\n"
        f"{base64.b64encode(LEAVES[2]).decode()}\n"
        "\n"
        "checkpoint data\n"
    )
    assert Receipt(5, hashes, "checkpoint data\n", b"extra information").to_text() == expected
    no_proof = Receipt(0, (), "checkpoint\n").to_text()
    assert no_proof == "c2sp.org/tlog-proof@v1\nindex 0\n\ncheckpoint\n"


# --- offline verification -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=len(ENTRIES)), st.data())
def test_every_receipt_verifies_offline(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    text = receipt_text(index, size, extra=data.draw(st.none() | st.binary(max_size=20)))
    verified = verify_receipt(text, LEDGER.verifier, leaf_data=ENTRIES[index], origin=ORIGIN)
    assert verified.receipt.index == index
    assert verified.checkpoint.size == size
    assert verify_receipt(text.encode(), LEDGER.verifier, leaf_hash=LEAVES[index]) == verified
    assert Receipt.parse(text).to_text() == text


def test_receipt_for_another_entry_fails() -> None:
    text = receipt_text(3, 10)
    err = error_of(ProofError, verify_receipt, text, LEDGER.verifier, leaf_data=ENTRIES[4])
    assert err.field == "root"


def test_receipt_with_a_changed_proof_hash_fails() -> None:
    lines = receipt_text(3, 10).split("\n")
    lines[2] = base64.b64encode(LEAVES[39]).decode()
    err = error_of(
        ProofError, verify_receipt, "\n".join(lines), LEDGER.verifier, leaf_data=ENTRIES[3]
    )
    assert err.field == "root"


def test_receipt_with_a_changed_index_fails() -> None:
    text = receipt_text(3, 10).replace("index 3\n", "index 2\n")
    error_of(ProofError, verify_receipt, text, LEDGER.verifier, leaf_data=ENTRIES[3])


def test_receipt_with_a_changed_checkpoint_fails() -> None:
    text = receipt_text(3, 10).replace(f"{ORIGIN}\n10\n", f"{ORIGIN}\n11\n")
    error_of(NoteSignatureError, verify_receipt, text, LEDGER.verifier, leaf_data=ENTRIES[3])


def test_receipt_from_another_ledger_key_fails() -> None:
    other = NoteSigner.generate(ORIGIN)
    error_of(
        UnverifiedNoteError,
        verify_receipt,
        receipt_text(3, 10),
        other.verifier,
        leaf_data=ENTRIES[3],
    )


def test_receipt_for_another_origin_fails() -> None:
    err = error_of(
        CheckpointError,
        verify_receipt,
        receipt_text(3, 10),
        LEDGER.verifier,
        leaf_data=ENTRIES[3],
        origin="suyuan.example/ledger/1",
    )
    assert err.field == "origin"


def test_leaf_is_given_exactly_once() -> None:
    text = receipt_text(0, 1)
    with pytest.raises(TypeError):
        verify_receipt(text, LEDGER.verifier)
    with pytest.raises(TypeError):
        verify_receipt(text, LEDGER.verifier, leaf_data=ENTRIES[0], leaf_hash=LEAVES[0])


# --- every layout rule --------------------------------------------------------------------------

HASH_LINE = base64.b64encode(LEAVES[0]).decode()


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        # The first seven are transparency-dev/merkle's TestVerifyTLogProofErrors cases.
        ("wrong-header\nindex 0\n\ncheckpoint\n", "header", "first line must be"),
        (f"{RECEIPT_HEADER}\nextra !!notbase64!!\nindex 0\n\ncheckpoint\n", "extra", "base64"),
        (f"{RECEIPT_HEADER}\n\n\ncheckpoint\n", "index", "'index <n>' line must follow"),
        (f"{RECEIPT_HEADER}\nindex notanumber\n\ncheckpoint\n", "index", "ASCII decimal"),
        (f"{RECEIPT_HEADER}\nindex -5\n\ncheckpoint\n", "index", "ASCII decimal"),
        (f"{RECEIPT_HEADER}\nindex 0\n!!notbase64!!\n\ncheckpoint\n", "proof", "base64 of 32"),
        (
            f"{RECEIPT_HEADER}\nindex 0\n{base64.b64encode(bytes(64)).decode()}\n\ncheckpoint\n",
            "proof",
            "base64 of 32 bytes",
        ),
        (f"{RECEIPT_HEADER}\nindex 0\nsig\n", "receipt", "empty line before the checkpoint"),
        (f"{RECEIPT_HEADER}\nindex 0\n", "receipt", "empty line before the checkpoint"),
        (f"{RECEIPT_HEADER}\nindex 007\n\ncheckpoint\n", "index", "without leading zeros"),
        (f"{RECEIPT_HEADER}\nindex {2**64}\n\ncheckpoint\n", "index", "< 2**64"),
        (f"{RECEIPT_HEADER}\nindex 0\n\n", "checkpoint", "signed note ending in a newline"),
        (f"{RECEIPT_HEADER}\nindex 0\n\ncheckpoint", "checkpoint", "ending in a newline"),
        (f"{RECEIPT_HEADER}\nindex 0\n" + f"{HASH_LINE}\n" * 65 + "\ncp\n", "proof", "at most 64"),
        (b"\xff\xfe", "receipt", "valid UTF-8"),
    ],
)
def test_layout_rules(text: str | bytes, field: str, rule: str) -> None:
    err = error_of(ReceiptError, Receipt.parse, text)
    assert err.field == field
    assert rule in err.rule
    assert err.as_dict()["reason"] == "malformed_receipt"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((-1, (), "cp\n"), "index"),
        ((2**64, (), "cp\n"), "index"),
        ((0, (b"short",), "cp\n"), "proof"),
        ((0, (LEAVES[0],) * 65, "cp\n"), "proof"),
        ((0, (), ""), "checkpoint"),
        ((0, (), "no newline"), "checkpoint"),
    ],
)
def test_constructor_rules(args: tuple[Any, ...], field: str) -> None:
    err = error_of(ReceiptError, Receipt, *args)
    assert err.field == field
