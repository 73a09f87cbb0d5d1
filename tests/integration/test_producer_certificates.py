"""A producer's own 合格证 over HTTP: ``GET /v1/certificates`` and ``GET /v1/certificates/{code}``
(docs/http-query.md § Certificates), on the two services of ``test_food_chain``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from openpyxl import load_workbook

from suyuan.trace import CHINA_TIME
from tests.integration import test_food_chain
from tests.integration.test_food_chain import Services
from tests.integration.test_http_guard import HUGE_CHUNKS, call

services = test_food_chain.services  # the capture and query APIs on one ledger (a fixture)


def _get(s: Services, path: str, token: str, **params: Any) -> Any:
    return s.query.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def _codes(body: dict[str, Any]) -> list[str]:
    return [c["code"] for c in body["certificates"]]


def test_a_producer_lists_its_certificates_with_their_status_newest_first(
    services: Services,
) -> None:
    s, c = services, services.chain
    farm = c.farm
    token = s.tokens[farm.uscc]
    lot = c.lot("LA0506")
    first = s.issued(farm, s.certificate_body([lot], product_name="小青菜"))
    wrong = s.issued(farm, s.certificate_body([], product_name="菠菜", quantity="80"))
    fixed = s.issued(farm, s.certificate_body([], product_name="菠菜", quantity="60"))
    dropped = s.issued(farm, s.certificate_body([], product_name="韭菜"))
    assert s.void(farm, wrong, {"reason": "重量填写错误", "replacement": fixed}).status_code == 201
    assert s.void(farm, dropped, {"reason": "未发货"}).status_code == 201
    # another organisation's certificate never shows in the farm's list
    s.post_events(farm, c.ship(farm, c.coop, [lot], "500"))
    s.post_events(c.coop, c.receive(c.coop, farm, [lot], "500", certificates=[first]))
    s.issued(
        c.coop,
        s.certificate_body([lot], issuer_type="PURCHASER", upstream=[first], product_name="小青菜"),
    )

    listed = _get(s, "/v1/certificates", token)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["issuer"] == farm.uscc
    assert _codes(body) == [dropped, fixed, wrong, first]
    status = {c["code"]: c["status"] for c in body["certificates"]}
    assert status == {first: "valid", wrong: "replaced", fixed: "valid", dropped: "voided"}
    by_code = {c["code"]: c for c in body["certificates"]}
    assert by_code[wrong]["replacement_code"] == fixed
    assert by_code[fixed]["replaces"] == [wrong]
    assert by_code[wrong]["quantity"] == "80"

    assert _codes(_get(s, "/v1/certificates", token, status="replaced").json()) == [wrong]
    assert _codes(_get(s, "/v1/certificates", token, status="voided").json()) == [dropped]
    assert _codes(_get(s, "/v1/certificates", token, product="菠").json()) == [fixed, wrong]


def test_pages_follow_the_cursor_to_the_end(services: Services) -> None:
    s, farm = services, services.chain.farm
    token = s.tokens[farm.uscc]
    issued = [s.issued(farm, s.certificate_body([])) for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _get(s, "/v1/certificates", token, **params).json()
        assert page["count"] == 5
        seen += _codes(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == issued[::-1]
    bad = _get(s, "/v1/certificates", token, cursor="NOTACODE")
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"


def test_issue_dates_filter_the_list(services: Services) -> None:
    s, farm = services, services.chain.farm
    token = s.tokens[farm.uscc]
    code = s.issued(farm, s.certificate_body([]))
    day = _get(s, f"/v1/certificates/{code}", token).json()["issue_date"]
    assert _codes(_get(s, "/v1/certificates", token, **{"from": day, "to": day}).json()) == [code]
    assert _codes(_get(s, "/v1/certificates", token, **{"from": "2099-01-01"}).json()) == []
    reversed_range = _get(
        s, "/v1/certificates", token, **{"from": "2030-01-02", "to": "2030-01-01"}
    )
    assert reversed_range.status_code == 422
    assert reversed_range.json()["field"] == "from"


def test_one_certificate_shows_its_voids_and_links_and_hides_others(services: Services) -> None:
    s, farm, coop = services, services.chain.farm, services.chain.coop
    wrong = s.issued(farm, s.certificate_body([]))
    fixed = s.issued(farm, s.certificate_body([]))
    assert s.void(farm, wrong, {"reason": "重量填写错误", "replacement": fixed}).status_code == 201

    shown = _get(s, f"/v1/certificates/{wrong}", s.tokens[farm.uscc])
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["status"] == "replaced"
    assert body["contact"] == "0571-63781234"
    assert [(v["reason"], v["replacement_code"]) for v in body["voids"]] == [
        ("重量填写错误", fixed)
    ]
    assert body["scan_url"] == f"https://trace.example.cn/c/{wrong}"
    assert body["label_url"] == f"https://trace.example.cn/c/{wrong}/label.svg"

    # the cooperative may not see the farm's certificate: the same 404 as an unknown code
    other = _get(s, f"/v1/certificates/{wrong}", s.tokens[coop.uscc])
    unknown = _get(s, "/v1/certificates/V9MA0HMRWMYA", s.tokens[coop.uscc])
    assert other.status_code == unknown.status_code == 404
    assert other.json()["reason"] == unknown.json()["reason"] == "not_found"
    assert other.text.replace(wrong, "CODE") == unknown.text.replace("V9MA0HMRWMYA", "CODE")
    assert _get(s, "/v1/certificates/notacode", s.tokens[farm.uscc]).status_code == 400


def test_a_regulator_names_an_issuer_of_its_region_and_others_are_refused(
    services: Services,
) -> None:
    s, farm = services, services.chain.farm
    code = s.issued(farm, s.certificate_body([]))
    # the farm is registered in 临安 (330185), within 杭州 (330100), not within 宁波 (330200)
    listed = _get(s, "/v1/certificates", s.regulator, issuer=farm.uscc)
    assert listed.status_code == 200
    assert _codes(listed.json()) == [code]
    assert _get(s, f"/v1/certificates/{code}", s.regulator).status_code == 200
    outside = _get(s, "/v1/certificates", s.ningbo, issuer=farm.uscc)
    assert (outside.status_code, outside.json()["field"]) == (403, "issuer")
    assert _get(s, f"/v1/certificates/{code}", s.ningbo).status_code == 404
    assert _get(s, "/v1/certificates", s.regulator).json()["field"] == "issuer"
    # a producer names no other issuer; an admin token and no token are refused
    other = _get(s, "/v1/certificates", s.tokens[farm.uscc], issuer=s.chain.coop.uscc)
    assert other.status_code == 403
    assert _get(s, "/v1/certificates", s.admin).status_code == 403
    assert s.query.get("/v1/certificates").status_code == 401


def test_the_list_exports_as_csv_and_xlsx(services: Services) -> None:
    s, farm = services, services.chain.farm
    token = s.tokens[farm.uscc]
    code = s.issued(farm, s.certificate_body([], product_name="=HYPERLINK(1)"))
    as_csv = _get(s, "/v1/certificates", token, format="csv")
    assert as_csv.status_code == 200
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [(r["code"], r["status"], r["product_name"]) for r in rows] == [
        (code, "valid", "'=HYPERLINK(1)")
    ]
    s.issued(farm, s.certificate_body([]))
    paged = _get(s, "/v1/certificates", token, format="csv", limit=1)
    assert paged.headers["x-next-cursor"]
    assert len(list(csv.DictReader(io.StringIO(paged.content.decode("utf-8-sig"))))) == 1
    as_xlsx = _get(s, "/v1/certificates", token, format="xlsx")
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "code"
    assert values[2][0] == code


# --- 联系方式: the organisation's own, prefilled ------------------------------------------------


def test_a_certificate_without_contact_prints_the_organisation_s_own(services: Services) -> None:
    s, farm = services, services.chain.farm
    auth = {"Authorization": f"Bearer {s.tokens[farm.uscc]}"}
    body = s.certificate_body([])
    del body["payload"]["contact"], body["payload"]["issue_date"]

    none_set = s.issue(farm, body)
    assert none_set.status_code == 422
    assert none_set.json()["field"] == "payload.contact"
    rejections = s.ingest.get("/v1/rejections", headers=auth).json()["rejections"]
    assert rejections[0]["field"] == "payload.contact"

    not_a_phone = s.ingest.put("/v1/organisation/contact", json={"contact": "ask"}, headers=auth)
    assert (not_a_phone.status_code, not_a_phone.json()["field"]) == (422, "contact")
    assert (
        s.ingest.put("/v1/organisation/contact", json={"contact": "0571-1234567"}).status_code
        == 401
    )

    set_now = s.ingest.put(
        "/v1/organisation/contact", json={"contact": " 0571-88886666 "}, headers=auth
    )
    assert set_now.status_code == 200, set_now.text
    assert set_now.json() == {
        "uscc": farm.uscc,
        "name": farm.name,
        "roles": ["PRODUCER"],
        "region_code": "330185",
        "contact": "0571-88886666",
    }
    assert s.ingest.get("/v1/organisation", headers=auth).json()["contact"] == "0571-88886666"

    issued = s.issue(farm, body)
    assert issued.status_code == 201, issued.text
    payload = issued.json()["event"]["payload"]
    assert payload["contact"] == "0571-88886666"
    # no issue date given: the day it was issued (occurred_at), in China
    at = datetime.fromisoformat(body["occurred_at"]).astimezone(CHINA_TIME)
    assert payload["issue_date"] == at.date().isoformat()
    # issued at 20:00 UTC: it is already the next day in China, and that day is printed
    evening = datetime.fromisoformat(s.certificate_body([])["occurred_at"])
    evening = evening.astimezone(UTC).replace(hour=20)
    late = {**body, "occurred_at": evening.isoformat()}
    late_issue = s.issue(farm, late)
    assert late_issue.status_code == 201, late_issue.text
    next_day = (evening + timedelta(days=1)).date().isoformat()
    assert late_issue.json()["event"]["payload"]["issue_date"] == next_day
    # a contact given on the certificate wins over the organisation's
    own = s.issued(farm, s.certificate_body([], contact="13800138000"))
    mine = s.query.get(f"/v1/certificates/{own}", headers=auth).json()
    assert mine["contact"] == "13800138000"


def test_the_contact_form_is_authenticated_before_its_body_is_read_and_capped(
    services: Services,
) -> None:
    app = services.ingest.app
    unread = call(app, "PUT", "/v1/organisation/contact", chunks=HUGE_CHUNKS)
    assert (unread.status, unread.chunks_read) == (401, 0)
    token = services.tokens[services.chain.farm.uscc]
    capped = call(app, "PUT", "/v1/organisation/contact", token=token, chunks=HUGE_CHUNKS)
    assert capped.status == 413
    assert capped.chunks_read < HUGE_CHUNKS
