"""The demo data set: a small, realistic farm-to-table chain in 杭州 (design.md §9).

- **Food (浙食链)**: a vegetable cooperative tests and certifies a lot of 小青菜, packs it into a
  case and ships it to a wholesale market; the market checks the certificate at entry (进货查验),
  issues its own purchaser certificate linked to the farm's, and ships to a supermarket that
  sells it. A second lot is recalled after an official sampling fails; one certificate is voided
  and reissued.
- **Import cold chain (浙冷链)**: an importer declares frozen beef with the 三证 (quarantine,
  nucleic-acid, disinfection certificates); the 集中监管仓 stores and disinfects it, assigns
  cold-chain codes to each package, records the container temperature (one excursion, still
  open: the market downstream sees it), releases it to a cold store, which ships to the market.
  In a second container one package's sample tests positive after release: the whole
  declaration is frozen, and the sibling the cold store sold on raises an alert. A third batch's
  核酸 and 消毒 papers failed; the warehouse shipped it anyway (frozen, with alerts). A fourth
  went from the importer straight to the market without a 溯源码 (attention).
- **Vaccines (浙苗链)**: a maker's lot is released (批签发), packed case → box → dose, shipped to
  the provincial distributor, a district CDC and a clinic, and administered to people known to
  the ledger only by keyed pseudonyms; adverse events (AEFI) are reported; one case of each
  vaccine rule (docs/vaccines.md).
- **Drugs**: boxes with a 药品追溯码 reach a pharmacy; one is dispensed, then sold again (回流药).

Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from suyuan.events.model import Event
from suyuan.foodchain import PRODUCER_COMMITMENT, PURCHASER_COMMITMENT
from suyuan.privacy import keyed_pseudonym
from suyuan.scenario import Organisation, Scenario

UNITS_PER_CASE = 6


@dataclass
class DemoData:
    """The signed messages of the demo, in order, and the codes worth scanning."""

    scenario: Scenario
    messages: list[bytes] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    events: int = 0
    orgs: dict[str, Organisation] = field(default_factory=dict)
    """Organisations the demo hands out tokens for: ``farm``, ``market``, ``regulator``."""

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
    data.orgs = {"farm": farm, "market": market, "regulator": bureau}

    lot = s.unit_code(item="10010", lot="LA20260506")
    case = s.sscc()
    test = _inspection(s, farm, lot, passed=True, kind="RAPID_TEST")
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
        "reissued certificate": fixed_code,
    }
    data.codes.update(_slaughter(s, data, market))
    recall_id = str(recall.payload["recall_id"])
    data.codes.update(_market_entry_and_disposal(s, data, farm, market, bad_lot, recall_id))
    data.codes.update(_cold_chain(s, data, market))
    data.codes.update(_vaccines(s, data))
    data.codes.update(_drugs(s, data))
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
    data.add(farm, [cert, _ship(s, farm, market, [lot], "200", "kg")])
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
    data.add(market, [taken_in, _inspection(s, market, lot, passed=False, kind="RAPID_TEST")])
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


class LotMaker:
    """Makes the four events of a farm lot: certificate, two case aggregations, one shipment.

    The bulk of ``suyuan demo --events N`` and of the benchmark workload.
    """

    def __init__(self, s: Scenario, market: Organisation) -> None:
        self._s = s
        self._market = market
        self._lots = 0

    def events(self, farm: Organisation, count: int) -> list[Event]:
        events: list[Event] = []
        while len(events) < count:
            events.extend(self._lot(farm))
        return events[:count]

    def _lot(self, farm: Organisation) -> list[Event]:
        s = self._s
        self._lots += 1
        lot = f"LA{self._lots:08d}"
        lot_code = s.unit_code(item="10010", lot=lot)
        cert = s.event(
            farm,
            "CertificateIssued",
            {
                "issuer_type": "PRODUCER",
                "product_name": "小青菜",
                "category": "VEGETABLES",
                "origin": farm.place,
                "origin_region_code": farm.region_code,
                "issue_date": s.clock.date().isoformat(),
                "contact": "0571-63781234",
                "commitment": PRODUCER_COMMITMENT,
                "basis": "QUALITY_CONTROL",
                "inspection_event_id": None,
                "upstream_certificates": [],
            },
            codes=[s.certificate_code(), lot_code],
            quantity="120",
            unit="kg",
        )
        cases = [s.sscc() for _ in range(2)]
        packs = [self._pack(farm, case, lot, n) for n, case in enumerate(cases)]
        ship = s.event(
            farm,
            "Shipped",
            {
                "to_org": self._market.uscc,
                "waybill_no": f"ZJYD{self._lots:012d}",
                "vehicle_plate": "浙A·D12345",
                "carrier": None,
                "destination": self._market.location(),
            },
            codes=cases,
            quantity="120",
            unit="kg",
        )
        return [cert, *packs, ship]

    def _pack(self, farm: Organisation, case: str, lot: str, case_no: int) -> Event:
        units = [
            self._s.unit_code(item="10010", lot=lot, serial=f"{case_no}{n:05d}")
            for n in range(UNITS_PER_CASE)
        ]
        return self._s.event(
            farm, "Aggregated", {"parent_code": case, "child_codes": units}, codes=[case, *units]
        )


def bulk_messages(
    s: Scenario,
    farms: list[Organisation],
    market: Organisation,
    events: int,
    per_message: int = 500,
) -> Iterator[tuple[int, bytes]]:
    """Signed messages of farm lots, ``per_message`` events each, until ``events`` are made.

    Yields (events in the message, message); the farms take turns signing.
    """
    lots = LotMaker(s, market)
    made = 0
    turn = 0
    while made < events:
        count = min(per_message, events - made)
        farm = farms[turn % len(farms)]
        yield count, s.sign(farm, lots.events(farm, count))
        made += count
        turn += 1


#: Key of the demo's recipient pseudonyms (a real clinic keeps its own secret; see suyuan.privacy).
DEMO_PSEUDONYM_SECRET = b"suyuan-demo-pseudonym-secret-0001"


def demo_pseudonym(subject: str) -> str:
    """The keyed pseudonym the demo records for a vaccine recipient (never the person)."""
    return keyed_pseudonym(DEMO_PSEUDONYM_SECRET, subject)


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


def _cold_chain(s: Scenario, data: DemoData, market: Organisation) -> dict[str, str]:
    importer = s.organisation(
        "宁波甬兴进出口有限公司", ["IMPORTER"], "330206", "浙江省宁波市北仑区明州路88号"
    )
    data.orgs["importer"] = importer
    warehouse = s.organisation(
        "宁波北仑港集中监管仓",
        ["SUPERVISED_WAREHOUSE", "COLD_STORE"],
        "330206",
        "浙江省宁波市北仑区港城大道1号",
    )
    cold_store = s.organisation(
        "杭州冷链物流中心",
        ["COLD_STORE", "DISTRIBUTOR"],
        "330110",
        "浙江省杭州市余杭区仁和街道冷链路6号",
    )
    data.add(None, s.registration(importer, warehouse, cold_store))

    def import_batch(
        container: str, batch: str, item: str, failed: tuple[str, ...] = ()
    ) -> list[str]:
        packages = [s.unit_code(item=item, serial=f"{batch[-4:]}{n:03d}") for n in range(1, 4)]
        declared = s.event(
            importer,
            "ImportDeclared",
            {
                "product_name": "冷冻去骨牛肉",
                "origin_country": "BR",
                "batch_no": batch,
                "container_no": container,
                "production_date": "2026-03-01",
                "shelf_life_days": 730,
                "importer": importer.uscc,
                "customs_declaration_no": f"3104202600{s.rng.randrange(10**8):08d}",
                "quarantine_certificate": {
                    "number": f"3104001260{s.rng.randrange(10**5):05d}",
                    "passed": True,
                },
                "nucleic_acid_test": {
                    "number": f"NBHS-{batch}",
                    "passed": "nucleic_acid_test" not in failed,
                },
                "disinfection_certificate": {
                    "number": f"NBXD-{batch}",
                    "passed": "disinfection_certificate" not in failed,
                },
            },
            codes=packages,
            quantity="60",
            unit="kg",
        )
        # The importer hands the batch over at the port; the 集中监管仓 takes it in.
        handed = _ship(s, importer, warehouse, packages, "60", "kg")
        data.add(importer, [declared, handed])
        taken = _receive(s, warehouse, importer, packages, "60", "kg")
        stored = s.event(
            warehouse,
            "Stored",
            {"facility": "SUPERVISED_WAREHOUSE", "storage_unit": "冷冻库3号-B12"},
            codes=packages,
            quantity="3",
            unit="箱",
            biz_step="storing",
            disposition="sellable_not_accessible",
        )
        disinfected = s.event(
            warehouse,
            "Disinfected",
            {
                "target": "OUTER_PACKAGING",
                "disinfectant": "过氧乙酸(0.5%)",
                "certificate_no": f"NBXD-{batch}",
                "operator": None,
            },
            codes=packages,
        )
        assigned = s.event(
            warehouse,
            "ColdChainCodesAssigned",
            {
                "station_name": warehouse.name,
                "product_name": "冷冻去骨牛肉",
                "import_batch_no": batch,
                "container_no": container,
            },
            codes=packages,
            biz_step="commissioning",
            disposition="active",
        )
        data.add(warehouse, [taken, stored, disinfected, assigned])
        return packages

    good = import_batch("CSQU3054383", "SIF1234-260301", "10273")
    warehouse_events = [
        s.event(
            warehouse,
            "TemperatureRecorded",
            {
                "device_id": "TL-88-0421",
                "container_no": "CSQU3054383",
                "readings": [
                    {"at": s.tick(60).isoformat(), "celsius": c}
                    for c in (-19.5, -18.9, -16.2, -18.7)
                ],
                "min_celsius": -25.0,
                "max_celsius": -18.0,
            },
            codes=good,
            biz_step="sensor_reporting",
        ),
        s.event(
            warehouse,
            "Released",
            {
                "facility": "SUPERVISED_WAREHOUSE",
                "release_certificate_no": "NBJGC-20260522-0108",
                "released_to": cold_store.uscc,
            },
            codes=good,
            quantity="3",
            unit="箱",
        ),
        s.event(
            warehouse,
            "Shipped",
            {
                "to_org": cold_store.uscc,
                "waybill_no": "LL2026052201",
                "vehicle_plate": "浙B·L7731",
                "carrier": None,
                "destination": cold_store.location(),
            },
            codes=good,
            quantity="60",
            unit="kg",
        ),
    ]
    data.add(warehouse, warehouse_events)
    data.add(
        cold_store,
        [
            s.event(
                cold_store,
                "Received",
                {
                    "from_org": warehouse.uscc,
                    "waybill_no": "LL2026052201",
                    "upstream_certificates": [],
                    "check_passed": True,
                    "check_note": "三证齐全，追溯码与货物相符",
                },
                codes=good,
                quantity="60",
                unit="kg",
            ),
            s.event(
                cold_store,
                "Shipped",
                {
                    "to_org": market.uscc,
                    "waybill_no": "LL2026052307",
                    "vehicle_plate": "浙A·L2210",
                    "carrier": None,
                    "destination": market.location(),
                },
                codes=good[:1],
                quantity="20",
                unit="kg",
            ),
        ],
    )
    data.add(market, [_receive(s, market, cold_store, good[:1], "20", "kg")])

    # 同批次: a sample of one package tests positive after release; its siblings are frozen
    # with it, and the one the cold store sold on meanwhile raises an alert.
    positive = import_batch("TGHU8812034", "SIF5678-260302", "10280")
    data.add(
        warehouse,
        [
            s.event(
                warehouse,
                "Released",
                {
                    "facility": "SUPERVISED_WAREHOUSE",
                    "release_certificate_no": "NBJGC-20260523-0112",
                    "released_to": cold_store.uscc,
                },
                codes=positive,
                quantity="3",
                unit="箱",
            ),
            _ship(s, warehouse, cold_store, positive, "60", "kg"),
        ],
    )
    taken_in = _receive(s, cold_store, warehouse, positive, "60", "kg")
    data.add(cold_store, [taken_in])
    # The market regulator samples it at the cold store (a trader's own positive would alert the
    # regulator but freeze nothing: docs/verdicts.md).
    regulator = data.orgs["regulator"]
    test = s.event(
        regulator,
        "InspectionRecorded",
        {
            "kind": "NUCLEIC_ACID",
            "items": [
                {
                    "name": "新冠病毒核酸(外包装)",
                    "value": "阳性",
                    "unit": None,
                    "limit": "阴性",
                    "standard": None,
                    "passed": False,
                }
            ],
            "passed": False,
            "lab": "杭州市疾病预防控制中心",
            "lab_uscc": None,
            "report_no": None,
        },
        codes=positive[:1],
    )
    data.add(regulator, [test])
    data.add(cold_store, [_ship(s, cold_store, market, positive[1:2], "20", "kg")])
    data.add(market, [_receive(s, market, cold_store, positive[1:2], "20", "kg")])

    # 四个不得: papers failed, so the warehouse could not release it; it shipped it anyway.
    failed = import_batch(
        "MSKU7750023",
        "SIF9012-260303",
        "10297",
        failed=("nucleic_acid_test", "disinfection_certificate"),
    )
    data.add(warehouse, [_ship(s, warehouse, cold_store, failed[:1], "20", "kg")])
    data.add(cold_store, [_receive(s, cold_store, warehouse, failed[:1], "20", "kg")])

    # 四个不得: never coded, straight from the importer to the market.
    uncoded = [s.unit_code(item="10303", serial=f"0304{n:03d}") for n in range(1, 3)]
    declared = s.event(
        importer,
        "ImportDeclared",
        {
            "product_name": "冷冻猪前腿肉",
            "origin_country": "ES",
            "batch_no": "ES4471-260304",
            "container_no": "TCLU1234568",
            "production_date": "2026-03-04",
            "shelf_life_days": 730,
            "importer": importer.uscc,
            "customs_declaration_no": None,
            "quarantine_certificate": {"number": "310400126000901", "passed": True},
            "nucleic_acid_test": {"number": "NBHS-ES4471", "passed": True},
            "disinfection_certificate": {"number": "NBXD-ES4471", "passed": True},
        },
        codes=uncoded,
        quantity="40",
        unit="kg",
    )
    data.add(importer, [declared, _ship(s, importer, market, uncoded, "40", "kg")])
    data.add(market, [_receive(s, market, importer, uncoded, "40", "kg")])
    return {
        "cold-chain unit": good[0],
        "frozen cold-chain unit": positive[0],
        "sibling of a positive sample, sold on": positive[1],
        "import with failed papers": failed[0],
        "uncoded import unit": uncoded[0],
    }


def _vaccines(s: Scenario, data: DemoData) -> dict[str, str]:
    """The 浙苗链 closed loop, and one case of each vaccine rule (docs/vaccines.md): a box
    received without its transport temperature record, a dose given twice, a dose given under
    recall, a lot delivered straight from the maker after a 15 °C reading and given expired (and
    its other dose blocked at the clinic), a serious adverse event (for regulators only)."""
    maker = s.organisation(
        "浙江某生物制品有限公司", ["VACCINE_MAKER"], "330110", "浙江省杭州市余杭区文一西路998号"
    )
    distributor = s.organisation(
        "浙江省疫苗配送中心", ["DISTRIBUTOR"], "330100", "浙江省杭州市上城区秋涛路258号"
    )
    cdc = s.organisation(
        "杭州市西湖区疾病预防控制中心",
        ["CDC"],
        "330106",
        "浙江省杭州市西湖区保俶北路",
        registrar="1",
        entity_type="2",
    )
    clinic = s.organisation(
        "西湖区北山街道社区卫生服务中心",
        ["CLINIC"],
        "330106",
        "浙江省杭州市西湖区北山街道",
        registrar="1",
        entity_type="2",
    )
    data.add(None, s.registration(maker, distributor, cdc, clinic))

    case = s.drug_code("8123456", 90_000_000_001)
    boxes = [s.drug_code("8123456", 80_000_000_000 + n) for n in (1, 2)]
    doses = [s.drug_code("8123456", 10_000_000_000 + n) for n in range(1, 5)]
    released = _lot_release(s, maker, "202604015", [case, *boxes, *doses], "2029-03-31")
    packing = [
        s.event(
            maker,
            "Aggregated",
            {"parent_code": boxes[0], "child_codes": doses[:2]},
            codes=[boxes[0], *doses[:2]],
            biz_step="packing",
        ),
        s.event(
            maker,
            "Aggregated",
            {"parent_code": boxes[1], "child_codes": doses[2:]},
            codes=[boxes[1], *doses[2:]],
            biz_step="packing",
        ),
        s.event(
            maker,
            "Aggregated",
            {"parent_code": case, "child_codes": boxes},
            codes=[case, *boxes],
            biz_step="packing",
        ),
    ]
    data.add(
        maker,
        [
            released,
            *packing,
            _ship(s, maker, distributor, [case], "4", "剂"),
            _transport_record(s, maker, [case]),
        ],
    )
    data.add(
        distributor,
        [
            _receive(s, distributor, maker, [case], "4", "剂"),
            _ship(s, distributor, cdc, [case], "4", "剂"),
            _transport_record(s, distributor, [case]),
        ],
    )
    data.add(
        cdc,
        [
            _receive(s, cdc, distributor, [case], "4", "剂"),
            s.event(
                cdc,
                "Disaggregated",
                {"parent_code": case, "child_codes": boxes},
                codes=[case, *boxes],
                biz_step="unpacking",
            ),
            _ship(s, cdc, clinic, [boxes[0]], "2", "剂"),
            _transport_record(s, cdc, [boxes[0]]),
            # the second box goes without its temperature record (vaccine_receipt_unchecked)
            _ship(s, cdc, clinic, [boxes[1]], "2", "剂"),
        ],
    )
    arrival = _receive(s, clinic, cdc, [boxes[0]], "2", "剂")
    unchecked = _receipt_noted(s, clinic, cdc, [boxes[1]], "未随货提供运输温度记录")
    shots = [
        _shot(s, clinic, dose, f"demo-recipient-{n}", n + 1) for n, dose in enumerate(doses[:2])
    ]
    aefi = _adverse_event(s, clinic, doses[1], shots[1], "demo-recipient-1", serious=False)
    serious = _adverse_event(s, clinic, doses[1], shots[1], "demo-recipient-1", serious=True)
    twice = [_shot(s, clinic, doses[3], f"demo-recipient-{n}", 1) for n in (4, 5)]
    data.add(clinic, [arrival, unchecked, *shots, aefi, serious, *twice])

    codes = {
        "vaccine unit": doses[0],
        "vaccine case": case,
        "vaccine dose with a serious adverse event (regulators only)": doses[1],
        "vaccine received without temperature record": doses[2],
        "vaccine dose given twice": doses[3],
    }
    codes.update(_vaccine_recall_and_expiry(s, data, maker, cdc, clinic))
    return codes


def _vaccine_recall_and_expiry(
    s: Scenario, data: DemoData, maker: Organisation, cdc: Organisation, clinic: Organisation
) -> dict[str, str]:
    """A lot recalled by its maker after it reached the clinic, which gives a dose of it anyway;
    a lot delivered straight from the maker to the clinic (not through the CDC, 疫苗管理法
    第35条) with a 15 °C reading on the way, one dose of it given after its expiry date."""
    recalled = [s.drug_code("8123456", 10_000_000_100 + n) for n in (1, 2)]
    data.add(
        maker,
        [
            _lot_release(s, maker, "202604016", recalled, "2029-04-30"),
            _ship(s, maker, cdc, recalled, "2", "剂"),
            _transport_record(s, maker, recalled),
        ],
    )
    data.add(
        cdc,
        [
            _receive(s, cdc, maker, recalled, "2", "剂"),
            _ship(s, cdc, clinic, recalled, "2", "剂"),
            _transport_record(s, cdc, recalled),
        ],
    )
    data.add(clinic, [_receive(s, clinic, cdc, recalled, "2", "剂")])
    recall = s.event(
        maker,
        "RecallInitiated",
        {
            "recall_id": s.event_id(),
            "root_codes": recalled,
            "reason": "效价检测不合格，主动召回",
            "level": "LEVEL_1",
        },
        codes=recalled,
    )
    data.add(maker, [recall])
    data.add(clinic, [_shot(s, clinic, recalled[0], "demo-recipient-6", 1)])

    short = [s.drug_code("8123456", 10_000_000_200 + n) for n in (1, 2)]
    expiry = (s.clock + timedelta(days=1)).date().isoformat()
    data.add(
        maker,
        [
            _lot_release(s, maker, "202605001", short, expiry),
            _ship(s, maker, clinic, short, "2", "剂"),
            _transport_record(s, maker, short, celsius=(5.0, 15.0, 7.5)),
        ],
    )
    data.add(clinic, [_receipt_noted(s, clinic, maker, short, "生产企业直接配送，途中最高15℃")])
    s.tick(3 * 24 * 60)  # three days on: past the lot's expiry date
    data.add(clinic, [_shot(s, clinic, short[0], "demo-recipient-7", 1)])
    return {
        "vaccine dose given under recall": recalled[0],
        "vaccine dose given expired, straight from the maker after 15 °C": short[0],
        "vaccine dose at the clinic straight from the maker": short[1],
    }


def _lot_release(
    s: Scenario, maker: Organisation, lot_no: str, codes: list[str], expiry: str
) -> Event:
    return s.event(
        maker,
        "VaccineLotReleased",
        {
            "product_name": "乙型肝炎疫苗(酿酒酵母)",
            "lot_no": lot_no,
            "manufacturer": maker.uscc,
            "release_certificate_no": f"SJ{lot_no}-0321",
            "release_authority": "中国食品药品检定研究院",
            "expiry_date": expiry,
        },
        codes=codes,
        quantity=str(sum(1 for c in codes if c.startswith("81234561"))),
        unit="剂",
        biz_step="commissioning",
        disposition="active",
    )


def _receipt_noted(
    s: Scenario, receiver: Organisation, sender: Organisation, codes: list[str], note: str
) -> Event:
    """A receipt of vaccine doses whose incoming check noted a problem."""
    return s.event(
        receiver,
        "Received",
        {
            "from_org": sender.uscc,
            "waybill_no": None,
            "upstream_certificates": [],
            "check_passed": False,
            "check_note": note,
        },
        codes=codes,
        quantity=str(len(codes)),
        unit="剂",
        biz_step="receiving",
        disposition="in_progress",
    )


def _transport_record(
    s: Scenario, sender: Organisation, codes: list[str], celsius: tuple[float, ...] = (4.6, 5.2)
) -> Event:
    """The cold-chain logger's readings (2–8 °C) during the transport just shipped."""
    return s.event(
        sender,
        "TemperatureRecorded",
        {
            "device_id": f"VT-{s.rng.randrange(10**4):04d}",
            "container_no": None,
            "readings": [{"at": s.tick(15).isoformat(), "celsius": c} for c in celsius],
            "min_celsius": 2.0,
            "max_celsius": 8.0,
        },
        codes=codes,
        biz_step="sensor_reporting",
    )


