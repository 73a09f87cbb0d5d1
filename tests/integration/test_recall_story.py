"""A recall from a failed test to its closure, in the console and through the API alone.

A testing body's official sampling of the farm's case fails; a regulator starts a recall in the
console (headless Chromium, the form); the farm, the market and the supermarket find it in their
notices and acknowledge with quantities over the API; two days later the console shows each
holder's reconciliation and the supermarket overdue (the recall clock moved, no waiting); the
regulator closes it with an override and a reason; the list shows it closed. The same story
again over HTTP only. The exports of both are read back with openpyxl. Screenshots go to
``build/test-artifacts/console-story-*.png``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import suyuan.recall
from suyuan.contacts import set_organisation_contact
from suyuan.intake import Message
from suyuan.ledger import TRUST_SHARD
from tests.integration.browser_harness import (
    ARTIFACTS,
    headless_chromium,
    require_chromium,
    served,
)
from tests.integration.test_recall_lifecycle import World
from tests.integration.test_trace_api import MARKET, SHOP, start_query

LAB = "杭州市食品药品检验研究院"
RED = "rgba(198, 40, 40, 1)"  # --red of the console's style sheet


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    for query in start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path):
        yield World(query)


def failed_test_by_a_lab(world: World, code: str) -> None:
    """A testing body (LAB) records the failed result of an official sampling of ``code``."""
    s = world.query.scenario
    lab = s.organisation(LAB, ["LAB"], "330106", "杭州市西湖区")
    registered = world.query.writer.write(
        TRUST_SHARD, [Message("lab", s.sign_as_root(s.registration(lab)))]
    )
    assert registered.accepted == 2, registered.rejections
    sampling = s.pesticide_test(
        lab,
        [code],
        passed=False,
        kind="OFFICIAL_SAMPLING",
        lab=LAB,
        lab_uscc=lab.uscc,
        report_no="HZJY-2026-0418",
        at=datetime.now().astimezone(),
    )
    world.query.append(lab.key, [sampling])


def holders_get_notices(world: World, recall_id: str) -> None:
    for org in (world.farm, world.market, world.shop):
        notices = world.get("/v1/notices", world.tokens[org], kind="recall").json()["notices"]
        assert [n["recall_id"] for n in notices].count(recall_id) == 1, org


def acknowledge_in_part(world: World, recall_id: str) -> None:
    """The farm sold all 500 kg on (reconciled); the market still holds 380 kg; the
    supermarket says nothing."""
    farm = world.acknowledge(recall_id, world.farm, sold_on="500")
    market = world.acknowledge(recall_id, world.market, sold_on="120", on_hand="380")
    assert (farm.status_code, market.status_code) == (201, 201), (farm.text, market.text)
    assert farm.json()["reconciled"] and not market.json()["reconciled"]


def move_clock(monkeypatch: pytest.MonkeyPatch, to: datetime) -> None:
    monkeypatch.setattr(suyuan.recall, "current_time", lambda: to)


def sheet_rows(content: bytes) -> list[dict[str, Any]]:
    """The rows of an XLSX export as dicts under its header row (openpyxl round trip)."""
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(c) for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# --- in the console -------------------------------------------------------------------------------


def shoot(driver: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    driver.set_window_size(1400, min(int(height) + 120, 4000))
    assert driver.save_screenshot(str(ARTIFACTS / f"console-story-{name}.png"))
    driver.set_window_size(1400, 1000)


def submit(driver: webdriver.Chrome, button: str) -> None:
    """Click a form's button and wait for the next page (a click does not wait)."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)


def holder_rows(driver: webdriver.Chrome) -> dict[str, Any]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#holders tbody tr")
    return {r.find_element(By.TAG_NAME, "td").text.split("\n")[0]: r for r in rows}


