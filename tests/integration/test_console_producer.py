"""The producer's pages of /console (docs/console.md § Producer pages) on the two services of
``test_food_chain``: the capture API served on a loopback port (the console issues through it,
``SUYUAN_INGEST_URL``) and the query service holding the console.

What a producer notices: it signs in where a regulator does and sees its own pages; a
certificate issued from the form is the same event, refused by the same rules, as one posted to
``POST /v1/certificates``; it prints, voids and reissues, and acknowledges a recall notice.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from suyuan.events import event_to_json
from suyuan.foodchain import Reads
from suyuan.ledger import Leaf
from tests.integration import test_food_chain
from tests.integration.browser_harness import served
from tests.integration.test_food_chain import CONTACT, Services

services = test_food_chain.services  # the capture and query APIs on one ledger (a fixture)


@pytest.fixture
def world(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """The services, the console told where the capture API is (read when first used)."""
    with served(services.ingest.app, lifespan="off") as ingest_url:
        monkeypatch.setenv("SUYUAN_INGEST_URL", ingest_url)
        yield services


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in; where the console sends the browser first."""
    page = client.get("/console")
    response = client.post(
        "/console/signin",
        data={"token": token, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def issue_form(client: TestClient, **fields: str) -> Any:
    """Fill the issue form as its page prefilled it, change ``fields``, submit."""
    page = client.get("/console/certificates/new")
    assert page.status_code == 200, page.text
    form = {
        "csrf": csrf_of(page.text),
        "product_name": "小青菜",
        "category": "VEGETABLES",
        "quantity": "500",
        "unit": "kg",
        "origin": prefilled(page.text, "origin"),
        "origin_region_code": prefilled(page.text, "origin_region_code"),
        "contact": prefilled(page.text, "contact"),
        "issuer_type": "PRODUCER",
        "basis": "QUALITY_CONTROL",
        "lot_codes": "",
        "action": "issue",
        **fields,
    }
    return client.post("/console/certificates/new", data=form, follow_redirects=False)


def prefilled(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


def issued_code(response: Any) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(
        r"/console/certificates/([0-9A-Z]+)\?issued=1", response.headers["location"]
    )
    assert found, response.headers["location"]
    return found.group(1)


def _pdfinfo(pdf: bytes, directory: Path) -> str:
    (directory / "info.pdf").write_bytes(pdf)
    return subprocess.run(
        ["pdfinfo", str(directory / "info.pdf")], capture_output=True, text=True, check=True
    ).stdout


def _pdftext(pdf: bytes, directory: Path) -> str:
    (directory / "text.pdf").write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-raw", str(directory / "text.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _set_contact(s: Services) -> None:
    farm = s.chain.farm
    response = s.ingest.put(
        "/v1/organisation/contact",
        json={"contact": CONTACT},
        headers={"Authorization": f"Bearer {s.tokens[farm.uscc]}"},
    )
    assert response.status_code == 200, response.text


# --- roles ------------------------------------------------------------------------------------


def test_one_console_each_role_its_own_pages(world: Services) -> None:
    s = world
    farm_token = s.tokens[s.chain.farm.uscc]

    assert sign_in(s.query, farm_token) == "/console/certificates"
    mine = s.query.get("/console/certificates")
    assert mine.status_code == 200
    assert "我的合格证" in mine.text and "开具合格证" in mine.text and "通知" in mine.text
    assert ">召回<" not in mine.text  # the regulator's navigation is not shown
    refused = s.query.get("/console/recalls")
    assert refused.status_code == 403 and "不属于您的令牌角色" in refused.text

    s.query.cookies.clear()
    assert sign_in(s.query, s.regulator) == "/console/recalls"
    assert s.query.get("/console/certificates").status_code == 403
    assert s.query.get("/console/certificates/new").status_code == 403


# --- issuing ----------------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_registration(world: Services) -> None:
    s = world
    _set_contact(s)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])

    page = s.query.get("/console/certificates/new")

    assert prefilled(page.text, "contact") == CONTACT
    region = s.chain.farm.region_code
    assert prefilled(page.text, "origin_region_code") == region
    assert prefilled(page.text, "origin")  # the region's name


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    """An event without what differs between two issues: its id, certificate code and time."""
    kept = {k: v for k, v in event.items() if k not in ("event_id", "occurred_at", "codes")}
    kept["lot_codes"] = event["codes"][1:]
    return kept


def test_a_certificate_from_the_page_is_the_event_the_api_records(world: Services) -> None:
    s = world
    farm = s.chain.farm
    token = s.tokens[farm.uscc]
    _set_contact(s)
    sign_in(s.query, token)

    from_page = issued_code(issue_form(s.query))
    from_api = s.issued(
        farm,
        {
            "payload": {
                "product_name": "小青菜",
                "category": "VEGETABLES",
                "origin": prefilled(s.query.get("/console/certificates/new").text, "origin"),
                "origin_region_code": farm.region_code,
                "contact": CONTACT,
            },
            "quantity": "500",
            "unit": "kg",
        },
    )

    reads = Reads(s.chain.store)
    events, signers = [], []
    for code in (from_page, from_api):
        shown = s.query.get(
            f"/v1/certificates/{code}", headers={"Authorization": f"Bearer {token}"}
        )
        assert shown.status_code == 200, shown.text
        event_id = shown.json()["event_id"]
        stored = reads.by_id(event_id)
        assert stored is not None
        events.append(event_to_json(stored))
        leaf = Leaf.from_bytes(s.chain.store.entry(*s.chain.store.locate(event_id)).leaf)
        signers.append(leaf.key_id)
    assert _comparable(events[0]) == _comparable(events[1])
    assert events[0]["actor"] == farm.uscc
    assert signers[0] == signers[1]  # the organisation's custodial key signed both

    page = s.query.get(f"/console/certificates/{from_page}?issued=1")
    assert page.status_code == 200
    assert f"https://trace.example.cn/c/{from_page}" in page.text
    assert f"/console/certificates/{from_page}/label.pdf" in page.text


def test_the_page_is_refused_by_the_api_s_rules(world: Services) -> None:
    s = world
    farm = s.chain.farm
    _set_contact(s)
    sign_in(s.query, s.tokens[farm.uscc])

    page = issue_form(s.query, basis="SELF_TESTED")
    api = s.issue(farm, s.certificate_body([], basis="SELF_TESTED"))

    assert api.status_code == 422
    rule = api.json()["rule"]
    assert page.status_code == 422
    assert 'id="error-inspection_event_id"' in page.text
    assert rule in page.text.replace("&#39;", "'").replace("&#34;", '"')
    assert s.query.get("/console/certificates").text.count('data-code="') == 0


def test_every_blank_field_is_shown_at_once_next_to_it(world: Services) -> None:
    s = world
    sign_in(s.query, s.tokens[s.chain.farm.uscc])

    page = issue_form(s.query, product_name="", quantity="", origin="", category="MEAT")

    assert page.status_code == 422
    for field in ("product_name", "quantity", "origin", "category"):
        assert f'id="error-{field}"' in page.text, field
    assert 'value="MEAT"' not in page.text  # the choices stay the API's


def test_the_test_picker_offers_this_lot_s_passing_tests(world: Services) -> None:
    s = world
    c = s.chain
    _set_contact(s)
    lot = c.lot("LA0601")
    c.s.clock = datetime.now(UTC) - timedelta(hours=1)  # a recent test: the form issues now
    passing = c.inspection(c.farm, [lot])
    s.post_events(c.farm, passing)
    sign_in(s.query, s.tokens[c.farm.uscc])

    found = issue_form(s.query, action="find", basis="SELF_TESTED", lot_codes=lot)
    assert found.status_code == 200
    assert f'value="{passing.event_id}"' in found.text

    code = issued_code(
        issue_form(
            s.query, basis="SELF_TESTED", lot_codes=lot, inspection_event_id=passing.event_id
        )
    )
    assert code in s.query.get("/console/certificates").text


def test_a_purchaser_picks_upstream_certificates_from_what_it_received(world: Services) -> None:
    s = world
    c = s.chain
    lot = c.lot("LA0901")
    upstream = s.issued(c.farm, s.certificate_body([lot]))
    s.post_events(c.farm, c.ship(c.farm, c.coop, [lot], "500"))
    s.post_events(c.coop, c.receive(c.coop, c.farm, [lot], "500", certificates=[upstream]))
    sign_in(s.query, s.tokens[c.coop.uscc])

    page = s.query.get("/console/certificates/new")
    assert f'name="upstream_certificates" value="{upstream}"' in page.text

    without = issue_form(s.query, issuer_type="PURCHASER", lot_codes=lot, contact=CONTACT)
    assert without.status_code == 422 and 'id="error-upstream_certificates"' in without.text
    code = issued_code(
        issue_form(
            s.query,
            issuer_type="PURCHASER",
            lot_codes=lot,
            contact=CONTACT,
            upstream_certificates=upstream,
        )
    )
    shown = s.query.get(
        f"/v1/certificates/{code}", headers={"Authorization": f"Bearer {s.tokens[c.coop.uscc]}"}
    ).json()
    assert shown["upstream_certificates"] == [upstream] and shown["issuer_type"] == "PURCHASER"


def test_the_pages_speak_english_when_asked(world: Services) -> None:
    s = world
    _set_contact(s)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])
    code = issued_code(issue_form(s.query))

    for path in ("/console/certificates", "/console/certificates/new", "/console/notices"):
        page = s.query.get(f"{path}?lang=en")
        assert page.status_code == 200 and 'lang="en"' in page.text, path
        assert "My certificates" in page.text and "Issue a certificate" in page.text
    one = s.query.get(f"/console/certificates/{code}?lang=en").text
    assert "Print labels" in one and "Vegetables" in one


