"""Attacks on the witness service (C2SP tlog-witness; docs/verification.md): anyone can reach
``POST /add-checkpoint``, so a body of any shape must get the protocol's 4xx with a reason — never
a 5xx — and nothing it sends may move the witness off the one history it has cosigned."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from suyuan.tlog import Checkpoint, sign_checkpoint
from suyuan.witness import submission_body
from suyuan_witness.app import MAX_BODY_BYTES
from tests.integration.test_witness import HONEST, LEDGER, ORIGIN, OTHER, Served


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Served]:
    yield Served(tmp_path, "witness.example/w1")


_CHECKPOINT = HONEST.checkpoint(10).encode()
_HUGE = 2**64 - 1  # the largest size a checkpoint may carry


@pytest.mark.parametrize(
    "body",
    [
        b"old " + b"9" * 5000 + b"\n\n" + _CHECKPOINT,  # past Python's int-from-text limit
        b"old " + str(2**64).encode() + b"\n\n" + _CHECKPOINT,
        b"old 0\n" + b"\n".join([base64.b64encode(b"\0" * 32)] * 64) + b"\n\n" + _CHECKPOINT,
        b"old 0\n\n" + b"\xff\xfe" * 10,
        b"old 0\n\n",
        b"old 0\n\n" + ORIGIN.encode() + b"\n" + b"1" * 30000 + b"\n" + b"A" * 44 + b"\n\n",
        b"\n\n" * 20000,
        b"",
    ],
    ids=[
        "old-5000-digits",
        "old-2^64",
        "64-proof-lines",
        "not-utf8",
        "no-checkpoint",
        "size-30000-digits",
        "blank-lines",
        "empty",
    ],
)
def test_a_malformed_submission_gets_a_4xx_with_a_reason(witness: Served, body: bytes) -> None:
    status, text, _ = witness.add(body)
    assert 400 <= status < 500, (status, text)
    assert text.strip()


def test_a_checkpoint_of_the_largest_size_is_answered_never_a_5xx(witness: Served) -> None:
    """A checkpoint the log really signed, of size 2**64-1: more than the state file's integers
    hold. The witness may cosign it or refuse it, but answers."""
    note = sign_checkpoint(Checkpoint(ORIGIN, _HUGE, b"\1" * 32), LEDGER)
    status, text, _ = witness.add(submission_body(0, [], note))
    assert status < 500, (status, text)


def test_a_body_over_the_cap_is_refused_and_nothing_is_cosigned(witness: Served) -> None:
    body = HONEST.submission(0, 10) + b"\n" * MAX_BODY_BYTES
    status, _, _ = witness.add(body)
    assert status == 400
    assert witness.client.get("/checkpoint", params={"origin": ORIGIN}).status_code == 404


def test_a_second_history_cannot_be_slipped_in_by_the_same_size_nor_by_old_zero(
    witness: Served,
) -> None:
    assert witness.add(HONEST.submission(0, 200))[0] == 200
    # Restarting from zero with the other history (the two differ after entry 100): refused
    # with the size held.
    assert witness.add(OTHER.submission(0, 250))[:2] == (409, "200\n")
    # The same size, another root: refused.
    assert witness.add(OTHER.submission(200, 200))[0] == 409
    # A proof from the held tree to the other history's tree does not verify.
    assert witness.add(OTHER.submission(200, 250))[0] == 422
    latest = witness.client.get("/checkpoint", params={"origin": ORIGIN})
    assert latest.status_code == 200 and HONEST.checkpoint(200).split("\n")[2] in latest.text


@pytest.mark.parametrize("origin", ["x" * 513, "\0", "a/shard/0\nforged"])
def test_latest_of_a_hostile_origin_is_a_4xx(witness: Served, origin: str) -> None:
    answer = witness.client.get("/checkpoint", params={"origin": origin})
    assert 400 <= answer.status_code < 500
