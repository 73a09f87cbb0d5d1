"""浙冷链 三证一码 end to end (docs/cold-chain.md), over HTTP and over Kafka.

One story, sent once through the capture API (SQLite) and once through the real broker and a
real ingest worker (PostgreSQL); then what a consumer and a regulator see through the query API:

- batch A (papers passed): the 集中监管仓's release before coding is refused; coded, released,
  sold to the cold store; a laboratory's sample of one package is positive; the cold store sells
  a sibling on to the market — every package is frozen, the sale raises an alert, and the
  market's regulator follows the positive sample;
- batch B (核酸 paper failed): its release is refused; the warehouse ships it anyway — frozen;
- batch C: straight from the importer to the market without a 溯源码 — attention;
- batch D: an open temperature excursion read in 宁波; the goods went on to 杭州 — attention, and
  杭州's regulator sees the alert.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    migrate,
)
from suyuan.scenario import Organisation, Scenario
from suyuan.tlog import NoteSigner
from suyuan_ingest.api import create_app as create_ingest_app
from suyuan_trace_query.app import create_app as create_query_app
from tests.databases import fresh_database
from tests.integration.ingest_harness import IngestRig
from tests.ledger_world import World
from tests.unit.foodchain import cold

BATCH_TYPE = "application/vnd.suyuan.batch+avro"
COLD_KINDS = {
    "positive_sample",
    "import_papers_failed",
    "import_papers_incomplete",
    "uncoded_import",
    "temperature_excursion",
}


@dataclass
class Story:
    s: Scenario
    orgs: list[Organisation]
    steps: list[tuple[Organisation, list[Event]]] = field(default_factory=list)
    refused: dict[str, Event] = field(default_factory=dict)
    """The refused releases, by what they show."""
    codes: dict[str, str] = field(default_factory=dict)

    def add(self, org: Organisation, *events: Event) -> None:
        self.steps.append((org, list(events)))

    def refuse(self, name: str, org: Organisation, event: Event) -> None:
        self.refused[name] = event
        self.add(org, event)


def story() -> Story:
    s = Scenario(seed=12)
    importer = s.organisation("宁波甬兴进出口有限公司", ["IMPORTER"], "330206", "宁波市北仑区")
    warehouse = cold.warehouse(s)
    store = s.organisation(
        "杭州冷链物流中心", ["COLD_STORE", "DISTRIBUTOR"], "330110", "杭州市余杭区"
    )
    market = s.organisation("杭州农副产品物流中心", ["MARKET"], "330105", "杭州市拱墅区")
    lab = s.organisation("宁波海关技术中心", ["LAB"], "330206", "宁波市北仑区")
    st = Story(s, [importer, warehouse, store, market, lab])

    def into_warehouse(batch: str, failed: tuple[str, ...] = ()) -> list[str]:
        codes = cold.packages(s, batch)
        declared = cold.declare(s, importer, codes, failed=failed, batch=f"SIF{batch}-2603")
        shipped, received = cold.hand_over(s, importer, warehouse, codes, "60")
        st.add(importer, declared, shipped)
        st.add(warehouse, received)
        return codes

    def released(codes: list[str]) -> None:
        coded = cold.assign(s, warehouse, codes)
        out = cold.release(s, warehouse, codes, store)
        shipped, received = cold.hand_over(s, warehouse, store, codes, "60")
        st.add(warehouse, coded, out, shipped)
        st.add(store, received)

    a = into_warehouse("0401")
    st.refuse("uncoded", warehouse, cold.release(s, warehouse, a, store))
    released(a)
    st.add(lab, cold.nucleic_acid_test(s, lab, a[:1]))
    sold, bought = cold.hand_over(s, store, market, a[1:2], "20")
    st.add(store, sold)
    st.add(market, bought)

    b = into_warehouse("0402", failed=("nucleic_acid_test",))
    st.add(warehouse, cold.assign(s, warehouse, b))
    st.refuse("papers failed", warehouse, cold.release(s, warehouse, b, store))
    shipped, received = cold.hand_over(s, warehouse, store, b, "60")
    st.add(warehouse, shipped)
    st.add(store, received)

    c = cold.packages(s, "0403")
    declared = cold.declare(s, importer, c, batch="SIF0403-2603")
    shipped, received = cold.hand_over(s, importer, market, c, "60")
    st.add(importer, declared, shipped)
    st.add(market, received)

    d = into_warehouse("0404")
    st.add(
        warehouse,
        s.event(
            warehouse,
            "TemperatureRecorded",
            {
                "device_id": "TL-88-0421",
                "container_no": "CSQU3054383",
                "readings": [{"at": s.tick(5).isoformat(), "celsius": t} for t in (-19.0, -15.5)],
                "min_celsius": -25.0,
                "max_celsius": -18.0,
            },
            codes=d,
        ),
    )
    released(d)
    shipped, received = cold.hand_over(s, store, market, d[:1], "20")
    st.add(store, shipped)
    st.add(market, received)

    st.codes = {
        "sampled": a[0],
        "sold on": a[1],
        "sibling": a[2],
        "failed papers": b[0],
        "uncoded": c[0],
        "excursion": d[0],
    }
    return st


# --- what a consumer and a regulator see ---------------------------------------------------------


def check_the_query_api(store: SqlLedgerStore, url: str, st: Story, tmp_path: Path) -> None:
    settings = Settings(database_url=url, ledger_key_file=str(tmp_path / "ledger.key"))
    app = create_query_app(
        settings.model_copy(update={**_custody(), **dict(query_rate_limit_per_second=0)}),
        store=store,
    )
    engine = store.engine
    hangzhou = create_token(engine, "regulator", region="330100")
    gongshu = create_token(engine, "regulator", region="330105")
    linan = create_token(engine, "regulator", region="330185")

    with TestClient(app) as client:

        def verdict(label: str) -> tuple[str, set[str]]:
            code = quote(st.codes[label], safe="()")
            body = client.get(f"/v1/trace/{code}").json()["verdict"]
            page = client.get(f"/c/{code}").text
            assert f'data-status="{body["state"]}"' in page
            return body["state"], {f["rule"] for f in body["findings"]}

        def kinds(token: str) -> set[str]:
            answer = client.get("/v1/alerts", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            return {a["kind"] for a in answer.json()["alerts"] if a["status"] == "open"}

        assert verdict("sampled") == ("frozen", {"inspection_failed", "positive_sample"})
        assert verdict("sold on") == ("frozen", {"positive_sample", "import_papers_incomplete"})
        assert verdict("sibling") == ("frozen", {"positive_sample"})
        state, rules = verdict("failed papers")
        assert state == "frozen" and {"import_papers_failed", "import_papers_incomplete"} <= rules
        assert verdict("uncoded") == ("attention", {"uncoded_import"})
        assert verdict("excursion") == ("attention", {"temperature_excursion"})

        # Every alert was opened in 宁波 (330206) or raised against a holder there; 杭州's
        # regulators follow them because the goods went there. 临安 saw none of the goods.
        assert kinds(hangzhou) >= COLD_KINDS
        assert kinds(gongshu) >= {"positive_sample", "temperature_excursion", "uncoded_import"}
        assert not kinds(linan) & COLD_KINDS


def _custody() -> dict[str, Any]:
    return dict(custody_master_key=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode()))


def _refusals_are_as_told(
    st: Story, outcome: Callable[[Event], tuple[str, str | None, str | None]]
) -> None:
    uncoded = outcome(st.refused["uncoded"])
    assert uncoded[:2] == ("invalid_event", "codes[0]") and "溯源码" in str(uncoded[2])
    failed = outcome(st.refused["papers failed"])
    assert failed[:2] == ("invalid_event", "codes[0]") and "核酸检测证明" in str(failed[2])


# --- over HTTP ------------------------------------------------------------------------------------


def test_cold_chain_rules_over_http(tmp_path: Path) -> None:
    st = story()
    s = st.s
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    initialise(store, NoteSigner.generate("test").verifier, [s.root])
    trust = LedgerWriter(store, [s.root]).write(
        TRUST_SHARD, [Message("trust", s.sign_as_root(s.registration(*st.orgs)))]
    )
    assert not trust.rejections
    tokens = {o.uscc: create_token(engine, "producer", organisation=o.uscc) for o in st.orgs}
    results: dict[str, dict[str, Any]] = {}

    ingest = create_ingest_app(Settings(database_url=url).model_copy(update={**_custody()}))
    with TestClient(ingest) as client:
        for org, events in st.steps:
            answer = client.post(
                "/v1/events",
                content=s.sign(org, events),
                headers={"Content-Type": BATCH_TYPE, "Authorization": f"Bearer {tokens[org.uscc]}"},
            )
            assert answer.status_code == 202, answer.text
            for event, result in zip(events, answer.json()["results"], strict=True):
                results[event.event_id] = result

    refused = {e.event_id for e in st.refused.values()}
    assert {i for i, r in results.items() if r["status"] != "accepted"} == refused

    def outcome(event: Event) -> tuple[str, str | None, str | None]:
        result = results[event.event_id]
        return result["reason"], result["field"], result.get("rule") or result.get("message")

    _refusals_are_as_told(st, outcome)
    check_the_query_api(store, url, st, tmp_path)
    store.close()


# --- over Kafka -----------------------------------------------------------------------------------


@pytest.fixture
def rig(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path
) -> Iterator[tuple[IngestRig, Story]]:
    st = story()
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path, world=World(scenario=st.s), partitions=1)
        try:
            yield rig, st
        finally:
            rig.stop_all()


@pytest.mark.integration
def test_cold_chain_rules_over_kafka(rig: tuple[IngestRig, Story], tmp_path: Path) -> None:
    kafka, st = rig
    s = st.s
    kafka.start_worker()
    kafka.send_trust(s.sign_as_root(s.registration(*st.orgs)))
    kafka.wait_for("trust events", lambda: kafka.entries() >= len(st.orgs))
    before = kafka.entries()
    for org, events in st.steps:  # one partition: the story keeps its order
        kafka.send(s.sign(org, events), partition=0, key=org.uscc.encode())
    kafka.flush()
    sent = sum(len(events) for _org, events in st.steps)
    wanted = before + sent - len(st.refused)
    kafka.wait_for(f"{wanted} entries", lambda: kafka.entries() >= wanted, timeout=90)
    kafka.wait_for(
        "both refusals",
        lambda: len(kafka.store.rejections(limit=100)) >= len(st.refused),
        timeout=30,
    )
    time.sleep(0.5)  # anything extra would show up now
    assert kafka.entries() == wanted

    rejected = {r.rejection.event_id: r.rejection for r in kafka.store.rejections(limit=100)}
    assert set(rejected) == {e.event_id for e in st.refused.values()}

    def outcome(event: Event) -> tuple[str, str | None, str | None]:
        rejection = rejected[event.event_id]
        return rejection.reason, rejection.field, rejection.rule

    _refusals_are_as_told(st, outcome)
    check_the_query_api(kafka.store, kafka.db_url, st, tmp_path)
