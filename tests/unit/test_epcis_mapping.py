"""GS1's own EPCIS examples (tests/fixtures/epcis) mapped to our events without a ledger
(docs/epcis.md "EPCIS → our events"): what each becomes, what is kept as sent, that the
export puts it back with the reference hash, and that no malformed member raises."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.epcis import event_hash, glns_named, map_event, read_capture_document
from suyuan.epcis._document import epcis_event
from suyuan.epcis._kept import Kept, with_kept
from suyuan.events import event_from_json
from suyuan.places import GlnEntry, GlnKind
from suyuan.trace import TracedEvent

FIXTURES = Path(__file__).parents[1] / "fixtures" / "epcis"
FARM = "N233018510267GK0HE"
OTHER = "91330105J8RU0QR5NK"
HASHES = {
    (name, int(index)): hash_
    for name, index, hash_ in (
        line.split()
        for line in (FIXTURES / "hash" / "gs1-examples.hashes").read_text().splitlines()
    )
}


def examples() -> list[tuple[str, int, dict[str, Any], dict[str, str]]]:
    found = []
    for name in sorted({n for n, _ in HASHES}):
        document = read_capture_document(json.loads((FIXTURES / name).read_text("utf-8")))
        for index, event in enumerate(document.events):
            found.append((name, index, event, document.prefixes))
    return found


EXAMPLES = examples()


def registry(owner: str = FARM) -> dict[str, GlnEntry]:
    glns = glns_named(e for _, _, e, _ in EXAMPLES)
    return {g: GlnEntry(g, GlnKind.PLACE, owner, "330185", f"库 {g}") for g in glns}


def test_each_example_is_one_of_our_events_exported_with_the_reference_hash() -> None:
    made = {}
    for name, index, event, prefixes in EXAMPLES:
        mapped = map_event(
            event, index=index, organisation=FARM, prefixes=prefixes, registry=registry()
        )

        assert mapped.problems == [], (name, index, mapped.problems)
        assert mapped.event is not None and mapped.kept is not None
        assert mapped.event_hash == HASHES[(name, index)]
        ours = event_from_json(mapped.event)
        exported = epcis_event(
            TracedEvent(ours, 0, 0, ours.occurred_at, None),
            public=False,
            base_url="",
            kept=mapped.kept,
        )
        assert event_hash(exported, mapped.kept.prefixes) == HASHES[(name, index)]
        # The public view shows what the JSON trace shows: nothing kept as sent.
        public = epcis_event(
            TracedEvent(ours, 0, 0, ours.occurred_at, None),
            public=True,
            base_url="",
            kept=mapped.kept,
        )
        assert "example:myField" not in public and "@context" not in public
        made[(name, index)] = (mapped.event, set(mapped.kept.members))

    shipped, _ = made[("Example_9.6.1-ObjectEvent.jsonld", 0)]
    assert shipped["event_type"] == "Shipped"
    # No receiver named: the goods stay with the shipper; the purchase order is the document.
    assert shipped["payload"] == {
        "to_org": FARM,
        "waybill_no": "http://transaction.acme.com/po/12345678",
    }
    assert shipped["location"]["gln"] == "0614141073467"
    received, kept = made[("Example_9.6.1-ObjectEvent.jsonld", 1)]
    assert (received["event_type"], received["payload"]["check_passed"]) == ("Received", True)
    assert received["payload"]["waybill_no"] == "urn:epcglobal:cbv:bt:0614141073467:1152"
    assert received["location"]["gln"] == "0012345111112"  # the bizLocation's place
    assert {"example:myField", "readPoint", "bizTransactionList"} <= kept
    packed, kept = made[("Example_9.6.3-AggregationEvent.jsonld", 0)]
    assert packed["event_type"] == "Aggregated"
    assert {"action", "childQuantityList"} <= kept
    made_from, kept = made[("Example_9.6.4-TransformationEvent.jsonld", 0)]
    assert made_from["event_type"] == "Transformed"
    assert made_from["payload"]["process"] == "PROCESSING"
    assert {i["quantity"] + i["unit"] for i in made_from["payload"]["inputs"]} == {"1件"}
    assert {"ilmd", "inputQuantityList"} <= kept
    measured, kept = made[("SensorDataExample1.jsonld", 0)]
    assert measured["event_type"] == "TemperatureRecorded"
    assert [r["celsius"] for r in measured["payload"]["readings"]] == [26.0, 26.1, 26.2]
    assert (measured["payload"]["min_celsius"], measured["payload"]["max_celsius"]) == (26.0, 26.2)
    assert kept == {"sensorElementList", "bizLocation"}


def test_an_example_at_another_organisation_s_place_or_an_unknown_one_is_refused() -> None:
    for name, index, event, prefixes in EXAMPLES:
        theirs = map_event(
            event, index=index, organisation=FARM, prefixes=prefixes, registry=registry(OTHER)
        )
        unknown = map_event(event, index=index, organisation=FARM, prefixes=prefixes)

        assert theirs.event is None and unknown.event is None
        assert {p.reason for p in theirs.problems} == {"unauthorised"}, name
        assert {p.reason for p in unknown.problems} == {"unknown_gln"}, name
        assert {p.field.rsplit(".", 1)[1] for p in theirs.problems} <= {"readPoint", "bizLocation"}


def test_kept_members_not_of_the_event_are_not_put_back() -> None:
    _, index, event, prefixes = EXAMPLES[0]
    mapped = map_event(
        event, index=index, organisation=FARM, prefixes=prefixes, registry=registry()
    )
    assert mapped.event is not None and mapped.kept is not None
    ours = event_from_json({**mapped.event, "actor": OTHER})
    body = epcis_event(TracedEvent(ours, 0, 0, ours.occurred_at, None), public=False, base_url="")

    assert with_kept(body, ours, mapped.kept) is body


def test_kept_members_changed_after_capture_are_not_put_back() -> None:
    _, index, event, prefixes = EXAMPLES[1]
    mapped = map_event(
        event, index=index, organisation=FARM, prefixes=prefixes, registry=registry()
    )
    assert mapped.event is not None and mapped.kept is not None
    ours = event_from_json(mapped.event)
    body = epcis_event(TracedEvent(ours, 0, 0, ours.occurred_at, None), public=False, base_url="")
    forged = Kept(
        mapped.kept.event_hash,
        {**mapped.kept.members, "example:myField": "said by someone else"},
        mapped.kept.prefixes,
    )

    assert with_kept(body, ours, mapped.kept)["example:myField"] == event["example:myField"]
    assert with_kept(body, ours, forged) is body


def test_a_party_must_be_an_organisation_of_the_ledger_and_one_our_event_records() -> None:
    _, _, shipping, prefixes = EXAMPLES[0]
    party = {"0614141000012": GlnEntry("0614141000012", GlnKind.PARTY, OTHER)}
    cases = {
        "urn:epc:id:pgln:0614141.00001": None,  # registered: the receiver
        "urn:epc:id:pgln:0614141.00002": "unknown_gln",  # nobody's
        "https://example.com/party/1": "unknown_gln",
    }
    for party_id, reason in cases.items():
        event = {
            **copy.deepcopy(shipping),
            "destinationList": [{"type": "owning_party", "destination": party_id}],
        }
        mapped = map_event(
            event, index=0, organisation=FARM, prefixes=prefixes, registry={**registry(), **party}
        )
        assert [p.reason for p in mapped.problems] == ([] if reason is None else [reason])
        if reason is None:
            assert mapped.event is not None and mapped.event["payload"]["to_org"] == OTHER

    as_sender = {
        **copy.deepcopy(shipping),
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
    }
    mapped = map_event(
        as_sender, index=0, organisation=FARM, prefixes=prefixes, registry={**registry(), **party}
    )
    assert [(p.reason, p.field) for p in mapped.problems] == [
        ("unauthorised", "epcisBody.eventList[0].sourceList")
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(EXAMPLES),
    st.sampled_from(
        [
            "sensorElementList",
            "inputQuantityList",
            "outputQuantityList",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "readPoint",
            "bizLocation",
            "childQuantityList",
            "ilmd",
            "@context",
            "action",
        ]
    ),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=10,
    ),
)
def test_a_malformed_member_of_an_example_is_mapped_or_refused_never_an_exception(
    example: tuple[str, int, dict[str, Any], dict[str, str]], member: str, value: Any
) -> None:
    _, index, event, prefixes = example

    mapped = map_event(
        {**event, member: value},
        index=index,
        organisation=FARM,
        prefixes=prefixes,
        registry=registry(),
    )

    assert (mapped.event is None) == bool(mapped.problems)


@pytest.mark.parametrize("bad", [{"id": 3}, {"id": "urn:epc:id:sgln:0614141.x.0"}, "x", []])
def test_a_place_that_is_no_gln_is_refused(bad: Any) -> None:
    _, index, event, prefixes = EXAMPLES[0]

    mapped = map_event(
        {**event, "readPoint": bad},
        index=index,
        organisation=FARM,
        prefixes=prefixes,
        registry=registry(),
    )

    assert [p.field for p in mapped.problems] == [f"epcisBody.eventList[{index}].readPoint"]
