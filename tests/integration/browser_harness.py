"""What the browser tests share: Debian's headless Chromium with JavaScript off, and a query
service served by uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"


def require_chromium() -> None:
    """Fail (not skip) without the browser: ``make test`` installs it."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            "needs Debian's chromium and chromium-driver (make test installs them: "
            "infra/scripts/ensure-test-tools.sh)"
        )


@contextmanager
def served(app: Any, *, lifespan: str) -> Iterator[str]:
    """The base URL of ``app`` served by uvicorn in a thread on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        assert time.monotonic() < deadline, "the query service did not start"
        assert thread.is_alive(), "the query service stopped while starting"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def headless_chromium(
    window: tuple[int, int], *, javascript: bool = False
) -> Iterator[webdriver.Chrome]:
    """Headless Chromium, Chinese first, with JavaScript off (the pages need no script) unless
    ``javascript`` (the scan page's own proof check is a script)."""
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
        f"--window-size={window[0]},{window[1]}",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    # Headless Chromium asks for en-US whatever --lang says; the pages follow Accept-Language.
    prefs: dict[str, object] = {"intl.accept_languages": "zh-CN,zh"}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
