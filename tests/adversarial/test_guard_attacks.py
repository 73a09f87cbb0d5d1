"""The request guard (services/suyuan_http/guard.py) against a hostile ``Content-Length``: a number
of thousands of digits is a body too large (413), not a 500 from Python's int-from-text limit.
Servers in front (uvicorn's parsers) refuse such a header too; the guard must not rely on it."""

from __future__ import annotations

from tests.integration import test_http_guard
from tests.integration.test_http_guard import Ingest, call

ingest = test_http_guard.ingest  # the capture API with a farm token


def test_a_content_length_of_thousands_of_digits_is_a_413(ingest: Ingest) -> None:
    answer = call(
        ingest.client.app,
        "POST",
        "/v1/certificates",
        token=ingest.farm_token,
        chunks=1,
        headers={"content-length": "9" * 5000},
    )
    assert answer.status == 413
    assert answer.chunks_read == 0
