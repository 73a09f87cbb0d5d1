"""The trace query API (design.md §7, §8) on the demo ledger: SQLite, and once on PostgreSQL.

The app runs in-process (FastAPI's TestClient). The ledger holds the demo chain (farm → market
→ supermarket, a voided certificate, a recall), loaded through the one write path, plus:

- a custodial key for the demo's regulator 杭州市市场监督管理局, registered by the root key;
- two more regulators: 宁波 (region 330200) with no custodial key, 温州 (330300) with one the
  trust chain never registered;
- a cold-chain importer whose GS1 lot holds a ``/``.

Proofs are checked with the ledger's public key and ``suyuan.merkle`` / ``suyuan.tlog``, never
with the service's own word.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import qrcode
import qrcode.constants
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token, revoke_token
from suyuan.codes import new_certificate_code, scan_url
from suyuan.config import Settings
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.events import decode_batch, decode_event
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    Leaf,
    SqlLedgerStore,
    leaf_from_receipt,
    load_or_create_ledger_key,
)
from suyuan.merkle import leaf_hash, verify_consistency, verify_inclusion
from suyuan.scenario import Organisation, Scenario
from suyuan.signing import SigningKey
from suyuan.tlog import NoteVerifier, Receipt, open_checkpoint, verify_receipt
from suyuan_trace_query._ratelimit import TokenBucketLimiter
from suyuan_trace_query.app import create_app
from tests.databases import fresh_database
from tests.demo_ledger import load_demo

BASE_URL = "https://trace.example.cn"
LEDGER_NAME = "test.local/ledger"
ORIGIN = f"{LEDGER_NAME}/shard/0"
BUREAU = "杭州市市场监督管理局"
FARM = "临安区太湖源蔬菜专业合作社"
MARKET = "杭州农副产品物流中心"
SHOP = "联华超市（文三路店）"
# Commercial details of the demo that the public view must never show.
PRIVATE_DEMO_VALUES = (
    "ZJYD202605060031",  # waybill farm → market
    "HZNF-0506-118",  # waybill market → supermarket
    "LH0571-20260506-88123",  # supermarket receipt
    "浙A·D12345",  # vehicle plate
    "0571-63781234",  # contact telephone on the certificates
)


@dataclass
class Query:
    """A running query API, the ledger behind it and the demo's names and codes."""

    client: TestClient
    store: SqlLedgerStore
    writer: LedgerWriter
    scenario: Scenario
    verifier: NoteVerifier
    organisations: dict[str, str]
    """Registered name → USCC."""
    codes: dict[str, str]
    case: str
    slash_code: str
    importer: Organisation
    market_key: SigningKey
    regulator_token: str
    admin_token: str
    farm_token: str
    importer_token: str
    ningbo_token: str
    wenzhou_token: str

    @property
    def market(self) -> str:
        return self.organisations[MARKET]

    @property
    def shop(self) -> str:
        return self.organisations[SHOP]

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(path, headers=headers, params=params or None)

    def trace(self, code: str, token: str | None = None) -> Any:
        return self.get(f"/v1/trace/{quote(code, safe='()')}", token)

    def recall(self, body: dict[str, Any], token: str | None = None) -> Any:
        headers = {
            "Authorization": f"Bearer {token or self.regulator_token}",
            "Content-Type": "application/json",
        }
        # ASCII JSON: a lone surrogate travels as the escape "\\ud800", as a hostile client sends it
        return self.client.post("/v1/recalls", content=json.dumps(body), headers=headers)

    def event_id(self, event_type: str, actor: str) -> str:
        for entry in self.store.entries(0):
            event = decode_event(Leaf.from_bytes(entry.leaf).event)
            if event.event_type == event_type and event.actor == actor:
                return event.event_id
        raise AssertionError(f"no {event_type} by {actor}")

    def leaf_of(self, event_id: str) -> bytes:
        return self.store.entry(*self.store.locate(event_id)).leaf

    def append(self, signer: SigningKey, events: list[Event]) -> None:
        message = Message(f"test#{uuid.uuid4()}", self.scenario.sign(signer, events))
        result = self.writer.write(0, [message])
        assert result.accepted == len(events), result.rejections


def _demo_facts(messages: list[bytes], lot: str) -> tuple[dict[str, str], str]:
    """Registered name → USCC, and the case (SSCC) the farm packed ``lot`` into."""
    names: dict[str, str] = {}
    case = None
    for message in messages:
        for data in decode_batch(message).events:
            event = decode_event(data)
            if event.event_type == "OrganisationRegistered":
                names[str(event.payload["name"])] = str(event.payload["uscc"])
            elif event.event_type == "Aggregated" and lot in event.payload["child_codes"]:
                case = str(event.payload["parent_code"])
    assert case is not None
    return names, case


