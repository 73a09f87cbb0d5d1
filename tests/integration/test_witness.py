"""The witness service over HTTP (C2SP tlog-witness): it cosigns a log's checkpoints only while
they form one append-only history, so a split view shown to two witnesses cannot gather a
quorum, and a rollback or rewrite is refused with the protocol's status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from suyuan.merkle import consistency_proof, leaf_hash, root_from_leaf_hashes
from suyuan.tlog import (
    Checkpoint,
    Cosigner,
    NoteSignature,
    NoteSigner,
    QuorumError,
    WitnessVerifier,
    add_cosignatures,
    open_witnessed_checkpoint,
    sign_checkpoint,
)
from suyuan.witness import Witness, WitnessState, submission_body
from suyuan_cli import app as cli
from suyuan_witness.app import create_app

LEDGER = NoteSigner.generate("suyuan.example/ledger")
ORIGIN = "suyuan.example/ledger/shard/0"


class History:
    """One history of shard 0 of the ledger: its leaves, checkpoints signed by the ledger."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.hashes = [leaf_hash(leaf) for leaf in leaves]

    def checkpoint(self, size: int, signer: NoteSigner = LEDGER, origin: str = ORIGIN) -> str:
        root = root_from_leaf_hashes(self.hashes[:size])
        return sign_checkpoint(Checkpoint(origin, size, root), signer)

    def submission(self, old: int, size: int, **kwargs: object) -> bytes:
        proof = consistency_proof(self.hashes[:size], old) if 0 < old < size else []
        return submission_body(old, proof, self.checkpoint(size, **kwargs))  # type: ignore[arg-type]


HONEST = History([f"entry {i}".encode() for i in range(300)])
OTHER = History([*(f"entry {i}".encode() for i in range(100)), *(b"x" * i for i in range(200))])


class Served:
    def __init__(self, tmp: Path, name: str) -> None:
        self.cosigner = Cosigner.generate(name)
        witness = Witness(self.cosigner, [LEDGER.verifier], WitnessState(tmp / f"{name[-2:]}.db"))
        self.client = TestClient(create_app(witness))

    @property
    def verifier(self) -> WitnessVerifier:
        return self.cosigner.verifier

    def add(self, body: bytes) -> tuple[int, str, str]:
        answer = self.client.post("/add-checkpoint", content=body)
        return answer.status_code, answer.text, answer.headers.get("content-type", "")


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    yield Served(tmp_path, "witness.example/w1"), Served(tmp_path, "witness.example/w2")


def _cosigned(note: str, *answers: str) -> str:
    lines = [NoteSignature.from_line(a.rstrip("\n")) for a in answers]
    return add_cosignatures(note, lines)


def test_a_growing_log_is_cosigned_by_both_and_opens_with_a_quorum(
    witnesses: tuple[Served, Served],
) -> None:
    w1, w2 = witnesses
    for old, size in [(0, 50), (50, 120), (120, 120), (120, 300)]:
        answers = []
        for witness in (w1, w2):
            status, text, _ = witness.add(HONEST.submission(old, size))
            assert status == 200, text
            assert text.startswith("\u2014 witness.example/w") and text.endswith("\n")
            answers.append(text)
        note = _cosigned(HONEST.checkpoint(size), *answers)
        opened = open_witnessed_checkpoint(note, LEDGER.verifier, [w1.verifier, w2.verifier], 2)
        assert opened.size == size
    latest = w1.client.get("/checkpoint", params={"origin": ORIGIN})
    assert latest.status_code == 200
    assert open_witnessed_checkpoint(latest.text, LEDGER.verifier, [w1.verifier], 1).size == 300


