"""Every attack of ``rows`` through the public HTTP API and through Kafka (docs/authority.md).

Each attack is signed with the attacker's own registered key, so only the authority rules stand
between it and the ledger. Over HTTP (the capture API in-process on SQLite) each message is posted
with its organisation's token (the regulator's root-signed trust messages go to the trust shard,
as its publisher sends them to the trust topic: the capture API refuses trust events); over
Kafka every message goes to one partition of the real broker (trust events to the trust topic),
and one real worker appends into PostgreSQL. Both runs must
refuse each attack with its reason and field, take the legitimate event beside it, and leave a
ledger that audits clean.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.authority import RULES
from suyuan.config import Settings
from suyuan.intake import LedgerWriter, Message, carries_trust
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    EntryNotFoundError,
    Ledger,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    migrate,
)
from suyuan.tlog import NoteSigner
from suyuan_ingest.api import create_app
from tests.adversarial.rows import ROOT, Attacks, Step, build
from tests.databases import fresh_database
from tests.integration.ingest_harness import IngestRig
from tests.ledger_world import World

BATCH_TYPE = "application/vnd.suyuan.batch+avro"

Outcome = tuple[str, str | None, str | None, str]


def expected(attacks: Attacks) -> dict[str, Outcome]:
    """Per row: the attack rejected with its reason and field, the legitimate event accepted."""
    return {row.name: ("rejected", row.reason, row.field, "accepted") for row in attacks.rows}


def test_the_rows_cover_every_refusing_rule() -> None:
    attacks = build()
    refused_types = {row.attack_event.event_type for row in attacks.rows}
    assert refused_types == set(RULES) - {"SigningKeyRegistered", "SigningKeyRevoked"}
    assert {row.reason for row in attacks.rows} == {
        "unauthorised",
        "not_in_custody",
        "unknown_recall",
        "wrong_signer",
        "invalid_event",
        "id_conflict",
    }


def test_every_attack_is_refused_over_http_and_the_legitimate_event_lands(tmp_path: Path) -> None:
    attacks = build()
    s = attacks.s
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    signer = NoteSigner.generate("test")
    initialise(store, signer.verifier, [s.root])
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    app = create_app(
        Settings(database_url=url).model_copy(update=dict(custody_master_key=SecretStr(master)))
    )
    tokens: dict[str, str] = {}

    def post(step: Step) -> list[dict[str, Any]]:
        actor = step.actor(s)
        message = step.message(s)
        if step.signer == ROOT:
            # The regulator publishes trust events to the trust topic, not through the API.
            written = LedgerWriter(store, [s.root]).write(TRUST_SHARD, [Message("trust", message)])
            assert not written.rejections, written.rejections
            return [{"status": "accepted"} for _ in step.events]
        if actor not in tokens:
            tokens[actor] = create_token(engine, "producer", organisation=actor)
        response = client.post(
            "/v1/events",
            content=message,
            headers={"Content-Type": BATCH_TYPE, "Authorization": f"Bearer {tokens[actor]}"},
        )
        if carries_trust(message):  # refused at the door, whole (docs/ledger.md)
            assert response.status_code == 422, response.text
            body = response.json()
            return [{"status": "rejected", "reason": body["reason"], "field": body["field"]}]
        assert response.status_code == 202, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    with TestClient(app) as client:
        for step in [attacks.trust, *attacks.setup]:
            assert {r["status"] for r in post(step)} == {"accepted"}, post(step)
        outcomes: dict[str, Outcome] = {}
        for row in attacks.rows:
            [attack] = post(row.attack)
            if row.prepare is not None:
                assert [r["status"] for r in post(row.prepare)] == ["accepted"]
            [legit] = post(row.legit)
            outcomes[row.name] = (
                attack["status"],
                attack["reason"],
                attack["field"],
                legit["status"],
            )

    assert outcomes == expected(attacks)
    Ledger(store, signer).checkpoint(0)
    report = Auditor(store, signer.verifier, [s.root], ledger_name="test").run()
    assert report.findings == []
    store.close()


@pytest.mark.integration
def test_every_attack_is_refused_when_the_whole_story_is_one_write(tmp_path: Path) -> None:
    """A worker with a backlog writes many messages at once: every rule must see the events
    accepted earlier in the same write (a holder that received the goods a message before may
    acknowledge their recall; a case packed a message before holds what was packed in it)."""
    attacks = build()
    s = attacks.s
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    migrate(engine)
    store = SqlLedgerStore(engine)
    initialise(store, NoteSigner.generate("test").verifier, [s.root])
    writer = LedgerWriter(store, [s.root])
    rejections = []
    messages = []
    for number, step in enumerate(attacks.steps()):
        message = Message(f"step {number}", step.message(s))
        if carries_trust(message.data):  # the trust topic: a write of its own, first
            rejections += writer.write(TRUST_SHARD, [message]).rejections
        else:
            messages.append(message)
    rejections += writer.write(0, messages).rejections

    refused = {r.event_id: r for r in rejections}
    outcomes: dict[str, Outcome] = {}
    for row in attacks.rows:
        attack = refused.get(row.attack_event.event_id)
        outcomes[row.name] = (
            "rejected" if attack else "-",
            attack.reason if attack else None,
            attack.field if attack else None,
            "accepted" if _stored(store, row.legit.events[0].event_id) else "-",
        )
    store.close()
    assert outcomes == expected(attacks)


def test_every_attack_is_refused_over_kafka_and_the_legitimate_event_lands(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path
) -> None:
    attacks = build()
    s = attacks.s
    steps = attacks.steps()
    setup_events = sum(len(step.events) for step in [attacks.trust, *attacks.setup]) + sum(
        len(row.prepare.events) for row in attacks.rows if row.prepare is not None
    )
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path, world=World(scenario=s), partitions=1)
        try:
            rig.start_worker()
            for step in steps:  # one partition (and the trust topic): the rows keep their order
                message = step.message(s)
                if carries_trust(message):
                    rig.send_trust(message)
                else:
                    rig.send(message, partition=0, key=step.actor(s).encode())
            rig.flush()
            wanted = setup_events + len(attacks.rows)
            rig.wait_for(f"{wanted} entries", lambda: rig.entries() >= wanted, timeout=60)
            rig.wait_for(
                "every rejection",
                lambda: len(rig.store.rejections(limit=1000)) >= len(attacks.rows),
                timeout=30,
            )
            time.sleep(0.5)  # anything extra would show up now

            rejected = {r.rejection.event_id: r.rejection for r in rig.store.rejections(limit=1000)}
            outcomes: dict[str, Outcome] = {}
            for row in attacks.rows:
                attack = rejected.get(row.attack_event.event_id)
                legit = "accepted" if _stored(rig.store, row.legit.events[0].event_id) else "-"
                outcomes[row.name] = (
                    "rejected" if attack else "-",
                    attack.reason if attack else None,
                    attack.field if attack else None,
                    legit,
                )
            assert outcomes == expected(attacks)
            assert rig.entries() == wanted
            report = Auditor(rig.store, rig.verifier, [s.root], ledger_name=rig.verifier.name).run()
            assert report.findings == []
        finally:
            rig.stop_all()


def _stored(store: SqlLedgerStore, event_id: str) -> bool:
    try:
        store.locate(event_id)
    except EntryNotFoundError:
        return False
    return True