def _certificate(s: Scenario, issuer: Organisation, code: str) -> Event:
    return s.event(
        issuer,
        "CertificateIssued",
        {
            "issuer_type": "PRODUCER",
            "product_name": "冷冻去骨牛肉",
            "category": "LIVESTOCK",
            "origin": "浙江省宁波市北仑区",
            "origin_region_code": "330206",
            "issue_date": s.clock.date().isoformat(),
            "contact": "0574-86881234",
            "commitment": "未使用禁用农药、兽药及其他化合物；使用的常规农药、兽药残留不超标",
            "basis": "QUALITY_CONTROL",
            "inspection_event_id": None,
            "upstream_certificates": [],
        },
        codes=[s.certificate_code(), code],
        quantity="960",
        unit="kg",
    )


def start_query(
    url: str,
    tmp_path: Path,
    *,
    rate_per_second: float = 0.0,
    burst: int = 100,
    checkpoint_interval: float = 5.0,
    witnesses: tuple[str, ...] = (),
) -> Iterator[Query]:
    key_file = tmp_path / "ledger.key"
    signer = load_or_create_ledger_key(key_file, LEDGER_NAME)
    data, store = load_demo(url, verifier=signer.verifier)
    engine = store.engine
    s = data.scenario
    writer = LedgerWriter(store, [s.root])
    names, case = _demo_facts(data.messages, data.codes["sold lot"])

    master = secrets.token_bytes(32)
    bureau = names[BUREAU]
    custodial = create_custodial_key(engine, master, bureau)
    ningbo = s.organisation(
        "宁波市市场监督管理局", ["REGULATOR"], "330200", "宁波市", registrar="1"
    )
    wenzhou = s.organisation(
        "温州市市场监督管理局", ["REGULATOR"], "330300", "温州市", registrar="1"
    )
    # It also farms: the certificates below are a producer's (docs/authority.md).
    importer = s.organisation(
        "宁波北仑冷链食品有限公司", ["IMPORTER", "PRODUCER"], "330206", "宁波市北仑区"
    )
    create_custodial_key(engine, master, wenzhou.uscc)  # never registered in the trust chain
    market_key = SigningKey.generate()
    trust = [
        key_registration_event(s.regulator_uscc, bureau, custodial),
        key_registration_event(s.regulator_uscc, names[MARKET], market_key.verify_key),
        *s.registration(ningbo, wenzhou, importer),
    ]
    assert writer.write(TRUST_SHARD, [Message("setup", s.sign_as_root(trust))]).accepted == len(
        trust
    )
    slash_code = s.unit_code(item="10041", lot="BR/2026/05")
    writer.write(0, [Message("slash", s.sign(importer, [_certificate(s, importer, slash_code)]))])

    settings = Settings(
        database_url=url,
        ledger_key_file=str(key_file),
        ledger_name=LEDGER_NAME,
        public_base_url=BASE_URL,
        checkpoint_interval_seconds=checkpoint_interval,
        witnesses=witnesses,
    )
    app = create_app(
        settings.model_copy(
            update={
                **dict(custody_master_key=SecretStr(base64.b64encode(master).decode())),
                **dict(query_rate_limit_per_second=rate_per_second, query_rate_limit_burst=burst),
            }
        ),
        store=store,
    )
    with TestClient(app) as client:
        yield Query(
            client=client,
            store=store,
            writer=writer,
            scenario=s,
            verifier=signer.verifier,
            organisations=names,
            codes=data.codes,
            case=case,
            slash_code=slash_code,
            importer=importer,
            market_key=market_key,
            regulator_token=create_token(engine, "regulator", region="330100"),
            admin_token=create_token(engine, "admin"),
            farm_token=create_token(engine, "producer", organisation=names[FARM]),
            importer_token=create_token(engine, "producer", organisation=importer.uscc),
            ningbo_token=create_token(engine, "regulator", region="330200"),
            wenzhou_token=create_token(engine, "regulator", region="330300"),
        )
    store.close()


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    """One demo ledger for the tests that only read (and sign checkpoints)."""
    tmp = tmp_path_factory.mktemp("query")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


@pytest.fixture
def fresh_query(tmp_path: Path) -> Iterator[Query]:
    """A demo ledger of its own, for a test that appends to it."""
    yield from start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)


