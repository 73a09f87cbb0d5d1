"""The consumer scan page ``GET /c/{code}`` and the printable label (docs/scan-page.md).

Served by the query service over a real SQLite ledger holding the demo chain (farm → market →
supermarket, a recall, a voided certificate) plus an imported cold-chain lot with a temperature
excursion, an expired import, a lot frozen by a failed test, a lot a tea shop took in without
its certificate, and a certificate full of markup.
"""

from __future__ import annotations

import html as html_text
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import qrcode
import qrcode.image.svg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from suyuan.codes import new_certificate_code, parse_trace_code, scan_url
from suyuan.config import Settings
from suyuan.errors import CodeError
from suyuan.events import decode_batch, decode_event
from suyuan.events.model import Event
from suyuan.foodchain import PRODUCER_COMMITMENT
from suyuan.intake import LedgerWriter, Message, shard_for
from suyuan.ledger import (
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    load_or_create_ledger_key,
    migrate,
)
from suyuan.scenario import Organisation, Scenario
from suyuan_demo import build_demo
from suyuan_trace_query.app import create_app

BASE_URL = "https://trace.example.cn"
HOSTILE_NAME = '<img src=x onerror="alert(1)">小青菜</td><script>alert(2)</script>'
# Commercial details and personal data in the ledger that the public page must never show.
PRIVATE_VALUES = (
    "ZJYD202605060031",  # waybill numbers
    "HZNF-0506-118",
    "LH0571-20260506-88123",  # receipt number
    "0571-63781234",  # contact telephone on the certificates
    "浙A·D12345",  # vehicle plates
    "浙A·K6789",
    "310420240000123456",  # customs declaration number
    "TL-88-0421",  # temperature logger id
)


@dataclass
class ScanLedger:
    """A ledger to scan: its store, its key, and the codes worth scanning."""

    store: SqlLedgerStore
    key_file: Path
    codes: dict[str, str] = field(default_factory=dict)
    replacement: str = ""


def build_scan_ledger(directory: Path) -> ScanLedger:
    """The demo chain and the extra lots above, appended through the real write path."""
    engine = create_ledger_engine(f"sqlite:///{directory / 'ledger.sqlite'}")
    migrate(engine)
    store = SqlLedgerStore(engine)
    data = build_demo(seed=2026)
    key_file = directory / "ledger.key"
    signer = load_or_create_ledger_key(key_file, "scan.test/ledger")
    initialise(store, signer.verifier, [data.scenario.root])
    messages = [*data.messages, *_extra_lots(data.scenario, data.codes)]
    writer = LedgerWriter(store, [data.scenario.root])
    for number, message in enumerate(messages):
        assert (
            writer.write(shard_for(message), [Message(f"scan#{number}", message)]).rejections == ()
        )
    return ScanLedger(store, key_file, data.codes, _replacement_code(data.messages))


def _replacement_code(messages: list[bytes]) -> str:
    for message in messages:
        for raw in decode_batch(message).events:
            event = decode_event(raw)
            if event.event_type == "CertificateVoided":
                return str(event.payload["replacement_code"])
    raise AssertionError("the demo voids a certificate")


