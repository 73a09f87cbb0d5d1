"""Every operation of the ingest API's OpenAPI document, fed generated input (design.md §8): sent
without a token and with a producer token, it must never answer with a 5xx, and a generated
request never leaves a partial write behind (see ``openapi_fuzz``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis import GenerationMode

from tests.integration.openapi_fuzz import assert_no_server_errors, listed_operations
from tests.integration.test_ingest_api import Ingest, start_ingest


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    tmp: Path = tmp_path_factory.mktemp("ingest-api")
    # The limiter has its own tests (test_http_guard); here it would answer most generated
    # requests 429 — and, once the positive run spent the budget, the schema load itself.
    yield from start_ingest(f"sqlite:///{tmp / 'ledger.sqlite'}", rate_limited=False)


def test_the_schema_lists_every_operation(ingest: Ingest) -> None:
    assert {"POST /v1/events", "GET /v1/rejections"} <= listed_operations(ingest.client.app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(ingest: Ingest, mode: GenerationMode) -> None:
    heads_before = {s: ingest.store.head(s) for s in ingest.store.shard_ids()}
    producer = {"Authorization": f"Bearer {ingest.farm_token}"}

    assert_no_server_errors(ingest.client.app, mode, [{}, producer])

    # Whatever was accepted went in whole: the ledger still audits clean.
    assert ingest.audit_ok()
    assert all(ingest.store.head(s).size >= h.size for s, h in heads_before.items())