@pytest.fixture
def quick_query(tmp_path: Path) -> Iterator[Query]:
    """A demo ledger of its own whose service signs a checkpoint every 50 ms."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    yield from start_query(url, tmp_path, checkpoint_interval=0.05)


def holder_quantities(holders: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    return {
        h["organisation"]: [(q["quantity"], q["unit"]) for q in h["quantities"]] for h in holders
    }


# --- trace: views ---------------------------------------------------------------------------------


def test_public_trace_is_the_consumer_view(query: Query) -> None:
    response = query.trace(query.codes["sold lot"])

    assert response.status_code == 200
    body = response.json()
    assert body["view"] == "public"
    assert body["status"] == "ok"
    assert body["forward"] is None
    assert body["origin"]["place"] == "浙江省杭州市临安区太湖源镇白沙村"
    assert {e["event_type"] for e in body["custody"]} >= {"Shipped", "Received", "Sold"}
    for private in PRIVATE_DEMO_VALUES:
        assert private not in response.text


def test_regulator_trace_adds_forward_codes_and_holders(query: Query) -> None:
    response = query.trace(query.case, query.regulator_token)

    assert response.status_code == 200
    body = response.json()
    assert body["view"] == "full"
    assert body["forward"]["codes"] == [query.codes["sold lot"]]
    market, shop = query.market, query.shop
    assert holder_quantities(body["forward"]["holders"]) == {
        market: [("500", "kg")],
        shop: [("120", "kg")],
    }
    assert "ZJYD202605060031" in response.text  # the full view keeps the waybill


def test_admin_token_gets_the_full_view(query: Query) -> None:
    body = query.trace(query.case, query.admin_token).json()

    assert body["view"] == "full"
    assert body["forward"]["holders"]


def test_producer_sees_in_full_only_what_it_took_part_in(query: Query) -> None:
    own = query.trace(query.codes["sold lot"], query.farm_token).json()
    other = query.trace(query.codes["sold lot"], query.importer_token)

    assert own["view"] == "full"
    assert own["forward"] is not None
    assert other.json()["view"] == "public"
    assert other.json()["forward"] is None
    for private in PRIVATE_DEMO_VALUES:
        assert private not in other.text


def test_trace_statuses_of_the_demo(query: Query) -> None:
    assert query.trace(query.codes["recalled lot"]).json()["status"] == "recalled"
    assert query.trace(query.codes["voided certificate"]).json()["status"] == "replaced"


def test_bad_token_is_401_not_public(query: Query) -> None:
    response = query.trace(query.codes["sold lot"], "sy_" + "A" * 32)

    assert response.status_code == 401
    assert response.json()["reason"] == "unknown_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_regulator_token_is_401_from_its_next_trace_on(query: Query) -> None:
    # the route takes the request guard's check of the token: it must be the refusal too, not
    # the full view nor the public one
    token = create_token(query.store.engine, "regulator", region="330100")
    assert query.trace(query.codes["sold lot"], token).json()["view"] == "full"

    revoke_token(query.store.engine, token)
    response = query.trace(query.codes["sold lot"], token)

    assert response.status_code == 401
    assert response.json()["reason"] == "revoked_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --- trace: bad and odd codes ---------------------------------------------------------------------


def test_malformed_code_is_400_naming_the_field_and_rule(query: Query) -> None:
    good = query.codes["clean certificate"]
    mistyped = good[:-1] + ("0" if good[-1] != "0" else "1")

    response = query.trace(mistyped)

    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "invalid_code"
    assert body["field"] == "code"
    assert "check character" in body["rule"]
    assert body["value"] == mistyped


def test_unknown_code_is_404_with_a_clear_message(query: Query) -> None:
    unknown = new_certificate_code()

    response = query.trace(unknown)

    assert response.status_code == 404
    assert response.json()["detail"] == f"no events recorded for code {unknown}"


def test_gs1_lot_with_a_slash_is_sent_as_2f(query: Query) -> None:
    encoded = quote(query.slash_code, safe="()")
    assert "%2F" in encoded

    response = query.get(f"/v1/trace/{encoded}")

    assert response.status_code == 200
    assert response.json()["code"] == query.slash_code
    assert response.json()["product"]["name"] == "冷冻去骨牛肉"


def test_any_accepted_spelling_finds_the_canonical_code(query: Query) -> None:
    code = query.codes["clean certificate"]
    spelled = f"{code[:4].lower()}-{code[4:8].lower()} {code[8:]}"

    assert query.trace(spelled).json()["code"] == code
    assert query.trace(scan_url("https://elsewhere.example", code)).json()["code"] == code


HOSTILE_PATHS = [
    "/v1/trace/' OR '1'='1' --",
    "/v1/trace/(01)09506000134352(10)x'; DROP TABLE ledger_entries; --",
    "/v1/trace/..%2F..%2F..%2Fetc%2Fpasswd",
    "/v1/trace/" + "A" * 10_000,
    "/v1/trace/%ff%fe%fd",
    "/v1/trace/%00%01%02",
    "/v1/trace/%E4%B8",
    "/v1/trace/<script>alert(1)</script>",
    "/v1/trace/",
    "/v1/events/' OR 1=1 --",
    "/v1/events/" + "9" * 10_000,
    "/v1/events/%00",
    "/v1/ledger/proof/..%2F..%2Fetc%2Fpasswd",
    "/v1/ledger/checkpoint?shard=-1",
    "/v1/ledger/checkpoint?shard=99999999999999999999",
    "/v1/ledger/consistency?old=abc&new=1",
    "/v1/codes/%ff%fe/qr.svg",
    "/v1/codes/" + "B" * 10_000 + "/qr.png",
    "/v1/recalls/' OR 1=1 --",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=lambda p: p[:40])
def test_hostile_input_is_refused_with_4xx(query: Query, path: str) -> None:
    token = query.regulator_token if path.startswith("/v1/recalls") else None

    response = query.get(path, token)

    assert 400 <= response.status_code < 500, response.text
    assert response.json()["reason"]
    assert "Traceback" not in response.text


# --- events and proofs ---------------------------------------------------------------------------


def test_event_with_inclusion_proof_that_verifies(query: Query) -> None:
    sale = query.event_id("Sold", query.shop)

    response = query.get(f"/v1/events/{sale}")

    assert response.status_code == 200
    body = response.json()
    assert body["view"] == "public"
    assert body["event"]["event_type"] == "Sold"
    assert "receipt_no" not in body["event"]["payload"]
    assert body["ledger"]["leaf"] is None
    shard, seq = query.store.locate(sale)
    assert (body["ledger"]["shard"], body["ledger"]["seq"]) == (shard, seq)
    stored_leaf_hash = leaf_hash(query.leaf_of(sale))
    assert base64.b64decode(body["ledger"]["leaf_hash"]) == stored_leaf_hash
    proof = body["proof"]
    checkpoint = open_checkpoint(proof["checkpoint"], query.verifier, origin=ORIGIN)
    assert proof["leaf_index"] == seq
    verify_inclusion(
        stored_leaf_hash,
        seq,
        checkpoint.size,
        [base64.b64decode(h) for h in proof["hashes"]],
        checkpoint.root_hash,
    )


def test_event_in_full_for_a_regulator_with_its_leaf(query: Query) -> None:
    sale = query.event_id("Sold", query.shop)

    body = query.get(f"/v1/events/{sale}", query.regulator_token).json()

    assert body["view"] == "full"
    assert body["event"]["payload"]["receipt_no"] == "LH0571-20260506-88123"
    assert base64.b64decode(body["ledger"]["leaf"]) == query.leaf_of(sale)


def test_an_adverse_event_report_is_not_public(query: Query) -> None:
    report = next(
        decode_event(Leaf.from_bytes(entry.leaf).event)
        for entry in query.store.entries(0)
        if decode_event(Leaf.from_bytes(entry.leaf).event).event_type == "AdverseEventReported"
    )
    dose = report.codes[0]

    public = query.get(f"/v1/events/{report.event_id}")
    receipt = query.get(f"/v1/ledger/proof/{report.event_id}")
    regulator = query.get(f"/v1/events/{report.event_id}", query.regulator_token)
    public_trace = query.trace(dose)

    # Answered like an unknown id: the public does not learn that a report exists.
    assert public.status_code == receipt.status_code == 404
    assert public.json()["detail"] == f"no ledger entry has event id {report.event_id}"
    assert "接种部位红肿" not in public.text + receipt.text
    assert regulator.status_code == 200
    assert regulator.json()["event"]["payload"]["symptoms"].startswith("接种部位红肿")
    assert public_trace.status_code == 200
    assert "AdverseEventReported" not in public_trace.text
    assert "接种部位红肿" not in public_trace.text


def test_unknown_event_is_404_and_a_bad_id_400(query: Query) -> None:
    missing = query.get(f"/v1/events/{uuid.uuid4()}")
    bad = query.get("/v1/events/not-a-uuid")

    assert missing.status_code == 404
    assert "no ledger entry" in missing.json()["detail"]
    assert bad.status_code == 400
    assert bad.json()["field"] == "event_id"


def test_polling_never_makes_the_service_sign(fresh_query: Query) -> None:
    query = fresh_query  # a ledger of its own: this test appends to it
    first = query.get("/v1/ledger/checkpoint")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    before = open_checkpoint(first.text, query.verifier, origin=ORIGIN)
    assert before.size == query.store.head(0).size  # signed at start-up
    another = _certificate(query.scenario, query.importer, query.scenario.unit_code(lot="X1"))
    query.append(query.importer.key, [another])
    signed = len(query.store.checkpoints(0))

    notes = {query.get("/v1/ledger/checkpoint").text for _ in range(20)}
    event = query.get(f"/v1/events/{another.event_id}")
    receipt = query.get(f"/v1/ledger/proof/{another.event_id}")

    assert notes == {first.text}
    assert len(query.store.checkpoints(0)) == signed
    assert event.status_code == 200 and event.json()["proof"] is None
    assert receipt.status_code == 503
    assert receipt.json()["reason"] == "not_yet_checkpointed"
    assert int(receipt.headers["Retry-After"]) >= 1


def test_checkpoint_is_signed_on_schedule_when_the_head_moves(quick_query: Query) -> None:
    query = quick_query
    before = open_checkpoint(query.get("/v1/ledger/checkpoint").text, query.verifier, origin=ORIGIN)
    another = _certificate(query.scenario, query.importer, query.scenario.unit_code(lot="X1"))
    query.append(query.importer.key, [another])

    after = before
    deadline = time.monotonic() + 10
    while after.size == before.size and time.monotonic() < deadline:
        time.sleep(0.05)
        note = query.get("/v1/ledger/checkpoint").text
        after = open_checkpoint(note, query.verifier, origin=ORIGIN)

    assert after.size == before.size + 1
    assert query.get(f"/v1/events/{another.event_id}").json()["proof"]["tree_size"] == after.size
    proof = query.get("/v1/ledger/consistency", old=before.size, new=after.size).json()
    assert base64.b64decode(proof["old_root"]) == before.root_hash
    verify_consistency(
        before.size,
        after.size,
        before.root_hash,
        after.root_hash,
        [base64.b64decode(h) for h in proof["proof"]],
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"old": 5, "new": 3}, "old"),
        ({"old": 1, "new": 10_000}, "new"),
        ({"old": -1, "new": 3}, "old"),
    ],
)
def test_consistency_refuses_bad_sizes(query: Query, params: dict[str, int], field: str) -> None:
    response = query.get("/v1/ledger/consistency", **params)

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_unknown_shard_is_404(query: Query) -> None:
    assert query.get("/v1/ledger/checkpoint", shard=7).status_code == 404
    assert query.get("/v1/ledger/consistency", shard=7, old=0, new=0).status_code == 404


def test_receipt_verifies_offline(query: Query) -> None:
    sale = query.event_id("Sold", query.shop)

    full = query.get(f"/v1/ledger/proof/{sale}", query.regulator_token)
    public = query.get(f"/v1/ledger/proof/{sale}")

    assert full.status_code == 200
    leaf = leaf_from_receipt(Receipt.parse(full.text))
    assert leaf == query.leaf_of(sale)
    verified = verify_receipt(full.text, query.verifier, leaf_data=leaf, origin=ORIGIN)
    assert verified.receipt.index == query.store.locate(sale)[1]
    # The public receipt proves the same leaf but does not carry its bytes.
    assert Receipt.parse(public.text).extra is None
    verify_receipt(public.text, query.verifier, leaf_hash=leaf_hash(leaf), origin=ORIGIN)


def test_proofs_answer_503_without_a_ledger_key(query: Query, tmp_path: Path) -> None:
    settings = Settings(
        database_url="sqlite://", ledger_key_file=str(tmp_path / "missing.key"), ledger_name="x"
    )
    signed = query.get("/v1/ledger/checkpoint").text  # by the service that holds the key
    app = create_app(settings, store=query.store)
    sale = query.event_id("Sold", query.shop)

    with TestClient(app) as client:
        receipt = client.get(f"/v1/ledger/proof/{sale}")
        consistency = client.get("/v1/ledger/consistency", params={"old": 1, "new": 2})
        event = client.get(f"/v1/events/{sale}")
        checkpoint = client.get("/v1/ledger/checkpoint")

    assert app.state.context.ledger.ledger is None
    assert receipt.status_code == consistency.status_code == 503
    assert "holds no ledger key" in receipt.json()["detail"]
    assert "missing.key" in receipt.json()["detail"]
    assert event.status_code == 200
    assert event.json()["proof"] is None
    # The newest stored checkpoint is still served: readers verify it with the ledger's key.
    assert checkpoint.text == signed
    assert not (tmp_path / "missing.key").exists()


# --- QR images ------------------------------------------------------------------------------------


def qr_modules(text: str) -> list[list[bool]]:
    """The QR symbol the service should draw for ``text`` (error correction M, no border)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def test_qr_svg_draws_the_scan_url(query: Query) -> None:
    code = query.codes["clean certificate"]

    response = query.get(f"/v1/codes/{code}/qr.svg")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    modules = qr_modules(scan_url(BASE_URL, code))
    side = len(modules) + 8  # the quiet zone: 4 modules each side
    assert root.attrib["viewBox"] == f"0 0 {side} {side}"
    dark = {tuple(map(int, m)) for m in re.findall(r"M(\d+),(\d+)H", root[0].attrib["d"])}
    expected = {(x + 4, y + 4) for y, row in enumerate(modules) for x, on in enumerate(row) if on}
    assert dark == expected


