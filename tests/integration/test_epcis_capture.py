"""EPCIS 2.0 capture (docs/epcis.md "Capture") on a real ledger: the ingest service takes the
document, the query service traces and exports it, all in-process on one SQLite database.

The round trip of issue 16 for a document of ours in EPCIS terms: captured → traced → exported
as EPCIS → the export validates against the official schema → captured again into a fresh
ledger with the same CBV event hashes (and once more there: stored once). GS1's own examples
make the same round trip in test_epcis_gs1.py.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator, FormatChecker
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.directory import Directory
from suyuan.epcis import epc_uri, event_hash, map_event
from suyuan.events import decode_batch, decode_event, event_from_json, event_to_json
from suyuan.events.model import TRUST_EVENT_TYPES
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Leaf,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    migrate,
)
from suyuan.tlog import NoteSigner
from suyuan_demo import build_demo
from suyuan_ingest._routes_epcis import CaptureJobOut
from suyuan_ingest.api import create_app as create_ingest_app
from suyuan_ingest.kafka_transport import KafkaTransport
from suyuan_trace_query.app import create_app
from tests.databases import fresh_database
from tests.integration.ingest_harness import IngestRig
from tests.integration.test_epcis_trace import epcis
from tests.integration.test_ingest_api import Ingest, start_ingest
from tests.integration.test_trace_api import Query, start_query
from tests.ledger_world import World

FIXTURES = Path(__file__).parents[1] / "fixtures" / "epcis"
SCHEMA = json.loads((FIXTURES / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft7Validator(SCHEMA, format_checker=FormatChecker())
LD_JSON = "application/ld+json"
BASE_URL = "https://suyuan.example.cn"


@dataclass
class Ledger:
    """One ledger, its capture (ingest) and query services."""

    ingest: Ingest
    query: TestClient
    regulator_token: str

    def capture(self, document: Any, token: str | None = None, media: str = LD_JSON) -> Any:
        return self.ingest.client.post(
            "/epcis/capture",
            content=json.dumps(document, ensure_ascii=False).encode(),
            headers={
                "Content-Type": media,
                "Authorization": f"Bearer {token or self.ingest.farm_token}",
            },
        )

    def job(self, capture_id: str, token: str | None = None) -> Any:
        return self.ingest.client.get(
            f"/epcis/capture/{capture_id}",
            headers={"Authorization": f"Bearer {token or self.ingest.farm_token}"},
        )

    def trace_epcis(self, code: str) -> Any:
        response = self.query.get(
            f"/v1/trace/{quote(code, safe='()')}",
            params={"format": "epcis"},
            headers={"Authorization": f"Bearer {self.regulator_token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


def start_ledger(path: Path | str) -> Iterator[Ledger]:
    """Both services on the SQLite ledger in ``path``, or on the database at URL ``path``."""
    url = path if isinstance(path, str) else f"sqlite:///{path / 'ledger.sqlite'}"
    for ingest in start_ingest(url):
        app = create_app(Settings(database_url=url, public_base_url=BASE_URL), store=ingest.store)
        with TestClient(app) as query:
            yield Ledger(
                ingest, query, create_token(ingest.store.engine, "regulator", region="330100")
            )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    yield from start_ledger(tmp_path)


def farm_document(ledger: Ledger | World) -> tuple[dict[str, Any], str]:
    """A 合格证, the packing of its lot on a pallet and the pallet's shipment to the market,
    told in EPCIS 2.0 (the certificate with our extension members, the rest in standard terms
    alone), and an AssociationEvent we do not record. Also the lot's code."""
    world = ledger.ingest.world if isinstance(ledger, Ledger) else ledger
    s = world.scenario
    lot = s.unit_code(lot="LA20260506")
    pallet = s.sscc()
    certificate = world.certificate()
    issued = event_to_json(certificate)
    cert_code = issued["codes"][0]
    farm = f"urn:suyuan:org:{world.farm.uscc}"
    place = {"id": f"urn:suyuan:region:{issued['location']['region_code']}"}
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": "2026-05-06T06:07:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "epcList": [epc_uri(cert_code), epc_uri(lot)],
            "action": "ADD",
            "readPoint": place,
            "bizLocation": place,
            "gs1:certificationInfo": [
                {
                    "type": "gs1:CertificationDetails",
                    "gs1:certificationStandard": "承诺达标合格证",
                    "gs1:certificationIdentification": cert_code,
                    "gs1:certificationAgency": world.farm.name,
                    "gs1:certificationStartDate": issued["payload"]["issue_date"],
                }
            ],
            "suyuan:eventType": "CertificateIssued",
            "suyuan:location": issued["location"],
            "suyuan:quantity": {"quantity": "500", "unit": "kg"},
            "suyuan:payload": issued["payload"],
        },
        {
            "type": "AggregationEvent",
            "eventTime": "2026-05-06T09:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": epc_uri(pallet),
            "childEPCs": [epc_uri(lot)],
            "action": "ADD",
            "bizStep": "packing",
        },
        {
            "type": "ObjectEvent",
            "eventTime": "2026-05-06T10:30:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "epcList": [epc_uri(lot)],
            "action": "OBSERVE",
            "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
            "disposition": "in_transit",
            "sourceList": [{"type": "owning_party", "source": farm}],
            "destinationList": [
                {"type": "owning_party", "destination": f"urn:suyuan:org:{world.market.uscc}"}
            ],
            "bizTransactionList": [{"type": "bol", "bizTransaction": "urn:suyuan:waybill:ZJYD1"}],
        },
        {
            "type": "AssociationEvent",
            "eventTime": "2026-05-06T10:31:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": epc_uri(pallet),
            "childEPCs": [epc_uri(lot)],
            "action": "ADD",
        },
    ]
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-05-06T11:00:00+08:00",
        "epcisBody": {"eventList": events},
    }
    return document, lot


def schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in VALIDATOR.iter_errors(document)
    ]


# --- the reference implementation's example ------------------------------------------------


def test_the_reference_example_is_refused_with_the_reference_hash(ledger: Ledger) -> None:
    hashes = FIXTURES / "hash" / "epcisDocWithSingleEvent.hashes"
    document = json.loads((FIXTURES / "hash" / "epcisDocWithSingleEvent.jsonld").read_text())

    job = ledger.capture(document).json()

    assert [e["eventHash"] for e in job["events"]] == hashes.read_text().split()


# --- the round trip -----------------------------------------------------------------------------


def test_round_trip_capture_trace_export_validate_capture_again(
    ledger: Ledger, tmp_path: Path
) -> None:
    document, lot = farm_document(ledger)

    first = ledger.capture(document)

    assert first.status_code == 202, first.text
    assert first.headers["Location"] == f"/epcis/capture/{first.json()['captureID']}"
    job = first.json()
    CaptureJobOut.model_validate(job)  # the job is what the OpenAPI document says
    assert [e["status"] for e in job["events"]] == ["captured"] * 3 + ["refused"], job
    assert job["events"][3]["problems"][0]["field"] == "epcisBody.eventList[3].type"
    captured = {e["eventHash"] for e in job["events"][:3]}
    assert captured == {event_hash(e) for e in document["epcisBody"]["eventList"][:3]}
    assert ledger.job(job["captureID"]).json() == job

    exported = ledger.trace_epcis(lot)

    assert schema_errors(exported) == []
    exported_events = exported["epcisBody"]["eventList"]
    assert {event_hash(e) for e in exported_events} == captured
    assert {e["eventID"] for e in exported_events} == {
        f"urn:uuid:{e['eventID']}" for e in job["events"][:3]
    }

    fresh_path = tmp_path / "fresh"
    fresh_path.mkdir()
    for fresh in start_ledger(fresh_path):
        again = fresh.capture(exported).json()
        assert [e["status"] for e in again["events"]] == ["captured"] * 3, again
        assert {e["eventHash"] for e in again["events"]} == captured

        once_more = fresh.capture(exported).json()
        assert [e["status"] for e in once_more["events"]] == ["duplicate"] * 3
        assert fresh.trace_epcis(lot)["epcisBody"]["eventList"] != []