# --- printing, voiding, reissuing -------------------------------------------------------------


def test_the_issuer_s_labels_from_the_console_print_its_contact(
    world: Services, tmp_path: Path
) -> None:
    s = world
    _set_contact(s)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])
    code = issued_code(issue_form(s.query))

    pdf = s.query.get(f"/console/certificates/{code}/label.pdf?size=60x40&copies=3")
    svg = s.query.get(f"/console/certificates/{code}/label.svg")

    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "Pages:           3" in _pdfinfo(pdf.content, tmp_path)
    assert CONTACT in _pdftext(pdf.content, tmp_path)
    assert CONTACT in svg.text and svg.headers["cache-control"] == "private, no-store"


def test_void_and_reissue_from_the_pages(world: Services) -> None:
    s = world
    farm = s.chain.farm
    token = s.tokens[farm.uscc]
    _set_contact(s)
    sign_in(s.query, token)
    wrong = issued_code(issue_form(s.query, quantity="80"))

    reissue = s.query.get(f"/console/certificates/new?reissue={wrong}")
    assert prefilled(reissue.text, "quantity") == "80"
    assert prefilled(reissue.text, "replaces") == wrong
    fixed = issued_code(
        issue_form(s.query, quantity="60", replaces=wrong, void_reason="重量填写错误")
    )

    shown = s.query.get(
        f"/v1/certificates/{wrong}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert shown["status"] == "replaced" and shown["replacement_code"] == fixed
    assert [v["reason"] for v in shown["voids"]] == ["重量填写错误"]
    page = s.query.get(f"/console/certificates/{wrong}")
    assert "已作废并重开" in page.text and f"已由 {fixed} 替代" in page.text

    # voiding once more is refused by the API, and the page says so
    again = s.query.post(
        f"/console/certificates/{wrong}/void",
        data={"csrf": csrf_of(s.query.get(f"/console/certificates/{fixed}").text), "reason": "x"},
    )
    assert again.status_code == 409
    assert "void" in again.text


def test_a_plain_void_and_a_forged_one(world: Services) -> None:
    s = world
    _set_contact(s)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])
    code = issued_code(issue_form(s.query))
    page = s.query.get(f"/console/certificates/{code}")

    forged = s.query.post(
        f"/console/certificates/{code}/void", data={"csrf": "forged", "reason": "未发货"}
    )
    assert forged.status_code == 403
    blank = s.query.post(
        f"/console/certificates/{code}/void", data={"csrf": csrf_of(page.text), "reason": ""}
    )
    assert blank.status_code == 422
    done = s.query.post(
        f"/console/certificates/{code}/void",
        data={"csrf": csrf_of(page.text), "reason": "未发货"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "已作废" in s.query.get(f"/console/certificates/{code}").text


def test_another_organisation_s_certificate_is_not_found(world: Services) -> None:
    s = world
    _set_contact(s)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])
    code = issued_code(issue_form(s.query))
    s.query.cookies.clear()
    sign_in(s.query, s.tokens[s.chain.coop.uscc])

    assert s.query.get(f"/console/certificates/{code}").status_code == 404
    page = s.query.get("/console/certificates")
    assert code not in page.text