def test_qr_png_is_a_png_of_the_scan_url(query: Query) -> None:
    import png  # pypng: what qrcode draws PNG images with (qrcode[png])

    code = query.slash_code

    response = query.get(f"/v1/codes/{quote(code, safe='()')}/qr.png", box=1)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, rows, _info = png.Reader(bytes=response.content).read()
    pixels = [list(row) for row in rows]
    modules = qr_modules(scan_url(BASE_URL, code))
    assert width == height == len(modules) + 8
    assert [[p == 0 for p in row[4:-4]] for row in pixels[4:-4]] == modules


def test_qr_png_decodes_to_the_scan_url(query: Query, tmp_path: Path) -> None:
    code = query.slash_code
    response = query.get(f"/v1/codes/{quote(code, safe='()')}/qr.png")
    assert response.status_code == 200, response.text
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg (Debian zbar-tools) is not on PATH: make test installs it")
    image = tmp_path / "qr.png"
    image.write_bytes(response.content)

    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    )

    assert decoded.stdout.strip() == scan_url(BASE_URL, code)
    assert "%2F" in decoded.stdout


def test_qr_of_a_malformed_code_is_400(query: Query) -> None:
    response = query.get("/v1/codes/NOT-A-CODE/qr.svg")

    assert response.status_code == 400
    assert response.json()["field"] == "code"