def _extra_lots(s: Scenario, codes: dict[str, str]) -> list[bytes]:
    importer = s.organisation(
        "宁波北仑港集中监管仓", ["IMPORTER", "SUPERVISED_WAREHOUSE"], "330206", "浙江省宁波市北仑区"
    )
    farm = s.organisation("余杭区径山茶场", ["PRODUCER"], "330110", "浙江省杭州市余杭区径山镇")
    unit = s.unit_code(item="10027", serial="NB0001")
    declared = s.event(
        importer,
        "ImportDeclared",
        {
            "product_name": "冷冻去骨牛肉",
            "origin_country": "BR",
            "batch_no": "SIF1234-240301",
            "container_no": "CSQU3054383",
            "production_date": "2026-03-01",
            "shelf_life_days": 730,
            "importer": importer.uscc,
            "customs_declaration_no": "310420240000123456",
            "quarantine_certificate": {"number": "310400124000567", "passed": True},
            "nucleic_acid_test": {"number": "NBHS-20260520-0419", "passed": True},
            "disinfection_certificate": {"number": "NBXD-20260520-0033", "passed": True},
        },
        codes=[unit],
        quantity="960",
        unit="kg",
    )
    at = s.tick()
    readings = [
        {"at": (at.replace(hour=h)).isoformat(), "celsius": c}
        for h, c in ((0, -19.5), (6, -18.6), (12, -16.2), (18, -18.9))
    ]
    temperature = s.event(
        importer,
        "TemperatureRecorded",
        {
            "device_id": "TL-88-0421",
            "container_no": "CSQU3054383",
            "readings": readings,
            "min_celsius": -25.0,
            "max_celsius": -18.0,
        },
        codes=[unit],
        at=at.replace(hour=19),
    )
    stored = s.event(
        importer,
        "Stored",
        {"facility": "SUPERVISED_WAREHOUSE", "storage_unit": "B-12"},
        codes=[unit],
        quantity="960",
        unit="kg",
        at=at.replace(hour=20),
    )
    frozen_lot = s.unit_code(item="10041", lot="JS20260508")
    frozen_cert = _certificate(s, farm, frozen_lot, product="径山毛峰", category="TEA")
    failed = s.event(
        farm,
        "InspectionRecorded",
        {
            "kind": "COMMISSIONED_LAB",
            "items": [
                {
                    "name": "联苯菊酯",
                    "value": "0.9",
                    "unit": "mg/kg",
                    "limit": "≤0.5",
                    "standard": "GB 2763-2021",
                    "passed": False,
                }
            ],
            "passed": False,
            "lab": "浙江省农产品质量检测中心",
            "lab_uscc": None,
            "report_no": "ZJNJ-2026-0508-17",
        },
        codes=[frozen_lot],
    )
    hostile_cert = _certificate(
        s, farm, s.unit_code(item="10058", lot="X1"), product=HOSTILE_NAME, origin="\"&'<b>"
    )
    tea_shop = s.organisation(
        "西湖区龙井茶叶店", ["RETAILER"], "330106", "浙江省杭州市西湖区龙井路1号"
    )
    unchecked_lot = s.unit_code(item="10041", lot="JS20260509")
    # No 合格证 was ever issued for it: the shop's receipt is the first word of it.
    shipped = s.event(
        farm,
        "Shipped",
        {
            "to_org": tea_shop.uscc,
            "waybill_no": "JSCC-0509-02",
            "vehicle_plate": None,
            "carrier": None,
            "destination": tea_shop.location(),
        },
        codes=[unchecked_lot],
        quantity="20",
        unit="kg",
    )
    taken_in = s.event(
        tea_shop,
        "Received",
        {
            "from_org": farm.uscc,
            "waybill_no": None,
            "upstream_certificates": [],  # the shop did not check the 合格证 (进货查验)
            "check_passed": False,
            "check_note": None,
        },
        codes=[unchecked_lot],
        quantity="20",
        unit="kg",
    )
    codes["import unit"] = unit
    codes["lot taken in without certificate"] = unchecked_lot
    expired_unit = s.unit_code(item="10027", serial="NB0900")
    expired = s.event(
        importer,
        "ImportDeclared",
        {
            "product_name": "冷冻猪肋排",
            "origin_country": "ES",
            "batch_no": "ES-230101",
            "container_no": "MSKU1234565",
            "production_date": "2023-01-01",
            "shelf_life_days": 365,
            "importer": importer.uscc,
            "customs_declaration_no": "310420230000765432",
            "quarantine_certificate": {"number": "310400123000111", "passed": True},
            "nucleic_acid_test": {"number": "NBHS-20230301-0001", "passed": True},
            "disinfection_certificate": {"number": "NBXD-20230301-0001", "passed": True},
        },
        codes=[expired_unit],
        quantity="100",
        unit="kg",
    )
    codes["expired unit"] = expired_unit
    codes["frozen lot"] = frozen_lot
    codes["frozen certificate"] = frozen_cert.codes[0]
    codes["hostile certificate"] = hostile_cert.codes[0]
    return [
        s.sign_as_root(s.registration(importer, farm, tea_shop)),
        s.sign(importer, [declared, temperature, stored, expired]),
        s.sign(farm, [frozen_cert, failed, hostile_cert, shipped]),
        s.sign(tea_shop, [taken_in]),
    ]


