"""The 浙苗链 and drug stories of issue 12 as signed messages, for the HTTP and Kafka runs.

A maker releases a lot and ships it to the CDC, which supplies a clinic; the clinic gives a dose
twice, gives a dose under recall, takes in a box without its temperature record, tries to give
a dose still at the CDC; a supermarket "administers" a dose; a second lot comes straight from
the maker after a 15 °C reading and a dose of it is given expired; a serious AEFI is reported; a
pharmacy dispenses a box of medicine and sells it again; a case of doses is recalled at the
CDC. Deterministic for a seed, so both runs see the same events; :data:`VERDICTS`,
:data:`ALERTS` and :data:`REFUSED` say what must follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario
from suyuan_demo import demo_pseudonym

#: The state a consumer sees for each labelled code (``GET /v1/trace`` and the scan page).
VERDICTS = {
    "dose given once": "ok",
    "dose given twice": "blocked",
    "dose received without temperature record": "attention",
    "dose given under recall": "recalled",
    "dose given expired, straight from the maker after 15 °C": "blocked",
    "dose at the clinic straight from the maker": "blocked",
    "drug dispensed once": "ok",
    "drug sold again": "attention",
    "box of doses under recall": "recalled",
}
#: The alert kinds the regulator's list holds for each labelled code (in the alerts' codes or
#: on a box they were packed in).
ALERTS = {
    "dose given once": {"serious_adverse_event"},
    "dose given twice": {"vaccine_use_blocked"},
    "dose received without temperature record": {"vaccine_receipt_unchecked"},
    # The maker's LEVEL_1 recall is months old and no holder acknowledged it (docs/recalls.md).
    "dose given under recall": {"vaccine_use_blocked", "recall_overdue"},
    "dose given expired, straight from the maker after 15 °C": {
        "vaccine_use_blocked",
        "temperature_excursion",
    },
    "dose at the clinic straight from the maker": {"vaccine_use_blocked", "temperature_excursion"},
    "drug dispensed once": set(),
    "drug sold again": {"drug_resold"},
    # A root code of the same months-old recall: its holders' recall_overdue alerts name it.
    "box of doses under recall": {"recall_overdue"},
}
#: The events refused, by label: (reason, field).
REFUSED = {
    "a clinic gives a dose still at the CDC": ("not_in_custody", "codes[0]"),
    "a supermarket administers a dose": ("unauthorised", "actor"),
}


@dataclass
class Story:
    s: Scenario
    orgs: dict[str, Organisation]
    trust: list[Event]
    steps: list[tuple[Organisation, list[Event]]] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    refused: dict[str, Event] = field(default_factory=dict)
    serious_report: Event | None = None

    def accepted_events(self) -> int:
        refused = {e.event_id for e in self.refused.values()}
        return len(self.trust) + sum(
            1 for _org, events in self.steps for e in events if e.event_id not in refused
        )


def build(seed: int = 12) -> Story:
    s = Scenario(seed)

    def org(name: str, roles: list[str], region: str, **kw: str) -> Organisation:
        return s.organisation(name, roles, region, f"{name}地址", **kw)

    o = {
        "maker": org("浙江某生物制品有限公司", ["VACCINE_MAKER"], "330110"),
        "cdc": org("西湖区疾病预防控制中心", ["CDC"], "330106", registrar="1"),
        "clinic": org("北山街道社区卫生服务中心", ["CLINIC"], "330106", registrar="1"),
        "shop": org("联华超市（文三路店）", ["RETAILER"], "330106"),
        "wholesaler": org("浙江某医药有限公司", ["DISTRIBUTOR"], "330104"),
        "pharmacy": org("杭州老百姓大药房（文一店）", ["PHARMACY"], "330106"),
    }
    story = Story(s, o, s.registration(*o.values()))
    maker, cdc, clinic = o["maker"], o["cdc"], o["clinic"]

    def step(by: Organisation, *events: Event) -> list[Event]:
        story.steps.append((by, list(events)))
        return list(events)

    doses = [s.drug_code("8123456", 10_000_000_000 + n) for n in range(1, 5)]
    a1, a2, a3, a4 = doses
    step(maker, release(s, maker, doses, "2029-03-31"), ship(s, maker, cdc, doses))
    step(maker, temperature(s, maker, doses, (4.5, 5.0)))
    step(cdc, receive(s, cdc, maker, doses), ship(s, cdc, clinic, [a1, a2]))
    step(cdc, temperature(s, cdc, [a1, a2], (4.8, 5.1)), ship(s, cdc, clinic, [a3]))
    step(clinic, receive(s, clinic, cdc, [a1, a2]), receive(s, clinic, cdc, [a3]))
    [too_early] = step(clinic, shot(s, clinic, a4, "vax-story-0"))
    [supermarket] = step(o["shop"], shot(s, o["shop"], a1, "vax-story-0"))
    story.refused = {
        "a clinic gives a dose still at the CDC": too_early,
        "a supermarket administers a dose": supermarket,
    }
    [given, *_twice] = step(
        clinic,
        shot(s, clinic, a1, "vax-story-1"),
        shot(s, clinic, a2, "vax-story-2"),
        shot(s, clinic, a2, "vax-story-3"),
    )
    [story.serious_report] = step(clinic, serious_aefi(s, clinic, a1, given, "vax-story-1"))
    step(cdc, ship(s, cdc, clinic, [a4]), temperature(s, cdc, [a4], (5.2,)))
    step(clinic, receive(s, clinic, cdc, [a4]))
    step(maker, recall(s, maker, [a4]))
    step(clinic, shot(s, clinic, a4, "vax-story-4"))

    short = [s.drug_code("8123456", 10_000_000_200 + n) for n in (1, 2)]
    expiry = (s.clock + timedelta(days=1)).date().isoformat()
    step(maker, release(s, maker, short, expiry), ship(s, maker, clinic, short))
    step(maker, temperature(s, maker, short, (5.0, 15.0)))
    step(clinic, receive(s, clinic, maker, short))
    s.tick(3 * 24 * 60)
    step(clinic, shot(s, clinic, short[0], "vax-story-5"))

    # a case of doses (an SSCC) recalled at the CDC: its scan speaks of a vaccine, not of food
    packed = [s.drug_code("8123456", 10_000_000_300 + n) for n in (1, 2)]
    case = s.sscc()
    step(maker, release(s, maker, packed, "2029-03-31"), pack(s, maker, case, packed))
    step(maker, ship(s, maker, cdc, [case]), temperature(s, maker, [case], (4.6, 5.2)))
    step(cdc, receive(s, cdc, maker, [case]))
    step(maker, recall(s, maker, [case]))

    boxes = [s.drug_code("8690001", 20_000_000_000 + n) for n in (1, 2)]
    step(o["wholesaler"], ship(s, o["wholesaler"], o["pharmacy"], boxes, unit="盒"))
    step(
        o["pharmacy"],
        receive(s, o["pharmacy"], o["wholesaler"], boxes, unit="盒"),
        dispense(s, o["pharmacy"], boxes[0]),
        dispense(s, o["pharmacy"], boxes[1]),
        retail_sale(s, o["pharmacy"], boxes[1]),
    )
    story.codes = {
        "dose given once": a1,
        "dose given twice": a2,
        "dose received without temperature record": a3,
        "dose given under recall": a4,
        "dose given expired, straight from the maker after 15 °C": short[0],
        "dose at the clinic straight from the maker": short[1],
        "drug dispensed once": boxes[0],
        "drug sold again": boxes[1],
        "box of doses under recall": case,
    }
    return story


def release(s: Scenario, maker: Organisation, codes: list[str], expiry: str) -> Event:
    return s.event(
        maker,
        "VaccineLotReleased",
        {
            "product_name": "乙型肝炎疫苗(酿酒酵母)",
            "lot_no": f"L{codes[0][-6:]}",
            "manufacturer": maker.uscc,
            "release_certificate_no": f"SJ{codes[0][-6:]}",
            "release_authority": "中国食品药品检定研究院",
            "expiry_date": expiry,
        },
        codes=codes,
        quantity=str(len(codes)),
        unit="剂",
    )


def ship(
    s: Scenario, by: Organisation, to: Organisation, codes: list[str], unit: str = "剂"
) -> Event:
    return s.event(
        by,
        "Shipped",
        {
            "to_org": to.uscc,
            "waybill_no": f"YM{s.rng.randrange(10**8):08d}",
            "vehicle_plate": None,
            "carrier": None,
            "destination": None,
        },
        codes=codes,
        quantity=str(len(codes)),
        unit=unit,
    )


def receive(
    s: Scenario, by: Organisation, sender: Organisation, codes: list[str], unit: str = "剂"
) -> Event:
    return s.event(
        by,
        "Received",
        {
            "from_org": sender.uscc,
            "waybill_no": None,
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": None,
        },
        codes=codes,
        quantity=str(len(codes)),
        unit=unit,
    )


def temperature(
    s: Scenario, by: Organisation, codes: list[str], readings: tuple[float, ...]
) -> Event:
    return s.event(
        by,
        "TemperatureRecorded",
        {
            "device_id": "VT-0571-09",
            "container_no": None,
            "readings": [{"at": s.tick(10).isoformat(), "celsius": c} for c in readings],
            "min_celsius": 2.0,
            "max_celsius": 8.0,
        },
        codes=codes,
    )


def pack(s: Scenario, by: Organisation, case: str, codes: list[str]) -> Event:
    return s.event(
        by, "Aggregated", {"parent_code": case, "child_codes": codes}, codes=[case, *codes]
    )


def shot(s: Scenario, by: Organisation, dose: str, subject: str) -> Event:
    return s.event(
        by,
        "VaccineAdministered",
        {
            "clinic_name": by.name,
            "dose_no": 1,
            "recipient_pseudonym": demo_pseudonym(subject),
        },
        codes=[dose],
        quantity="1",
        unit="剂",
    )


def serious_aefi(s: Scenario, by: Organisation, dose: str, given: Event, subject: str) -> Event:
    return s.event(
        by,
        "AdverseEventReported",
        {
            "recipient_pseudonym": demo_pseudonym(subject),
            "administered_event_id": given.event_id,
            "onset_at": s.tick(120).isoformat(),
            "classification": "PENDING",
            "serious": True,
            "symptoms": "高热39.6℃，惊厥一次，住院观察",
            "report_no": "AEFI-330106-20260506-009",
        },
        codes=[dose],
    )


def recall(s: Scenario, by: Organisation, roots: list[str]) -> Event:
    payload: dict[str, Any] = {
        "recall_id": s.event_id(),
        "root_codes": roots,
        "reason": "效价检测不合格，主动召回",
        "level": "LEVEL_1",
    }
    return s.event(by, "RecallInitiated", payload, codes=roots)


def dispense(s: Scenario, by: Organisation, box: str) -> Event:
    return s.event(
        by,
        "Dispensed",
        {"kind": "PRESCRIPTION", "insurance_settlement_no": None},
        codes=[box],
        quantity="1",
        unit="盒",
    )


def retail_sale(s: Scenario, by: Organisation, box: str) -> Event:
    return s.event(
        by,
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": None},
        codes=[box],
        quantity="1",
        unit="盒",
    )
