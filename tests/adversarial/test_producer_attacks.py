"""A registered but hostile producer against the producer pages of ``/console``, the certificate
reads (``GET /v1/certificates``), ``PUT /v1/organisation/contact`` and the notices: with its own
good token it must not issue, void, print with contact, reissue or acknowledge for another
organisation, nor read another's certificates or contact; every POST of a signed-in browser
needs the session's CSRF value; hostile text it writes into its own certificates stays text in
every page, label and export; and no value it sends yields a 5xx."""

from __future__ import annotations

import base64
import csv
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.integration import test_console_producer, test_food_chain
from tests.integration.test_console_producer import csrf_of, sign_in
from tests.integration.test_food_chain import CONTACT, Services

services = test_food_chain.services  # the capture and query APIs on one ledger
world = test_console_producer.world  # the console told where the capture API is

HOSTILE_NAME = "<script>alert(1)</script>\"' onload=x =cmd|' /C calc'!A0"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _farm_certificate(s: Services, **payload: Any) -> str:
    c = s.chain
    return s.issued(c.farm, s.certificate_body([c.lot("LX0001")], **payload))


def _status_of(s: Services, code: str) -> str:
    shown = s.query.get(f"/v1/certificates/{code}", headers=_auth(s.tokens[s.chain.farm.uscc]))
    assert shown.status_code == 200, shown.text
    return str(shown.json()["status"])


# --- another organisation's certificates -------------------------------------------------------


def test_another_organisation_s_certificate_is_not_found_anywhere(world: Services) -> None:
    s = world
    code = _farm_certificate(s)
    coop = s.tokens[s.chain.coop.uscc]

    assert s.query.get(f"/v1/certificates/{code}", headers=_auth(coop)).status_code == 404
    listed = s.query.get(
        "/v1/certificates", params={"issuer": s.chain.farm.uscc}, headers=_auth(coop)
    )
    assert listed.status_code == 403
    # A regulator outside the farm's region: as if the code did not exist.
    assert s.query.get(f"/v1/certificates/{code}", headers=_auth(s.ningbo)).status_code == 404
    outside = s.query.get(
        "/v1/certificates", params={"issuer": s.chain.farm.uscc}, headers=_auth(s.ningbo)
    )
    assert outside.status_code == 403

    sign_in(s.query, coop)
    assert s.query.get(f"/console/certificates/{code}").status_code == 404
    assert s.query.get("/console/certificates/new", params={"reissue": code}).status_code == 404
    # Its label is public, but only its issuer's prints the 联系方式.
    label = s.query.get(f"/console/certificates/{code}/label.svg")
    assert label.status_code == 200
    assert CONTACT not in label.text
    mine = s.query.get("/console/certificates")
    assert code not in mine.text


def test_a_forged_cursor_reads_no_one_else_s_rows(world: Services) -> None:
    s = world
    code = _farm_certificate(s)
    coop = s.tokens[s.chain.coop.uscc]
    for cursor in (code, base64.urlsafe_b64encode(code.encode()).decode(), "x" * 64):
        answer = s.query.get("/v1/certificates", params={"cursor": cursor}, headers=_auth(coop))
        assert answer.status_code == 422, answer.text
        assert code not in answer.text or answer.json()["field"] == "cursor"
        assert answer.json().get("certificates") is None


def test_a_producer_cannot_void_another_s_certificate_from_its_console(world: Services) -> None:
    s = world
    code = _farm_certificate(s)
    sign_in(s.query, s.tokens[s.chain.coop.uscc])
    page = s.query.get("/console/certificates")
    answer = s.query.post(
        f"/console/certificates/{code}/void",
        data={"csrf": csrf_of(page.text), "reason": "不是我的"},
        follow_redirects=False,
    )
    assert answer.status_code in (403, 404), answer.status_code
    assert _status_of(s, code) == "valid"


def test_a_producer_cannot_reissue_over_another_s_certificate(world: Services) -> None:
    """The issue form's hidden ``replaces`` names the farm's certificate: the coop's new
    certificate may be issued, but the farm's is not voided."""
    s = world
    code = _farm_certificate(s)
    sign_in(s.query, s.tokens[s.chain.coop.uscc])
    test_console_producer.issue_form(s.query, replaces=code, void_reason="替换")
    assert _status_of(s, code) == "valid"


