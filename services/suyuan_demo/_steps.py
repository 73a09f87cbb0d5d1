"""Steps every chain of the story takes: a shipment and its receipt."""

from __future__ import annotations

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario


def ship(
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


def receive(
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