def _certificate(
    s: Scenario,
    farm: Organisation,
    lot: str,
    *,
    product: str,
    category: str = "VEGETABLES",
    origin: str = "浙江省杭州市余杭区径山镇",
) -> Event:
    return s.event(
        farm,
        "CertificateIssued",
        {
            "issuer_type": "PRODUCER",
            "product_name": product,
            "category": category,
            "origin": origin,
            "origin_region_code": "330110",
            "issue_date": s.clock.date().isoformat(),
            "contact": "0571-63781234",
            "commitment": PRODUCER_COMMITMENT,
            "basis": "QUALITY_CONTROL",
            "inspection_event_id": None,
            "upstream_certificates": [],
        },
        codes=[s.certificate_code(), lot],
        quantity="50",
        unit="kg",
    )


def scan_app(ledger: ScanLedger) -> FastAPI:
    """The query service (with the scan page) over ``ledger``; no rate limit."""
    settings = Settings(
        public_base_url=BASE_URL,
        ledger_key_file=str(ledger.key_file),
        ledger_name="scan.test/ledger",
    )
    return create_app(
        settings.model_copy(update=dict(query_rate_limit_per_second=0)), store=ledger.store
    )


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanLedger]:
    built = build_scan_ledger(tmp_path_factory.mktemp("scan"))
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def client(ledger: ScanLedger) -> Iterator[TestClient]:
    with TestClient(scan_app(ledger)) as test_client:
        yield test_client


def page(client: TestClient, code: str, **params: str) -> str:
    response = client.get(f"/c/{code}", params=params)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def visible_text(html: str) -> str:
    """Roughly what a reader sees: the body without tags, styles or entities."""
    body = html.split("<body>", 1)[-1]
    text = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html_text.unescape(text).split())


def banner_text(html: str) -> str:
    """The visible text of the status banner."""
    banner = html.split('id="status"', 1)[1].split(">", 1)[1].split("</section>", 1)[0]
    return visible_text(banner)


def status_of(html: str) -> str:
    found = re.search(r'id="status"[^>]*data-status="([a-z]+)"', html)
    assert found, "every scan page has a status banner"
    return found.group(1)


# --- what a consumer sees ------------------------------------------------------------------------


def test_clean_lot_shows_product_origin_commitment_and_a_green_state(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["sold lot"])
    text = visible_text(html)

    assert status_of(html) == "ok"
    assert 'class="banner danger"' not in html
    assert banner_text(html) == "✓ 正常 未发现召回、冻结、过期或未解决的问题。"
    assert "已召回" not in text and "已作废" not in text
    assert "小青菜" in text and "蔬菜" in text
    assert "临安区太湖源蔬菜专业合作社" in text
    assert "浙江省杭州市临安区太湖源镇白沙村" in text
    assert PRODUCER_COMMITMENT in text
    assert "自行检测合格" in text  # the farm certificate's basis
    assert "质量安全控制符合要求" in text  # the market's purchaser certificate
    assert "生产者" in text and "收购者" in text
    assert "2026-05-06" in text
    assert "500 kg" not in text and "120 kg" not in text  # how much a business moves is its own


def test_clean_lot_timeline_lists_the_hops_in_chinese_in_order(
    client: TestClient, ledger: ScanLedger
) -> None:
    text = visible_text(page(client, ledger.codes["sold lot"]))
    timeline = text.split("流转记录", 1)[1]

    steps = [timeline.index(step) for step in ("装箱", "发货", "收货", "销售")]
    assert steps == sorted(steps)
    assert "联华超市（文三路店）" in timeline
    assert "进货查验：合格" in timeline
    assert "Shipped" not in timeline and "Received" not in timeline


