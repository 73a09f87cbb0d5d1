"""The import cold chain (浙冷链): frozen imports through the 集中监管仓 to the market, with a
temperature excursion, a positive sample, failed papers and an uncoded unit (docs/cold-chain.md)."""

from __future__ import annotations

from suyuan.scenario import Organisation, Scenario
from suyuan_demo._steps import receive, ship
from suyuan_demo.data import DemoData


def cold_chain(s: Scenario, data: DemoData, market: Organisation) -> dict[str, str]:
    """Four import batches, the last ones reaching ``market``; adds the importer to
    ``data.orgs``; returns the codes worth scanning."""
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
        handed = ship(s, importer, warehouse, packages, "60", "kg")
        data.add(importer, [declared, handed])
        taken = receive(s, warehouse, importer, packages, "60", "kg")
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
    data.add(market, [receive(s, market, cold_store, good[:1], "20", "kg")])

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
            ship(s, warehouse, cold_store, positive, "60", "kg"),
        ],
    )
    taken_in = receive(s, cold_store, warehouse, positive, "60", "kg")
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
    data.add(cold_store, [ship(s, cold_store, market, positive[1:2], "20", "kg")])
    data.add(market, [receive(s, market, cold_store, positive[1:2], "20", "kg")])

    # 四个不得: papers failed, so the warehouse could not release it; it shipped it anyway.
    failed = import_batch(
        "MSKU7750023",
        "SIF9012-260303",
        "10297",
        failed=("nucleic_acid_test", "disinfection_certificate"),
    )
    data.add(warehouse, [ship(s, warehouse, cold_store, failed[:1], "20", "kg")])
    data.add(cold_store, [receive(s, cold_store, warehouse, failed[:1], "20", "kg")])

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
    data.add(importer, [declared, ship(s, importer, market, uncoded, "40", "kg")])
    data.add(market, [receive(s, market, importer, uncoded, "40", "kg")])
    return {
        "cold-chain unit": good[0],
        "frozen cold-chain unit": positive[0],
        "sibling of a positive sample, sold on": positive[1],
        "import with failed papers": failed[0],
        "uncoded import unit": uncoded[0],
    }
