"""The vaccine and drug rules through the public APIs (docs/vaccines.md): the story of
``vaccine_story`` sent through the capture API (SQLite) and through Kafka (the real broker, one
worker, PostgreSQL); then, through the query API, what a regulator and a consumer see — the
refusals, the alerts of ``GET /v1/alerts``, the verdict of ``GET /v1/trace/{code}`` and the
scan page's status — and that a serious AEFI stays with the regulators."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD, SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.tlog import NoteSigner
from suyuan_ingest.api import create_app as create_ingest_app
from suyuan_trace_query.app import create_app as create_query_app
from tests.databases import fresh_database
from tests.integration import vaccine_story
from tests.integration.ingest_harness import IngestRig
from tests.integration.vaccine_story import ALERTS, REFUSED, VERDICTS, Story
from tests.ledger_world import World

BATCH_TYPE = "application/vnd.suyuan.batch+avro"


def query_client(store: SqlLedgerStore, tmp_path: Path) -> TestClient:
    settings = Settings(
        public_base_url="https://trace.example.cn", ledger_key_file=str(tmp_path / "none.key")
    )
    app = create_query_app(
        settings.model_copy(update=dict(query_rate_limit_per_second=0)), store=store
    )
    return TestClient(app)


def check_what_readers_see(story: Story, store: SqlLedgerStore, tmp_path: Path) -> None:
    """The alerts a regulator sees and the verdict and scan page a consumer sees."""
    engine = store.engine
    regulator = {"Authorization": f"Bearer {create_token(engine, 'regulator', region='330100')}"}
    clinic = create_token(engine, "producer", organisation=story.orgs["clinic"].uscc)
    with query_client(store, tmp_path) as client:
        response = client.get("/v1/alerts", params={"limit": 1000}, headers=regulator)
        assert response.status_code == 200, response.text
        alerts = response.json()["alerts"]
        for label, code in story.codes.items():
            kinds = {a["kind"] for a in alerts if code in a["codes"]}
            assert kinds == ALERTS[label], label

            trace = client.get(f"/v1/trace/{code}").json()
            assert trace["verdict"]["state"] == VERDICTS[label], label
            assert trace["verdict"]["product"] == ("drug" if "drug" in label else "vaccine")
            html = client.get(f"/c/{code}").text
            found = re.search(r'id="status"[^>]*data-status="([a-z]+)"', html)
            assert found is not None and found.group(1) == VERDICTS[label], label
            assert "请勿食用" not in html, label
            if VERDICTS[label] == "blocked":
                assert "该疫苗不得接种。如已接种，请联系接种单位。" in html, label

        recalled = client.get(f"/c/{story.codes['dose given under recall']}").text
        assert "该疫苗正在召回。如已接种，请联系接种单位。" in recalled
        assert "请咨询药师" in client.get(f"/c/{story.codes['drug sold again']}").text

        # a serious AEFI: the regulators' list has it; the public never sees it
        report = story.serious_report
        assert report is not None
        [serious] = [a for a in alerts if a["kind"] == "serious_adverse_event"]
        assert (serious["event_id"], serious["status"]) == (report.event_id, "open")
        code = story.codes["dose given once"]
        public = client.get(f"/v1/trace/{code}").text
        page = client.get(f"/c/{code}").text
        for shown in (public, page):
            assert "serious_adverse_event" not in shown and report.event_id not in shown
            assert "惊厥" not in shown and "AEFI-330106" not in shown
        denied = client.get("/v1/alerts", headers={"Authorization": f"Bearer {clinic}"})
        assert denied.status_code == 403
        # the maker and the CDC held the dose, so they see its trace in full — but a report
        # about a person's health stays the regulators' (docs/vaccines.md)
        for holder in ("maker", "cdc"):
            token = create_token(engine, "producer", organisation=story.orgs[holder].uscc)
            full = client.get(f"/v1/trace/{code}", headers={"Authorization": f"Bearer {token}"})
            assert full.json()["view"] == "full", holder
            assert "serious_adverse_event" not in full.text and report.event_id not in full.text
        seen = client.get(f"/v1/trace/{code}", headers=regulator).json()["alerts"]
        assert "serious_adverse_event" in {a["kind"] for a in seen}


def test_the_stories_over_http(tmp_path: Path) -> None:
    story = vaccine_story.build()
    s = story.s
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    migrate(engine)
    store = SqlLedgerStore(engine)
    initialise(store, NoteSigner.generate("test").verifier, [s.root])
    written = LedgerWriter(store, [s.root]).write(
        TRUST_SHARD, [Message("trust", s.sign_as_root(story.trust))]
    )
    assert not written.rejections
    app = create_ingest_app(Settings(database_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"))
    tokens: dict[str, str] = {}
    results: dict[str, dict[str, Any]] = {}
    with TestClient(app) as client:
        for org, events in story.steps:
            token = tokens.setdefault(
                org.uscc, create_token(engine, "producer", organisation=org.uscc)
            )
            response = client.post(
                "/v1/events",
                content=s.sign(org, events),
                headers={"Content-Type": BATCH_TYPE, "Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 202, response.text
            results.update({r["event_id"]: r for r in response.json()["results"]})

    refused = {e.event_id for e in story.refused.values()}
    assert {i for i, r in results.items() if r["status"] != "accepted"} == refused
    for label, event in story.refused.items():
        result = results[event.event_id]
        assert (result["reason"], result["field"]) == REFUSED[label], label
    check_what_readers_see(story, store, tmp_path)
    store.close()


@pytest.mark.integration
def test_the_stories_over_kafka(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> None:
    story = vaccine_story.build()
    s = story.s
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path, world=World(scenario=s), partitions=1)
        try:
            rig.start_worker()
            rig.send_trust(s.sign_as_root(story.trust))
            for org, events in story.steps:  # one partition: the story keeps its order
                rig.send(s.sign(org, events), partition=0, key=org.uscc.encode())
            rig.flush()
            wanted = story.accepted_events()
            rig.wait_for(f"{wanted} entries", lambda: rig.entries() >= wanted, timeout=90)
            rig.wait_for(
                "the refusals", lambda: len(rig.store.rejections()) >= len(REFUSED), timeout=30
            )
            time.sleep(0.5)  # anything extra would show up now

            assert rig.entries() == wanted
            rejected = {r.rejection.event_id: r.rejection for r in rig.store.rejections()}
            for label, event in story.refused.items():
                rejection = rejected[event.event_id]
                assert (rejection.reason, rejection.field) == REFUSED[label], label
            check_what_readers_see(story, rig.store, tmp_path)
        finally:
            rig.stop_all()