def _shot(s: Scenario, clinic: Organisation, dose: str, subject: str, dose_no: int) -> Event:
    return s.event(
        clinic,
        "VaccineAdministered",
        {
            "clinic_name": clinic.name,
            "dose_no": dose_no,
            "recipient_pseudonym": demo_pseudonym(subject),
        },
        codes=[dose],
        quantity="1",
        unit="剂",
        biz_step="dispensing",
        disposition="dispensed",
    )


def _adverse_event(
    s: Scenario, clinic: Organisation, dose: str, shot: Event, subject: str, *, serious: bool
) -> Event:
    return s.event(
        clinic,
        "AdverseEventReported",
        {
            "recipient_pseudonym": demo_pseudonym(subject),
            "administered_event_id": shot.event_id,
            "onset_at": s.tick(600).isoformat(),
            "classification": "PENDING",
            "serious": serious,
            "symptoms": "高热39.6℃，全身皮疹，住院观察"
            if serious
            else "接种部位红肿，直径约2厘米，低热37.8℃",
            "report_no": f"AEFI-330106-20260510-{4 if serious else 3:03d}",
        },
        codes=[dose],
    )


def _drugs(s: Scenario, data: DemoData) -> dict[str, str]:
    """药品追溯码: boxes of a medicine reach a pharmacy; one box is dispensed once, another is
    dispensed and then sold again (回流药, drug_resold)."""
    wholesaler = s.organisation(
        "浙江某医药有限公司", ["DISTRIBUTOR"], "330104", "浙江省杭州市江干区九环路"
    )
    pharmacy = s.organisation(
        "西湖区文三路大药房", ["PHARMACY"], "330106", "浙江省杭州市西湖区文三路300号"
    )
    data.add(None, s.registration(wholesaler, pharmacy))
    boxes = [s.drug_code("8690001", 20_000_000_000 + n) for n in (1, 2)]
    data.add(wholesaler, [_ship(s, wholesaler, pharmacy, boxes, "2", "盒")])

    def dispense(box: str) -> Event:
        return s.event(
            pharmacy,
            "Dispensed",
            {"kind": "PRESCRIPTION", "insurance_settlement_no": f"3301002605{box[-6:]}"},
            codes=[box],
            quantity="1",
            unit="盒",
            biz_step="dispensing",
            disposition="dispensed",
        )

    taken = s.event(
        pharmacy,
        "Received",
        {
            "from_org": wholesaler.uscc,
            "waybill_no": None,
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": "随货同行单与药品追溯码相符",
        },
        codes=boxes,
        quantity="2",
        unit="盒",
        biz_step="receiving",
        disposition="in_progress",
    )
    dispensed = [dispense(box) for box in boxes]
    resold = s.event(
        pharmacy,
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": "WS0571-20260512-0042"},
        codes=[boxes[1]],
        quantity="1",
        unit="盒",
        biz_step="retail_selling",
        disposition="retail_sold",
    )
    data.add(pharmacy, [taken, *dispensed, resold])
    return {"drug dispensed once": boxes[0], "drug sold again (回流药)": boxes[1]}


