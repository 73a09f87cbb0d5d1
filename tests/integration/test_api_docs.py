"""``/docs`` and ``/redoc`` of both services work without internet access: every script and
style they load is served by the service itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_ingest_api import start_ingest
from tests.integration.test_trace_api import start_query


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    tmp = tmp_path_factory.mktemp("docs")
    ingest = start_ingest(f"sqlite:///{tmp / 'ingest.sqlite'}")
    query = start_query(f"sqlite:///{tmp / 'query.sqlite'}", tmp)
    yield {"ingest": next(ingest).client, "query": next(query).client}


@pytest.mark.parametrize("service", ["ingest", "query"])
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_elsewhere(
    clients: dict[str, TestClient], service: str, page: str
) -> None:
    client = clients[service]

    html = client.get(page)

    assert html.status_code == 200
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', html.text)
    assert assets, "the page names its scripts and styles"
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 100, asset
    assert client.get("/openapi.json").json()["info"]["title"].startswith("Suyuan")