# --- recalls --------------------------------------------------------------------------------------


def test_regulator_starts_a_recall_and_the_codes_trace_as_recalled(fresh_query: Query) -> None:
    query = fresh_query  # a ledger of its own: this test appends to it
    lot = query.codes["sold lot"]
    assert query.trace(lot).json()["status"] == "ok"
    reason = "监督抽检毒死蜱超标"

    response = query.recall({"root_codes": [query.case], "reason": reason, "level": "LEVEL_2"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["event_id"] == body["recall_id"]
    assert response.headers["Location"] == f"/v1/recalls/{body['recall_id']}"
    assert body["regulator"] == query.organisations[BUREAU]
    assert body["codes"] == {
        "count": 2,
        "listed": sorted([query.case, lot]),
        "truncated": False,
        "complete": True,
    }
    market, shop, farm = query.market, query.shop, query.organisations[FARM]
    # The farm that packed the case is listed too: it made the goods.
    assert holder_quantities(body["holders"]) == {
        farm: [("500", "kg")],
        market: [("500", "kg")],
        shop: [("120", "kg")],
    }
    assert body["ledger"]["seq"] == query.store.head(0).size - 1
    assert body["progress"]["outstanding"] == [farm, *sorted([market, shop])]
    trace = query.trace(lot).json()
    assert trace["status"] == "recalled"
    assert reason in trace["reasons"]
    report = Auditor(
        query.store,
        query.verifier,
        [query.scenario.root],
        ledger_name=LEDGER_NAME,
    )
    assert report.run().ok


def test_a_unit_of_a_lot_shows_the_lot_s_certificate_and_recall(fresh_query: Query) -> None:
    """A serialised unit ``(01)…(10)LOT(21)…`` is part of its lot: a shopper scanning it, or
    the case it was packed in, sees the lot's 合格证 and, once the lot is recalled, red — though
    no event ever linked the unit to the lot code (docs/codes.md "Lots and their units")."""
    query = fresh_query
    s = query.scenario
    lot = query.slash_code  # the importer's certified lot (01)…(10)BR/2026/05
    units = [f"{lot}(21){n:04d}" for n in range(1, 4)]
    case = s.sscc()
    other_lot_unit = s.unit_code(item="10041", lot="BR/2026/06", serial="0001")
    packing = s.event(
        query.importer,
        "Aggregated",
        {"parent_code": case, "child_codes": [*units, other_lot_unit]},
        codes=[case, *units, other_lot_unit],
    )
    query.append(query.importer.key, [packing])
    before = query.trace(units[0]).json()
    assert before["status"] == "ok"
    assert [lot in e["codes"] for e in before["certificates"]] == [True]
    reason = "进口冷冻牛肉核酸检测阳性"

    recall = s.event(
        query.importer,
        "RecallInitiated",
        {"recall_id": str(uuid.uuid4()), "root_codes": [lot], "reason": reason, "level": "LEVEL_1"},
        codes=[lot],
    )

    query.append(query.importer.key, [recall])  # the producer recalls its own lot

    for code in [*units, case]:
        trace = query.trace(code).json()
        assert trace["status"] == "recalled", code
        assert reason in trace["reasons"]
    assert query.trace(other_lot_unit).json()["status"] == "ok"
    page = query.client.get(f"/c/{units[1]}").text
    assert "已召回" in page and reason in page


def test_a_lot_s_recall_reaches_the_holders_of_its_units(fresh_query: Query) -> None:
    """A recall of a lot is a recall of its units (docs/recalls.md): the market that took a
    case of them — no event linking the units to the lot code — is a holder in scope, shown in
    the regulator's forward view, listed as outstanding, and may acknowledge."""
    query = fresh_query
    s = query.scenario
    lot = query.slash_code  # the importer's certified lot (01)…(10)BR/2026/05
    units = [f"{lot}(21){n:04d}" for n in range(1, 3)]
    case = s.sscc()
    handover = {"waybill_no": "WB-LOT-UNITS", "vehicle_plate": None, "carrier": None}
    goods: dict[str, Any] = {"codes": [case], "quantity": "2", "unit": "箱"}
    query.append(
        query.importer.key,
        [
            s.event(
                query.importer,
                "Aggregated",
                {"parent_code": case, "child_codes": units},
                codes=[case, *units],
            ),
            s.event(
                query.importer,
                "Shipped",
                {**handover, "to_org": query.market, "destination": None},
                **goods,
            ),
        ],
    )
    received = {"from_org": query.importer.uscc, "waybill_no": "WB-LOT-UNITS"}
    query.append(
        query.market_key,
        [
            s.event(
                query.market,
                "Received",
                {**received, "upstream_certificates": [], "check_passed": True, "check_note": None},
                **goods,
            )
        ],
    )
    recall_id = str(uuid.uuid4())
    reason = "进口冷冻牛肉核酸检测阳性"
    recall = s.event(
        query.importer,
        "RecallInitiated",
        {"recall_id": recall_id, "root_codes": [lot], "reason": reason, "level": "LEVEL_1"},
        codes=[lot],
    )
    query.append(query.importer.key, [recall])

    forward = query.trace(lot, query.regulator_token).json()["forward"]  # the regulator's view
    assert set(units) <= set(forward["codes"])
    assert query.market in {h["organisation"] for h in forward["holders"]}
    body = query.get(f"/v1/recalls/{recall_id}", query.admin_token).json()
    assert set(units) <= set(body["codes"]["listed"])
    assert body["codes"]["truncated"] is False
    assert query.market in body["progress"]["outstanding"]
    acknowledged = s.event(
        query.market,
        "RecallAcknowledged",
        {"recall_id": recall_id, "note": "已下架封存"},
        codes=units,  # what it holds of the lot
        quantity="2",
        unit="箱",
    )
    query.append(query.market_key, [acknowledged])  # accepted: the market holds goods in scope
    body = query.get(f"/v1/recalls/{recall_id}", query.admin_token).json()
    assert query.market in body["progress"]["acknowledged_by"]


def test_recall_progress_counts_acknowledgements(fresh_query: Query) -> None:
    query = fresh_query  # a ledger of its own: this test appends to it
    started = query.recall({"root_codes": [query.case], "reason": "抽检不合格", "level": "LEVEL_1"})
    recall_id = started.json()["recall_id"]
    market = query.market
    acknowledged = query.scenario.event(
        market,
        "RecallAcknowledged",
        {"recall_id": recall_id, "note": "已下架封存"},
        codes=[query.case],
        quantity="500",
        unit="kg",
    )
    query.append(query.market_key, [acknowledged])

    response = query.get(f"/v1/recalls/{recall_id}", query.admin_token, listed=1)

    assert response.status_code == 200
    body = response.json()
    assert body["codes"]["count"] == 2
    assert len(body["codes"]["listed"]) == 1
    assert body["codes"]["truncated"] is True
    assert body["status"] == "open"
    assert body["progress"]["acknowledged_by"] == [market]
    assert body["progress"]["outstanding"] == [query.organisations[FARM], query.shop]


def test_recall_needs_a_regulator_or_producer_token(query: Query) -> None:
    body = {"root_codes": [query.case], "reason": "x", "level": "LEVEL_1"}

    anonymous = query.client.post("/v1/recalls", json=body)
    producer = query.recall(body, query.farm_token)
    admin = query.recall(body, query.admin_token)

    assert anonymous.status_code == 401
    assert admin.status_code == 403
    assert "regulator or producer token" in admin.json()["detail"]
    # A producer may start a recall of its own goods (主动召回): this farm has no key to sign it.
    assert producer.status_code == 409
    assert producer.json()["reason"] == "no_custodial_key"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("ningbo_token", "no_custodial_key"),
        ("wenzhou_token", "unusable_key"),
        ("unregistered_region", "no_regulator"),
    ],
)
def test_recall_is_409_when_the_regulator_cannot_sign(
    query: Query, token: str, reason: str
) -> None:
    if token == "unregistered_region":
        presented = create_token(query.store.engine, "regulator", region="330400")
    else:
        presented = getattr(query, token)
    before = query.store.head(0).size

    response = query.recall(
        {"root_codes": [query.case], "reason": "x", "level": "LEVEL_1"}, presented
    )

    assert response.status_code == 409
    assert response.json()["reason"] == reason
    assert query.store.head(0).size == before


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (
            {"root_codes": ["(01)09506000134353"], "reason": "x", "level": "LEVEL_1"},
            "root_codes[0]",
            "check digit",
        ),
        (
            {"root_codes": ["0K3Q8ZJ5W2HG"], "reason": "x", "level": "LEVEL_1"},
            "root_codes[0]",
            "no events recorded",
        ),
        ({"root_codes": [], "reason": "x", "level": "LEVEL_1"}, "root_codes", "at least 1"),
        ({"root_codes": ["0K3Q8ZJ5W2HG"], "reason": "x", "level": "LEVEL_9"}, "level", "LEVEL_1"),
        ({"root_codes": ["0K3Q8ZJ5W2HG"], "reason": "", "level": "LEVEL_1"}, "reason", "at least"),
        (
            {"root_codes": ["0K3Q8ZJ5W2HG"], "reason": "x", "level": "LEVEL_1", "extra": 1},
            "extra",
            "not permitted",
        ),
        (
            {"root_codes": ["\ud800"], "reason": "x", "level": "LEVEL_1"},
            "root_codes[0]",
            "not a recognised trace code",
        ),
    ],
)
def test_bad_recall_body_is_422_naming_the_field(
    query: Query, body: dict[str, Any], field: str, rule: str
) -> None:
    response = query.recall(body)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert rule in response.json()["rule"]