def test_a_split_view_shown_to_two_witnesses_gathers_no_quorum(
    witnesses: tuple[Served, Served],
) -> None:
    """The operator shows history A to one witness and history B to the other: each cosigns
    what it saw, but no checkpoint has both cosignatures — a client asking for two refuses
    both — and the first witness refuses B when shown it."""
    w1, w2 = witnesses
    assert w1.add(HONEST.submission(0, 100))[0] == 200
    assert w2.add(OTHER.submission(0, 100))[0] == 200  # the first 100 entries agree
    status_a, line_a, _ = w1.add(HONEST.submission(100, 250))
    status_b, line_b, _ = w2.add(OTHER.submission(100, 250))
    assert (status_a, status_b) == (200, 200)
    trusted = [w1.verifier, w2.verifier]
    for history, line in ((HONEST, line_a), (OTHER, line_b)):
        with pytest.raises(QuorumError):
            open_witnessed_checkpoint(
                _cosigned(history.checkpoint(250), line), LEDGER.verifier, trusted, 2
            )
    # Shown the other history, each witness refuses: same size, another root.
    status, text, media = w1.add(OTHER.submission(250, 250))
    assert (status, media) == (409, "text/x.tlog.size")
    assert text == "250\n"
    # And a proof from the tree it holds to the other history's larger tree does not verify.
    forged = submission_body(250, consistency_proof(OTHER.hashes[:300], 250), OTHER.checkpoint(300))
    assert w1.add(forged)[0] == 422


def test_a_rollback_is_refused_with_the_size_held(witnesses: tuple[Served, Served]) -> None:
    w1, _ = witnesses
    assert w1.add(HONEST.submission(0, 200))[0] == 200
    status, text, media = w1.add(HONEST.submission(0, 150))
    assert (status, text, media) == (409, "200\n", "text/x.tlog.size")
    status, text, _ = w1.add(HONEST.submission(150, 180))
    assert (status, text) == (409, "200\n")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (HONEST.submission(0, 10, signer=NoteSigner.generate("suyuan.example/ledger")), 403),
        (HONEST.submission(0, 10, origin="other.example/log/shard/0"), 404),
        (b"old 01\n\n" + HONEST.checkpoint(10).encode(), 400),
        (b"old 20\n\n" + HONEST.checkpoint(10).encode(), 400),  # old beyond the checkpoint
        (b"old 0\nnot-base64\n\n" + HONEST.checkpoint(10).encode(), 400),
        (b"old 0\n" + HONEST.checkpoint(10).encode(), 400),  # no empty line
        (b"\xff\xfe", 400),
    ],
)
def test_what_the_protocol_refuses(
    witnesses: tuple[Served, Served], body: bytes, status: int
) -> None:
    answer_status, text, _ = witnesses[0].add(body)
    assert answer_status == status, text
    assert text.strip()  # a reason, for whoever reads the log


def test_concurrent_submissions_never_roll_the_witness_back(
    witnesses: tuple[Served, Served],
) -> None:
    w1, _ = witnesses
    assert w1.add(HONEST.submission(0, 100))[0] == 200
    results: dict[int, int] = {}

    def submit(size: int) -> None:
        results[size] = w1.add(HONEST.submission(100, size))[0]

    threads = [threading.Thread(target=submit, args=(size,)) for size in (150, 280)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [200, 409]
    held = 150 if results[150] == 200 else 280
    latest = w1.client.get("/checkpoint", params={"origin": ORIGIN}).text
    assert latest.split("\n")[1] == str(held)


def test_the_command_makes_a_private_witness_key(tmp_path: Path) -> None:
    key = tmp_path / "w.key"
    made = CliRunner().invoke(cli, ["witness", "new-key", "witness.example/w9", "--key", str(key)])
    assert made.exit_code == 0, made.output
    assert key.stat().st_mode & 0o777 == 0o600
    public = WitnessVerifier.from_key(key.with_suffix(".pub").read_text().strip())
    assert Cosigner.from_key(key.read_text().strip()).verifier == public
    again = CliRunner().invoke(cli, ["witness", "new-key", "witness.example/w9", "--key", str(key)])
    assert again.exit_code == 2
