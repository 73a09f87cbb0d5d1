"""A producer on a phone: headless Chromium at 390×844, JavaScript off, a producer token only.

The capture API and the query service (with the console) are served on loopback ports over
one ledger (``test_food_chain``'s services). Chromium signs in, issues a 合格证, prints its
label — the PDF the print button asks for is served, and its first page, rendered with
``pdftoppm``, holds a QR that ``zbarimg`` decodes to the scan URL the page shows — voids and
reissues it, and acknowledges a recall notice. Screenshots: ``build/test-artifacts/producer-*.png``.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.integration import test_food_chain
from tests.integration.browser_harness import (
    ARTIFACTS,
    headless_chromium,
    require_chromium,
    served,
)
from tests.integration.test_food_chain import Services

services = test_food_chain.services  # the capture and query APIs on one ledger (a fixture)
PHONE = (390, 844)


@pytest.fixture
def urls(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The query service's and the capture API's base URLs, the console told the latter."""
    require_chromium()
    with served(services.ingest.app, lifespan="off") as ingest_url:
        monkeypatch.setenv("SUYUAN_INGEST_URL", ingest_url)
        with served(services.query.app, lifespan="off") as query_url:
            yield query_url, ingest_url


@pytest.fixture
def phone() -> Iterator[webdriver.Chrome]:
    with headless_chromium((600, 1000)) as driver:
        # Headless windows are at least 500 px wide: emulate the phone's screen instead.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
        )
        yield driver


def shoot(driver: webdriver.Chrome, name: str) -> None:
    """The whole page as the phone shows it, 390 px wide (not only the screenful)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"producer-{name}.png").write_bytes(base64.b64decode(shot["data"]))


def submit(driver: webdriver.Chrome, button: str) -> None:
    """Click a form's button and wait for the page it leads to."""
    before = driver.current_url
    driver.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url != before)


def fill(driver: webdriver.Chrome, field: str, text: str) -> None:
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not on PATH: make test installs it (infra/scripts)")
    return found


def test_a_producer_issues_prints_reissues_and_acknowledges_on_a_phone(
    services: Services, urls: tuple[str, str], phone: webdriver.Chrome, tmp_path: Path
) -> None:
    s, c = services, services.chain
    server, _ = urls
    token = s.tokens[c.farm.uscc]
    # Goods the farm holds, then recalled by the regulator: a notice for the farm.
    lot = c.lot("LA0801")
    s.post_events(c.coop, c.ship(c.coop, c.farm, [lot], "200"))
    s.post_events(c.farm, c.receive(c.farm, c.coop, [lot], "200"))

    # sign in with the producer token only
    phone.get(f"{server}/console")
    phone.find_element(By.ID, "token").send_keys(token)
    submit(phone, "#sign-in")
    assert phone.current_url == f"{server}/console/certificates"
    nav = phone.find_element(By.TAG_NAME, "nav").text
    assert "我的合格证" in nav and "通知" in nav and "召回" not in nav
    width = phone.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["width"]
    assert width <= PHONE[0], "the page fits the phone's width"
    shoot(phone, "1-certificates")

    # issue a certificate
    phone.find_element(By.ID, "issue-new").click()
    WebDriverWait(phone, 15).until(lambda d: "/console/certificates/new" in d.current_url)
    assert phone.find_element(By.ID, "origin").get_attribute("value")
    fill(phone, "product_name", "小青菜")
    fill(phone, "quantity", "500")
    fill(phone, "contact", "0571-63781234")
    shoot(phone, "2-issue-form")
    submit(phone, "#issue")
    assert "?issued=1" in phone.current_url
    code = phone.find_element(By.ID, "certificate-code").text
    scan = phone.find_element(By.ID, "scan-url").text
    assert scan.endswith(f"/c/{code}")
    shoot(phone, "3-issued")

    # print 3 labels of 60 × 40 mm: the PDF the print button asks for
    Select(phone.find_element(By.ID, "size")).select_by_value("60x40")
    fill(phone, "copies", "3")
    form = phone.find_element(By.ID, "print-form")
    action = form.get_attribute("action")
    assert action is not None
    cookies = {x["name"]: x["value"] for x in phone.get_cookies()}
    pdf = httpx.get(
        f"{action}?{urlencode({'size': '60x40', 'copies': '3'})}",
        cookies=cookies,
        timeout=30,
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "labels.pdf").write_bytes(pdf.content)
    info = subprocess.run(
        [_tool("pdfinfo"), str(tmp_path / "labels.pdf")], capture_output=True, text=True
    )
    assert "Pages:           3" in info.stdout
    subprocess.run(
        [
            _tool("pdftoppm"),
            "-r",
            "300",
            "-png",
            "-singlefile",
            tmp_path / "labels.pdf",
            tmp_path / "label",
        ],
        check=True,
    )
    decoded = subprocess.run(
        [_tool("zbarimg"), "--quiet", "--raw", str(tmp_path / "label.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert decoded.stdout.strip() == scan
    shutil.copy(tmp_path / "label.png", ARTIFACTS / "producer-4-label-60x40.png")
    # the button itself opens the PDF (its first page rendered in the browser, or downloaded)
    submit(phone, "#print")
    assert "/label.pdf?size=60x40&copies=3" in phone.current_url

    # void and reissue
    phone.get(f"{server}/console/certificates/{code}")
    phone.find_element(By.ID, "reissue").click()
    WebDriverWait(phone, 15).until(lambda d: "reissue=" in d.current_url)
    assert phone.find_element(By.ID, "quantity").get_attribute("value") == "500"
    fill(phone, "quantity", "450")
    fill(phone, "void_reason", "重量填写错误")
    shoot(phone, "5-reissue-form")
    submit(phone, "#issue")
    fixed = phone.find_element(By.ID, "certificate-code").text
    assert fixed != code
    phone.get(f"{server}/console/certificates/{code}")
    assert phone.find_element(By.ID, "certificate-status").text == "已作废并重开"
    assert fixed in phone.find_element(By.ID, "replacement").text
    shoot(phone, "6-voided")

    # a recall notice, acknowledged with the quantities
    started = s.query.post(
        "/v1/recalls",
        json={"root_codes": [lot], "reason": "农药残留超标", "level": "LEVEL_2"},
        headers={"Authorization": f"Bearer {s.regulator}"},
    )
    assert started.status_code in (201, 202), started.text
    phone.get(f"{server}/console/notices")
    notice = phone.find_element(By.CSS_SELECTOR, f'[data-recall="{started.json()["recall_id"]}"]')
    assert "农药残留超标" in notice.text
    for field, value in (("on_hand", "0"), ("sold_on", "0"), ("returned", "0")):
        notice.find_element(By.NAME, field).send_keys(value)
    notice.find_element(By.NAME, "destroyed").send_keys("200")
    notice.find_element(By.NAME, "note").send_keys("已监督销毁")
    shoot(phone, "7-notice")
    before = phone.current_url
    notice.find_element(By.CSS_SELECTOR, "button.acknowledge").click()
    WebDriverWait(phone, 15).until(lambda d: d.current_url != before)
    assert phone.find_element(By.ID, "acknowledged").text == "已记录您对召回的确认。"
    shoot(phone, "8-acknowledged")
