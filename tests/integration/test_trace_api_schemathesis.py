"""Every operation of the query API's OpenAPI document, fed generated input (design §8).

Schemathesis reads ``/openapi.json`` and generates requests for each operation — valid ones
(positive) and ones the schema forbids (negative: wrong types, missing or malformed parameters,
odd strings) — and sends each to the app on the demo ledger once without a token and once with
a regulator token. Whatever it sends, the service must answer as a client error at worst: never
a 5xx. Bounded by ``EXAMPLES`` per operation and mode (about 20 s in all).

Hypothesis drives each operation's strategy directly (rather than through Schemathesis's pytest
fixture integration), so the run does not depend on pytest internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration.test_trace_api import Query, start_query

EXAMPLES = 15


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp: Path = tmp_path_factory.mktemp("query-api")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


def operations(query: Query) -> list[schemathesis.APIOperation]:
    api = schemathesis.openapi.from_asgi("/openapi.json", query.client.app)
    return [result.ok() for result in api.get_all_operations()]


def test_the_schema_lists_every_operation(query: Query) -> None:
    listed = {f"{op.method.upper()} {op.path}" for op in operations(query)}

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
    for operation in operations(query):
        if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
            continue  # nothing to get wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_5xx(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])
            case.call_and_validate(checks=[not_a_server_error], headers=regulator)

        answers_without_5xx()


def _has_inputs(operation: schemathesis.APIOperation) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(list(operation.body))