def test_the_same_hash_with_other_facts_of_ours_is_refused_not_taken_as_a_repeat(
    ledger: Ledger,
) -> None:
    document, _ = farm_document(ledger)
    document["epcisBody"]["eventList"] = document["epcisBody"]["eventList"][:1]
    first = ledger.capture(document).json()
    document["epcisBody"]["eventList"][0]["suyuan:payload"]["contact"] = "0571-00000000"

    second = ledger.capture(document).json()

    assert first["events"][0]["status"] == "captured"
    assert second["events"][0]["eventHash"] == first["events"][0]["eventHash"]
    assert second["events"][0]["status"] == "refused"
    assert second["events"][0]["problems"][0]["reason"] == "id_conflict"


def test_an_event_the_contract_refuses_is_refused_and_listed_with_its_place_in_the_document(
    ledger: Ledger,
) -> None:
    document, _ = farm_document(ledger)
    events = document["epcisBody"]["eventList"]
    events[0]["suyuan:payload"]["product_name"] = " "  # blank: a content rule of the event
    document["epcisBody"]["eventList"] = [events[3], events[0]]

    job = ledger.capture(document).json()
    rejections = ledger.ingest.client.get(
        "/v1/rejections", headers={"Authorization": f"Bearer {ledger.ingest.farm_token}"}
    ).json()["rejections"]

    assert [e["status"] for e in job["events"]] == ["refused", "refused"]
    assert job["events"][1]["problems"][0]["reason"] == "invalid_event"
    assert job["events"][1]["problems"][0]["field"] == "payload.product_name"
    assert [r["source"] for r in rejections] == [f"epcis:{job['captureID'][:12]} body[1]"]