def test_unknown_recall_is_404(query: Query) -> None:
    missing = query.get(f"/v1/recalls/{uuid.uuid4()}", query.regulator_token)
    not_a_recall = query.get(
        f"/v1/recalls/{query.event_id('Sold', query.shop)}",
        query.regulator_token,
    )

    assert missing.status_code == 404
    assert not_a_recall.status_code == 404
    assert "no recall" in missing.json()["detail"]


# --- rate limit, health, metrics, OpenAPI --------------------------------------------------------


def test_public_callers_are_rate_limited_but_regulators_are_not(tmp_path: Path) -> None:
    for query in start_query(
        f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, rate_per_second=0.01, burst=3
    ):
        code = query.codes["sold lot"]
        answers = [query.trace(code).status_code for _ in range(4)]
        limited = query.trace(code)
        regulator = query.trace(code, query.regulator_token)
        health = query.get("/healthz")
        metrics = query.get("/metrics").text

    assert answers == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["reason"] == "rate_limited"
    assert regulator.status_code == 200
    assert health.status_code == 200
    assert "suyuan_http_rate_limited_total 2.0" in metrics


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(2.0, 2, max_clients=2, clock=lambda: now[0])

    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("b") == 0.0  # another address has its own bucket
    limiter.take("c")  # a third address: the least recently seen ("a") is forgotten
    assert limiter.take("a") == 0.0


