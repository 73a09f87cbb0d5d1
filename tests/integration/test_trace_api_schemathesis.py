"""Every operation of the query API's OpenAPI document, fed generated input (design.md §8): sent to
the app on the demo ledger once without a token and once with a regulator token, it must never
answer with a 5xx (see ``openapi_fuzz``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis import GenerationMode

from tests.integration.openapi_fuzz import assert_no_server_errors, listed_operations
from tests.integration.test_trace_api import Query, start_query


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp: Path = tmp_path_factory.mktemp("query-api")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


def test_the_schema_lists_every_operation(query: Query) -> None:
    listed = listed_operations(query.client.app)

    assert {
        "GET /v1/trace/{code}",
        "GET /v1/events/{event_id}",
        "GET /v1/ledger/checkpoint",
        "GET /v1/ledger/proof/{event_id}",
        "GET /v1/ledger/consistency",
        "GET /v1/codes/{code}/qr.svg",
        "GET /v1/codes/{code}/qr.png",
        "POST /v1/recalls",
        "GET /v1/recalls/{recall_id}",
    } <= listed


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(query: Query, mode: GenerationMode) -> None:
    regulator = {"Authorization": f"Bearer {query.regulator_token}"}
    assert_no_server_errors(query.client.app, mode, [{}, regulator])
