"""The ledger asks its witnesses to cosign each checkpoint it signs, over real HTTP: the
checkpoint it serves, its receipts and what a monitor reads carry a quorum of cosignatures; a
witness that was down is asked again; a client requiring a quorum refuses a checkpoint
without it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suyuan.ledger import load_or_create_ledger_key
from suyuan.monitor import FetchError, LogMonitor
from suyuan.scenario import vegetable_certificate
from suyuan.tlog import Cosigner, QuorumError, open_witnessed_checkpoint, witnessed
from suyuan.witness import Witness, WitnessEndpoint, Witnessing, WitnessState, http_post
from suyuan_cli import app as cli
from suyuan_witness.app import create_app as witness_app
from tests.integration.browser_harness import served
from tests.integration.test_trace_api import LEDGER_NAME, Query, start_query


class Setup:
    def __init__(self, query: Query, tmp: Path, cosigners: list[Cosigner]) -> None:
        self.query = query
        self.tmp = tmp
        self.cosigners = cosigners
        self.ledger_key = load_or_create_ledger_key(tmp / "ledger.key", LEDGER_NAME).verifier

    @property
    def access(self):  # type: ignore[no-untyped-def]
        return self.query.client.app.state.context.ledger

    @property
    def witness_keys(self) -> list:  # type: ignore[type-arg]
        return [c.verifier for c in self.cosigners]

    def grow(self, prefix: str) -> None:
        s = self.query.scenario
        lots = [s.unit_code(item="10079", lot=f"{prefix}{i:02d}") for i in range(12)]
        events = [vegetable_certificate(s, self.query.importer, lot) for lot in lots]
        self.query.append(self.query.importer.key, events)

    def checkpoint(self) -> str:
        answer = self.query.client.get("/log/0/checkpoint")
        assert answer.status_code == 200
        return answer.text


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    ledger_key = load_or_create_ledger_key(tmp_path / "ledger.key", LEDGER_NAME).verifier
    (tmp_path / "ledger.pub").write_text(ledger_key.to_key() + "\n")
    cosigners = [Cosigner.generate(f"witness.example/w{n}") for n in (1, 2)]
    with contextlib.ExitStack() as stack:
        urls = []
        for n, cosigner in enumerate(cosigners):
            witness = Witness(cosigner, [ledger_key], WitnessState(tmp_path / f"w{n}.sqlite"))
            urls.append(stack.enter_context(served(witness_app(witness), lifespan="off")))
        entries = tuple(
            f"{url} {c.verifier.to_key()}" for url, c in zip(urls, cosigners, strict=True)
        )
        for query in start_query(
            f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, witnesses=entries
        ):
            yield Setup(query, tmp_path, cosigners)


def test_every_checkpoint_the_ledger_signs_is_cosigned_by_its_witnesses(setup: Setup) -> None:
    setup.access.sign_moved()  # the service signed at start-up already
    first = open_witnessed_checkpoint(setup.checkpoint(), setup.ledger_key, setup.witness_keys, 2)
    setup.grow("A")
    assert setup.access.sign_moved() >= 1
    second_note = setup.checkpoint()
    second = open_witnessed_checkpoint(second_note, setup.ledger_key, setup.witness_keys, 2)
    assert second.size == first.size + 12  # the witnesses took the consistency proof
    # The v1 endpoint serves the same note; the audit still accepts the stored checkpoints.
    assert setup.query.client.get("/v1/ledger/checkpoint").text == second_note

    watcher = LogMonitor(
        _fetch(setup.query),
        setup.ledger_key,
        [0],
        witnesses=setup.witness_keys,
        quorum=2,
    )
    assert watcher.poll() == []


def test_a_receipt_proves_the_quorum_offline(setup: Setup) -> None:
    setup.access.sign_moved()
    event_id = setup.query.event_id("CertificateIssued", setup.query.importer.uscc)
    receipt = setup.query.get(f"/v1/ledger/proof/{event_id}", setup.query.regulator_token).text
    path = setup.tmp / "receipt.txt"
    path.write_text(receipt)
    keys = []
    for n, cosigner in enumerate(setup.cosigners):
        key = setup.tmp / f"w{n}.pub"
        key.write_text(cosigner.verifier.to_key() + "\n")
        keys += ["--witness", str(key)]
    args = ["verify-receipt", str(path), "--key", str(setup.tmp / "ledger.pub"), *keys]
    answer = CliRunner().invoke(cli, args)
    assert answer.exit_code == 0, answer.output
    assert "cosigned by 2 of 2 witnesses" in answer.output

    stranger = Cosigner.generate("witness.example/w3")
    other = setup.tmp / "w3.pub"
    other.write_text(stranger.verifier.to_key() + "\n")
    refused = CliRunner().invoke(
        cli, [*args[:4], "--witness", str(other), "--witness", keys[1], "--quorum", "2"]
    )
    assert refused.exit_code == 1
    assert "needs 2 of the 2 trusted witnesses; cosigned by 1" in refused.output


def test_a_witness_down_at_signing_is_asked_again_and_a_quorum_client_waits(
    setup: Setup,
) -> None:
    setup.access.sign_moved()
    endpoints = [
        WitnessEndpoint.parse(e) for e in setup.query.client.app.state.context.settings.witnesses
    ]
    real = http_post()
    down = {endpoints[1].url}

    def flaky(url: str, body: bytes) -> tuple[int, str]:
        if any(url.startswith(d) for d in down):
            raise OSError("connection refused")
        return real(url, body)

    ledger = setup.access.ledger
    setup.access.witnessing = Witnessing(ledger, endpoints, flaky)
    setup.grow("B")
    setup.access.sign_moved()
    note = setup.checkpoint()
    assert [c.witness for c in witnessed(note, setup.witness_keys)] == [setup.witness_keys[0]]
    with pytest.raises(QuorumError):
        open_witnessed_checkpoint(note, setup.ledger_key, setup.witness_keys, 2)
    monitor = LogMonitor(
        _fetch(setup.query), setup.ledger_key, [0], witnesses=setup.witness_keys, quorum=2
    )
    assert [f.problem for f in monitor.poll()] == ["no_witness_quorum"]

    down.clear()  # back up: the unchanged head's checkpoint gets the missing cosignature
    assert setup.access.witnessing.cosign_newest(0)
    again = setup.checkpoint()
    assert open_witnessed_checkpoint(again, setup.ledger_key, setup.witness_keys, 2).size == (
        open_witnessed_checkpoint(note, setup.ledger_key, setup.witness_keys[:1], 1).size
    )
    assert monitor.poll() == []


def _fetch(query: Query):  # type: ignore[no-untyped-def]
    def fetch(path: str) -> bytes:
        answer = query.client.get(f"/{path}")
        if answer.status_code != 200:
            raise FetchError(f"{path}: HTTP {answer.status_code}")
        return bytes(answer.content)

    return fetch
