"""GS1's own EPCIS 2.0 examples (tests/fixtures/epcis, copies of gs1/EPCIS) on a real ledger:
refused while their places are unknown; once an admin registered the organisation's GLNs,
captured → traced → exported as EPCIS → valid under the official schema → captured again into
a fresh ledger with the reference implementation's CBV event hashes. And what a registered but
hostile organisation cannot do with GLNs.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from suyuan.auth import create_token
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.epcis import code_from_epc, epc_uri, epc_urn_to_digital_link, event_hash, glns_named
from suyuan.events import event_to_json
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD
from tests.databases import fresh_database
from tests.integration.test_epcis_capture import (
    FIXTURES,
    Ledger,
    schema_errors,
    start_ledger,
)

EXAMPLES = [
    "Example_9.6.1-ObjectEvent.jsonld",
    "Example_9.6.3-AggregationEvent.jsonld",
    "Example_9.6.4-TransformationEvent.jsonld",
    "SensorDataExample1.jsonld",
]
#: (file, index) → the hash the reference implementation (release 1.9.3) gives the event.
REFERENCE_HASHES = {
    (name, int(index)): hash_
    for name, index, hash_ in (
        line.split()
        for line in (FIXTURES / "hash" / "gs1-examples.hashes").read_text().splitlines()
    )
}
#: What each example event becomes in our catalogue (docs/epcis.md "EPCIS → our events").
OUR_TYPES = [
    "Shipped",
    "Received",
    "Aggregated",
    "Transformed",
    "TemperatureRecorded",
]
#: Codes whose traces hold the example events: a shipped item (shipping, receiving, the case
#: it was found in), an output of the transformation. The item whose temperature was taken has
#: nothing else recorded, which a trace does not answer (404): it is read by the EPCIS query.
TRACED = [
    "urn:epc:id:sgtin:0614141.107346.2018",
    "urn:epc:id:sgtin:4012345.077889.25",
]
MEASURED = "urn:epc:id:sgtin:4012345.011111.9876"


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def admin_token(ledger: Ledger) -> str:
    return create_token(ledger.ingest.store.engine, "admin")


def register(ledger: Ledger, uscc: str, gln: str, body: dict[str, Any], token: str) -> Any:
    return ledger.ingest.client.put(
        f"/v1/organisations/{uscc}/glns/{gln}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def register_example_places(ledger: Ledger, uscc: str) -> list[str]:
    """Every GLN GS1's examples name as a place, registered by an admin to ``uscc``."""
    token = admin_token(ledger)
    glns = sorted(glns_named(e for n in EXAMPLES for e in example(n)["epcisBody"]["eventList"]))
    for number, gln in enumerate(glns):
        body = {"kind": "place", "region_code": "330185", "name": f"示例仓库 {number + 1}"}
        response = register(ledger, uscc, gln, body, token)
        assert response.status_code == 200, response.text
    return glns