# --- notices ----------------------------------------------------------------------------------


def test_a_holder_acknowledges_a_recall_notice(world: Services) -> None:
    s = world
    c = s.chain
    lot = c.lot("LA0701")
    s.post_events(c.farm, c.ship(c.farm, c.coop, [lot], "500"))
    s.post_events(c.coop, c.receive(c.coop, c.farm, [lot], "500"))
    started = s.query.post(
        "/v1/recalls",
        json={"root_codes": [lot], "reason": "农药残留超标", "level": "LEVEL_2"},
        headers={"Authorization": f"Bearer {s.regulator}"},
    )
    assert started.status_code in (201, 202), started.text
    recall_id = started.json()["recall_id"]
    sign_in(s.query, s.tokens[c.coop.uscc])

    notices = s.query.get("/console/notices")
    assert notices.status_code == 200
    assert "农药残留超标" in notices.text and f'data-recall="{recall_id}"' in notices.text
    wrong = s.query.post(
        f"/console/notices/{recall_id}/acknowledge",
        data={"csrf": csrf_of(notices.text), "unit": "kg", "on_hand": "-5"},
    )
    assert wrong.status_code == 422
    done = s.query.post(
        f"/console/notices/{recall_id}/acknowledge",
        data={
            "csrf": csrf_of(notices.text),
            "unit": "kg",
            "on_hand": "0",
            "sold_on": "0",
            "returned": "500",
            "destroyed": "0",
            "note": "已全部退回",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    after = s.query.get(done.headers["location"])
    assert "已记录您对召回的确认" in after.text
    account = s.query.get(
        f"/v1/recalls/{recall_id}", headers={"Authorization": f"Bearer {s.regulator}"}
    ).json()
    holder = next(h for h in account["accounts"] if h["organisation"] == c.coop.uscc)
    assert holder["acknowledged"] is True


def test_without_the_capture_api_s_address_the_form_says_so(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services
    monkeypatch.delenv("SUYUAN_INGEST_URL", raising=False)
    sign_in(s.query, s.tokens[s.chain.farm.uscc])

    form = s.query.get("/console/certificates/new")
    refused = issue_form(s.query, contact=CONTACT)

    assert "SUYUAN_INGEST_URL" in form.text
    assert refused.status_code == 503 and "SUYUAN_INGEST_URL" in refused.text
    assert s.query.get("/console/certificates").status_code == 200  # reading still works
