"""`suyuan dlq replay` on an embedded ledger: rejected messages return once their cause is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from suyuan.intake import LedgerWriter, Message, shard_for
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    migrate,
)
from suyuan.tlog import NoteSigner
from suyuan_cli import app
from tests.ledger_world import World

runner = CliRunner()


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def ledger(tmp_path: Path, world: World) -> tuple[str, SqlLedgerStore, NoteSigner]:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    signer = NoteSigner.generate("test.example/ledger")
    initialise(store, signer.verifier, [world.scenario.root])
    s = world.scenario
    # Only the market is registered: the farm's events arrive before the farm is.
    LedgerWriter(store, [s.root]).write(
        TRUST_SHARD, [Message("trust", s.sign_as_root(s.registration(world.market)))]
    )
    return url, store, signer


def _ids(store: SqlLedgerStore, shard: int = 0) -> set[str]:
    return {entry.event_id for entry in store.entries(shard)}


def test_messages_refused_for_an_unknown_key_are_appended_once_the_key_is_registered(
    ledger: tuple[str, SqlLedgerStore, NoteSigner], world: World
) -> None:
    url, store, signer = ledger
    s = world.scenario
    writer = LedgerWriter(store, [s.root])
    early = [world.certificate() for _ in range(2)]
    message = world.farm_batch(early)
    refused = writer.write(0, [Message("events[0]@7", message)])
    assert [r.reason for r in refused.rejections] == ["unknown_key"]

    too_soon = runner.invoke(app, ["dlq", "replay", "--db", url])
    assert too_soon.exit_code == 0, too_soon.output
    assert "cause remains: unknown_key: 1 message(s) skipped" in too_soon.output
    assert _ids(store) == set()

    registration = s.sign_as_root(s.registration(world.farm))
    assert writer.write(shard_for(registration), [Message("trust", registration)]).accepted == 2
    replayed = runner.invoke(app, ["dlq", "replay", "--db", url, "--reason", "unknown_key"])

    assert replayed.exit_code == 0, replayed.output
    assert "appended=2" in replayed.output
    assert _ids(store) == {event.event_id for event in early}

    again = runner.invoke(app, ["dlq", "replay", "--db", url])
    assert again.exit_code == 0, again.output
    assert "duplicates=2" in again.output and "appended=0" in again.output
    assert store.head(0).size == 2
    report = Auditor(store, signer.verifier, [s.root], ledger_name=signer.name).run()
    assert report.ok, report.findings


def test_dry_run_sends_nothing_and_other_reasons_are_left_alone(
    ledger: tuple[str, SqlLedgerStore, NoteSigner], world: World
) -> None:
    url, store, _signer = ledger
    s = world.scenario
    writer = LedgerWriter(store, [s.root])
    writer.write(0, [Message("events[0]@1", world.farm_batch([world.certificate()]))])
    registration = s.sign_as_root(s.registration(world.farm))
    writer.write(TRUST_SHARD, [Message("trust", registration)])
    # The market signs the farm's certificate: that event is refused, not the whole message.
    content = s.sign(world.market, [world.certificate()])
    assert [r.reason for r in writer.write(0, [Message("e", content)]).rejections] == [
        "wrong_signer"
    ]

    dry = runner.invoke(app, ["dlq", "replay", "--db", url, "--dry-run"])
    only_other = runner.invoke(app, ["dlq", "replay", "--db", url, "--reason", "bad_signature"])

    assert dry.exit_code == 0, dry.output
    assert "ready=1" in dry.output and "dry run" in dry.output
    assert "not_replayable=1" in dry.output  # the refused event alone carries no signature
    assert only_other.exit_code == 0 and "candidates=0" in only_other.output
    assert store.head(0).size == 0
