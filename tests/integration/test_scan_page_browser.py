"""The scan page in a real browser: headless Chromium, JavaScript off, phone-sized window.

A running query service (uvicorn on a free loopback port) serves the demo ledger; Chromium,
driven through chromedriver by Selenium, opens the scan pages of a recalled and a clean code and
checks what a person sees. Screenshots go to ``build/test-artifacts/scan-recalled.png`` and
``scan-clean.png``. Needs Debian's ``chromium`` and ``chromium-driver`` packages.

Every verdict state has a row in :data:`VERDICT_ROWS`: its banner is checked at phone size in
Chinese and English, and a phone-sized screenshot of each (``verdict-{state}-{lang}.png``) is
saved in the test's temporary directory and, when ``SUYUAN_SCREENSHOTS=DIR`` is set, in DIR for
a person to look at.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from suyuan.codes import digital_link_path, digital_link_uri, parse_trace_code
from suyuan.verdict import STATES
from tests.integration.browser_harness import ARTIFACTS, headless_chromium, require_chromium, served
from tests.integration.test_scan_page import ScanLedger, build_scan_ledger, scan_app

PHONE = (412, 915)  # CSS pixels of a common Android phone
RED_BANNER = "rgba(198, 40, 40, 1)"


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanLedger]:
    require_chromium()
    built = build_scan_ledger(tmp_path_factory.mktemp("scan-browser"))
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def server(ledger: ScanLedger) -> Iterator[str]:
    """Base URL of the query service, running in a thread on a free loopback port."""
    with served(scan_app(ledger), lifespan="on") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    # The page must work for a phone with JavaScript off.
    with headless_chromium((600, 1000)) as driver:
        # Headless windows are at least 500 px wide: emulate the phone's screen instead.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
        )
        _assert_javascript_is_off(driver)
        yield driver


def _assert_javascript_is_off(driver: webdriver.Chrome) -> None:
    driver.get(
        "data:text/html,<p id=js>off</p>"
        "<script>document.getElementById('js').textContent='on'</script>"
    )
    assert driver.find_element(By.ID, "js").text == "off", "pages must not run scripts here"


def content_size(driver: webdriver.Chrome) -> tuple[float, float]:
    """Width and height of the page's content in CSS pixels."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    return float(size["width"]), float(size["height"])


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """A PNG of the whole page (not only the screenful), at phone width."""
    width, height = content_size(driver)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def test_recalled_code_shows_a_red_recall_banner(
    browser: webdriver.Chrome, server: str, ledger: ScanLedger
) -> None:
    browser.get(f"{server}/c/{ledger.codes['recalled lot']}")

    banner = browser.find_element(By.ID, "status")
    assert banner.is_displayed()
    assert banner.location["y"] < PHONE[1] / 3, "the warning is the first thing on screen"
    assert "已召回" in banner.text and "请勿食用" in banner.text
    assert "监督抽检毒死蜱超标" in banner.text
    assert banner.value_of_css_property("background-color") == RED_BANNER
    assert browser.find_element(By.CLASS_NAME, "product-name").text == "小青菜"
    path = screenshot(browser, "scan-recalled.png")
    assert path.stat().st_size > 10_000


def test_clean_code_shows_product_and_origin_without_warning(
    browser: webdriver.Chrome, server: str, ledger: ScanLedger
) -> None:
    browser.get(f"{server}/c/{ledger.codes['sold lot']}")

    banner = browser.find_element(By.ID, "status")
    assert banner.text.startswith("✓ 正常")
    assert banner.value_of_css_property("background-color") != RED_BANNER
    assert browser.find_element(By.CLASS_NAME, "product-name").text == "小青菜"
    product = browser.find_element(By.ID, "product").text
    assert "临安区太湖源蔬菜专业合作社" in product
    timeline = browser.find_element(By.ID, "timeline")
    assert "销售" in timeline.text and "联华超市（文三路店）" in timeline.text
    assert not browser.find_elements(By.CSS_SELECTOR, ".banner.danger")
    path = screenshot(browser, "scan-clean.png")
    assert path.stat().st_size > 10_000


def test_a_gs1_digital_link_opens_the_same_page(
    browser: webdriver.Chrome, server: str, ledger: ScanLedger
) -> None:
    code = parse_trace_code(ledger.codes["recalled lot"])

    browser.get(digital_link_uri(server, code))

    assert browser.current_url == f"{server}{digital_link_path(code)}"  # shown, not redirected
    banner = browser.find_element(By.ID, "status")
    assert "已召回" in banner.text
    assert banner.value_of_css_property("background-color") == RED_BANNER
    assert code.value in browser.find_element(By.TAG_NAME, "body").text


def test_language_link_switches_to_english(
    browser: webdriver.Chrome, server: str, ledger: ScanLedger
) -> None:
    browser.get(f"{server}/c/{ledger.codes['recalled lot']}")
    browser.find_element(By.LINK_TEXT, "English").click()

    assert browser.current_url.endswith("?lang=en")
    assert "RECALLED" in browser.find_element(By.ID, "status").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"


