"""The vaccine chain (浙苗链): a released lot from the maker to doses given to pseudonymous
recipients, and one case of each vaccine rule (docs/vaccines.md)."""

from __future__ import annotations

from datetime import timedelta

from suyuan.events.model import Event
from suyuan.privacy import keyed_pseudonym
from suyuan.scenario import Organisation, Scenario
from suyuan_demo._steps import receive, ship
from suyuan_demo.data import DemoData

#: Key of the demo's recipient pseudonyms (a real clinic keeps its own secret; see suyuan.privacy).
DEMO_PSEUDONYM_SECRET = b"suyuan-demo-pseudonym-secret-0001"


def demo_pseudonym(subject: str) -> str:
    """The keyed pseudonym the demo records for a vaccine recipient (never the person)."""
    return keyed_pseudonym(DEMO_PSEUDONYM_SECRET, subject)


def vaccines(s: Scenario, data: DemoData) -> dict[str, str]:
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
            ship(s, maker, distributor, [case], "4", "剂"),
            _transport_record(s, maker, [case]),
        ],
    )
    data.add(
        distributor,
        [
            receive(s, distributor, maker, [case], "4", "剂"),
            ship(s, distributor, cdc, [case], "4", "剂"),
            _transport_record(s, distributor, [case]),
        ],
    )
    data.add(
        cdc,
        [
            receive(s, cdc, distributor, [case], "4", "剂"),
            s.event(
                cdc,
                "Disaggregated",
                {"parent_code": case, "child_codes": boxes},
                codes=[case, *boxes],
                biz_step="unpacking",
            ),
            ship(s, cdc, clinic, [boxes[0]], "2", "剂"),
            _transport_record(s, cdc, [boxes[0]]),
            # the second box goes without its temperature record (vaccine_receipt_unchecked)
            ship(s, cdc, clinic, [boxes[1]], "2", "剂"),
        ],
    )
    arrival = receive(s, clinic, cdc, [boxes[0]], "2", "剂")
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
            ship(s, maker, cdc, recalled, "2", "剂"),
            _transport_record(s, maker, recalled),
        ],
    )
    data.add(
        cdc,
        [
            receive(s, cdc, maker, recalled, "2", "剂"),
            ship(s, cdc, clinic, recalled, "2", "剂"),
            _transport_record(s, cdc, recalled),
        ],
    )
    data.add(clinic, [receive(s, clinic, cdc, recalled, "2", "剂")])
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
            ship(s, maker, clinic, short, "2", "剂"),
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
