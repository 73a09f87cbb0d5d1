"""The story in order, and its food chain (浙食链): a vegetable cooperative's lots from test
and certificate to a supermarket shelf, a recall, a voided certificate, a slaughterhouse and
the market's entry checks (docs/food-chain.md)."""

from __future__ import annotations

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario, vegetable_certificate
from suyuan_demo._steps import ship
from suyuan_demo.cold_chain import cold_chain
from suyuan_demo.data import DemoData
from suyuan_demo.drugs import drugs
from suyuan_demo.vaccines import vaccines


def build_demo(seed: int = 2026) -> DemoData:
    """The whole province for ``seed``: each chain's signed messages in the order a ledger
    takes them, and the codes worth scanning, each under what it shows."""
    s = Scenario(seed)
    data = DemoData(s)
    farm = s.cooperative()
    market = s.wholesale_market()
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
    data.orgs = {"farm": farm, "market": market, "regulator": bureau}

    lot = s.unit_code(item="10010", lot="LA20260506")
    case = s.sscc()
    test = s.pesticide_test(farm, [lot], passed=True)
    cert = vegetable_certificate(s, farm, lot, basis="SELF_TESTED", inspection=test.event_id)
    second_lot = s.unit_code(item="10027", lot="LA20260506B")
    wrong = vegetable_certificate(s, farm, second_lot, quantity="300")
    fixed_code = s.certificate_code()
    void = s.event(
        farm,
        "CertificateVoided",
        {"reason": "重量填写错误，作废重开", "replacement_code": fixed_code},
        codes=[wrong.codes[0]],
    )
    reissued = vegetable_certificate(s, farm, second_lot, quantity="30", code=fixed_code)
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
    data.add(farm, [test, cert, wrong, void, reissued, pack, ship])

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
    resale = vegetable_certificate(s, market, lot, upstream=(cert.codes[0],), quantity="120")
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
    bad_cert = vegetable_certificate(s, farm, bad_lot)
    data.add(farm, [bad_cert])
    sampling = s.pesticide_test(bureau, [bad_lot], passed=False, kind="OFFICIAL_SAMPLING")
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
        "reissued certificate": fixed_code,
    }
    data.codes.update(_slaughter(s, data, market))
    recall_id = str(recall.payload["recall_id"])
    data.codes.update(_market_entry_and_disposal(s, data, farm, market, bad_lot, recall_id))
    data.codes.update(cold_chain(s, data, market))
    data.codes.update(vaccines(s, data))
    data.codes.update(drugs(s, data))
    data.codes.update(_more_verdicts(s, data, farm, market))
    return data


def _more_verdicts(
    s: Scenario, data: DemoData, farm: Organisation, market: Organisation
) -> dict[str, str]:
    """The verdict states no other case shows (docs/verdicts.md): a buyer's own failed rapid
    test of a farm's lot (amber: a trader's word freezes nothing it does not vouch for), and an
    import past its shelf life (expired)."""
    lot = s.unit_code(item="10089", lot="LA20260510")
    cert = vegetable_certificate(s, farm, lot)
    data.add(farm, [cert, ship(s, farm, market, [lot], "200", "kg")])
    taken_in = s.event(
        market,
        "Received",
        {
            "from_org": farm.uscc,
            "waybill_no": None,
            "upstream_certificates": [cert.codes[0]],
            "check_passed": False,
            "check_note": "快检抽样不合格，已送检",
        },
        codes=[lot],
        quantity="200",
        unit="kg",
    )
    data.add(market, [taken_in, s.pesticide_test(market, [lot], passed=False)])
    importer = data.orgs["importer"]
    stale = s.unit_code(item="10096", serial="ES0001")
    declared = s.event(
        importer,
        "ImportDeclared",
        {
            "product_name": "冷冻猪肋排",
            "origin_country": "ES",
            "batch_no": "ES-250101",
            "container_no": "MSKU1234565",
            "production_date": "2025-01-01",
            "shelf_life_days": 365,
            "importer": importer.uscc,
            "customs_declaration_no": "310420250000765432",
            "quarantine_certificate": {"number": "310400125000111", "passed": True},
            "nucleic_acid_test": {"number": "NBHS-20250301-0001", "passed": True},
            "disinfection_certificate": {"number": "NBXD-20250301-0001", "passed": True},
        },
        codes=[stale],
        quantity="100",
        unit="kg",
    )
    data.add(importer, [declared])
    return {"lot a buyer's own test failed": lot, "import past its shelf life": stale}