def test_each_record_links_to_its_ledger_receipt(client: TestClient, ledger: ScanLedger) -> None:
    html = page(client, ledger.codes["sold lot"])
    links = re.findall(r'<a class="pill ledger" href="(/v1/ledger/proof/[0-9a-f-]{36})"', html)

    assert len(links) >= 8, "certificates, the test and every hop carry the badge"
    assert "已上链" in visible_text(html)
    receipt = client.get(links[-1])
    assert receipt.status_code == 200
    assert receipt.text.startswith("c2sp.org/tlog-proof@v1"), receipt.text[:200]


def test_test_results_show_kind_items_and_verdict(client: TestClient, ledger: ScanLedger) -> None:
    text = visible_text(page(client, ledger.codes["sold lot"]))
    tests = text.split("检测结果", 1)[1].split("流转记录", 1)[0]

    assert "快速检测" in tests
    assert "毒死蜱" in tests and "未检出" in tests and "≤0.02" in tests
    assert "✓ 合格" in tests and "不合格" not in tests
    assert "自检" in tests, "the farm's own test is marked as a self-test"


def test_an_official_sampling_is_not_marked_as_a_self_test(
    client: TestClient, ledger: ScanLedger
) -> None:
    text = visible_text(page(client, ledger.codes["recalled lot"]))
    tests = text.split("检测结果", 1)[1].split("流转记录", 1)[0]

    assert "监督抽检" in tests and "自检" not in tests


def test_recalled_lot_shows_the_red_banner_with_the_reason(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["recalled lot"])
    banner = banner_text(html)

    assert status_of(html) == "recalled"
    assert 'class="banner danger"' in html
    assert "已召回" in banner and "请勿食用" in banner
    assert "监督抽检毒死蜱超标(0.08 mg/kg，限量0.02 mg/kg)" in banner
    assert "杭州市市场监督管理局" in banner and "二级召回" in banner
    assert "✗ 不合格" in visible_text(html), "the failed official sampling is listed"


def test_frozen_lot_shows_the_red_banner_with_the_failed_item(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["frozen lot"])
    banner = banner_text(html)

    assert status_of(html) == "frozen"
    assert "冻结" in banner
    assert "委托检测" in banner and "联苯菊酯 结果：0.9 mg/kg（要求：≤0.5）" in banner
    assert "请勿食用" in banner, "a consumer of food is told not to eat it"
    assert "茶叶" in visible_text(html)


def test_voided_certificate_shows_void_reason_and_replacement(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["voided certificate"])
    banner = html.split('id="status"', 1)[1].split("</section>", 1)[0]

    assert status_of(html) == "replaced"
    assert 'class="banner caution"' in html, "a replaced certificate is amber, not red"
    assert "已作废并重新开具" in banner
    assert "重量填写错误，作废重开" in banner
    assert f'href="/c/{ledger.replacement}"' in banner
    assert ledger.replacement in visible_text(banner)


def test_imported_lot_shows_three_certificates_and_the_temperature_chart(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["import unit"])
    text = visible_text(html)

    assert "冷冻去骨牛肉" in text and "巴西（BR）" in text
    assert "进口商 宁波北仑港集中监管仓" in text
    for document in ("入境货物检验检疫证明", "核酸检测证明", "消毒证明"):
        assert document in text
    assert "阴性" in text
    assert "进口申报" in text and "入库" in text and "集中监管仓" in text
    chart = html.split('id="temperature"', 1)[1].split("</section>", 1)[0]
    assert '<polyline class="readings"' in chart
    assert len(re.findall(r"<circle cx=\S+ cy=\S+ r=\"2\"", chart)) == 4, "one dot per reading"
    assert "4次读数" in chart and "最高 -16.2 °C" in chart


