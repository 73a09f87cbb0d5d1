"""A producer's own recall (主动召回) over HTTP when the query service records through Kafka:
start, the holders' acknowledgements and the closure are queued (202 for the follow-ups), pass
the worker's authority checks and then show in the recall (real broker, real PostgreSQL)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.ledger import EntryNotFoundError
from suyuan_ingest.kafka_transport import KafkaTransport
from suyuan_trace_query.app import create_app
from tests.databases import fresh_database
from tests.integration.ingest_harness import IngestRig

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[IngestRig]:
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path)
        try:
            yield rig
        finally:
            rig.stop_all()


def test_a_producers_recall_goes_through_kafka_to_closure(rig: IngestRig) -> None:
    world, s = rig.world, rig.world.scenario
    engine = rig.store.engine
    master = secrets.token_bytes(32)
    farm, market = world.farm.uscc, world.market.uscc
    keys = [
        key_registration_event(s.regulator_uscc, org, create_custodial_key(engine, master, org))
        for org in (farm, market)
    ]
    rig.start_worker()
    rig.send_trust(s.sign_as_root([*s.registration(world.farm, world.market), *keys]))
    rig.wait_for("trust events", lambda: rig.entries() >= 6)
    certificate = world.certificate()
    lot = certificate.codes[-1]
    shipped, received = world.delivery([lot], [certificate.codes[0]])
    rig.send(s.sign(world.farm, [certificate, shipped]), partition=0)
    rig.send(s.sign(world.market, [received]), partition=0)
    rig.flush()
    rig.wait_for("the delivery", lambda: rig.entries() >= 9)

    transport = KafkaTransport(rig.bootstrap, rig.topic, rig.store, trust_topic=rig.trust_topic)
    app = create_app(
        Settings(database_url=rig.db_url).model_copy(
            update=dict(custody_master_key=SecretStr(base64.b64encode(master).decode()))
        ),
        store=rig.store,
        transport=transport,
    )
    tokens = {org: create_token(engine, "producer", organisation=org) for org in (farm, market)}

    def post(path: str, body: dict[str, Any], org: str) -> Any:
        return client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[org]}"})

    def read(recall_id: str) -> dict[str, Any]:
        answer = client.get(
            f"/v1/recalls/{recall_id}", headers={"Authorization": f"Bearer {tokens[farm]}"}
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def recorded(event_id: str) -> bool:
        try:
            rig.store.locate(event_id)
        except EntryNotFoundError:
            return False
        return True

    with TestClient(app) as client:
        started = post(
            "/v1/recalls",
            {"root_codes": [lot], "reason": "自检农残超标", "level": "LEVEL_2"},
            farm,
        )
        assert started.status_code == 201, started.text
        assert started.json()["ledger"] is None  # queued
        recall_id = started.json()["recall_id"]
        rig.wait_for("the recall", lambda: recorded(recall_id))
        assert read(recall_id)["initiative"] == "voluntary"

        acks = f"/v1/recalls/{recall_id}/acknowledgements"
        zero = {"unit": "kg", "on_hand": "0", "sold_on": "0", "returned": "0", "destroyed": "0"}
        by_farm = post(acks, {**zero, "sold_on": "500"}, farm)
        by_market = post(acks, {**zero, "returned": "500"}, market)
        assert (by_farm.status_code, by_market.status_code) == (202, 202)
        assert by_market.json()["acknowledged"] is False  # not in the ledger yet
        rig.wait_for(
            "both acknowledgements",
            lambda: read(recall_id)["progress"]["reconciled"] == 2,
        )

        closed = post(f"/v1/recalls/{recall_id}/close", {"summary": "已全部退回并销毁"}, farm)
        assert closed.status_code == 202, closed.text
        rig.wait_for("the closure", lambda: read(recall_id)["status"] == "closed")
        final = read(recall_id)
    transport.close()

    assert final["closure"]["closed_by"] == farm
    assert final["closure"]["override_reason"] is None
    assert {a["organisation"]: a["reconciled"] for a in final["accounts"]} == {
        farm: True,
        market: True,
    }
