"""Hostile query values against the EPCIS 2.0 query interface (``GET /epcis/events``,
docs/epcis.md): each must be refused with a 4xx naming the parameter, never a 5xx."""

from __future__ import annotations

import base64

import pytest

from suyuan.epcis import epc_uri
from tests.integration import test_epcis_query
from tests.integration.test_trace_api import Query

query = test_epcis_query.query  # the demo ledger behind the query service


def _token(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"GE_eventTime": "9" * 5000},
        {"nextPageToken": "%%%"},
        {"nextPageToken": _token(b'{"after":["x",1,2],"q":"y"}')},
        {
            "nextPageToken": _token(
                b'{"after":["2026-01-01T00:00:00+00:00","9' + b"9" * 5000 + b'",1],"q":"y"}'
            )
        },
    ],
    ids=[
        "time-digits",
        "token-not-b64",
        "token-bad-time",
        "token-huge-int",
    ],
)
def test_a_hostile_query_value_is_a_4xx(query: Query, params: dict[str, str]) -> None:
    unit = epc_uri(query.codes["sold lot"])
    answer = query.get("/epcis/events", query.regulator_token, MATCH_anyEPC=unit, **params)
    assert 400 <= answer.status_code < 500, answer.text[:200]


def test_a_nested_page_token_is_a_4xx(query: Query) -> None:
    unit = epc_uri(query.codes["sold lot"])
    answer = query.get(
        "/epcis/events",
        query.regulator_token,
        MATCH_anyEPC=unit,
        nextPageToken=_token(b"[" * 1400),
    )
    assert answer.status_code == 422, answer.text[:200]
    assert answer.json()["field"] == "nextPageToken"


@pytest.mark.parametrize("per_page", ["\u00b2", "9" * 5000])
def test_a_hostile_per_page_is_a_4xx(query: Query, per_page: str) -> None:
    unit = epc_uri(query.codes["sold lot"])
    answer = query.get("/epcis/events", query.regulator_token, MATCH_anyEPC=unit, perPage=per_page)
    assert answer.status_code == 422, answer.text[:200]
    assert answer.json()["field"] == "perPage"
