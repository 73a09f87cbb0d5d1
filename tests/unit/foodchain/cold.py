"""The events of an import cold chain (浙冷链), for the cold-chain rules' tests.

An importer (宁波 330206) declares a batch of frozen beef with its 三证, hands it to the 集中监管仓
(宁波 330206), which stores, samples and codes it and releases it to a cold store (余杭 330110);
the cold store sells on to a wholesale market (拱墅 330105). Each helper returns the event;
the caller signs and sends it (through the writer, HTTP or Kafka).
"""

from __future__ import annotations

from collections.abc import Sequence

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario

PAPERS = ("quarantine_certificate", "nucleic_acid_test", "disinfection_certificate")


def warehouse(s: Scenario) -> Organisation:
    return s.organisation(
        "宁波北仑港集中监管仓",
        ["SUPERVISED_WAREHOUSE", "COLD_STORE"],
        "330206",
        "浙江省宁波市北仑区港城大道1号",
    )


def packages(s: Scenario, batch: str, count: int = 3, item: str = "10273") -> list[str]:
    return [s.unit_code(item=item, serial=f"{batch}{n:03d}") for n in range(1, count + 1)]


def declare(
    s: Scenario,
    importer: Organisation,
    codes: Sequence[str],
    *,
    failed: Sequence[str] = (),
    batch: str = "SIF1234-260301",
    container: str = "CSQU3054383",
) -> Event:
    """An ``ImportDeclared`` of ``codes``; the papers named in ``failed`` state a failing result."""
    return s.event(
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
            "customs_declaration_no": None,
            **{
                paper: {"number": f"{paper[:4].upper()}-{batch}", "passed": paper not in failed}
                for paper in PAPERS
            },
        },
        codes=list(codes),
        quantity=str(20 * len(codes)),
        unit="kg",
    )


def assign(s: Scenario, station: Organisation, codes: Sequence[str]) -> Event:
    return s.event(
        station,
        "ColdChainCodesAssigned",
        {
            "station_name": station.name,
            "product_name": "冷冻去骨牛肉",
            "import_batch_no": "SIF1234-260301",
            "container_no": "CSQU3054383",
        },
        codes=list(codes),
        biz_step="commissioning",
        disposition="active",
    )


def release(
    s: Scenario,
    by: Organisation,
    codes: Sequence[str],
    to: Organisation,
    facility: str = "SUPERVISED_WAREHOUSE",
) -> Event:
    return s.event(
        by,
        "Released",
        {
            "facility": facility,
            "release_certificate_no": "NBJGC-20260522-0108",
            "released_to": to.uscc,
        },
        codes=list(codes),
        quantity=str(len(codes)),
        unit="箱",
    )


def nucleic_acid_test(
    s: Scenario, by: Organisation, codes: Sequence[str], *, positive: bool = True
) -> Event:
    return s.event(
        by,
        "InspectionRecorded",
        {
            "kind": "NUCLEIC_ACID",
            "items": [
                {
                    "name": "新冠病毒核酸(外包装)",
                    "value": "阳性" if positive else "阴性",
                    "unit": None,
                    "limit": "阴性",
                    "standard": None,
                    "passed": not positive,
                }
            ],
            "passed": not positive,
            "lab": "宁波海关技术中心",
            "lab_uscc": None,
            "report_no": None,
        },
        codes=list(codes),
    )


def hand_over(
    s: Scenario, by: Organisation, to: Organisation, codes: Sequence[str], quantity: str
) -> list[Event]:
    """A shipment and its receipt."""
    shipped = s.event(
        by,
        "Shipped",
        {
            "to_org": to.uscc,
            "waybill_no": f"LL{s.rng.randrange(10**8):08d}",
            "vehicle_plate": None,
            "carrier": None,
            "destination": to.location(),
        },
        codes=list(codes),
        quantity=quantity,
        unit="kg",
    )
    received = s.event(
        to,
        "Received",
        {
            "from_org": by.uscc,
            "waybill_no": shipped.payload["waybill_no"],
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": None,
        },
        codes=list(codes),
        quantity=quantity,
        unit="kg",
    )
    return [shipped, received]
