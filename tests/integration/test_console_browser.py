"""The regulator console in a real browser: headless Chromium, JavaScript off.

A running query service (uvicorn on a free loopback port) serves the demo ledger of the trace
API tests. Chromium signs in with a regulator token, starts a recall from a code through the
form, finds it in the list and its holders on the detail page, then opens the alerts and a
trace. Screenshots go to ``build/test-artifacts/console-*.png``. Needs Debian's ``chromium``
and ``chromium-driver`` packages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.integration.browser_harness import (
    ARTIFACTS,
    headless_chromium,
    require_chromium,
    served,
)
from tests.integration.test_trace_api import MARKET, SHOP, Query, start_query


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("console-browser")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


@pytest.fixture(scope="module")
def server(world: Query) -> Iterator[str]:
    """Base URL of the query service (the test client already ran the app's start-up)."""
    with served(world.client.app, lifespan="off") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium((1280, 1000)) as driver:
        yield driver


def shoot(driver: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    driver.set_window_size(1280, min(int(height) + 120, 4000))
    assert driver.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))
    driver.set_window_size(1280, 1000)


def submit(driver: webdriver.Chrome, button: str) -> None:
    """Click a form's button and wait for the page it leads to (a click does not wait)."""
    before = driver.current_url
    driver.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url != before)


def test_a_regulator_starts_a_recall_and_follows_it(
    world: Query, server: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{server}/console")
    assert browser.find_element(By.TAG_NAME, "h1").text == "登录工作台"
    shoot(browser, "signin")
    browser.find_element(By.ID, "token").send_keys(world.regulator_token)
    submit(browser, "#sign-in")
    assert browser.current_url == f"{server}/console/recalls"
    assert "监管部门 · 杭州市" in browser.find_element(By.CLASS_NAME, "who").text

    browser.find_element(By.ID, "root_codes").send_keys(world.case)
    browser.find_element(By.ID, "reason").send_keys("监督抽检毒死蜱超标")
    Select(browser.find_element(By.ID, "level")).select_by_value("LEVEL_1")
    shoot(browser, "start-form")
    submit(browser, "#start-recall")

    assert "/console/recalls/" in browser.current_url
    detail_url = browser.current_url
    holders = browser.find_element(By.ID, "holders").text
    assert MARKET in holders and SHOP in holders
    assert "杭州市西湖区" in holders and "500 kg" in holders
    assert "一级召回" in browser.find_element(By.TAG_NAME, "h1").text

    # The market acknowledges (recorded on the ledger as a holder would, signed by its key).
    recall_id = detail_url.rsplit("/", 1)[1]
    acknowledged = world.scenario.event(
        world.market,
        "RecallAcknowledged",
        {"recall_id": recall_id, "note": "已下架封存"},
        codes=[world.case],
        quantity="500",
        unit="kg",
    )
    world.append(world.market_key, [acknowledged])
    browser.refresh()
    rows = browser.find_elements(By.CSS_SELECTOR, "#holders tbody tr")
    marks = {r.find_element(By.TAG_NAME, "td").text.split("\n")[0]: r.text for r in rows}
    assert "是" in marks[MARKET].split() and "否" in marks[SHOP].split()
    # The farm that packed the case is a holder too (docs/recalls.md): one of three acknowledged.
    assert "1/3" in browser.find_element(By.ID, "progress").text
    shoot(browser, "recall-detail")

    browser.get(f"{server}/console/recalls")
    listed = browser.find_element(By.ID, "recalls")
    assert "监督抽检毒死蜱超标" in listed.text
    assert listed.find_element(By.PARTIAL_LINK_TEXT, "20").get_attribute("href")
    assert any(
        a.get_attribute("href") == detail_url for a in listed.find_elements(By.TAG_NAME, "a")
    )
    shoot(browser, "recalls")

    browser.get(f"{server}/console/alerts")
    assert browser.find_element(By.TAG_NAME, "h1").text == "预警"
    shoot(browser, "alerts")

    browser.get(f"{server}/console/trace/{world.codes['sold lot']}")
    banner = browser.find_element(By.ID, "verdict")
    assert "召回" in banner.text
    assert browser.find_element(By.ID, "code-graph").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    shoot(browser, "trace")

    browser.get(f"{server}/console/coverage?lang=en")
    assert browser.find_element(By.ID, "coverage-chart").is_displayed()
    shoot(browser, "coverage-en")

    submit(browser, "form.inline button")
    browser.get(f"{server}/console/recalls")
    assert browser.find_element(By.TAG_NAME, "h1").text == "登录工作台"
