"""The scan page checks its own proofs in the browser (WebCrypto: Ed25519 and SHA-256), in real
headless Chromium: "verified" only when the check ran and passed, a red warning when a proof
was tampered with on the way, a note when the records are not checkpointed yet, and nothing at
all without JavaScript."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from suyuan.ledger import load_or_create_ledger_key
from suyuan.scenario import vegetable_certificate
from suyuan.tlog import Cosigner
from suyuan.witness import Witness, WitnessEndpoint, Witnessing, WitnessState, http_post
from suyuan_witness.app import create_app as witness_app
from tests.integration.browser_harness import (
    ARTIFACTS,
    headless_chromium,
    require_chromium,
    served,
)
from tests.integration.test_trace_api import LEDGER_NAME, Query, start_query

PHONE = (390, 844)


class TamperProofs:
    """Between the page and the service, changes the proofs ``/v1/events/…`` answers: what a
    compromised server or a man in the middle would serve."""

    def __init__(self, app: Any, change: str) -> None:
        self.app = app
        self.change = change

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/events/"):
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []
        start: dict[str, Any] = {}

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                parts.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = self._tamper(b"".join(parts))
                    headers = [
                        (k, str(len(body)).encode() if k == b"content-length" else v)
                        for k, v in start["headers"]
                    ]
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, keep)

    def _tamper(self, body: bytes) -> bytes:
        answer = json.loads(body)
        proof = answer.get("proof")
        if proof:
            if self.change == "path" and proof["hashes"]:
                first = proof["hashes"][0]
                proof["hashes"][0] = ("A" if first[0] != "A" else "B") + first[1:]
            elif self.change == "checkpoint":
                # Another tree head under the ledger's name: the signature no longer holds.
                lines = proof["checkpoint"].split("\n")
                lines[1] = str(int(lines[1]) + 1)
                proof["checkpoint"] = "\n".join(lines)
                proof["tree_size"] += 1
        return json.dumps(answer).encode()


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("proofcheck")
    # Signed at start-up, then not for an hour: what is appended later stays uncovered.
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp, checkpoint_interval=3600)


def _check(url: str, *, javascript: bool = True, shot: str | None = None) -> Any:
    with headless_chromium(PHONE, javascript=javascript) as browser:
        browser.get(url)
        box = browser.find_element(By.ID, "browser-check")
        if javascript:
            WebDriverWait(browser, 20).until(lambda _: box.get_attribute("class"))
        if shot:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(ARTIFACTS / f"scan-proof-{shot}.png"))
        return box.get_attribute("class"), box.text, box.is_displayed()


def _page(query: Query, code: str) -> str:
    return f"/c/{quote(code, safe='()')}"


def test_the_page_verifies_its_records_in_the_browser(query: Query) -> None:
    with served(query.client.app, lifespan="off") as server:
        kind, text, shown = _check(server + _page(query, query.codes["sold lot"]), shot="ok")
    assert (kind, shown) == ("browser-check verified", True)
    assert text.startswith("已在浏览器中验证：本页")
    assert f"{query.verifier.key_id:08x}" in text


def test_a_tampered_audit_path_is_shown_in_red(query: Query) -> None:
    with served(TamperProofs(query.client.app, "path"), lifespan="off") as server:
        kind, text, _ = _check(server + _page(query, query.codes["sold lot"]), shot="tampered")
    assert kind == "browser-check failed"
    assert text.startswith("浏览器验证失败")


def test_a_checkpoint_the_ledger_did_not_sign_is_shown_in_red(query: Query) -> None:
    with served(TamperProofs(query.client.app, "checkpoint"), lifespan="off") as server:
        kind, _, _ = _check(server + _page(query, query.codes["sold lot"]))
    assert kind == "browser-check failed"


def test_without_javascript_nothing_claims_a_check(query: Query) -> None:
    with served(query.client.app, lifespan="off") as server:
        kind, _, shown = _check(server + _page(query, query.codes["sold lot"]), javascript=False)
    assert shown is False and not kind


def test_records_not_yet_checkpointed_are_not_called_verified(query: Query) -> None:
    s = query.scenario
    lot = s.unit_code(item="10080", lot="NEW01")
    query.append(query.importer.key, [vegetable_certificate(s, query.importer, lot)])
    with served(query.client.app, lifespan="off") as server:
        kind, text, _ = _check(server + _page(query, lot) + "?lang=en")
    assert kind == "browser-check unable"
    assert "not yet covered by a ledger checkpoint" in text


def test_the_script_is_ours_and_the_page_allows_only_it(query: Query) -> None:
    page = query.client.get(_page(query, query.codes["sold lot"]))
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert 'src="/static/scan-check.js"' in page.text
    script = query.client.get("/static/scan-check.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "crypto.subtle" in script.text
    assert "http://" not in script.text and "https://" not in script.text  # nothing remote


@pytest.fixture(scope="module")
def witnessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    """A ledger whose two witnesses cosign every checkpoint it signs."""
    require_chromium()
    tmp = tmp_path_factory.mktemp("witnessed")
    ledger_key = load_or_create_ledger_key(tmp / "ledger.key", LEDGER_NAME).verifier
    cosigners = [Cosigner.generate(f"witness.example/w{n}") for n in (1, 2)]
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(
                served(
                    witness_app(Witness(c, [ledger_key], WitnessState(tmp / f"w{n}.sqlite"))),
                    lifespan="off",
                )
            )
            for n, c in enumerate(cosigners)
        ]
        entries = tuple(f"{u} {c.verifier.to_key()}" for u, c in zip(urls, cosigners, strict=True))
        url = f"sqlite:///{tmp / 'ledger.sqlite'}"
        yield from start_query(url, tmp, checkpoint_interval=3600, witnesses=entries)


def test_the_page_requires_its_witnesses_cosignatures(
    witnessed: Query,
) -> None:
    query = witnessed
    with served(query.client.app, lifespan="off") as server:
        kind, text, _ = _check(server + _page(query, query.codes["sold lot"]), shot="witnessed")
    assert kind == "browser-check verified"
    assert "检查点已由 2 个独立见证方共同签署" in text


def test_a_checkpoint_without_its_witnesses_is_not_called_verified(
    witnessed: Query,
) -> None:
    query = witnessed
    access = query.client.app.state.context.ledger
    endpoints = [
        WitnessEndpoint.parse(e) for e in query.client.app.state.context.settings.witnesses
    ]
    # The second witness is unreachable when the next checkpoint is signed.
    access.witnessing = Witnessing(
        access.ledger,
        [endpoints[0], WitnessEndpoint("http://127.0.0.1:9", endpoints[1].verifier)],
        http_post(timeout=1.0),
    )
    s = query.scenario
    lot = s.unit_code(item="10082", lot="WIT01")
    query.append(query.importer.key, [vegetable_certificate(s, query.importer, lot)])
    assert access.sign_moved() >= 1
    with served(query.client.app, lifespan="off") as server:
        kind, text, _ = _check(server + _page(query, lot))
    assert kind == "browser-check unable"
    assert "缺少足够的见证方签署" in text
