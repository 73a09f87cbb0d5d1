"""The GS1 CBV 2.0 event hash (docs/epcis.md "Event hash"), cross-checked with the reference
implementation's example (tests/fixtures/epcis/hash/, README names the source), and the
mapping of EPCIS events to ours without a ledger."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.epcis import (
    CaptureDocumentError,
    captured_event_id,
    epc_urn_to_digital_link,
    event_hash,
    map_event,
    prehash,
    read_capture_document,
)

HASH_FIXTURES = Path(__file__).parents[1] / "fixtures" / "epcis" / "hash"
REFERENCE = json.loads((HASH_FIXTURES / "epcisDocWithSingleEvent.jsonld").read_text())
FARM = "N233018510267GK0HE"


def reference_event() -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(REFERENCE["epcisBody"]["eventList"][0])
    return event


REFERENCE_EXAMPLES = sorted(HASH_FIXTURES.glob("*.jsonld"))
GS1_EXAMPLES = [
    line.split() for line in (HASH_FIXTURES / "gs1-examples.hashes").read_text().splitlines()
]


def prefixes_of(document: dict[str, Any]) -> dict[str, str]:
    context = document["@context"]
    found: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            found.update(item)
    return found


@pytest.mark.parametrize("example", REFERENCE_EXAMPLES, ids=lambda p: p.name)
def test_prehash_and_hash_are_the_reference_implementations(example: Path) -> None:
    document = json.loads(example.read_text(encoding="utf-8"))
    events = document["epcisBody"]["eventList"]
    expected_prehashes = example.with_suffix(".prehashes").read_text(encoding="utf-8").splitlines()
    expected_hashes = example.with_suffix(".hashes").read_text().split()

    assert [prehash(e, prefixes_of(document)) for e in events] == expected_prehashes
    assert [event_hash(e, prefixes_of(document)) for e in events] == expected_hashes


@pytest.mark.parametrize(("name", "index", "expected"), GS1_EXAMPLES)
def test_the_gs1_examples_hash_as_the_reference_hashes_them(
    name: str, index: str, expected: str
) -> None:
    document = json.loads((HASH_FIXTURES.parent / name).read_text(encoding="utf-8"))

    event = document["epcisBody"]["eventList"][int(index)]

    assert event_hash(event, prefixes_of(document)) == expected


@pytest.mark.parametrize(
    ("urn", "link"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        (
            "urn:epc:class:lgtin:4012345.012345.998877",
            "https://id.gs1.org/01/04012345123456/10/998877",
        ),
        ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
        ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
        ("urn:epc:id:sgln:0614141.07346.0", "https://id.gs1.org/414/0614141073467"),
        ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111"),
        ("urn:epc:id:gdti:4012345.11111.123", "https://id.gs1.org/253/4012345111118123"),
        ("urn:epc:id:pgln:4012345.00000", "https://id.gs1.org/417/4012345000009"),
    ],
)
def test_epc_urns_read_as_canonical_digital_links(urn: str, link: str) -> None:
    assert epc_urn_to_digital_link(urn) == link


def test_a_pattern_of_a_whole_class_reads_as_its_gtin_and_no_other_pattern_reads() -> None:
    assert epc_urn_to_digital_link("urn:epc:idpat:sgtin:4012345.098765.*") == (
        "https://id.gs1.org/01/04012345987652"
    )
    assert epc_urn_to_digital_link("urn:epc:idpat:sgtin:4012345.*.*") is None
    assert epc_urn_to_digital_link("urn:epc:id:usdod:1.2") is None


def test_the_hash_does_not_depend_on_spelling() -> None:
    spelt_otherwise = reference_event()
    spelt_otherwise["bizStep"] = "https://ref.gs1.org/cbv/BizStep-shipping"
    spelt_otherwise["disposition"] = "urn:epcglobal:cbv:disp:in_transit"
    spelt_otherwise["eventTime"] = "2022-02-17T02:33:31.116Z"  # the same instant in UTC
    spelt_otherwise["epcList"] = [
        "https://example.com/shop/01/10614141073464/21/2018",  # any host, any order
        "https://id.gs1.org/01/10614141073464/21/2017",
    ]
    spelt_otherwise["eventID"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    spelt_otherwise["recordTime"] = "2030-01-01T00:00:00Z"
    spelt_otherwise["suyuan:ledger"] = {"shard": 0, "seq": 7}

    assert event_hash(spelt_otherwise) == event_hash(reference_event())


def test_the_hash_changes_with_any_fact() -> None:
    for change in (
        {"eventTimeZoneOffset": "-05:00"},
        {"disposition": "in_progress"},
        {"epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]},
        {"example:note": "x"},
    ):
        assert event_hash({**reference_event(), **change}) != event_hash(reference_event())


def test_captured_event_ids_are_the_same_for_a_repeat_and_differ_between_organisations() -> None:
    hash_ = event_hash(reference_event())

    assert captured_event_id(FARM, hash_) == captured_event_id(FARM, hash_)
    assert captured_event_id(FARM, hash_) != captured_event_id("91330105J8RU0QR5NK", hash_)


def test_an_aggregation_in_standard_terms_is_our_aggregated_event() -> None:
    event = {
        "type": "AggregationEvent",
        "eventTime": "2026-05-06T01:00:00Z",
        "eventTimeZoneOffset": "+08:00",
        "parentID": "urn:epc:id:sscc:6901234.0123456789",
        "childEPCs": ["https://id.gs1.org/01/06901234100105/10/LA20260506"],
        "action": "ADD",
        "bizStep": "urn:epcglobal:cbv:bizstep:packing",
    }

    mapped = map_event(event, index=0, organisation=FARM, prefixes={})

    assert mapped.problems == []
    assert mapped.event is not None
    assert mapped.event["event_type"] == "Aggregated"
    assert mapped.event["occurred_at"] == "2026-05-06T09:00:00+08:00"
    assert mapped.event["biz_step"] == "packing"
    assert mapped.event["payload"] == {
        "parent_code": "(00)069012341234567894",
        "child_codes": ["(01)06901234100105(10)LA20260506"],
    }
    assert mapped.event["event_id"] == captured_event_id(FARM, event_hash(event))


def test_every_problem_of_an_event_is_named() -> None:
    event = {
        **reference_event(),
        "errorDeclaration": {"declarationTime": "2026-05-07T00:00:00Z"},
        "parentID": "urn:epc:id:sscc:6901234.0123456789",  # not a member of an ObjectEvent
        "epcList": ["urn:epc:idpat:sgtin:4012345.098765.*"],
    }

    mapped = map_event(event, index=4, organisation=FARM, prefixes={})

    assert mapped.event is None
    assert {p.field for p in mapped.problems} == {
        "epcisBody.eventList[4].errorDeclaration",
        "epcisBody.eventList[4].parentID",
        "epcisBody.eventList[4].epcList[0]",
    }
    assert all(p.reason == "unsupported_feature" for p in mapped.problems)


def test_another_organisations_event_is_not_captured_as_ours() -> None:
    event = {
        "type": "AggregationEvent",
        "eventTime": "2026-05-06T01:00:00Z",
        "eventTimeZoneOffset": "+08:00",
        "parentID": "urn:epc:id:sscc:6901234.0123456789",
        "childEPCs": ["https://id.gs1.org/01/06901234100105/10/LA20260506"],
        "action": "ADD",
        "suyuan:actor": {"uscc": "91330105J8RU0QR5NK"},
    }

    mapped = map_event(event, index=0, organisation=FARM, prefixes={})

    assert [p.field for p in mapped.problems] == ["epcisBody.eventList[0].suyuan:actor"]


def test_a_document_names_every_problem_and_each_remote_context() -> None:
    with pytest.raises(CaptureDocumentError) as caught:
        read_capture_document(
            {
                "@context": ["https://example.org/a.jsonld", "https://example.org/b.jsonld"],
                "type": "EPCISQueryDocument",
                "schemaVersion": "2.0",
                "epcisBody": {"eventList": []},
            }
        )

    assert [(p.field, p.value) for p in caught.value.problems()] == [
        ("type", "EPCISQueryDocument"),
        ("@context[0]", "https://example.org/a.jsonld"),
        ("@context[1]", "https://example.org/b.jsonld"),
        ("epcisBody.eventList", "None"),
    ]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
MEMBERS = st.sampled_from(
    [
        "type",
        "eventTime",
        "eventTimeZoneOffset",
        "action",
        "bizStep",
        "disposition",
        "epcList",
        "parentID",
        "childEPCs",
        "inputEPCList",
        "outputEPCList",
        "quantityList",
        "inputQuantityList",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "persistentDisposition",
        "suyuan:eventType",
        "suyuan:payload",
        "suyuan:location",
        "suyuan:quantity",
        "suyuan:actor",
        "ex:x",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(MEMBERS, JSON, max_size=8),
    st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent", 3]),
)
def test_any_json_is_hashed_and_mapped_or_refused_never_an_exception(
    event: dict[str, Any], kind: Any
) -> None:
    event["type"] = kind

    mapped = map_event(event, index=0, organisation=FARM, prefixes={"ex": "https://ex/"})

    assert (mapped.event is None) == bool(mapped.problems)
    assert mapped.event_hash is not None and mapped.event_hash.startswith("ni:///sha-256;")


def test_our_event_type_must_be_exported_as_the_epcis_type_sent() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-05-06T01:00:00Z",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["https://id.gs1.org/00/069012341234567894"],
        "action": "ADD",
        "suyuan:eventType": "Transformed",
        "suyuan:payload": {
            "process": "REPACKING",
            "inputs": [{"code": "(00)069012341234567894", "quantity": "1", "unit": "箱"}],
            "outputs": [{"code": "(00)069012341234567894", "quantity": "1", "unit": "箱"}],
        },
    }

    mapped = map_event(event, index=0, organisation=FARM, prefixes={})

    assert [(p.field, p.rule) for p in mapped.problems] == [
        (
            "epcisBody.eventList[0].suyuan:eventType",
            "is exported as TransformationEvent, not as ObjectEvent",
        )
    ]