def _ship(
    s: Scenario, sender: Organisation, to: Organisation, codes: list[str], quantity: str, unit: str
) -> Event:
    return s.event(
        sender,
        "Shipped",
        {
            "to_org": to.uscc,
            "waybill_no": f"YM{s.rng.randrange(10**8):08d}",
            "vehicle_plate": None,
            "carrier": None,
            "destination": to.location(),
        },
        codes=codes,
        quantity=quantity,
        unit=unit,
        biz_step="shipping",
        disposition="in_transit",
    )


def _receive(
    s: Scenario,
    receiver: Organisation,
    sender: Organisation,
    codes: list[str],
    quantity: str,
    unit: str,
) -> Event:
    return s.event(
        receiver,
        "Received",
        {
            "from_org": sender.uscc,
            "waybill_no": None,
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": "冷链温度记录完整",
        },
        codes=codes,
        quantity=quantity,
        unit=unit,
        biz_step="receiving",
        disposition="in_progress",
    )


def vegetable_certificate(
    s: Scenario,
    issuer: Organisation,
    lot: str | None,
    *,
    basis: str = "QUALITY_CONTROL",
    inspection: str | None = None,
    upstream: tuple[str, ...] = (),
    quantity: str = "500",
    code: str | None = None,
) -> Event:
    """A 合格证 for a lot of 小青菜 from the demo cooperative's village, following the 2025 rules:
    a producer's, or a purchaser's when ``upstream`` names the certificates it rests on."""
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
        codes=[code or s.certificate_code(), *([lot] if lot else [])],
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