def _slaughter(s: Scenario, data: DemoData, market: Organisation) -> dict[str, str]:
    """Pigs → carcass cuts at a designated slaughterhouse. Cut lot A leaves with both the
    动物检疫合格证明 (product form) and the 肉品品质检验合格证; cut lot B without the first —
    an alert against the plant (design.md §4; docs/food-chain.md)."""
    pig_farm = s.organisation(
        "德清县新市镇生猪养殖场", ["PRODUCER"], "330521", "浙江省湖州市德清县新市镇"
    )
    plant = s.organisation(
        "余杭生猪定点屠宰场", ["SLAUGHTERHOUSE"], "330110", "浙江省杭州市余杭区仁和街道"
    )
    data.add(None, s.registration(pig_farm, plant))
    pigs = s.unit_code(item="20011", lot="YH260506")
    cut_a = s.unit_code(item="20028", lot="YH260506A")
    cut_b = s.unit_code(item="20035", lot="YH260506B")

    def quarantine(code: str, form: str, number: str, quantity: str, unit: str) -> Event:
        return s.event(
            plant,
            "AnimalQuarantineCertified",
            {
                "certificate_no": number,
                "form": form,
                "species": "生猪",
                "origin": pig_farm.place,
                "destination": plant.place,
                "issuing_authority": "德清县动物卫生监督所",
            },
            codes=[code],
            quantity=quantity,
            unit=unit,
        )

    # Created in the order they happen: each event's time is the scenario clock's next tick.
    live_quarantine = quarantine(pigs, "ANIMAL_B", "3301101234567", "42", "头")
    slaughtered = s.event(
        plant,
        "Transformed",
        {
            "process": "SLAUGHTER",
            "inputs": [{"code": pigs, "quantity": "42", "unit": "头"}],
            "outputs": [
                {"code": cut_a, "quantity": "3120.25", "unit": "kg"},
                {"code": cut_b, "quantity": "530.25", "unit": "kg"},
            ],
        },
        codes=[pigs, cut_a, cut_b],
    )
    product_quarantine = quarantine(cut_a, "PRODUCT_A", "3301102234568", "3120.25", "kg")
    inspected = [
        s.event(
            plant,
            "MeatQualityInspected",
            {
                "certificate_no": f"YH-RP-20260506-00{n}",
                "species": "生猪",
                "quarantine_certificate_no": "3301101234567",
                "passed": True,
            },
            codes=[code],
            quantity=quantity,
            unit="kg",
        )
        for n, (code, quantity) in enumerate(((cut_a, "3120.25"), (cut_b, "530.25")), start=41)
    ]
    shipped = [
        s.event(
            plant,
            "Shipped",
            {
                "to_org": market.uscc,
                "waybill_no": f"YHTZ-0506-0{n}",
                "vehicle_plate": "浙A·R5521",
                "carrier": None,
                "destination": market.location(),
            },
            codes=[code],
            quantity=quantity,
            unit="kg",
        )
        for n, (code, quantity) in enumerate(((cut_a, "3120.25"), (cut_b, "530.25")), start=1)
    ]
    data.add(
        plant,
        [
            live_quarantine,
            slaughtered,
            product_quarantine,
            *inspected,
            *shipped,
        ],
    )
    return {"meat cut": cut_a, "meat cut without quarantine certificate": cut_b}


def _market_entry_and_disposal(
    s: Scenario,
    data: DemoData,
    farm: Organisation,
    market: Organisation,
    recalled_lot: str,
    recall_id: str,
) -> dict[str, str]:
    """The market takes in a lot that came without a 合格证 (进货查验 alert against the buyer);
    the farm acknowledges the recall of its lot and destroys it under supervision, which closes
    that case and reconciles its account (the recall stays open for the regulator to close)."""
    uncertified = s.unit_code(item="10041", lot="LA20260508")
    data.add(
        market,
        [
            s.event(
                market,
                "Received",
                {
                    "from_org": farm.uscc,
                    "waybill_no": "ZJYD202605080007",
                    "upstream_certificates": [],
                    "check_passed": False,
                    "check_note": "未附承诺达标合格证",
                },
                codes=[uncertified],
                quantity="80",
                unit="kg",
            )
        ],
    )
    data.add(
        farm,
        [
            s.event(
                farm,
                "RecallAcknowledged",
                {
                    "recall_id": recall_id,
                    "note": "全部在库，未出售；已申请监督销毁",
                    "on_hand": "0",
                    "sold_on": "0",
                    "returned": "0",
                    "destroyed": "500",
                },
                codes=[recalled_lot],
                quantity="0",
                unit="kg",
                disposition="recalled",
            ),
            s.event(
                farm,
                "Destroyed",
                {
                    "method": "INCINERATION",
                    "reason": "召回产品，监督销毁",
                    "supervised_by": data.orgs["regulator"].uscc,
                    "recall_id": recall_id,
                },
                codes=[recalled_lot],
                quantity="500",
                unit="kg",
                biz_step="destroying",
                disposition="destroyed",
            ),
        ],
    )
    return {"lot received without certificate": uncertified}