def test_health_and_metrics(query: Query) -> None:
    query.trace(query.codes["sold lot"])

    health = query.get("/healthz")
    metrics = query.get("/metrics")

    assert health.json() == {"status": "ok", "proofs": True}
    assert metrics.status_code == 200
    assert 'route="/v1/trace/{code:path}",status="200"' in metrics.text


def test_openapi_publishes_every_route(query: Query) -> None:
    paths = query.get("/openapi.json").json()["paths"]

    for path in (
        "/v1/trace/{code}",
        "/v1/events/{event_id}",
        "/v1/ledger/checkpoint",
        "/v1/ledger/proof/{event_id}",
        "/v1/ledger/consistency",
        "/v1/codes/{code}/qr.svg",
        "/v1/codes/{code}/qr.png",
        "/v1/recalls",
        "/v1/recalls/{recall_id}",
        "/healthz",
        "/metrics",
    ):
        assert path in paths


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def postgres_query(postgres_url: str, tmp_path: Path) -> Iterator[Query]:
    with fresh_database(postgres_url, "query") as url:
        yield from start_query(url, tmp_path)


@pytest.mark.integration
def test_trace_proofs_and_recall_on_postgresql(postgres_query: Query) -> None:
    query = postgres_query
    lot = query.codes["sold lot"]
    assert query.trace(lot).json()["view"] == "public"
    assert query.get("/v1/trace/%00' OR 1=1").status_code == 400
    assert query.get("/v1/events/%00").status_code == 400

    started = query.recall({"root_codes": [query.case], "reason": "抽检不合格", "level": "LEVEL_1"})
    receipt = query.get(f"/v1/ledger/proof/{started.json()['event_id']}", query.regulator_token)

    assert started.status_code == 201, started.text
    assert query.trace(lot).json()["status"] == "recalled"
    verify_receipt(
        receipt.text,
        query.verifier,
        leaf_data=leaf_from_receipt(Receipt.parse(receipt.text)),
        origin=ORIGIN,
    )


