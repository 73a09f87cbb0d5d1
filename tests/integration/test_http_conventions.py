"""The conventions every answer of both HTTP services keeps (docs/http-query.md and
docs/http-ingest.md, "Errors"; docs/scan-page.md, "Language"):

- every refusal is RFC 9457 problem details (``application/problem+json``) that still carries
  ``reason``, ``field``, ``rule`` and ``value``, and lists every problem in ``errors``;
- a request with several bad fields hears of all of them in one answer;
- an API route refuses a query parameter it does not take; pages ignore them;
- the words of the scan page and of a trace's ``reasons`` follow ``Accept-Language`` unless
  ``?lang=`` says otherwise, and say so in ``Content-Language`` and ``Vary``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.test_ingest_api import Ingest, as_json, start_ingest
from tests.integration.test_trace_api import Query, start_query

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}
LEGACY_MEMBERS = {"reason", "field", "rule", "value"}


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("conventions-query")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    tmp = tmp_path_factory.mktemp("conventions-ingest")
    yield from start_ingest(f"sqlite:///{tmp / 'ledger.sqlite'}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int, path: str) -> dict[str, Any]:
    """``response`` is problem details of ``status`` about ``path``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert PROBLEM_MEMBERS | LEGACY_MEMBERS | {"errors"} <= set(body)
    assert body["status"] == status
    assert body["type"] == f"urn:suyuan:problem:{body['reason']}"
    assert body["title"] and body["detail"]
    assert body["instance"] == path
    first = {name: body[name] for name in LEGACY_MEMBERS}
    assert body["errors"][0] == first
    return body


# --- problem details on every refusal -------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    service: str
    method: str
    path: str
    status: int
    reason: str
    token: str | None = None
    """``query``'s attribute naming the token to send."""
    body: dict[str, Any] | None = None


REFUSALS = [
    Refusal("query", "GET", "/v1/trace/not-a-code", 400, "invalid_code"),
    Refusal("query", "GET", "/v1/recalls", 401, "missing_token"),
    Refusal(
        "query",
        "POST",
        "/v1/recalls",
        403,
        "forbidden",
        "admin_token",
        {"root_codes": ["x"], "reason": "x", "level": "LEVEL_1"},
    ),
    Refusal("query", "GET", "/v1/no-such-thing", 404, "not_found"),
    Refusal("query", "DELETE", "/v1/ledger/checkpoint", 405, "method_not_allowed"),
    Refusal("query", "GET", "/v1/recalls?level=LEVEL_9", 422, "invalid_input", "regulator_token"),
    Refusal("ingest", "GET", "/v1/rejections", 401, "missing_token"),
    Refusal("ingest", "GET", "/v1/rejections", 403, "forbidden", "regulator_token"),
    Refusal("ingest", "GET", "/v1/rejections?limit=0", 422, "invalid_input", "farm_token"),
    Refusal("ingest", "PUT", "/v1/events", 405, "method_not_allowed"),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: f"{r.service}-{r.status}")
def test_every_refusal_is_problem_details_keeping_reason_field_rule_value(
    query: Query, ingest: Ingest, refusal: Refusal
) -> None:
    service = query if refusal.service == "query" else ingest
    headers = bearer(getattr(service, refusal.token)) if refusal.token else {}

    response = service.client.request(
        refusal.method, refusal.path, headers=headers, json=refusal.body
    )

    body = assert_problem(response, refusal.status, refusal.path.split("?")[0])
    assert body["reason"] == refusal.reason
    if refusal.status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_conflict_is_problem_details(query: Query) -> None:
    # The farm may start a recall of its own goods, but holds no key to sign it with.
    body = {"root_codes": [query.case], "reason": "自查发现", "level": "LEVEL_3"}

    response = query.recall(body, query.farm_token)

    problem = assert_problem(response, 409, "/v1/recalls")
    assert problem["reason"] == "no_custodial_key"


def test_too_many_requests_is_problem_details_with_retry_after(tmp_path: Path) -> None:
    for limited in start_query(
        f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, rate_per_second=0.01, burst=1
    ):
        path = f"/v1/trace/{quote(limited.codes['sold lot'], safe='()')}"
        assert limited.client.get(path).status_code == 200

        response = limited.client.get(path)

        problem = assert_problem(response, 429, path)
        assert problem["reason"] == "rate_limited"
        assert int(response.headers["Retry-After"]) >= 1