def test_failed_test_to_closure_in_the_console(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()
    q = world.query
    failed_test_by_a_lab(world, q.case)
    with served(q.client.app, lifespan="off") as server, headless_chromium((1400, 1000)) as b:
        # The regulator signs in and sees the failed test in the alert queue.
        b.get(f"{server}/console")
        b.find_element(By.ID, "token").send_keys(q.regulator_token)
        submit(b, "#sign-in")
        b.get(f"{server}/console/alerts?kind=inspection_failed&status=open")
        assert "检测不合格，该批次已冻结" in b.find_element(By.ID, "alerts").text
        shoot(b, "alert")

        # It starts the recall through the form.
        b.get(f"{server}/console/recalls")
        b.find_element(By.ID, "root_codes").send_keys(q.case)
        b.find_element(By.ID, "reason").send_keys("监督抽检毒死蜱超标")
        Select(b.find_element(By.ID, "level")).select_by_value("LEVEL_2")
        submit(b, "#start-recall")
        recall_id = b.current_url.rsplit("/", 1)[1]
        detail_url = b.current_url
        assert "二级召回" in b.find_element(By.TAG_NAME, "h1").text
        api = world.get(f"/v1/recalls/{recall_id}", q.regulator_token).json()
        begun = datetime.fromisoformat(api["started_at"])

        # The holders find it in their notices and two of them acknowledge over the API.
        holders_get_notices(world, recall_id)
        acknowledge_in_part(world, recall_id)

        # Two days and an hour later: the supermarket is overdue, in red.
        move_clock(monkeypatch, begun + timedelta(hours=49))
        b.get(detail_url)
        rows = holder_rows(b)
        farm_name = next(n for n in rows if n not in (MARKET, SHOP))
        assert "已核销" in rows[farm_name].text and "0571-63781234" in rows[farm_name].text
        market = [td.text for td in rows[MARKET].find_elements(By.TAG_NAME, "td")]
        # name, contact, region, received, on hand, sold on, returned, destroyed, remaining
        assert market[2:9] == [
            "杭州市拱墅区",
            "500 kg",
            "380 kg",
            "120 kg",
            "0 kg",
            "0 kg",
            "380 kg",
        ]
        assert "未核销" in market[10] and "380 kg on hand" in market[10]
        overdue = rows[SHOP].find_element(By.CSS_SELECTOR, "td.overdue span")
        assert overdue.text == "逾期未确认"
        assert overdue.value_of_css_property("color") == RED
        assert rows[MARKET].find_element(By.CSS_SELECTOR, "td.overdue").text == "—"
        assert "逾期 1 家" in b.find_element(By.ID, "progress").text
        shoot(b, "overdue")

        # The holders table downloads with the session cookie, and opens in a spreadsheet.
        link = b.find_element(By.ID, "download-xlsx").get_attribute("href")
        assert link is not None
        cookie = b.get_cookie("suyuan_console")
        assert cookie is not None
        got = httpx.get(link, cookies={"suyuan_console": cookie["value"]})
        assert got.status_code == 200
        accounts = {r["name"]: r for r in sheet_rows(got.content)}
        assert accounts[MARKET]["remaining"] == 380 and accounts[MARKET]["reconciled"] == "false"
        assert accounts[SHOP]["overdue"] == "not_acknowledged"
        assert accounts[farm_name]["contact"] == "0571-63781234"

        # The list counts the overdue holder.
        b.get(f"{server}/console/recalls?status=open")
        line = next(
            r
            for r in b.find_elements(By.CSS_SELECTOR, "#recalls tbody tr")
            if r.find_element(By.TAG_NAME, "a").get_attribute("href") == detail_url
        )
        assert line.find_element(By.CSS_SELECTOR, "td.overdue-count").text == "1"
        assert "1/3" in line.text

        # Closing is refused until the regulator overrides, and then only with a reason.
        b.get(detail_url)
        assert MARKET in b.find_element(By.ID, "close-pending").text
        b.find_element(By.ID, "summary").send_keys("已召回 500 kg 中的 381.25 kg")
        submit(b, "#close-recall")
        problems = b.find_element(By.ID, "close-problems").text
        assert "every holder must be reconciled first" in problems and world.shop in problems
        b.find_element(By.ID, "override").click()
        submit(b, "#close-recall")
        assert "required with override: true" in b.find_element(By.ID, "close-problems").text
        shoot(b, "close-refused")
        b.find_element(By.ID, "close-reason").send_keys("超市已下架，逾期未报数量，另案查处")
        submit(b, "#close-recall")
        assert b.current_url == detail_url
        assert b.find_element(By.ID, "recall-status").text == "已结束"
        assert "另案查处" in b.find_element(By.ID, "closure").text
        assert b.find_elements(By.ID, "close-recall") == []
        assert b.find_element(By.CSS_SELECTOR, "#holders td.overdue").text == "—"
        shoot(b, "closed")

        # The list shows it closed.
        b.get(f"{server}/console/recalls")
        Select(b.find_element(By.ID, "filter-status")).select_by_value("closed")
        submit(b, "#filter-recalls")
        closed = b.find_element(By.ID, "recalls")
        assert any(
            a.get_attribute("href") == detail_url for a in closed.find_elements(By.TAG_NAME, "a")
        )
        assert "进行中" not in closed.text
        shoot(b, "recalls-closed")
    assert (
        world.get(f"/v1/recalls/{recall_id}", q.regulator_token).json()["closure"][
            "override_reason"
        ]
        == "超市已下架，逾期未报数量，另案查处"
    )


# --- through the API alone ------------------------------------------------------------------------


def test_failed_test_to_closure_over_the_api(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    q = world.query
    failed_test_by_a_lab(world, q.case)
    alerts = world.get("/v1/alerts", q.regulator_token, kind="inspection_failed").json()
    assert any(q.case in a["codes"] and a["status"] == "open" for a in alerts["alerts"])

    started = q.recall({"root_codes": [q.case], "reason": "监督抽检毒死蜱超标", "level": "LEVEL_2"})
    assert started.status_code == 201, started.text
    recall_id = started.json()["recall_id"]
    begun = datetime.fromisoformat(started.json()["started_at"])
    holders_get_notices(world, recall_id)
    acknowledge_in_part(world, recall_id)
    move_clock(monkeypatch, begun + timedelta(hours=49))

    # The market keeps its own 联系方式: the holders table shows it, the farm's comes from its
    # certificate for these goods.
    set_organisation_contact(q.store.engine, world.market, "0571-86001234")
    body = world.get(f"/v1/recalls/{recall_id}", q.regulator_token).json()
    assert body["progress"]["overdue"] == [world.shop]
    contacts = {a["organisation"]: a["contact"] for a in body["accounts"]}
    assert contacts[world.market] == "0571-86001234"
    assert contacts[world.farm] == "0571-63781234"
    sheet = world.get(f"/v1/recalls/{recall_id}", q.regulator_token, format="xlsx")
    assert sheet.status_code == 200
    assert f'filename="recall-{recall_id}-' in sheet.headers["content-disposition"]
    accounts = {r["organisation"]: r for r in sheet_rows(sheet.content)}
    assert set(accounts) == {world.farm, world.market, world.shop}
    assert accounts[world.market]["on_hand"] == 380 and accounts[world.market]["sold_on"] == 120
    assert accounts[world.market]["remaining"] == 380
    assert accounts[world.market]["region_name"] == "杭州市拱墅区"
    assert accounts[world.shop]["overdue"] == "not_acknowledged"
    assert accounts[world.shop]["acknowledged"] == "false"
    assert accounts[world.farm]["reconciled"] == "true"

    refused = world.post(f"/v1/recalls/{recall_id}/close", {"summary": "完成"}, q.regulator_token)
    assert refused.status_code == 422 and refused.json()["reason"] == "not_reconciled"
    closed = world.post(
        f"/v1/recalls/{recall_id}/close",
        {"summary": "已召回大部分", "override": True, "reason": "超市逾期未报数量，另案查处"},
        q.regulator_token,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    listed = world.get("/v1/recalls", q.regulator_token, status="closed").json()
    assert recall_id in [r["recall_id"] for r in listed["recalls"]]
    exported = world.get("/v1/recalls", q.regulator_token, status="closed", format="csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    line = next(r for r in csv_rows(exported.content) if r["recall_id"] == recall_id)
    assert (line["status"], line["level"], line["holders"]) == ("closed", "LEVEL_2", "3")
    assert line["override_reason"] == "超市逾期未报数量，另案查处"
    assert line["overdue"] == "0"  # a closed recall has no overdue holder
    workbook = world.get("/v1/recalls", q.regulator_token, status="closed", format="xlsx")
    row = next(r for r in sheet_rows(workbook.content) if r["recall_id"] == recall_id)
    assert (row["reconciled"], row["acknowledged"], row["status"]) == (1, 2, "closed")
