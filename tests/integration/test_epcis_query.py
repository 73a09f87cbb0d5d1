"""The EPCIS 2.0 query interface (docs/epcis.md "Query"): GET /epcis/events and
/epcis/epcs/{epc}/events, answers valid under GS1's official EPCIS 2.0 JSON schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from suyuan.epcis import epc_uri
from suyuan.trace import TraceBudget
from suyuan_trace_query._deps import QueryContext
from tests.integration.test_epcis_trace import schema_errors
from tests.integration.test_trace_api import PRIVATE_DEMO_VALUES, Query, start_query

LD_JSON = "application/ld+json"


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("epcis-query")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


def ask(query: Query, token: str | None = None, path: str = "/epcis/events", **params: Any) -> Any:
    response = query.get(path, token, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == LD_JSON
    document = response.json()
    assert schema_errors(document) == []
    assert document["type"] == "EPCISQueryDocument"
    return response


def events(response: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = response.json()["epcisBody"]["queryResults"]["resultsBody"][
        "eventList"
    ]
    return found


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [e["eventID"].removeprefix("urn:uuid:") for e in found]


def indexed(query: Query, code: str, *, private: bool = True) -> set[str]:
    """What the ledger's own code index says is about ``code``."""
    return {
        query.store.entry(r.shard, r.seq).event_id
        for r in query.store.code_events(code)
        if not (private and r.event_type == "AdverseEventReported")
    }


def test_match_any_epc_answers_every_event_about_the_code(query: Query) -> None:
    lot = query.codes["sold lot"]

    found = events(ask(query, MATCH_anyEPC=epc_uri(lot)))

    assert set(ids(found)) == indexed(query, lot)
    assert len(ids(found)) == len(set(ids(found)))
    times = [datetime.fromisoformat(e["eventTime"]) for e in found]
    assert times == sorted(times)


def test_match_epc_leaves_out_events_where_the_code_is_only_the_parent(query: Query) -> None:
    case = epc_uri(query.case)

    anywhere = events(ask(query, MATCH_anyEPC=case))
    listed = events(ask(query, MATCH_epc=case))

    packing = [e for e in anywhere if e.get("parentID") == case]
    assert packing
    assert {e["eventID"] for e in listed} == {
        e["eventID"] for e in anywhere if case in e.get("epcList", []) + e.get("childEPCs", [])
    }
    assert not {e["eventID"] for e in packing} & {e["eventID"] for e in listed}