def test_page_layout_fits_a_phone_screen(
    browser: webdriver.Chrome, server: str, ledger: ScanLedger
) -> None:
    browser.get(f"{server}/c/{ledger.codes['import unit']}")

    width, _height = content_size(browser)
    assert width <= PHONE[0], "no sideways scrolling on a phone"
    chart = browser.find_element(By.CSS_SELECTOR, "#temperature svg")
    assert chart.is_displayed() and chart.size["width"] > 250
    screenshot(browser, "scan-import.png")


# --- every verdict state ------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictRow:
    """A code of the scan ledger in one verdict state, and what its banner must say."""

    state: str
    label: str
    """Its key in ``ScanLedger.codes``."""
    level: str
    """The banner's class: danger (red), caution (amber) or ok (green)."""
    title: dict[str, str]
    advice: dict[str, str]
    """Words of the advice to a consumer of this kind of product, by language."""


_DO_NOT_EAT = {"zh": "请勿食用", "en": "Do not eat it"}
#: One row per state a code of the scan ledger is in. Add a row when a new state gets a code.
VERDICT_ROWS = (
    VerdictRow(
        "recalled", "recalled lot", "danger", {"zh": "已召回", "en": "RECALLED"}, _DO_NOT_EAT
    ),
    VerdictRow(
        "frozen",
        "frozen lot",
        "danger",
        {"zh": "冻结 · 暂停销售", "en": "FROZEN · Sale suspended"},
        _DO_NOT_EAT,
    ),
    VerdictRow(
        "blocked",
        "vaccine dose at the clinic straight from the maker",
        "danger",
        {"zh": "禁止使用", "en": "DO NOT USE"},
        {"zh": "如已接种，请联系接种单位", "en": "contact the clinic"},
    ),
    VerdictRow("expired", "expired unit", "danger", {"zh": "已过期", "en": "EXPIRED"}, _DO_NOT_EAT),
    VerdictRow(
        "attention",
        "lot taken in without certificate",
        "caution",
        {"zh": "请注意", "en": "Attention"},
        {"zh": "购买前请向销售者询问", "en": "ask the seller before buying"},
    ),
    VerdictRow(
        "replaced",
        "voided certificate",
        "caution",
        {"zh": "已换证", "en": "Certificate replaced"},
        {"zh": "请以新合格证为准", "en": "the new one counts"},
    ),
    VerdictRow(
        "ok",
        "sold lot",
        "ok",
        {"zh": "正常", "en": "OK"},
        {"zh": "未发现召回、冻结、过期或未解决的问题", "en": "No recall, freeze, expiry"},
    ),
)
#: States no code of the scan ledger is in yet (none today).
STATES_WITHOUT_A_ROW: frozenset[str] = frozenset()
#: The banner's background by level (base.html: --red, #fff3e0, --green-soft).
BANNER_BACKGROUND = {
    "danger": RED_BANNER,
    "caution": "rgba(255, 243, 224, 1)",
    "ok": "rgba(231, 245, 234, 1)",
}


def test_every_verdict_state_has_a_row_or_is_known_to_have_none() -> None:
    rows = [row.state for row in VERDICT_ROWS]

    assert len(rows) == len(set(rows))
    assert set(rows) | STATES_WITHOUT_A_ROW == set(STATES)
    assert not set(rows) & STATES_WITHOUT_A_ROW


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("row", VERDICT_ROWS, ids=lambda row: row.state)
def test_each_verdict_state_banner_at_phone_size(
    browser: webdriver.Chrome,
    server: str,
    ledger: ScanLedger,
    row: VerdictRow,
    lang: str,
    tmp_path: Path,
) -> None:
    browser.get(f"{server}/c/{ledger.codes[row.label]}?lang={lang}")

    banner = browser.find_element(By.ID, "status")
    assert banner.get_attribute("data-status") == row.state
    assert set(banner.get_attribute("class").split()) == {"banner", row.level}
    assert banner.value_of_css_property("background-color") == BANNER_BACKGROUND[row.level]
    assert banner.is_displayed() and banner.location["y"] < PHONE[1] / 3
    heading = banner.find_element(By.TAG_NAME, "h1").text
    assert heading == f"{'✓' if row.level == 'ok' else '⚠'} {row.title[lang]}"
    advice = banner.find_element(By.CLASS_NAME, "advice").text
    assert row.advice[lang] in advice
    if lang == "zh" and row.level == "danger":
        food = row.advice is _DO_NOT_EAT
        assert ("请勿食用" in advice) == food, "only food is 'not to be eaten'; a vaccine is not"
    if row.state != "ok":
        assert banner.find_elements(By.CLASS_NAME, "reason"), "a warning says why"
    width, _height = content_size(browser)
    assert width <= PHONE[0], "no sideways scrolling on a phone"
    for directory in _screenshot_dirs(tmp_path):
        path = phone_screenshot(browser, directory / f"verdict-{row.state}-{lang}.png")
        assert _png_size(path) == PHONE


def _screenshot_dirs(tmp_path: Path) -> list[Path]:
    """The test's own directory and, when SUYUAN_SCREENSHOTS is set, that one."""
    chosen = os.environ.get("SUYUAN_SCREENSHOTS")
    return [tmp_path, *([Path(chosen)] if chosen else [])]


def phone_screenshot(driver: webdriver.Chrome, path: Path) -> Path:
    """A PNG of the first screenful, as the phone shows it."""
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "clip": {"x": 0, "y": 0, "width": PHONE[0], "height": PHONE[1], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)
