"""Drugs (药品追溯码): boxes reach a pharmacy; one is dispensed, another sold again (回流药)."""

from __future__ import annotations

from suyuan.events.model import Event
from suyuan.scenario import Scenario
from suyuan_demo._steps import ship
from suyuan_demo.data import DemoData


def drugs(s: Scenario, data: DemoData) -> dict[str, str]:
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
    data.add(wholesaler, [ship(s, wholesaler, pharmacy, boxes, "2", "盒")])

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