def test_business_step_time_window_and_location_narrow_the_answer(query: Query) -> None:
    unit = epc_uri(query.codes["cold-chain unit"])
    every = events(ask(query, query.regulator_token, MATCH_anyEPC=unit))
    shipped = [e for e in every if e.get("bizStep") == "shipping"]
    assert shipped
    middle = every[len(every) // 2]["eventTime"]
    place = next(e["bizLocation"]["id"] for e in every if "bizLocation" in e)

    by_step = events(
        ask(
            query,
            query.regulator_token,
            MATCH_anyEPC=unit,
            EQ_bizStep="urn:epcglobal:cbv:bizstep:shipping|storing",
        )
    )
    since = events(ask(query, query.regulator_token, MATCH_anyEPC=unit, GE_eventTime=middle))
    before = events(ask(query, query.regulator_token, MATCH_anyEPC=unit, LT_eventTime=middle))
    at_place = events(ask(query, query.regulator_token, MATCH_anyEPC=unit, EQ_bizLocation=place))

    assert ids(by_step) == ids([e for e in every if e.get("bizStep") in ("shipping", "storing")])
    assert sorted(ids(since) + ids(before)) == sorted(ids(every))
    assert all(e["eventTime"] >= middle for e in since)
    assert ids(at_place) == ids([e for e in every if e.get("bizLocation", {}).get("id") == place])


def test_pages_follow_the_next_link_without_gap_or_repeat(query: Query) -> None:
    unit = epc_uri(query.codes["sold lot"])
    whole = ids(events(ask(query, query.regulator_token, MATCH_anyEPC=unit)))
    assert len(whole) > 3

    pages: list[str] = []
    response = ask(query, query.regulator_token, MATCH_anyEPC=unit, perPage="2")
    while True:
        pages.extend(ids(events(response)))
        link = response.headers.get("link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        response = ask(query, query.regulator_token, path=link[1 : link.index(">")])

    assert pages == whole


def test_a_page_token_is_refused_with_another_query(query: Query) -> None:
    unit = epc_uri(query.codes["sold lot"])
    first = ask(query, MATCH_anyEPC=unit, perPage="1")
    token = first.headers["link"].split("nextPageToken=")[1].split(">")[0]

    other = query.get(
        "/epcis/events", MATCH_anyEPC=unit, EQ_bizStep="shipping", nextPageToken=token
    )
    forged = query.get("/epcis/events", MATCH_anyEPC=unit, nextPageToken="bm90IGEgdG9rZW4")

    assert other.status_code == forged.status_code == 422
    assert other.json()["field"] == "nextPageToken"
    assert "another query" in other.json()["detail"]
    assert "not a page token" in forged.json()["detail"]


def test_the_per_code_resource_is_match_any_epc(query: Query) -> None:
    lot = epc_uri(query.slash_code)  # a lot with "/" in it: %2F inside the path segment

    one = ask(query, path=f"/epcis/epcs/{quote(lot, safe='')}/events")
    same = ask(query, MATCH_anyEPC=lot)

    assert "%2F" in lot
    assert ids(events(one)) == ids(events(same))
    assert events(one)


def test_the_view_is_the_trace_view(query: Query) -> None:
    lot = epc_uri(query.codes["sold lot"])

    public = ask(query, MATCH_anyEPC=lot)
    farm = ask(query, query.farm_token, MATCH_anyEPC=lot)
    stranger = ask(query, query.importer_token, MATCH_anyEPC=lot)
    regulator = ask(query, query.regulator_token, MATCH_anyEPC=lot)

    assert [r.json()["suyuan:view"] for r in (public, farm, stranger, regulator)] == [
        "public",
        "full",
        "public",
        "full",
    ]
    for hidden in (public, stranger):
        text = json.dumps(hidden.json(), ensure_ascii=False)
        assert not any(value in text for value in PRIVATE_DEMO_VALUES)
        assert "sourceList" not in text
    assert "sourceList" in farm.text


def test_health_reports_only_for_regulators(query: Query) -> None:
    dose = query.codes["vaccine dose with a serious adverse event (regulators only)"]

    public = events(ask(query, MATCH_anyEPC=epc_uri(dose)))
    regulator = events(ask(query, query.regulator_token, MATCH_anyEPC=epc_uri(dose)))

    assert set(ids(regulator)) == indexed(query, dose, private=False)
    assert set(ids(public)) == indexed(query, dose)
    assert "AdverseEventReported" in {e["suyuan:eventType"] for e in regulator}
    assert "AdverseEventReported" not in {e["suyuan:eventType"] for e in public}


def test_every_problem_of_a_query_is_named_at_once(query: Query) -> None:
    response = query.get(
        "/epcis/events",
        EQ_disposition="in_transit",
        GE_eventTime="yesterday",
        perPage="0",
    )

    assert response.status_code == 422
    detail = response.json()["detail"]
    for part in (
        "EQ_disposition: not a supported EPCIS query parameter",
        "MATCH_epc: name at least one code",
        "GE_eventTime: must be an RFC 3339 date-time",
        "perPage: must be a whole number",
    ):
        assert part in detail


def test_an_identifier_that_names_no_code_is_refused_naming_it(query: Query) -> None:
    response = query.get("/epcis/events", MATCH_epc="urn:epc:idpat:sgtin:4012345.098765.*")

    assert response.status_code == 422
    assert response.json()["field"] == "MATCH_epc"


def test_a_budgeted_caller_reads_at_most_its_budget_per_page(
    query: Query, monkeypatch: pytest.MonkeyPatch
) -> None:
    lot = epc_uri(query.codes["sold lot"])
    whole = ids(events(ask(query, MATCH_anyEPC=lot)))
    small = TraceBudget(codes=10, events=3, bytes=10**9)
    monkeypatch.setattr(QueryContext, "budget_for", lambda _self, _principal: small)

    pages: list[list[str]] = []
    response = ask(query, MATCH_anyEPC=lot)
    while True:
        pages.append(ids(events(response)))
        link = response.headers.get("link")
        if link is None:
            break
        response = ask(query, path=link[1 : link.index(">")])

    assert all(len(page) <= 3 for page in pages)
    assert len(pages) > 1
    assert [event for page in pages for event in page] == whole
