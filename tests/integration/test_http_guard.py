"""The request guard of both HTTP services: authentication before the body, body caps, the
client address behind trusted proxies and the rate limits (docs/http-ingest.md,
docs/http-query.md "Limits").

The apps are driven at the ASGI level with a body that streams on demand, so a test sees how
much of it the service read: FastAPI's TestClient hands the app the whole body at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from suyuan.config import Settings
from suyuan_http import client_address
from suyuan_ingest.api import create_app as create_ingest_app
from tests.integration.test_ingest_api import Ingest, as_json, start_ingest
from tests.integration.test_trace_api import Query, start_query

CHUNK = 1024 * 1024
HUGE_CHUNKS = 1024  # a 1 GiB body, if anyone read it all


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    chunks_read: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)


def call(
    app: Any,
    method: str,
    path: str,
    *,
    token: str | None = None,
    chunks: int = 0,
    chunk: bytes = b" " * CHUNK,
    content_length: int | None = None,
    client: str = "203.0.113.7",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request straight into the ASGI ``app``; the body is ``chunks`` times ``chunk``,
    produced only as the app asks for it."""
    raw = [(b"content-type", b"application/json")]
    if token is not None:
        raw.append((b"authorization", f"Bearer {token}".encode()))
    if content_length is not None:
        raw.append((b"content-length", str(content_length).encode()))
    for name, value in (headers or {}).items():
        raw.append((name.lower().encode(), value.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": (client, 50123),
        "server": ("testserver", 80),
    }
    answer = Answer(0, {}, None)

    sent_empty = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_empty
        if chunks == 0 and not sent_empty:
            sent_empty = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if answer.chunks_read >= chunks:
            await asyncio.sleep(3600)  # a client that sent everything and waits
        answer.chunks_read += 1
        return {"type": "http.request", "body": chunk, "more_body": answer.chunks_read < chunks}

    async def send(message: dict[str, Any]) -> None:
        answer.messages.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    start = next(m for m in answer.messages if m["type"] == "http.response.start")
    answer.status = start["status"]
    answer.headers = {k.decode(): v.decode() for k, v in start["headers"]}
    bodies = [m for m in answer.messages if m["type"] == "http.response.body"]
    data = b"".join(m.get("body", b"") for m in bodies)
    answer.body = json.loads(data) if data else None
    return answer


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[Ingest]:
    yield from start_ingest(f"sqlite:///{tmp_path / 'ledger.sqlite'}")


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("guard")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


INGEST_FORMS = [
    "/v1/events",
    "/v1/certificates",
    "/v1/certificates/cert:1.2.156.3005.2.12345.X/void",
]


# --- authentication before the body --------------------------------------------------------------


@pytest.mark.parametrize("path", INGEST_FORMS)
@pytest.mark.parametrize("token", [None, "sy_" + "A" * 32])
def test_ingest_refuses_a_huge_body_without_a_good_token_unread(
    ingest: Ingest, path: str, token: str | None
) -> None:
    answer = call(ingest.client.app, "POST", path, token=token, chunks=HUGE_CHUNKS)

    assert answer.status == 401
    assert answer.body["reason"] in {"missing_token", "unknown_token"}
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.chunks_read == 0


def test_query_refuses_a_huge_recall_without_a_token_unread(query: Query) -> None:
    answer = call(query.client.app, "POST", "/v1/recalls", chunks=HUGE_CHUNKS)

    assert answer.status == 401
    assert answer.body["reason"] == "missing_token"
    assert answer.chunks_read == 0


# --- body caps ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "cap"),
    [
        ("/v1/events", 8 * 1024 * 1024),
        ("/v1/certificates", 64 * 1024),
        ("/v1/certificates/cert:1.2.156.3005.2.12345.X/void", 64 * 1024),
    ],
)
def test_ingest_stops_reading_a_streamed_body_past_the_cap(
    ingest: Ingest, path: str, cap: int
) -> None:
    answer = call(ingest.client.app, "POST", path, token=ingest.farm_token, chunks=HUGE_CHUNKS)

    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    rule = f"the body must be at most {cap} bytes"
    problem = {"reason": "too_large", "field": "body", "rule": rule, "value": None}
    assert answer.body == {
        "type": "urn:suyuan:problem:too_large",
        "title": "Too large",
        "status": 413,
        "detail": rule,
        "instance": path,
        **problem,
        "errors": [problem],
    }
    assert answer.chunks_read == cap // CHUNK + 1  # the chunk that crossed the cap, no more


def test_a_declared_length_over_the_cap_is_refused_before_reading(ingest: Ingest) -> None:
    answer = call(
        ingest.client.app,
        "POST",
        "/v1/certificates",
        token=ingest.farm_token,
        chunks=HUGE_CHUNKS,
        content_length=HUGE_CHUNKS * CHUNK,
    )

    assert answer.status == 413
    assert answer.chunks_read == 0


def test_query_caps_the_recall_form(query: Query) -> None:
    answer = call(
        query.client.app, "POST", "/v1/recalls", token=query.regulator_token, chunks=HUGE_CHUNKS
    )

    assert answer.status == 413
    assert answer.body["rule"] == "the body must be at most 65536 bytes"
    assert answer.body["detail"] == answer.body["rule"]
    assert answer.chunks_read == 1


