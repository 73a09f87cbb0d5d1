"""The regulator console in a real browser: headless Chromium, JavaScript off.

A running query service (uvicorn on a free loopback port) serves the demo ledger of the trace
API tests. Chromium signs in with a regulator token, starts a recall from a code through the
form, finds it in the list and its holders on the detail page, then opens the alerts and a
trace. Screenshots go to ``build/test-artifacts/console-*.png``. Needs Debian's ``chromium``
and ``chromium-driver`` packages.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.integration.test_trace_api import MARKET, SHOP, Query, start_query

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            "needs Debian's chromium and chromium-driver (infra/scripts/ensure-test-tools.sh)"
        )
    tmp = tmp_path_factory.mktemp("console-browser")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


@pytest.fixture(scope="module")
def server(world: Query) -> Iterator[str]:
    """Base URL of the query service, running in a thread on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The test client already ran the app's start-up.
    config = uvicorn.Config(world.client.app, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        assert time.monotonic() < deadline, "the query service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="suyuan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",  # the tests run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    # The console needs no script.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


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
    assert browser.find_element(By.TAG_NAME, "h1").text == "监管人员登录"
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
    assert browser.find_element(By.TAG_NAME, "h1").text == "监管人员登录"