def test_a_producer_cannot_acknowledge_a_recall_of_goods_it_never_held(world: Services) -> None:
    s = world
    c = s.chain
    lot = c.lot("LX0701")
    s.post_events(c.farm, c.ship(c.farm, c.coop, [lot], "500"))
    s.post_events(c.coop, c.receive(c.coop, c.farm, [lot], "500"))
    started = s.query.post(
        "/v1/recalls",
        json={"root_codes": [lot], "reason": "农药残留超标", "level": "LEVEL_2"},
        headers=_auth(s.regulator),
    )
    assert started.status_code in (201, 202), started.text
    recall_id = started.json()["recall_id"]

    sign_in(s.query, s.tokens[c.shop.uscc])  # the shop holds none of the lot
    notices = s.query.get("/console/notices")
    assert notices.status_code == 200 and recall_id not in notices.text
    answer = s.query.post(
        f"/console/notices/{recall_id}/acknowledge",
        data={"csrf": csrf_of(notices.text), "unit": "kg", "on_hand": "0", "destroyed": "500"},
        follow_redirects=False,
    )
    assert 400 <= answer.status_code < 500, answer.status_code
    detail = s.query.get(f"/v1/recalls/{recall_id}", headers=_auth(s.regulator)).json()
    assert c.shop.uscc not in str(detail)


# --- CSRF ---------------------------------------------------------------------------------------


def test_every_console_post_of_a_browser_needs_the_session_s_csrf_value(world: Services) -> None:
    s = world
    code = _farm_certificate(s)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])
    posts = {
        "/console/certificates/new": {"product_name": "小青菜", "quantity": "1", "unit": "kg"},
        f"/console/certificates/{code}/void": {"reason": "跨站"},
        "/console/notices/R-1/acknowledge": {"unit": "kg", "on_hand": "0"},
        "/console/signout": {},
    }
    for path, form in posts.items():
        for csrf in (None, "", "forged-value"):
            data = form if csrf is None else {**form, "csrf": csrf}
            answer = s.query.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, (path, csrf, answer.status_code)
    assert _status_of(s, code) == "valid"
    assert s.query.get("/console/certificates").status_code == 200  # still signed in

    s.query.cookies.clear()
    sign_in(s.query, s.regulator)
    answer = s.query.post(
        "/console/recalls",
        data={"root_codes": s.chain.lot("LX0001"), "reason": "x", "level": "LEVEL_2"},
        follow_redirects=False,
    )
    assert answer.status_code == 403


def test_sign_in_needs_the_csrf_value_of_the_sign_in_page(world: Services) -> None:
    """Login CSRF: another site cannot sign a browser in with the attacker's token."""
    s = world
    answer = s.query.post(
        "/console/signin",
        data={"token": s.tokens[s.chain.coop.uscc]},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert s.query.get("/console/certificates", follow_redirects=False).status_code == 303


def test_a_producer_session_gets_none_of_the_regulator_s_pages(world: Services) -> None:
    s = world
    sign_in(s.query, s.tokens[s.chain.farm.uscc])
    for path in (
        "/console/recalls",
        "/console/recalls?format=csv",
        "/console/alerts",
        "/console/alerts?format=xlsx",
        "/console/coverage",
        f"/console/trace/{s.chain.lot('LX0001')}",
    ):
        answer = s.query.get(path, follow_redirects=False)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "text/html" in answer.headers["content-type"]


# --- contact --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"contact": "1" * 65},
        {"contact": "0571-8888\r\nSet-Cookie: x=1"},
        {"contact": "\u202e0571-88886666"},
        {"contact": "0571-88886666", "organisation": "91330000000000000X"},
        {"contact": 57188886666},
    ],
)
def test_a_hostile_contact_is_refused(services: Services, body: dict[str, Any]) -> None:
    s = services
    answer = s.ingest.put(
        "/v1/organisation/contact", json=body, headers=_auth(s.tokens[s.chain.farm.uscc])
    )
    assert answer.status_code == 422, answer.text