def test_a_body_within_the_cap_still_lands(ingest: Ingest) -> None:
    event = as_json(ingest.world.certificate())

    response = ingest.post_json(event)

    assert response.status_code == 202
    assert response.json()["results"][0]["status"] == "accepted"


# --- the client address ---------------------------------------------------------------------------


def _scope(peer: str, forwarded: str | None) -> dict[str, Any]:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return {"client": (peer, 1234), "headers": headers}


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.9", "1.2.3.4", "198.51.100.9"),  # not a proxy: its header is ignored
        ("10.0.0.5", "1.2.3.4", "1.2.3.4"),
        ("10.0.0.5", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the left part is the client's own say
        ("10.0.0.5", "1.2.3.4, 10.0.0.9", "1.2.3.4"),  # two proxies in a row
        ("10.0.0.5", "not-an-ip, 1.2.3.4", "1.2.3.4"),
        ("10.0.0.5", "1.2.3.4, garbage", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
        ("2001:db8::1", "2001:db8::2, 2400:cb00::1", "2400:cb00::1"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str, forwarded: str | None, expected: str
) -> None:
    assert client_address(_scope(peer, forwarded), PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(_scope("10.0.0.5", "1.2.3.4"), ()) == "10.0.0.5"


def test_trusted_proxies_setting_takes_addresses_and_networks() -> None:
    settings = Settings(trusted_proxies="10.0.0.0/8, 192.0.2.1 ,2001:db8::/32")  # type: ignore[arg-type]

    assert [str(n) for n in settings.trusted_proxies] == [
        "10.0.0.0/8",
        "192.0.2.1/32",
        "2001:db8::/32",
    ]
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.0/8, nonsense")  # type: ignore[arg-type]


def test_rate_limit_keys_on_the_real_client_behind_a_trusted_proxy(tmp_path: Path) -> None:
    from suyuan_trace_query.app import create_app

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'empty.sqlite'}",
        ledger_key_file=str(tmp_path / "no.key"),
        trusted_proxies="10.0.0.0/8",  # type: ignore[arg-type]
    )
    app = create_app(
        settings.model_copy(
            update=dict(query_rate_limit_per_second=0.001, query_rate_limit_burst=1)
        )
    )
    path = "/v1/codes/not-a-code/qr.svg"

    def status(peer: str, forwarded: str) -> int:
        return call(app, "GET", path, client=peer, headers={"X-Forwarded-For": forwarded}).status

    first = status("10.0.0.1", "1.2.3.4")
    # The same client through another proxy of the pool: one client, one bucket.
    again = status("10.0.0.2", "1.2.3.4")
    # Another client behind the same proxy has its own bucket.
    other = status("10.0.0.1", "5.6.7.8")
    # A client that is not a proxy cannot pick a fresh address by writing the header.
    direct = [status("198.51.100.9", f"9.9.9.{n}") for n in range(2)]

    assert first != 429 and other != 429
    assert again == 429
    assert direct[0] != 429 and direct[1] == 429


# --- ingest rate limit per organisation -----------------------------------------------------------


def test_ingest_is_rate_limited_per_organisation(ingest: Ingest) -> None:
    app = create_ingest_app(
        Settings(
            database_url=str(ingest.store.engine.url),
            ingest_rate_limit_per_second=0.001,
            ingest_rate_limit_burst=2,
        )
    )

    def rejections(token: str, address: str) -> Answer:
        return call(app, "GET", "/v1/rejections", token=token, client=address)

    farm = [rejections(ingest.farm_token, f"198.51.100.{n}").status for n in range(3)]
    limited = rejections(ingest.farm_token, "198.51.100.99")
    market = rejections(ingest.market_token, "198.51.100.1")

    # Changing address does not help an organisation; another organisation is not slowed.
    assert farm == [200, 200, 429]
    assert limited.status == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.body["reason"] == "rate_limited"
    assert "one organisation" in limited.body["rule"]
    assert market.status == 200


# --- a token database that cannot answer ---------------------------------------------------------


def _tokens_unreadable(engine: Any) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE api_tokens RENAME TO api_tokens_elsewhere")


def test_ingest_answers_503_when_the_token_database_cannot_answer(ingest: Ingest) -> None:
    _tokens_unreadable(ingest.store.engine)

    answer = call(ingest.client.app, "POST", "/v1/events", token=ingest.farm_token, chunks=4)

    assert answer.status == 503, answer.body
    assert answer.body["reason"] == "unavailable"
    assert answer.chunks_read == 0  # refused before the body, as a bad token is


def test_query_answers_503_when_the_token_database_cannot_answer(tmp_path: Path) -> None:
    for query in start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path):
        code = next(iter(query.codes.values()))
        _tokens_unreadable(query.store.engine)

        answer = call(query.client.app, "GET", f"/v1/trace/{code}", token=query.regulator_token)

        assert answer.status == 503, answer.body
        assert answer.body["reason"] == "unavailable"
        assert query.regulator_token not in json.dumps(answer.body)