def test_temperature_excursions_are_marked_red_against_the_allowed_band(
    client: TestClient, ledger: ScanLedger
) -> None:
    chart = page(client, ledger.codes["import unit"]).split('id="temperature"', 1)[1]
    chart = chart.split("</section>", 1)[0]

    # allowed -25 … -18 °C: only the -16.2 °C reading is outside
    assert chart.count('class="excursion"') == 1
    assert "1次超出允许范围" in chart and "-16.2 °C" in chart
    assert '<polygon class="band"' in chart and "-25 ~ -18 °C" in chart


def test_english_switch(client: TestClient, ledger: ScanLedger) -> None:
    code = ledger.codes["recalled lot"]
    chinese = page(client, code)
    english = page(client, code, lang="en")

    assert '<html lang="zh-CN">' in chinese and 'href="?lang=en"' in chinese
    assert '<html lang="en">' in english and 'href="?lang=zh"' in english
    text = visible_text(english)
    assert "RECALLED" in text and "Do not eat" in text
    assert "Official sampling" in text and "Test results" in text
    assert "已召回" not in text
    assert '<html lang="zh-CN">' in page(client, code, lang="klingon")


def test_english_page_links_other_codes_in_english(client: TestClient, ledger: ScanLedger) -> None:
    html = page(client, ledger.codes["purchaser certificate"], lang="en")

    assert f'href="/c/{ledger.codes["clean certificate"]}?lang=en"' in html
    assert "Purchaser" in visible_text(html)


# --- friendly errors -----------------------------------------------------------------------------


def test_unknown_code_gets_a_friendly_404_page(client: TestClient) -> None:
    unknown = new_certificate_code(random.Random(404))
    response = client.get(f"/c/{unknown}")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    text = visible_text(response.text)
    assert "未找到该追溯码" in text and unknown in text
    english = client.get(f"/c/{unknown}", params={"lang": "en"})
    assert english.status_code == 404 and "Trace code not found" in english.text


def test_malformed_code_gets_a_friendly_400_page_saying_what_is_wrong(
    client: TestClient, ledger: ScanLedger
) -> None:
    good = ledger.codes["clean certificate"]
    broken = good[:-1] + ("A" if good[-1] != "A" else "B")  # wrong check character
    with pytest.raises(CodeError) as expected:
        parse_trace_code(broken)
    response = client.get(f"/c/{broken}")

    assert response.status_code == 400
    text = visible_text(response.text)
    assert "追溯码格式有误" in text
    assert "check" in expected.value.rule
    assert expected.value.rule in text
    assert broken in text
    assert "Traceback" not in response.text


def test_hostile_code_in_the_url_is_escaped(client: TestClient) -> None:
    response = client.get("/c/<script>alert(1)</script>")

    assert response.status_code == 400
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_hostile_certificate_content_is_escaped(client: TestClient, ledger: ScanLedger) -> None:
    html = page(client, ledger.codes["hostile certificate"])

    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;小青菜" in html
    assert "&#34;&amp;&#39;&lt;b&gt;" in html


# --- public view ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sold lot", "clean certificate", "import unit", "recalled lot"])
def test_no_commercial_details_or_personal_data(
    client: TestClient, ledger: ScanLedger, name: str
) -> None:
    for lang in ("zh", "en"):
        html = page(client, ledger.codes[name], lang=lang)
        leaked = [value for value in PRIVATE_VALUES if value in html]
        assert leaked == []


def test_pages_run_only_their_own_proof_check_script(
    client: TestClient, ledger: ScanLedger
) -> None:
    response = client.get(f"/c/{ledger.codes['sold lot']}")

    scripts = re.findall(r"<script[^>]*>", response.text)
    assert scripts == ['<script src="/static/scan-check.js" defer>']  # no inline script
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy.split("script-src")[1]
    assert response.headers["cache-control"] == "no-cache"


# --- the printable label -------------------------------------------------------------------------


