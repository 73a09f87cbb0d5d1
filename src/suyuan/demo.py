"""The demo data set: a small, realistic farm-to-table chain in 杭州 (design §9).

A vegetable cooperative tests and certifies a lot of 小青菜, packs it into a case and ships it to
a wholesale market; the market checks the certificate at entry (进货查验), issues its own
purchaser certificate linked to the farm's, and ships to a supermarket that sells it. A second
lot is recalled after an official sampling fails; one certificate is voided and reissued.

Deterministic for a seed. The import cold chain and the vaccine chain come with the full demo
generator; this set is what the embedded ledger shows today.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario

PRODUCER_COMMITMENT = "未使用禁用农药、兽药及其他化合物；使用的常规农药、兽药残留不超标"
PURCHASER_COMMITMENT = (
    "已按规定收取并保存该批次承诺达标合格证或者其他质量安全合格证明；"
    "未违规使用保鲜剂、防腐剂、添加剂等"
)


@dataclass
class DemoData:
    """The signed messages of the demo, in order, and the codes worth scanning."""

    scenario: Scenario
    messages: list[bytes] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    events: int = 0

    def add(self, signer: Organisation | None, events: list[Event]) -> None:
        if signer is None:
            self.messages.append(self.scenario.sign_as_root(events))
        else:
            self.messages.append(self.scenario.sign(signer, events))
        self.events += len(events)


def build_demo(seed: int = 2026) -> DemoData:
    s = Scenario(seed)
    data = DemoData(s)
    farm = s.organisation(
        "临安区太湖源蔬菜专业合作社",
        ["PRODUCER"],
        "330185",
        "浙江省杭州市临安区太湖源镇白沙村",
        registrar="N",
        entity_type="2",
    )
    market = s.organisation(
        "杭州农副产品物流中心", ["MARKET", "PURCHASER"], "330105", "浙江省杭州市拱墅区石祥路71号"
    )
    shop = s.organisation(
        "联华超市（文三路店）", ["RETAILER"], "330106", "浙江省杭州市西湖区文三路259号"
    )
    bureau = s.organisation(
        "杭州市市场监督管理局",
        ["REGULATOR"],
        "330100",
        "浙江省杭州市上城区解放东路18号",
        registrar="1",
        entity_type="1",
    )
    data.add(None, s.registration(farm, market, shop, bureau))

    lot = s.unit_code(item="10010", lot="LA20260506")
    case = s.sscc()
    test = _inspection(s, farm, lot, passed=True, kind="RAPID_TEST")
    cert = _certificate(s, farm, lot, basis="SELF_TESTED", inspection=test.event_id)
    wrong = _certificate(s, farm, s.unit_code(item="10027", lot="LA20260506B"))
    fixed_code = s.certificate_code()
    void = s.event(
        farm,
        "CertificateVoided",
        {"reason": "重量填写错误，作废重开", "replacement_code": fixed_code},
        codes=[wrong.codes[0]],
    )
    pack = s.event(
        farm, "Aggregated", {"parent_code": case, "child_codes": [lot]}, codes=[case, lot]
    )
    ship = s.event(
        farm,
        "Shipped",
        {
            "to_org": market.uscc,
            "waybill_no": "ZJYD202605060031",
            "vehicle_plate": "浙A·D12345",
            "carrier": None,
            "destination": market.location(),
        },
        codes=[case],
        quantity="500",
        unit="kg",
    )
    data.add(farm, [test, cert, wrong, void, pack, ship])

    receive = s.event(
        market,
        "Received",
        {
            "from_org": farm.uscc,
            "waybill_no": "ZJYD202605060031",
            "upstream_certificates": [cert.codes[0]],
            "check_passed": True,
            "check_note": "合格证与货物相符，快检抽样合格",
        },
        codes=[case],
        quantity="500",
        unit="kg",
    )
    resale = _certificate(s, market, lot, upstream=(cert.codes[0],), quantity="120")
    onward = s.event(
        market,
        "Shipped",
        {
            "to_org": shop.uscc,
            "waybill_no": "HZNF-0506-118",
            "vehicle_plate": "浙A·K6789",
            "carrier": None,
            "destination": shop.location(),
        },
        codes=[lot],
        quantity="120",
        unit="kg",
    )
    data.add(market, [receive, resale, onward])

    arrive = s.event(
        shop,
        "Received",
        {
            "from_org": market.uscc,
            "waybill_no": "HZNF-0506-118",
            "upstream_certificates": [resale.codes[0]],
            "check_passed": True,
            "check_note": None,
        },
        codes=[lot],
        quantity="120",
        unit="kg",
    )
    sale = s.event(
        shop,
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": "LH0571-20260506-88123"},
        codes=[lot],
        quantity="1.25",
        unit="kg",
    )
    data.add(shop, [arrive, sale])

    bad_lot = s.unit_code(item="10034", lot="LA20260507")
    bad_cert = _certificate(s, farm, bad_lot)
    data.add(farm, [bad_cert])
    sampling = _inspection(s, bureau, bad_lot, passed=False, kind="OFFICIAL_SAMPLING")
    recall = s.event(
        bureau,
        "RecallInitiated",
        {
            "recall_id": s.event_id(),
            "root_codes": [bad_lot],
            "reason": "监督抽检毒死蜱超标(0.08 mg/kg，限量0.02 mg/kg)",
            "level": "LEVEL_2",
        },
        codes=[bad_lot],
    )
    data.add(bureau, [sampling, recall])

    data.codes = {
        "clean certificate": cert.codes[0],
        "purchaser certificate": resale.codes[0],
        "sold lot": lot,
        "recalled lot": bad_lot,
        "voided certificate": wrong.codes[0],
    }
    return data


def _certificate(
    s: Scenario,
    issuer: Organisation,
    lot: str,
    *,
    basis: str = "QUALITY_CONTROL",
    inspection: str | None = None,
    upstream: tuple[str, ...] = (),
    quantity: str = "500",
) -> Event:
    return s.event(
        issuer,
        "CertificateIssued",
        {
            "issuer_type": "PURCHASER" if upstream else "PRODUCER",
            "product_name": "小青菜",
            "category": "VEGETABLES",
            "origin": "浙江省杭州市临安区太湖源镇白沙村",
            "origin_region_code": "330185",
            "issue_date": s.clock.date().isoformat(),
            "contact": "0571-63781234",
            "commitment": PURCHASER_COMMITMENT if upstream else PRODUCER_COMMITMENT,
            "basis": basis,
            "inspection_event_id": inspection,
            "upstream_certificates": list(upstream),
        },
        codes=[s.certificate_code(), lot],
        quantity=quantity,
        unit="kg",
    )


def _inspection(s: Scenario, actor: Organisation, lot: str, *, passed: bool, kind: str) -> Event:
    value, limit = ("未检出", "≤0.02") if passed else ("0.08", "≤0.02")
    return s.event(
        actor,
        "InspectionRecorded",
        {
            "kind": kind,
            "items": [
                {
                    "name": "毒死蜱",
                    "value": value,
                    "unit": "mg/kg",
                    "limit": limit,
                    "standard": "GB 2763-2021",
                    "passed": passed,
                }
            ],
            "passed": passed,
            "lab": None,
            "lab_uscc": None,
            "report_no": None,
        },
        codes=[lot],
    )
