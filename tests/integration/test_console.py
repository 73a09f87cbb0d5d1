"""The regulator console at /console (docs/console.md) over the demo ledger of the trace API
tests: sign-in and out, CSRF, roles, every page, starting a recall through the form, escaping.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from suyuan.auth import revoke_token
from suyuan.regions import region_name
from suyuan_trace_query.console import routes as console_routes
from tests.integration.test_trace_api import MARKET, SHOP, Query, start_query

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Query]:
    yield from start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def sign_in(world: Query, token: str) -> None:
    page = world.client.get("/console")
    assert page.status_code == 200
    response = world.client.post(
        "/console/signin",
        data={"token": token, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/recalls"


def test_sign_in_sets_a_sealed_http_only_strict_cookie(world: Query) -> None:
    assert world.client.get("/console/recalls", follow_redirects=False).status_code == 303
    sign_in(world, world.regulator_token)
    cookie = world.client.cookies.get("suyuan_console")
    assert cookie and world.regulator_token not in cookie
    page = world.client.get("/console/recalls")
    assert page.status_code == 200
    assert "监管部门 · 杭州市" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text


def test_set_cookie_flags(world: Query) -> None:
    page = world.client.get("/console")
    response = world.client.post(
        "/console/signin",
        data={"token": world.regulator_token, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    flags = response.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags


def test_sign_out_ends_the_session(world: Query) -> None:
    sign_in(world, world.regulator_token)
    page = world.client.get("/console/recalls")
    out = world.client.post(
        "/console/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert world.client.get("/console/recalls", follow_redirects=False).status_code == 303


def test_a_bad_token_does_not_sign_in(world: Query) -> None:
    page = world.client.get("/console")
    response = world.client.post(
        "/console/signin", data={"token": "sy_" + "x" * 32, "csrf": csrf_of(page.text)}
    )
    assert response.status_code == 401
    assert "令牌无效" in response.text


def test_a_revoked_token_ends_its_session(world: Query) -> None:
    sign_in(world, world.regulator_token)
    assert world.client.get("/console/alerts").status_code == 200
    revoke_token(world.store.engine, world.regulator_token)
    again = world.client.get("/console/alerts")
    assert again.status_code == 401
    assert "令牌无效" in again.text
    # The sign-in form shown then works with another token.
    response = world.client.post(
        "/console/signin",
        data={"token": world.admin_token, "csrf": csrf_of(again.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert world.client.get("/console/alerts").status_code == 200


def test_posts_without_the_csrf_value_are_refused(world: Query) -> None:
    page = world.client.get("/console")
    refused = world.client.post("/console/signin", data={"token": world.regulator_token})
    assert refused.status_code == 403
    assert "防伪校验值" in refused.text
    sign_in(world, world.regulator_token)
    forged = world.client.post(
        "/console/recalls",
        data={"root_codes": world.case, "reason": "x", "level": "LEVEL_1", "csrf": "forged"},
    )
    assert forged.status_code == 403
    assert csrf_of(page.text) != "forged"
    assert "在召回范围内" not in world.trace(world.case).text  # nothing was started


@pytest.mark.parametrize("who", ["farm_token", "importer_token"])
def test_producers_get_their_own_pages_and_a_403_on_the_regulator_s(world: Query, who: str) -> None:
    token = getattr(world, who)
    page = world.client.get("/console")
    signed_in = world.client.post(
        "/console/signin",
        data={"token": token, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console/certificates"
    refused = world.client.get("/console/recalls")
    assert refused.status_code == 403
    assert "不属于您的令牌角色" in refused.text
    assert 'href="/console/certificates"' in refused.text  # its own navigation
    bearer = world.client.get("/console/alerts", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 403
    assert bearer.headers["content-type"].startswith("text/html")


def test_bearer_header_works_for_scripts(world: Query) -> None:
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    page = world.client.get("/console/recalls?lang=en", headers=headers)
    assert page.status_code == 200
    assert "administrator" in page.text
    assert "cannot start a recall" in page.text  # an admin speaks for no regulator


def test_start_a_recall_through_the_form_and_see_its_holders(world: Query) -> None:
    sign_in(world, world.regulator_token)
    page = world.client.get("/console/recalls")
    started = world.client.post(
        "/console/recalls",
        data={
            "root_codes": world.case,
            "reason": "监督抽检毒死蜱超标",
            "level": "LEVEL_2",
            "csrf": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    detail_url = started.headers["location"]
    recall_id = detail_url.rsplit("/", 1)[1]
    assert world.get(f"/v1/recalls/{recall_id}", world.admin_token).status_code == 200

    detail = world.client.get(detail_url)
    assert detail.status_code == 200
    holders = detail.text.split('id="holders"')[1].split("</table>")[0]
    assert MARKET in holders
    assert "联华超市（文三路店）" in holders and "杭州市西湖区" in holders
    assert "500 kg" in holders and "120 kg" in holders
    assert "二级召回" in detail.text and "监督抽检毒死蜱超标" in detail.text

    listing = world.client.get("/console/recalls")
    assert detail_url in listing.text
    assert world.trace(world.codes["sold lot"]).json()["status"] == "recalled"


def test_a_bad_start_form_lists_every_problem(world: Query) -> None:
    sign_in(world, world.regulator_token)
    page = world.client.get("/console/recalls")
    response = world.client.post(
        "/console/recalls",
        data={"root_codes": "", "reason": "", "level": "LEVEL_9", "csrf": csrf_of(page.text)},
    )
    assert response.status_code == 422
    for field in ("root_codes", "reason", "level"):
        assert f'<span class="code">{field}</span>' in response.text


def test_acknowledgement_shows_in_the_holders_table(world: Query) -> None:
    started = world.recall({"root_codes": [world.case], "reason": "抽检不合格", "level": "LEVEL_1"})
    recall_id = started.json()["recall_id"]
    acknowledged = world.scenario.event(
        world.market,
        "RecallAcknowledged",
        {"recall_id": recall_id, "note": "已下架封存"},
        codes=[world.case],
        quantity="500",
        unit="kg",
    )
    world.append(world.market_key, [acknowledged])
    headers = {"Authorization": f"Bearer {world.regulator_token}"}
    detail = world.client.get(f"/console/recalls/{recall_id}", headers=headers)
    rows = detail.text.split('id="holders"')[1].split("</tr>")
    market_row = next(r for r in rows if MARKET in r)
    shop_row = next(r for r in rows if SHOP in r)
    assert 'class="yes"' in market_row and 'class="no"' in shop_row
    # The farm that packed the case is a holder too (docs/recalls.md): one of three acknowledged.
    assert "1/3 家单位已确认" in detail.text


def test_unknown_and_malformed_recall_ids(world: Query) -> None:
    headers = {"Authorization": f"Bearer {world.regulator_token}"}
    missing = world.client.get(
        "/console/recalls/00000000-0000-4000-8000-000000000000", headers=headers
    )
    assert missing.status_code == 404
    assert world.client.get("/console/recalls/nope", headers=headers).status_code == 400


def test_alerts_in_chinese_with_product_names_and_filters(world: Query) -> None:
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    page = world.client.get("/console/alerts", headers=headers)
    assert page.status_code == 200
    table = page.text.split('id="alerts"')[1]
    assert "：" in table and "（未知产品）" not in table.split("</tr>")[1]
    only = world.client.get("/console/alerts?status=closed&kind=inspection_failed", headers=headers)
    assert only.status_code == 200
    assert "进行中</span>" not in only.text.split('id="alerts"')[-1]
    english = world.client.get("/console/alerts?lang=en", headers=headers)
    assert "Alerts" in english.text and 'lang="en"' in english.text


def test_coverage_names_regions_and_draws_a_chart(world: Query) -> None:
    headers = {"Authorization": f"Bearer {world.regulator_token}"}
    page = world.client.get("/console/coverage", headers=headers)
    assert page.status_code == 200
    assert '<svg id="coverage-chart"' in page.text
    assert region_name("330106") in page.text
    outside = world.client.get("/console/coverage?region=330200", headers=headers)
    assert outside.status_code == 403  # another city than the token's


def test_trace_page_has_the_verdict_timeline_and_graph(world: Query) -> None:
    headers = {"Authorization": f"Bearer {world.regulator_token}"}
    page = world.client.get(f"/console/trace/{world.case}", headers=headers)
    assert page.status_code == 200
    assert 'id="verdict"' in page.text and 'id="timeline"' in page.text
    assert '<svg id="code-graph"' in page.text
    assert world.codes["sold lot"] in page.text  # downstream of the case
    assert "收货" in page.text
    assert world.client.get("/console/trace/%3Cx%3E", headers=headers).status_code == 400


def test_hostile_content_is_escaped(world: Query) -> None:
    started = world.recall({"root_codes": [world.case], "reason": HOSTILE, "level": "LEVEL_3"})
    assert started.status_code == 201
    headers = {"Authorization": f"Bearer {world.regulator_token}"}
    for path in ("/console/recalls", f"/console/recalls/{started.json()['recall_id']}"):
        page = world.client.get(path, headers=headers)
        assert "<script>alert(1)" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    echoed = world.client.get(f"/console/alerts?region={HOSTILE}", headers=headers)
    assert "<script>alert(1)" not in echoed.text


# --- the recall lifecycle in the console ----------------------------------------------------------


def test_the_recall_list_filters_and_pages(world: Query, monkeypatch: pytest.MonkeyPatch) -> None:
    first = world.recall({"root_codes": [world.case], "reason": "第一次召回", "level": "LEVEL_1"})
    second = world.recall({"root_codes": [world.case], "reason": "第二次召回", "level": "LEVEL_3"})
    assert (first.status_code, second.status_code) == (201, 201)
    headers = {"Authorization": f"Bearer {world.regulator_token}"}

    only_level_3 = world.client.get("/console/recalls?level=LEVEL_3&status=open", headers=headers)
    assert "第二次召回" in only_level_3.text and "第一次召回" not in only_level_3.text

    monkeypatch.setattr(console_routes, "RECALLS_PER_PAGE", 1)
    page = world.client.get("/console/recalls?status=open", headers=headers)
    assert "第二次召回" in page.text and "第一次召回" not in page.text  # newest first
    next_url = re.search(r'id="next-page" href="([^"]+)"', page.text)
    assert next_url is not None
    later = world.client.get(next_url.group(1).replace("&amp;", "&"), headers=headers)
    assert "第一次召回" in later.text and "status=open" in next_url.group(1)

    assert world.client.get("/console/recalls?region=abc", headers=headers).status_code == 422
    outside = world.client.get("/console/recalls?region=330200", headers=headers)
    assert outside.status_code == 403 and "330200" in outside.text
    assert world.client.get("/console/recalls?status=lost", headers=headers).status_code == 422
    assert world.client.get("/console/recalls?cursor=nope", headers=headers).status_code == 422


def test_the_close_form_does_what_the_close_route_does(world: Query) -> None:
    recall_id = world.recall(
        {"root_codes": [world.case], "reason": "抽检不合格", "level": "LEVEL_2"}
    ).json()["recall_id"]
    path = f"/console/recalls/{recall_id}/close"
    sign_in(world, world.regulator_token)
    page = world.client.get(f"/console/recalls/{recall_id}")
    assert 'id="close-recall"' in page.text
    english = world.client.get(f"/console/recalls/{recall_id}?lang=en")
    assert "Acknowledge by" in english.text and "Close the recall" in english.text

    forged = world.client.post(path, data={"summary": "x", "csrf": "forged"})
    assert forged.status_code == 403 and "防伪校验值" in forged.text
    admin = world.client.post(
        path,
        data={"summary": "x", "override": "on", "reason": "y"},
        headers={"Authorization": f"Bearer {world.admin_token}"},
    )
    assert admin.status_code == 403 and "a regulator or producer token" in admin.text
    empty = world.client.post(path, data={"summary": "", "csrf": csrf_of(page.text)})
    assert empty.status_code == 422 and '<span class="code">summary</span>' in empty.text
    assert world.get(f"/v1/recalls/{recall_id}", world.admin_token).json()["status"] == "open"

    closed = world.client.post(
        path,
        data={
            "summary": HOSTILE,
            "override": "on",
            "reason": "范围内无库存",
            "csrf": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert closed.status_code == 303
    assert closed.headers["location"] == f"/console/recalls/{recall_id}"
    body = world.get(f"/v1/recalls/{recall_id}", world.admin_token).json()
    assert body["status"] == "closed" and body["closure"]["override_reason"] == "范围内无库存"
    shown = world.client.get(closed.headers["location"])
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text and "<script>alert" not in shown.text
    )
    assert 'id="close-recall"' not in shown.text
    again = world.client.post(
        path, data={"summary": "x", "override": "on", "reason": "y", "csrf": csrf_of(page.text)}
    )
    assert again.status_code == 409  # closed is closed, as over the API


def test_the_console_tables_download_as_the_api_s_exports(world: Query) -> None:
    recall_id = world.recall(
        {"root_codes": [world.case], "reason": "抽检不合格", "level": "LEVEL_2"}
    ).json()["recall_id"]
    headers = {"Authorization": f"Bearer {world.regulator_token}"}

    def download(path: str) -> bytes:
        response = world.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        return response.content

    def api(path: str) -> bytes:
        response = world.get(path, world.regulator_token, format="csv")
        assert response.status_code == 200, response.text
        return response.content

    assert download("/console/alerts?format=csv") == api("/v1/alerts")
    assert download("/console/coverage?format=csv") == api("/v1/metrics/coverage")
    holders = load_workbook(io.BytesIO(download(f"/console/recalls/{recall_id}?format=xlsx")))
    header, *rows = list(holders.worksheets[0].iter_rows(values_only=True))
    assert "remaining" in header and len(rows) == 3
    listed = download("/console/recalls?format=csv").decode("utf-8-sig")
    assert recall_id in listed and "抽检不合格" in listed
    page = world.client.get("/console/alerts", headers=headers)
    assert 'id="download-xlsx" href="/console/alerts?format=xlsx"' in page.text
    refused = world.client.get("/console/alerts?format=pdf", headers=headers)
    assert refused.status_code == 422
