"""Full path of the stack: HTTP capture API → Kafka (real broker) → ingest worker → ledger
(real PostgreSQL). A custodially signed JSON event and a client-signed batch both land."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.events import event_to_json
from suyuan_ingest.api import create_app
from suyuan_ingest.kafka_transport import KafkaTransport
from tests.databases import fresh_database
from tests.integration.ingest_harness import IngestRig

pytestmark = pytest.mark.integration

BATCH_TYPE = "application/vnd.suyuan.batch+avro"


@pytest.fixture
def rig(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[IngestRig]:
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path)
        try:
            yield rig
        finally:
            rig.stop_all()


def test_http_events_reach_the_ledger_through_kafka(rig: IngestRig) -> None:
    world, s = rig.world, rig.world.scenario
    engine = rig.store.engine
    master = secrets.token_bytes(32)
    custodial = create_custodial_key(engine, master, world.farm.uscc)
    rig.start_worker()
    rig.send_trust(
        s.sign_as_root(
            [
                *s.registration(world.farm, world.market),
                key_registration_event(s.regulator_uscc, world.farm.uscc, custodial),
            ]
        )
    )
    rig.wait_for("trust events", lambda: rig.entries() >= 5)
    transport = KafkaTransport(rig.bootstrap, rig.topic, rig.store, trust_topic=rig.trust_topic)
    app = create_app(
        Settings(database_url=rig.db_url).model_copy(
            update=dict(custody_master_key=SecretStr(base64.b64encode(master).decode()))
        ),
        transport,
    )
    token = create_token(engine, "producer", organisation=world.farm.uscc)
    custodial_event = world.certificate()
    client_signed = world.certificate()

    with TestClient(app) as client:
        json_answer = client.post(
            "/v1/events",
            json=event_to_json(custodial_event),
            headers={"Authorization": f"Bearer {token}"},
        )
        batch_answer = client.post(
            "/v1/events",
            content=world.farm_batch([client_signed]),
            headers={"Authorization": f"Bearer {token}", "Content-Type": BATCH_TYPE},
        )
    transport.close()

    assert json_answer.status_code == 202, json_answer.text
    assert batch_answer.status_code == 202, batch_answer.text
    for answer in (json_answer, batch_answer):
        body = answer.json()
        assert body["committed"] is False, "over Kafka, accepted means queued"
        assert [r["status"] for r in body["results"]] == ["accepted"]
    rig.wait_for("both events in the ledger", lambda: rig.entries() >= 7)
    for event in (custodial_event, client_signed):
        shard, _seq = rig.store.locate(event.event_id)
        assert shard in range(rig.partitions)