def test_a_recall_that_has_ended_leaves_the_goods_ok_with_a_note(fresh_query: Query) -> None:
    query = fresh_query  # a ledger of its own: this test appends to it
    s, importer, code = query.scenario, query.importer, query.slash_code
    recall_id = str(uuid.uuid4())
    started = s.event(
        importer,
        "RecallInitiated",
        {"recall_id": recall_id, "root_codes": [code], "reason": "标签错误", "level": "LEVEL_3"},
        codes=[code],
    )
    query.writer.write(0, [Message("recall", s.sign(importer, [started]))])
    assert query.trace(code).json()["verdict"]["state"] == "recalled"
    closed = s.event(
        importer, "RecallClosed", {"recall_id": recall_id, "summary": "已全部召回"}, codes=[code]
    )

    result = query.writer.write(0, [Message("closed", s.sign(importer, [closed]))])

    assert result.accepted == 1, result.rejections
    verdict = query.trace(code).json()["verdict"]
    assert verdict["state"] == "ok" and verdict["findings"] == []
    assert [(n["rule"], n["zh"]) for n in verdict["notes"]] == [("recall_closed", "召回已结束")]
    page = query.get(f"/c/{quote(code, safe='()')}").text
    assert 'data-status="ok"' in page and "召回已结束" in page