def test_an_event_that_would_not_read_back_as_sent_is_refused_naming_the_member(
    ledger: Ledger,
) -> None:
    document, _ = farm_document(ledger)
    shipped = document["epcisBody"]["eventList"][2]
    # Our Shipped event names its sender itself (the actor): another sender would be lost.
    shipped["sourceList"] = [{"type": "owning_party", "source": "urn:suyuan:org:X"}]
    document["epcisBody"]["eventList"] = [shipped]

    job = ledger.capture(document).json()

    assert job["events"][0]["status"] == "refused"
    assert [p["field"] for p in job["events"][0]["problems"]] == [
        "epcisBody.eventList[0].sourceList"
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("demo")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


def test_every_demo_event_exported_as_epcis_is_captured_as_the_same_event(demo: Query) -> None:
    """Each event of every demo trace, in the regulator's document, read back by its own
    organisation: the very event the ledger holds (all but its id), of every type exported."""
    directory = Directory(demo.store)
    exported = {
        e["eventID"]: e
        for code in demo.codes.values()
        for e in epcis(demo, code, demo.regulator_token)["epcisBody"]["eventList"]
    }
    types = set()
    for event in exported.values():
        actor = event["suyuan:actor"]["uscc"]
        mapped = map_event(
            event, index=0, organisation=actor, prefixes={}, organisation_name=directory.name(actor)
        )
        assert mapped.problems == [], (event["suyuan:eventType"], mapped.problems)
        assert mapped.event is not None
        held = event_to_json(
            decode_event(
                Leaf.from_bytes(
                    demo.store.entry(
                        *demo.store.locate(event["eventID"].removeprefix("urn:uuid:"))
                    ).leaf
                ).event
            )
        )
        again = event_to_json(event_from_json({**mapped.event, "event_id": held["event_id"]}))
        assert again == held
        types.add(event["suyuan:eventType"])
    assert len(types) >= 20, types


def test_the_demo_ledger_exported_as_epcis_is_captured_into_a_fresh_ledger_by_its_organisations(
    demo: Query, tmp_path: Path
) -> None:
    """Every event of every demo trace (regulator's documents), in ledger order, captured into a
    fresh ledger by the organisation that did it: the same CBV event hashes. The only events
    refused are those naming another event by its id, which a captured event does not keep
    (its id derives from its hash), and what rests on them."""
    exported = {
        e["eventID"]: e
        for code in demo.codes.values()
        for e in epcis(demo, code, demo.regulator_token)["epcisBody"]["eventList"]
    }
    events = sorted(exported.values(), key=lambda e: (e["recordTime"], e["suyuan:ledger"]["seq"]))
    s = demo.scenario
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    initialise(store, NoteSigner.generate("fresh").verifier, [s.root])
    writer = LedgerWriter(store, [s.root])
    for number, message in enumerate(build_demo().messages):
        if all(
            decode_event(e).event_type in TRUST_EVENT_TYPES for e in decode_batch(message).events
        ):
            assert not writer.write(TRUST_SHARD, [Message(f"trust#{number}", message)]).rejections
    master = secrets.token_bytes(32)
    actors = sorted({e["suyuan:actor"]["uscc"] for e in events})
    keys = [
        key_registration_event(s.regulator_uscc, a, create_custodial_key(engine, master, a))
        for a in actors
    ]
    assert not writer.write(TRUST_SHARD, [Message("keys", s.sign_as_root(keys))]).rejections
    tokens = {a: create_token(engine, "producer", organisation=a) for a in actors}
    app = create_ingest_app(
        Settings(database_url=url, custody_master_key=SecretStr(base64.b64encode(master).decode()))
    )

    outcomes = []
    with TestClient(app) as client:
        for event in events:
            document = {
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-05-07T00:00:00+00:00",
                "epcisBody": {"eventList": [event]},
            }
            response = client.post(
                "/epcis/capture",
                content=json.dumps(document, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": LD_JSON,
                    "Authorization": f"Bearer {tokens[event['suyuan:actor']['uscc']]}",
                },
            )
            outcomes.append((event, response.json()["events"][0]))

    captured = [(e, o) for e, o in outcomes if o["status"] == "captured"]
    refused = {
        (e["suyuan:eventType"], o["problems"][0]["field"])
        for e, o in outcomes
        if o["status"] != "captured"
    }
    assert len(events) > 100
    assert all(o["eventHash"] == event_hash(e) for e, o in captured)
    assert refused == {
        ("CertificateIssued", "payload.inspection_event_id"),  # names an inspection by its id
        ("CertificateIssued", "payload.upstream_certificates[0]"),  # rests on that certificate
    }
    assert len(captured) == len(events) - 2


# --- what is refused as a whole -----------------------------------------------------------------


def test_a_remote_context_is_never_fetched_and_refused_naming_it(ledger: Ledger) -> None:
    document, _ = farm_document(ledger)
    document["@context"] = [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "https://evil.example.com/context.jsonld",
    ]
    document["schemaVersion"] = "1.2"

    response = ledger.capture(document)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problems = [(p["reason"], p["field"], p["value"]) for p in response.json()["errors"]]
    assert problems == [  # every problem of the document at once
        ("invalid_document", "schemaVersion", "1.2"),
        ("unsupported_feature", "@context[1]", "https://evil.example.com/context.jsonld"),
    ]
    assert "never fetched" in response.json()["errors"][1]["rule"]


def test_capture_needs_a_producer_token_and_json_ld(ledger: Ledger) -> None:
    document, _ = farm_document(ledger)

    assert ledger.capture(document, token=ledger.regulator_token).status_code == 403
    assert ledger.capture(document, media="text/plain").status_code == 415
    assert ledger.capture(document, media="application/json").status_code == 202


def test_a_query_parameter_is_refused_not_ignored(ledger: Ledger) -> None:
    document, _ = farm_document(ledger)
    job = ledger.capture(document).json()

    answer = ledger.job(f"{job['captureID']}?verbose=1")

    assert answer.status_code == 422
    assert [(p["reason"], p["field"]) for p in answer.json()["errors"]] == [
        ("unknown_query_parameter", "verbose")
    ]


def test_a_capture_job_is_seen_only_by_its_organisation(ledger: Ledger) -> None:
    document, _ = farm_document(ledger)
    job = ledger.capture(document).json()

    assert ledger.job(job["captureID"], token=ledger.ingest.market_token).status_code == 404
    assert ledger.job("0" * 32).status_code == 404


@pytest.mark.integration
def test_postgres_capture_job_and_repeat(postgres_url: str) -> None:
    with fresh_database(postgres_url, "epcis_capture") as url:
        for ledger in start_ledger(url):
            document, lot = farm_document(ledger)

            job = ledger.capture(document).json()
            repeat = ledger.capture(document).json()

            assert [e["status"] for e in job["events"]] == ["captured"] * 3 + ["refused"]
            assert [e["status"] for e in repeat["events"]] == ["duplicate"] * 3 + ["refused"]
            assert ledger.job(job["captureID"]).json() == job
            assert schema_errors(ledger.trace_epcis(lot)) == []


@pytest.mark.integration
def test_capture_through_kafka_reaches_the_ledger(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path
) -> None:
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path)
        try:
            world, s = rig.world, rig.world.scenario
            master = secrets.token_bytes(32)
            custodial = create_custodial_key(rig.store.engine, master, world.farm.uscc)
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
            before = rig.entries()
            transport = KafkaTransport(
                rig.bootstrap, rig.topic, rig.store, trust_topic=rig.trust_topic
            )
            app = create_ingest_app(
                Settings(
                    database_url=url,
                    custody_master_key=SecretStr(base64.b64encode(master).decode()),
                ),
                transport,
            )
            token = create_token(rig.store.engine, "producer", organisation=world.farm.uscc)
            document, _ = farm_document(world)
            with TestClient(app) as client:
                response = client.post(
                    "/epcis/capture",
                    content=json.dumps(document, ensure_ascii=False).encode(),
                    headers={"Content-Type": LD_JSON, "Authorization": f"Bearer {token}"},
                )
            transport.close()

            job = response.json()
            assert response.status_code == 202, response.text
            assert job["committed"] is False  # queued: the worker writes them
            assert [e["status"] for e in job["events"]] == ["captured"] * 3 + ["refused"]
            rig.wait_for("captured events", lambda: rig.entries() >= before + 3)
            for event in job["events"][:3]:
                rig.store.locate(event["eventID"])  # in the ledger under its derived id
        finally:
            rig.stop_all()


