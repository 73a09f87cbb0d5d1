"""`suyuan token …`, `suyuan custody create` and `suyuan serve-ingest` on an embedded ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from suyuan.auth import AuthError, Principal, Role, authenticate
from suyuan.events import event_from_json
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD, SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.signing import save_key_pair
from suyuan.tlog import NoteSigner
from suyuan_cli import _serve, _tokens
from suyuan_cli import app as suyuan_app
from tests.ledger_world import World

runner = CliRunner()

# The commands as the lead registers them in suyuan_cli (kept local until then).
app = typer.Typer()
app.add_typer(_tokens.app, name="token")
app.add_typer(_tokens.custody_app, name="custody")
app.command("serve-ingest")(_serve.serve_ingest)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def db(tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SUYUAN_CUSTODY_KEY_FILE", str(tmp_path / "custody.key"))
    monkeypatch.delenv("SUYUAN_CUSTODY_MASTER_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    initialise(store, NoteSigner.generate("test").verifier, [world.scenario.root])
    LedgerWriter(store, [world.scenario.root]).write(
        TRUST_SHARD, [Message("setup", world.trust_message())]
    )
    store.close()
    return url


def principal_of(db: str, token: str) -> Principal:
    engine = create_ledger_engine(db)
    try:
        return authenticate(engine, token)
    finally:
        engine.dispose()


def test_token_create_prints_the_token_alone_on_stdout(db: str, world: World) -> None:
    result = runner.invoke(
        app, ["token", "create", "--role", "producer", "--org", world.farm.uscc, "--db", db]
    )

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("sy_")
    assert principal_of(db, token) == Principal(Role.PRODUCER, organisation=world.farm.uscc)


def test_token_create_regulator_and_admin(db: str) -> None:
    regulator = runner.invoke(
        app, ["token", "create", "--role", "regulator", "--region", "330100", "--db", db]
    )
    admin = runner.invoke(app, ["token", "create", "--role", "admin", "--db", db])

    assert principal_of(db, regulator.stdout.strip()) == Principal(Role.REGULATOR, region="330100")
    assert principal_of(db, admin.stdout.strip()).role is Role.ADMIN


def test_token_create_names_the_bad_option(db: str) -> None:
    result = runner.invoke(app, ["token", "create", "--role", "producer", "--db", db])

    assert result.exit_code == 2
    assert "organisation: a producer token needs a USCC" in result.output


def test_token_revoke(db: str, world: World) -> None:
    token = runner.invoke(
        app, ["token", "create", "--role", "producer", "--org", world.farm.uscc, "--db", db]
    ).stdout.strip()

    revoked = runner.invoke(app, ["token", "revoke", token, "--db", db])
    again = runner.invoke(app, ["token", "revoke", token, "--db", db])

    assert revoked.exit_code == 0
    assert f"revoked a producer token for {world.farm.uscc}" in revoked.output
    with pytest.raises(AuthError):
        principal_of(db, token)
    assert again.exit_code == 2
    assert "already revoked" in again.output


def test_custody_create_then_publish_registers_the_key(
    db: str, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "registration.jsonl"

    created = runner.invoke(
        app, ["custody", "create", "--org", world.farm.uscc, "--out", str(out), "--db", db]
    )

    assert created.exit_code == 0, created.output
    event = event_from_json(json.loads(out.read_text()))
    assert event.actor == world.scenario.regulator_uscc
    assert event.payload["organisation"] == world.farm.uscc
    assert (tmp_path / "custody.key").exists()
    # The regulator signs it with the root key, through the ordinary publish command.
    save_key_pair(world.scenario.root_key, tmp_path, "root")
    published = runner.invoke(
        suyuan_app, ["publish", str(out), "--key", str(tmp_path / "root.key"), "--db", db]
    )
    assert published.exit_code == 0, published.output
    store = SqlLedgerStore(create_ledger_engine(db))
    writer = LedgerWriter(store, [world.scenario.root])
    assert writer.trust.organisation_of(event.payload["key_id"]) == world.farm.uscc
    store.close()


def test_custody_create_twice_needs_replace(db: str, world: World) -> None:
    args = ["custody", "create", "--org", world.farm.uscc, "--db", db]
    runner.invoke(app, args)

    again = runner.invoke(app, args)
    replaced = runner.invoke(app, [*args, "--replace"])

    assert again.exit_code == 2
    assert "already has a custodial key" in again.output
    assert replaced.exit_code == 0


def test_serve_ingest_builds_the_app_on_the_ledger(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        served.update(options, app=app)

    monkeypatch.setattr("uvicorn.run", fake_run)

    result = runner.invoke(app, ["serve-ingest", "--db", db, "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert served["port"] == 8123
    assert served["host"] == "127.0.0.1"
    assert "/v1/events" in served["app"].openapi()["paths"]


def test_serve_ingest_without_a_ledger_fails_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve-ingest", "--db", f"sqlite:///{tmp_path / 'none.db'}"])

    assert result.exit_code == 2
    assert "no ledger" in result.output
