"""A trace as one GS1 EPCIS 2.0 document (docs/epcis.md), checked against the official GS1
EPCIS 2.0 JSON schema (tests/fixtures/epcis/, copied from the gs1/EPCIS repository)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from jsonschema import Draft7Validator, FormatChecker

from suyuan.epcis import UNITS, epc_uri
from suyuan.events import decode_event
from suyuan.events.model import Event
from suyuan.ledger import Leaf
from suyuan.merkle import leaf_hash
from suyuan.tlog import verify_receipt
from tests.integration.test_trace_api import (
    BASE_URL,
    ORIGIN,
    PRIVATE_DEMO_VALUES,
    Query,
    start_query,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "epcis"
SCHEMA = json.loads((FIXTURES / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft7Validator(SCHEMA, format_checker=FormatChecker())
GS1_EXAMPLES = sorted(FIXTURES.glob("*.jsonld"))


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("epcis")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


def schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in VALIDATOR.iter_errors(document)
    ]


def epcis(query: Query, code: str, token: str | None = None) -> Any:
    response = query.get(f"/v1/trace/{quote(code, safe='()')}", token, format="epcis")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ld+json"
    return response.json()


def events_of(document: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    return events


# --- the official schema and examples ---------------------------------------------------------


@pytest.mark.parametrize("example", GS1_EXAMPLES, ids=lambda p: p.name)
def test_the_gs1_examples_are_valid_under_the_official_schema(example: Path) -> None:
    assert schema_errors(json.loads(example.read_text(encoding="utf-8"))) == []


def test_the_schema_refuses_an_event_that_breaks_it() -> None:
    document = json.loads((FIXTURES / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    event = document["epcisBody"]["eventList"][0]
    del event["eventTimeZoneOffset"]
    event["bizStep"] = "not a step"
    event["unknownField"] = 1

    errors = " ".join(schema_errors(document))

    assert "'eventTimeZoneOffset' is a required property" in errors
    assert "unknownField" in errors


# --- our answers --------------------------------------------------------------------------------


def test_every_demo_trace_is_a_valid_epcis_document_in_both_views(query: Query) -> None:
    invalid = {}
    for name, code in query.codes.items():
        for view, token in (("public", None), ("regulator", query.regulator_token)):
            document = epcis(query, code, token)
            assert events_of(document), f"{name}: no events"
            errors = schema_errors(document)
            if errors:
                invalid[f"{name} ({view})"] = errors[:3]

    assert invalid == {}


def test_the_document_holds_the_events_of_the_json_trace(query: Query) -> None:
    lot = query.codes["sold lot"]
    trace = query.trace(lot, query.regulator_token).json()
    listed = ("certificates", "inspections", "documents", "custody", "recalls", "voids")
    expected = {e["event_id"]: e["event_type"] for part in listed for e in trace[part]}
    readings = [r["at"] for r in (trace["temperature"] or {}).get("readings", [])]

    document = epcis(query, lot, query.regulator_token)

    assert document["type"] == "EPCISDocument"
    assert document["schemaVersion"] == "2.0"
    assert document["suyuan:trace"] == {
        "code": lot,
        "epc": "https://id.gs1.org/01/06901234100105/10/LA20260506",
        "status": trace["status"],
        "view": "full",
        "complete": True,
        "forwardEPCs": [epc_uri(c) for c in trace["forward"]["codes"]],
    }
    got = {
        e["eventID"].removeprefix("urn:uuid:"): e["suyuan:eventType"] for e in events_of(document)
    }
    recorded = {k for k, v in got.items() if v == "TemperatureRecorded"}
    assert {k: v for k, v in got.items() if k not in recorded} == expected
    sensed = [
        r["time"]
        for e in events_of(document)
        for element in e.get("sensorElementList", [])
        for r in element["sensorReport"]
    ]
    assert sorted(sensed) == sorted(readings)
    times = [e["eventTime"] for e in events_of(document)]
    assert times == sorted(times)


def test_each_event_links_to_an_inclusion_proof_of_itself(query: Query) -> None:
    document = epcis(query, query.codes["sold lot"])

    for event in events_of(document):
        ledger = event["suyuan:ledger"]
        event_id = event["eventID"].removeprefix("urn:uuid:")
        assert (ledger["shard"], ledger["seq"]) == query.store.locate(event_id)
        link = urlsplit(ledger["inclusionProof"])
        assert f"{link.scheme}://{link.netloc}" == BASE_URL
        receipt = query.get(link.path)
        assert receipt.status_code == 200, receipt.text
        verified = verify_receipt(
            receipt.text,
            query.verifier,
            leaf_hash=leaf_hash(query.leaf_of(event_id)),
            origin=ORIGIN,
        )
        assert verified.receipt.index == ledger["seq"]


def test_the_public_document_shows_no_amounts_partners_or_papers(query: Query) -> None:
    lot = query.codes["sold lot"]

    public = epcis(query, lot)
    full = epcis(query, lot, query.regulator_token)

    assert public["suyuan:trace"]["view"] == "public"
    text = json.dumps(public, ensure_ascii=False)
    for private in PRIVATE_DEMO_VALUES:
        assert private not in text
    for hidden in ("quantityList", "sourceList", "destinationList", "bizTransactionList"):
        assert hidden not in text
        assert hidden in json.dumps(full)
    assert "suyuan:quantity" not in text
    shipped = next(e for e in events_of(full) if e["suyuan:eventType"] == "Shipped")
    assert shipped["sourceList"][0] == {
        "type": "owning_party",
        "source": f"urn:suyuan:org:{shipped['suyuan:actor']['uscc']}",
    }
    assert shipped["bizTransactionList"] == [
        {"type": "bol", "bizTransaction": "urn:suyuan:waybill:ZJYD202605060031"}
    ]


def test_business_step_and_disposition_are_carried_as_signed(query: Query) -> None:
    document = epcis(query, query.codes["cold-chain unit"], query.regulator_token)

    for event in events_of(document):
        signed = stored_event(query, event["eventID"].removeprefix("urn:uuid:"))
        assert event.get("bizStep") == signed.biz_step
        assert event.get("disposition") == signed.disposition
    shipped = next(e for e in events_of(document) if e["suyuan:eventType"] == "Shipped")
    assert (shipped["bizStep"], shipped["disposition"]) == ("shipping", "in_transit")


def stored_event(query: Query, event_id: str) -> Event:
    return decode_event(Leaf.from_bytes(query.leaf_of(event_id)).event)


def test_a_certificate_is_commissioned_with_its_certification_info(query: Query) -> None:
    certificate = query.codes["clean certificate"]

    issued = next(
        e
        for e in events_of(epcis(query, certificate, query.regulator_token))
        if e["suyuan:eventType"] == "CertificateIssued"
        and f"urn:suyuan:cert:{certificate}" in e["epcList"]
    )

    assert issued["type"] == "ObjectEvent"
    assert issued["action"] == "ADD"
    # The certificate and the lot it covers; the amount is the lot's, so it is not per code.
    assert issued["epcList"] == [
        f"urn:suyuan:cert:{certificate}",
        epc_uri(query.codes["sold lot"]),
    ]
    (info,) = issued["gs1:certificationInfo"]
    assert info["gs1:certificationStandard"] == "承诺达标合格证"
    assert info["gs1:certificationIdentification"] == certificate
    assert info["gs1:certificationAgency"] == issued["suyuan:actor"]["name"]
    assert issued["suyuan:quantity"] == {"quantity": "500", "unit": "kg"}


def test_a_single_code_with_its_amount_has_a_quantity_list(query: Query) -> None:
    unit = query.codes["cold-chain unit"]
    document = epcis(query, unit, query.regulator_token)

    single = [e for e in events_of(document) if e["epcList"] == [epc_uri(unit)]]
    with_amount = [e for e in single if "suyuan:quantity" in e]

    assert with_amount
    for event in with_amount:
        amount = event["suyuan:quantity"]
        expected = {"epcClass": epc_uri(unit), "quantity": float(amount["quantity"])}
        assert event["quantityList"] == [{**expected, "uom": UNITS[amount["unit"]]}]


def test_packing_slaughter_and_temperatures_take_their_epcis_forms(query: Query) -> None:
    meat = epcis(query, query.codes["meat cut"], query.regulator_token)
    lot = epcis(query, query.codes["sold lot"], query.regulator_token)
    vaccine = epcis(query, query.codes["vaccine unit"], query.regulator_token)

    transformed = next(e for e in events_of(meat) if e["suyuan:eventType"] == "Transformed")
    assert transformed["type"] == "TransformationEvent"
    assert "action" not in transformed
    assert epc_uri(query.codes["meat cut"]) in transformed["outputEPCList"]
    assert transformed["inputQuantityList"][0]["uom"] == "H87"  # 头: head of livestock
    packed = next(e for e in events_of(lot) if e["suyuan:eventType"] == "Aggregated")
    assert packed["type"] == "AggregationEvent"
    assert packed["action"] == "ADD"
    assert packed["parentID"] == epc_uri(query.case)
    assert epc_uri(query.codes["sold lot"]) in packed["childEPCs"]
    recorded = next(e for e in events_of(vaccine) if e["suyuan:eventType"] == "TemperatureRecorded")
    reports = recorded["sensorElementList"][0]["sensorReport"]
    readings = recorded["suyuan:payload"]["readings"]
    assert [(r["type"], r["value"], r["uom"], r["time"]) for r in reports] == [
        ("Temperature", r["celsius"], "CEL", r["at"]) for r in readings
    ]


def test_an_unknown_format_is_refused(query: Query) -> None:
    response = query.get(f"/v1/trace/{quote(query.codes['sold lot'], safe='()')}", format="xml")

    assert response.status_code == 422
    assert response.json()["field"] == "format"