def test_openapi_documents_errors_as_problem_details(query: Query, ingest: Ingest) -> None:
    for service, path, method, status in [
        (query, "/v1/trace/{code}", "get", "404"),
        (query, "/v1/recalls", "get", "422"),
        (ingest, "/v1/events", "post", "413"),
        (ingest, "/v1/rejections", "get", "422"),
    ]:
        document = service.client.get("/openapi.json").json()
        content = document["paths"][path][method]["responses"][status]["content"]
        assert list(content) == ["application/problem+json"], (path, status)
        ref = content["application/problem+json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert PROBLEM_MEMBERS | LEGACY_MEMBERS | {"errors"} <= set(schema["properties"])
        assert "HTTPValidationError" not in document["components"]["schemas"]


# --- every problem at once ------------------------------------------------------------------------


def test_an_event_with_several_bad_fields_is_rejected_naming_each(ingest: Ingest) -> None:
    event = as_json(ingest.world.certificate())
    event["payload"]["product_name"] = "   "
    event["payload"]["origin_region_code"] = "99"
    event["payload"]["contact"] = "电话" * 200

    response = ingest.post_json(event)

    assert response.status_code == 202
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    fields = [problem["field"] for problem in result["errors"]]
    assert set(fields) == {
        "payload.product_name",
        "payload.origin_region_code",
        "payload.contact",
    }
    assert result["field"] == fields[0]
    assert all(problem["rule"] for problem in result["errors"])


def test_an_event_missing_fields_and_with_unknown_ones_hears_of_all(ingest: Ingest) -> None:
    good = as_json(ingest.world.certificate())
    event = as_json(ingest.world.certificate())
    del event["payload"]["product_name"], event["codes"]
    event["colour"] = "green"

    response = ingest.post_json([good, event])

    assert response.status_code == 202
    accepted, rejected = response.json()["results"]
    assert accepted["status"] == "accepted"  # a bad event never stops a good one
    assert {problem["field"] for problem in rejected["errors"]} == {
        "colour",
        "codes",
        "payload.product_name",
    }


def certificate_body(ingest: Ingest, **payload: Any) -> dict[str, Any]:
    return {
        "payload": {
            "issuer_type": "PRODUCER",
            "product_name": "小青菜",
            "category": "VEGETABLES",
            "origin": "浙江省杭州市临安区太湖源镇白沙村",
            "origin_region_code": "330185",
            "issue_date": "2026-05-06",
            "contact": "0571-63781234",
            **payload,
        },
        "quantity": "500",
        "unit": "kg",
        "lot_codes": [],
    }


def test_a_certificate_with_several_bad_fields_is_refused_naming_each(ingest: Ingest) -> None:
    body = certificate_body(ingest, product_name=" ", origin_region_code="12")
    body["lot_codes"] = ["(01)06901234567892(10)A1", "not a code"]

    response = ingest.client.post("/v1/certificates", json=body, headers=bearer(ingest.farm_token))

    problem = assert_problem(response, 422, "/v1/certificates")
    fields = [p["field"] for p in problem["errors"]]
    # Named as the request names them: the second lot code is lot_codes[1], not codes[2].
    assert set(fields) == {"lot_codes[1]", "payload.product_name", "payload.origin_region_code"}
    assert problem["detail"].startswith("3 problems: ")


def test_a_certificate_body_that_does_not_fit_the_form_hears_of_every_field(
    ingest: Ingest,
) -> None:
    body = certificate_body(ingest, category="SWEETS")
    del body["payload"]["product_name"], body["quantity"]

    response = ingest.client.post("/v1/certificates", json=body, headers=bearer(ingest.farm_token))

    problem = assert_problem(response, 422, "/v1/certificates")
    assert {p["field"] for p in problem["errors"]} == {
        "payload.product_name",
        "payload.category",
        "quantity",
    }
    assert next(p["value"] for p in problem["errors"] if p["field"] == "payload.category") == (
        "SWEETS"
    )


# --- unknown query parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "path", "token", "takes"),
    [
        ("query", "/v1/trace/{sold}", None, "takes format"),
        ("query", "/v1/codes/{sold}/qr.svg", None, "takes box"),
        ("ingest", "/v1/organisation", "farm_token", "takes none"),
        ("query", "/v1/recalls", "regulator_token", "cursor, format, level, limit"),
        ("query", "/v1/alerts", "regulator_token", "kind"),
        ("query", "/v1/ledger/consistency", None, "new, old, shard"),
        ("ingest", "/v1/rejections", "farm_token", "format, limit"),
    ],
)
def test_an_api_route_refuses_a_query_parameter_it_does_not_take(
    query: Query, ingest: Ingest, service: str, path: str, token: str | None, takes: str
) -> None:
    client = query if service == "query" else ingest
    path = path.format(sold=quote(query.codes["sold lot"], safe="()"))
    headers = bearer(getattr(client, token)) if token else {}

    response = client.client.get(path, params={"stauts": "open"}, headers=headers)

    problem = assert_problem(response, 422, path)
    assert problem["reason"] == "unknown_query_parameter"
    assert problem["field"] == "stauts"
    assert problem["value"] == "open"
    assert problem["rule"].startswith("unknown query parameter; this route takes ")
    assert takes in problem["rule"]


def test_every_unknown_parameter_is_named_and_known_ones_still_work(ingest: Ingest) -> None:
    headers = bearer(ingest.farm_token)

    refused = ingest.client.get("/v1/rejections?limt=5&fromat=csv&limit=5", headers=headers)
    taken = ingest.client.get("/v1/rejections?limit=5&format=csv", headers=headers)

    problem = assert_problem(refused, 422, "/v1/rejections")
    assert [p["field"] for p in problem["errors"]] == ["limt", "fromat"]
    assert taken.status_code == 200