def trace(ledger: Ledger, epc: str, token: str) -> Any:
    link = epc_uri(str(_code(epc)))
    response = ledger.query.get(
        f"/v1/trace/{quote(link, safe='')}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def query(ledger: Ledger) -> Any:
    """``GET /epcis/events`` for the item whose temperature was taken (regulator's view)."""
    response = ledger.query.get(
        "/epcis/events",
        params={"MATCH_anyEPC": epc_uri(str(_code(MEASURED)))},
        headers={"Authorization": f"Bearer {ledger.regulator_token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _code(epc: str) -> Any:
    return code_from_epc(epc_urn_to_digital_link(epc) or epc)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    yield from start_ledger(tmp_path)


def test_gs1_examples_are_refused_while_their_places_are_not_registered(ledger: Ledger) -> None:
    for name in EXAMPLES:
        job = ledger.capture(example(name)).json()

        assert job["captured"] == 0, job
        for event in job["events"]:
            assert event["status"] == "refused"
            assert event["eventHash"] == REFERENCE_HASHES[(name, event["index"])]
            assert {p["reason"] for p in event["problems"]} == {"unknown_gln"}, event
            assert {p["field"].rsplit(".", 1)[1] for p in event["problems"]} <= {
                "readPoint",
                "bizLocation",
            }


def test_gs1_examples_round_trip_with_the_reference_hashes(ledger: Ledger, tmp_path: Path) -> None:
    farm = ledger.ingest.world.farm.uscc
    register_example_places(ledger, farm)

    jobs = [ledger.capture(example(name)).json() for name in EXAMPLES]

    captured = [(name, e) for name, job in zip(EXAMPLES, jobs, strict=True) for e in job["events"]]
    assert [e["status"] for _, e in captured] == ["captured"] * 5, jobs
    assert {e["eventHash"] for _, e in captured} == set(REFERENCE_HASHES.values())
    assert all(e["eventHash"] == REFERENCE_HASHES[(n, e["index"])] for n, e in captured)

    # Traced: our JSON trace holds them as events of our catalogue, at the registered places.
    regulator = ledger.regulator_token
    seen = {
        event["event_id"]: event
        for epc in TRACED
        for event in _events_of(trace(ledger, epc, regulator))
    }
    assert sorted(e["event_type"] for e in seen.values()) == sorted(OUR_TYPES[:4])
    assert {e["location"]["name"] for e in seen.values()} <= {f"示例仓库 {n}" for n in range(1, 8)}

    # Exported as EPCIS: every document valid under the official schema; every event hashes as
    # it was sent.
    exported: dict[str, Any] = {}
    for document in [*(ledger.trace_epcis(str(_code(epc))) for epc in TRACED), query(ledger)]:
        assert schema_errors(document) == []
        exported.update({e["eventID"]: e for e in _event_list(document)})
    assert {e.removeprefix("urn:uuid:") for e in exported} == {e["eventID"] for _, e in captured}
    assert {event_hash(e, _prefixes(e)) for e in exported.values()} == set(
        REFERENCE_HASHES.values()
    )

    # Captured again, into a fresh ledger, by the same organisation: the same hashes.
    again_events = sorted(
        exported.values(), key=lambda e: (e["recordTime"], e["suyuan:ledger"]["seq"])
    )
    fresh_path = tmp_path / "fresh"
    fresh_path.mkdir()
    for fresh in start_ledger(fresh_path):
        register_example_places(fresh, farm)
        document = {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-12-06T08:00:00+08:00",
            "epcisBody": {"eventList": again_events},
        }
        assert schema_errors(document) == []
        again = fresh.capture(document).json()

        assert [e["status"] for e in again["events"]] == ["captured"] * 5, again
        assert {e["eventHash"] for e in again["events"]} == set(REFERENCE_HASHES.values())
        assert {e["eventID"] for e in again["events"]} == {e["eventID"] for _, e in captured}
        twice = {
            e["eventID"]: e
            for document in [*(fresh.trace_epcis(str(_code(epc))) for epc in TRACED), query(fresh)]
            for e in _event_list(document)
        }
        assert {json.dumps(_standard(e), sort_keys=True) for e in twice.values()} == {
            json.dumps(_standard(e), sort_keys=True) for e in exported.values()
        }


def _event_list(document: dict[str, Any]) -> list[Any]:
    """The events of an EPCISDocument or an EPCISQueryDocument."""
    body = document["epcisBody"]
    events: list[Any] = (
        body["eventList"]
        if "eventList" in body
        else body["queryResults"]["resultsBody"]["eventList"]
    )
    return events


def _prefixes(event: dict[str, Any]) -> dict[str, str]:
    """The JSON-LD prefixes an exported event declares itself (those of kept members)."""
    return {k: v for item in event.get("@context", []) for k, v in item.items()}


def _events_of(trace_json: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for key in ("certificates", "inspections", "documents", "custody", "temperature_records"):
        found.extend(trace_json.get(key) or [])
    return found


def _standard(event: dict[str, Any]) -> dict[str, Any]:
    """The members of an exported event but the ledger's own annotations."""
    return {
        k: v
        for k, v in event.items()
        if k not in ("recordTime", "suyuan:ledger") and not k.startswith("suyuan:ledger")
    }


# --- the registry ---------------------------------------------------------------------------


def test_only_an_admin_registers_a_gln_and_each_is_one_organisation_s(ledger: Ledger) -> None:
    ingest = ledger.ingest
    farm, market = ingest.world.farm.uscc, ingest.world.market.uscc
    admin = admin_token(ledger)
    place = {"kind": "place", "region_code": "330185", "name": "太湖源冷库", "address": "白沙村"}
    gln = "0614141073467"

    by_farm = register(ledger, farm, gln, place, ingest.farm_token)
    by_regulator = register(ledger, farm, gln, place, ledger.regulator_token)
    done = register(ledger, farm, gln, place, admin)
    taken = register(ledger, market, gln, {**place, "name": "市场"}, admin)
    unknown = register(ledger, "91330100MA27XK3R4U", "0012345111112", place, admin)
    bad = register(ledger, farm, "0614141073468", {"kind": "place", "name": " "}, admin)
    party = register(ledger, farm, "0614141000012", {"kind": "party"}, admin)
    listed = ingest.client.get(
        "/v1/organisation/glns", headers={"Authorization": f"Bearer {ingest.farm_token}"}
    )

    assert (by_farm.status_code, by_regulator.status_code) == (403, 403)
    assert done.status_code == 200, done.text
    assert done.json() == {"gln": gln, "organisation": farm, **place}
    assert taken.status_code == 409
    assert taken.json()["reason"] == "gln_taken"
    assert unknown.status_code == 404
    assert bad.status_code == 422
    assert {(p["field"]) for p in bad.json()["errors"]} == {"gln", "region_code", "name"}
    assert party.status_code == 200, party.text
    assert [(g["gln"], g["kind"]) for g in listed.json()["glns"]] == [
        ("0614141000012", "party"),
        (gln, "place"),
    ]


def test_an_organisation_sees_only_its_own_glns_and_strangers_none(ledger: Ledger) -> None:
    ingest = ledger.ingest
    farm = ingest.world.farm.uscc
    place = {"kind": "place", "region_code": "330185", "name": "太湖源冷库"}
    assert register(ledger, farm, "0614141073467", place, admin_token(ledger)).status_code == 200

    def listed(headers: dict[str, str]) -> Any:
        return ingest.client.get("/v1/organisation/glns", headers=headers)

    market = listed({"Authorization": f"Bearer {ingest.market_token}"})
    anonymous = listed({})
    anonymous_put = ingest.client.put(f"/v1/organisations/{farm}/glns/0614141000012", json=place)

    assert market.status_code == 200 and market.json() == {"glns": []}
    assert (anonymous.status_code, anonymous_put.status_code) == (401, 401)


# --- a hostile organisation -------------------------------------------------------------------


def test_a_hostile_organisation_cannot_use_another_s_glns_goods_or_name(ledger: Ledger) -> None:
    """The market, registered and with a custodial key, against the farm whose GLNs an admin
    registered: it cannot claim the farm's GLN, capture an event at the farm's place, receive
    goods the farm kept in its own hands, name the farm as a party of its event, or speak as
    the farm. The ledger keeps only the farm's events about the farm's goods."""
    ingest = ledger.ingest
    s, farm, market = ingest.world.scenario, ingest.world.farm.uscc, ingest.world.market.uscc
    master = ingest.client.app.state.context.capture.custody.master
    key = create_custodial_key(ingest.store.engine, master, market)
    registered = LedgerWriter(ingest.store, [s.root]).write(
        TRUST_SHARD,
        [
            Message(
                "market", s.sign_as_root([key_registration_event(s.regulator_uscc, market, key)])
            )
        ],
    )
    assert registered.accepted == 1, registered.rejections
    farm_glns = register_example_places(ledger, farm)
    admin = admin_token(ledger)
    market_place = "6901234000016"
    assert (
        register(
            ledger,
            market,
            market_place,
            {"kind": "place", "region_code": "330105", "name": "市场"},
            admin,
        ).status_code
        == 200
    )
    assert register(ledger, farm, "0614141000012", {"kind": "party"}, admin).status_code == 200
    shipping, receiving = example("Example_9.6.1-ObjectEvent.jsonld")["epcisBody"]["eventList"]

    # Another's GLN: not even an admin moves it to the market.
    claim = register(
        ledger,
        market,
        farm_glns[0],
        {"kind": "place", "region_code": "330105", "name": "市场"},
        admin,
    )
    assert claim.status_code == 409

    # An event at the farm's place.
    at_farm = ledger.capture(_document([shipping]), token=ingest.market_token).json()
    assert at_farm["events"][0]["status"] == "refused"
    assert [(p["reason"], p["field"]) for p in at_farm["events"][0]["problems"]] == [
        ("unauthorised", "epcisBody.eventList[0].readPoint")
    ]

    # Goods the farm holds (its shipment named no receiver: they stay in its hands).
    assert ledger.capture(_document([shipping])).json()["captured"] == 1
    received = copy.deepcopy(receiving)
    received["readPoint"] = received["bizLocation"] = {
        "id": f"https://id.gs1.org/414/{market_place}"
    }
    taken = ledger.capture(_document([received]), token=ingest.market_token).json()
    assert taken["events"][0]["status"] == "refused", taken
    assert taken["events"][0]["problems"][0]["reason"] == "not_in_custody"

    # The farm named as the sender of the market's shipment, or as the market's actor.
    as_sender = copy.deepcopy(shipping)
    as_sender["readPoint"] = {"id": f"https://id.gs1.org/414/{market_place}"}
    as_sender["sourceList"] = [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}]
    as_actor = {**copy.deepcopy(as_sender), "suyuan:actor": {"uscc": farm}}
    del as_actor["sourceList"]
    words = ledger.capture(_document([as_sender, as_actor]), token=ingest.market_token).json()
    assert [e["status"] for e in words["events"]] == ["refused", "refused"]
    assert [(p["reason"], p["field"]) for p in words["events"][0]["problems"]] == [
        ("unauthorised", "epcisBody.eventList[0].sourceList")
    ]
    assert words["events"][1]["problems"][0]["field"] == "epcisBody.eventList[1].suyuan:actor"

    held = ingest.store.code_events(str(_code(shipping["epcList"][1])))
    assert [(r.event_type, r.actor) for r in held] == [("Shipped", farm)]


def _document(events: list[Any]) -> dict[str, Any]:
    return {
        "@context": [
            "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld",
            {"example": "http://ns.example.com/epcis/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-12-06T08:00:00+08:00",
        "epcisBody": {"eventList": events},
    }


def test_an_event_at_another_s_registered_place_is_refused_over_post_v1_events(
    ledger: Ledger,
) -> None:
    """The same rule for our own JSON events: the market cannot record its event with the farm's
    GLN as its place; the farm can."""
    ingest = ledger.ingest
    farm_gln = "0614141073467"
    place = {"kind": "place", "region_code": "330185", "name": "太湖源冷库"}
    registered = register(ledger, ingest.world.farm.uscc, farm_gln, place, admin_token(ledger))
    assert registered.status_code == 200
    theirs = event_to_json(ingest.world.certificate())
    theirs["location"]["gln"] = farm_gln
    mine = copy.deepcopy(theirs)
    theirs["actor"] = ingest.world.market.uscc
    theirs["event_id"] = str(uuid.uuid4())

    refused = ingest.client.post(
        "/v1/events", json=theirs, headers={"Authorization": f"Bearer {ingest.market_token}"}
    ).json()["results"]
    taken = ingest.client.post(
        "/v1/events", json=mine, headers={"Authorization": f"Bearer {ingest.farm_token}"}
    ).json()["results"]

    assert [(r["status"], r["reason"], r["field"]) for r in refused] == [
        ("rejected", "unauthorised", "location.gln")
    ]
    assert [r["status"] for r in taken] == ["accepted"]


@pytest.mark.integration
def test_postgres_gs1_examples_captured_and_exported_with_the_reference_hashes(
    postgres_url: str,
) -> None:
    with fresh_database(postgres_url, "epcis_gs1") as url:
        for ledger in start_ledger(url):
            register_example_places(ledger, ledger.ingest.world.farm.uscc)

            jobs = [ledger.capture(example(name)).json() for name in EXAMPLES]
            exported = [
                *_event_list(ledger.trace_epcis(str(_code(TRACED[0])))),
                *_event_list(ledger.trace_epcis(str(_code(TRACED[1])))),
                *_event_list(query(ledger)),
            ]

            assert [e["status"] for job in jobs for e in job["events"]] == ["captured"] * 5
            assert {event_hash(e, _prefixes(e)) for e in exported} == set(REFERENCE_HASHES.values())