def test_a_hostile_organisation_cannot_capture_another_s_goods_or_words(ledger: Ledger) -> None:
    """The market, a registered organisation with a custodial key, captures the farm's words
    (the farm's certificate, in the market's name) and packs the farm's certified lot, which it
    never received: the capture takes nothing the ledger's authority and custody rules would not
    take over POST /v1/events."""
    ingest = ledger.ingest
    s, market = ingest.world.scenario, ingest.world.market
    master = ingest.client.app.state.context.capture.custody.master
    key = create_custodial_key(ingest.store.engine, master, market.uscc)
    registration = key_registration_event(s.regulator_uscc, market.uscc, key)
    registered = LedgerWriter(ingest.store, [s.root]).write(
        TRUST_SHARD, [Message("market", s.sign_as_root([registration]))]
    )
    assert registered.accepted == 1, registered.rejections
    document, lot = farm_document(ledger)
    certificate, packing = document["epcisBody"]["eventList"][:2]

    as_market = ledger.capture(_with(document, [certificate]), token=ingest.market_token).json()
    assert as_market["events"][0]["status"] == "refused", as_market
    by_farm = ledger.capture(_with(document, [certificate])).json()
    assert by_farm["events"][0]["status"] == "captured", by_farm

    packed = ledger.capture(_with(document, [packing]), token=ingest.market_token).json()
    assert packed["events"][0]["status"] == "refused", packed
    assert packed["events"][0]["problems"][0]["reason"] == "not_in_custody"
    held = ingest.store.code_events(lot)
    assert [r.event_type for r in held] == ["CertificateIssued"]  # the farm's, nothing else
    assert {r.actor for r in held} == {ingest.world.farm.uscc}


def _with(document: Any, events: list[Any]) -> Any:
    return {**document, "epcisBody": {"eventList": events}}