def test_label_of_a_certificate_is_an_svg_with_its_fields_and_scan_url_qr(
    client: TestClient, ledger: ScanLedger
) -> None:
    code = ledger.codes["clean certificate"]
    response = client.get(f"/c/{code}/label.svg")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(response.text)
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "承诺达标合格证" in texts and code in texts
    assert "小青菜（蔬菜）" in texts and "500 kg" in texts and "自行检测合格" in texts
    assert "临安区太湖源蔬菜专业合作社" in texts and "2026-05-06" in texts
    assert "0571-63781234" not in response.text, "the public label leaves the contact out"
    assert "已作废" not in texts
    paths = [p.get("d") for p in svg.iter("{http://www.w3.org/2000/svg}path")]
    assert paths == [_qr_path(scan_url(BASE_URL, code))]


def _qr_path(url: str) -> str:
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(url)
    return str(code.make_image().path.get("d"))


def test_label_of_a_voided_certificate_is_stamped_void(
    client: TestClient, ledger: ScanLedger
) -> None:
    response = client.get(f"/c/{ledger.codes['voided certificate']}/label.svg")

    assert response.status_code == 200
    assert "已作废 VOID" in response.text


def test_label_escapes_certificate_content(client: TestClient, ledger: ScanLedger) -> None:
    response = client.get(f"/c/{ledger.codes['hostile certificate']}/label.svg")

    svg = ET.fromstring(response.text)  # still well-formed XML
    assert not [e for e in svg.iter() if e.tag.endswith(("script", "img"))]
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "onerror" in texts


def test_label_needs_a_certificate_code(client: TestClient, ledger: ScanLedger) -> None:
    lot = client.get(f"/c/{ledger.codes['sold lot']}/label.svg")
    unknown = client.get(f"/c/{new_certificate_code(random.Random(7))}/label.svg")

    assert lot.status_code == 400
    assert "only 合格证 certificate codes have a printable label" in lot.text
    assert unknown.status_code == 404 and "没有可打印的合格证" in unknown.text


def test_certificate_page_links_its_label(client: TestClient, ledger: ScanLedger) -> None:
    code = ledger.codes["clean certificate"]
    html = page(client, code)

    assert f'href="/c/{code}/label.svg"' in html
    assert "label.svg" not in page(client, ledger.codes["sold lot"])


# --- the ledger is down --------------------------------------------------------------------------


def test_unreadable_ledger_gets_a_friendly_503_page(tmp_path: Path) -> None:
    empty = SqlLedgerStore(create_ledger_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    settings = Settings(ledger_key_file=str(tmp_path / "none.key"))
    app = create_app(settings.model_copy(update=dict(query_rate_limit_per_second=0)), store=empty)
    with TestClient(app) as broken:
        response = broken.get(f"/c/{new_certificate_code(random.Random(1))}")
    empty.close()

    assert response.status_code == 503
    assert "服务暂时不可用" in response.text and "Traceback" not in response.text


def test_expired_goods_show_a_red_banner_with_the_date(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["expired unit"])
    english = page(client, ledger.codes["expired unit"], lang="en")

    assert 'data-status="expired"' in html
    assert "已过期" in visible_text(html) and "有效期至 2024-01-01" in visible_text(html)
    assert "EXPIRED" in visible_text(english)


def test_a_certificate_shows_the_state_and_the_tests_of_the_lot_it_covers(
    client: TestClient, ledger: ScanLedger
) -> None:
    html = page(client, ledger.codes["frozen certificate"])

    assert status_of(html) == "frozen", "a certificate is as frozen as its lot"
    assert 'class="banner danger"' in html
    assert "暂无检测记录" not in visible_text(html)
    assert "联苯菊酯" in visible_text(html), "the failed test of the lot is on the page"


def test_label_of_a_frozen_lot_s_certificate_says_so(
    client: TestClient, ledger: ScanLedger
) -> None:
    frozen = client.get(f"/c/{ledger.codes['frozen certificate']}/label.svg")
    clean = client.get(f"/c/{ledger.codes['clean certificate']}/label.svg")

    assert "冻结 FROZEN" in frozen.text
    assert "FROZEN" not in clean.text and "VOID" not in clean.text