def test_pages_ignore_the_tracking_parameters_a_scanner_adds(query: Query) -> None:
    code = quote(query.codes["sold lot"], safe="()")

    page = query.client.get(f"/c/{code}?utm_source=wechat&from=singlemessage")

    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


# --- Accept-Language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "lang", "html_lang", "content_language"),
    [
        (None, None, "zh-CN", "zh-CN"),
        ("en-US,en;q=0.9,zh;q=0.5", None, "en", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN", "zh-CN"),
        ("fr-FR, en;q=0.3", None, "en", "en"),
        ("en;q=0, zh;q=0.1", None, "zh-CN", "zh-CN"),
        ("en-GB", "zh", "zh-CN", "zh-CN"),  # ?lang= wins
        ("zh-CN", "en", "en", "en"),
    ],
)
def test_the_scan_page_speaks_the_language_the_browser_asks_for(
    query: Query, accept: str | None, lang: str | None, html_lang: str, content_language: str
) -> None:
    code = quote(query.codes["sold lot"], safe="()")
    headers = {"Accept-Language": accept} if accept else {}

    page = query.client.get(f"/c/{code}", params={"lang": lang} if lang else None, headers=headers)

    assert page.status_code == 200
    assert f'<html lang="{html_lang}">' in page.text
    assert page.headers["Content-Language"] == content_language
    assert "Accept-Language" in page.headers["Vary"]


def test_a_traces_reasons_follow_accept_language(query: Query) -> None:
    path = f"/v1/trace/{quote(query.codes['vaccine received without temperature record'])}"

    english = query.client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    chinese = query.client.get(path, headers={"Accept-Language": "zh-CN"})
    unstated = query.client.get(path)

    assert english.json()["reasons"] == ["vaccine received without a transport temperature record"]
    assert chinese.json()["reasons"] == ["接收疫苗时没有运输温度记录"]
    assert unstated.json()["reasons"] == chinese.json()["reasons"]
    assert (english.headers["Content-Language"], chinese.headers["Content-Language"]) == (
        "en",
        "zh-CN",
    )
    assert english.headers["Vary"] == "Accept-Language"
    # Both languages stay in the verdict, whatever was asked.
    assert set(english.json()["verdict"]["title"]) == {"zh", "en"}


def test_an_answer_without_words_says_no_language(query: Query) -> None:
    checkpoint = query.client.get("/v1/ledger/checkpoint", headers={"Accept-Language": "en"})

    assert checkpoint.status_code == 200
    assert "Content-Language" not in checkpoint.headers


# --- cursor pagination ----------------------------------------------------------------------------


def test_rejections_page_by_cursor(tmp_path: Path) -> None:
    for api in start_ingest(f"sqlite:///{tmp_path / 'ledger.sqlite'}"):
        for name in ("unit", "quantity", "occurred_at"):
            event = as_json(api.world.certificate())
            event[name] = 12  # never a number in the JSON form
            api.post_json(event)
        headers = bearer(api.farm_token)

        first = api.client.get("/v1/rejections?limit=2", headers=headers).json()
        second = api.client.get(
            "/v1/rejections", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        ).json()
        csv = api.client.get("/v1/rejections?limit=2&format=csv", headers=headers)
        bad = api.client.get("/v1/rejections?cursor=abc", headers=headers)

        assert [r["field"] for r in first["rejections"]] == ["occurred_at", "quantity"]
        assert [r["field"] for r in second["rejections"]] == ["unit"]
        assert second["next_cursor"] is None
        assert csv.headers["X-Next-Cursor"] == first["next_cursor"]
        assert assert_problem(bad, 422, "/v1/rejections")["field"] == "cursor"


def test_alerts_page_by_cursor(query: Query) -> None:
    headers = bearer(query.regulator_token)
    whole = query.client.get("/v1/alerts", headers=headers).json()
    assert whole["count"] >= 2, "the demo ledger has alerts to page through"

    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = query.client.get("/v1/alerts", params=params, headers=headers).json()
        paged.extend(a["alert_id"] for a in page["alerts"])
        cursor = page["next_cursor"]
        assert page["truncated"] is (cursor is not None)
        if cursor is None:
            break

    assert paged == [a["alert_id"] for a in whole["alerts"]]
    stale = query.client.get("/v1/alerts?cursor=nothing:here", headers=headers)
    assert assert_problem(stale, 422, "/v1/alerts")["field"] == "cursor"


def test_the_console_sign_in_page_follows_accept_language(query: Query) -> None:
    english = query.client.get("/console", headers={"Accept-Language": "en-GB,en;q=0.9"})
    chinese = query.client.get("/console", headers={"Accept-Language": "zh-CN,en;q=0.5"})

    assert '<html lang="en">' in english.text
    assert english.headers["Content-Language"] == "en"
    assert '<html lang="zh-CN">' in chinese.text
    assert "登录" in chinese.text
    assert chinese.headers["Content-Language"] == "zh-CN"


def test_instance_is_the_path_as_a_uri_reference(query: Query) -> None:
    response = query.client.get("/v1/trace/%E6%97%A0%20x")

    problem = assert_problem(response, 400, "/v1/trace/%E6%97%A0%20x")
    assert problem["field"] == "code"