def test_setting_one_s_contact_does_not_touch_another_s(services: Services) -> None:
    s = services
    farm, coop = s.tokens[s.chain.farm.uscc], s.tokens[s.chain.coop.uscc]
    assert (
        s.ingest.put(
            "/v1/organisation/contact", json={"contact": CONTACT}, headers=_auth(coop)
        ).status_code
        == 200
    )
    answer = s.ingest.put(
        "/v1/organisation/contact",
        json={"contact": "0571-12345678"},
        headers=_auth(farm),
        params={"organisation": s.chain.coop.uscc},
    )
    assert answer.status_code in (200, 422)
    assert s.ingest.get("/v1/organisation", headers=_auth(coop)).json()["contact"] == CONTACT


# --- hostile product names ------------------------------------------------------------------


def test_a_hostile_product_name_stays_text_in_pages_labels_and_exports(
    world: Services,
) -> None:
    s = world
    code = _farm_certificate(s, product_name=HOSTILE_NAME)
    farm = s.tokens[s.chain.farm.uscc]

    exported = s.query.get("/v1/certificates", params={"format": "csv"}, headers=_auth(farm))
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    [row] = [r for r in rows if r["code"] == code]
    assert not row["product_name"].startswith(("=", "+", "-", "@"))
    assert HOSTILE_NAME in row["product_name"]

    scan = s.query.get(f"/c/{code}")
    assert scan.status_code == 200
    assert "<script>alert(1)" not in scan.text
    for attribute in re.findall(r'data-[\w-]+="([^"]*)"', scan.text):
        assert "<" not in attribute

    sign_in(s.query, farm)
    for path in ("/console/certificates", f"/console/certificates/{code}"):
        page = s.query.get(path)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "script-src" not in page.headers["content-security-policy"]
    svg = s.query.get(f"/console/certificates/{code}/label.svg")
    assert svg.status_code == 200
    tree = ET.fromstring(svg.text)
    assert not any(el.tag.endswith("script") for el in tree.iter())
    for extension in ("pdf", "png"):
        label = s.query.get(f"/console/certificates/{code}/label.{extension}")
        assert label.status_code == 200, label.text[:200]
        assert "\r" not in label.headers["content-disposition"]


# --- hostile query values -------------------------------------------------------------------


def test_a_nested_notices_cursor_is_a_4xx(services: Services) -> None:
    s = services
    cursor = base64.urlsafe_b64encode(b"[" * 1400).decode().rstrip("=")
    answer = s.query.get(
        "/v1/notices", params={"cursor": cursor}, headers=_auth(s.tokens[s.chain.coop.uscc])
    )
    assert answer.status_code == 422, answer.text[:200]
    assert answer.json()["field"] == "cursor"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "9" * 5000},
        {"from": "2026-02-30"},
        {"status": "\0"},
        {"limit": "9" * 5000},
        {"product": "x" * 10000},
        {"unknown": "1"},
    ],
)
def test_hostile_certificate_list_parameters_are_a_4xx(
    services: Services, params: dict[str, str]
) -> None:
    s = services
    answer = s.query.get(
        "/v1/certificates", params=params, headers=_auth(s.tokens[s.chain.farm.uscc])
    )
    assert 400 <= answer.status_code < 500, answer.text[:200]
    assert answer.headers["content-type"].startswith("application/problem+json")


# --- the capture API directly -----------------------------------------------------------------


def test_another_s_certificate_cannot_be_voided_through_the_api(services: Services) -> None:
    s = services
    code = _farm_certificate(s)
    answer = s.void(s.chain.coop, code, {"reason": "不是我的"})
    assert answer.status_code in (403, 404, 422), answer.text
    assert _status_of(s, code) == "valid"


@pytest.mark.parametrize("field", ["actor", "issuer", "organisation"])
def test_a_certificate_cannot_be_issued_in_another_s_name(services: Services, field: str) -> None:
    s = services
    c = s.chain
    body = s.certificate_body([c.lot("LX0002")])
    body[field] = c.farm.uscc
    answer = s.issue(c.coop, body)
    if answer.status_code == 201:  # the field ignored: the coop's own certificate
        shown = s.query.get(
            f"/v1/certificates/{answer.json()['code']}", headers=_auth(s.tokens[c.coop.uscc])
        )
        assert shown.status_code == 200 and shown.json()["issuer"] == c.coop.uscc
    else:
        assert answer.status_code == 422, answer.text
