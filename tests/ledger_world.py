"""A small, realistic ledger for tests: a regulator, a farm, a market; signed batches of events."""

from __future__ import annotations

from dataclasses import dataclass, field

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario, vegetable_certificate


@dataclass
class World:
    scenario: Scenario = field(default_factory=lambda: Scenario(seed=42))

    def __post_init__(self) -> None:
        s = self.scenario
        self.farm: Organisation = s.cooperative()
        self.market: Organisation = s.wholesale_market()

    def trust_message(self) -> bytes:
        return self.scenario.sign_as_root(self.scenario.registration(self.farm, self.market))

    def certificate(
        self, code: str | None = None, upstream: tuple[str, ...] = (), lot: str | None = None
    ) -> Event:
        issuer = self.farm if not upstream else self.market
        return vegetable_certificate(self.scenario, issuer, lot, upstream=upstream, code=code)

    def delivery(
        self, codes: list[str], certificates: list[str], quantity: str = "500"
    ) -> tuple[Event, Event]:
        """The farm ships ``codes`` to the market (a farm event) and the market receives them
        with ``certificates`` (a market event): what a purchaser's certificate may rest on."""
        s = self.scenario
        shipped = s.event(
            self.farm,
            "Shipped",
            {
                "to_org": self.market.uscc,
                "waybill_no": "ZJYD20260506",
                "vehicle_plate": None,
                "carrier": None,
                "destination": self.market.location(),
            },
            codes=codes,
            quantity=quantity,
            unit="kg",
        )
        received = s.event(
            self.market,
            "Received",
            {
                "from_org": self.farm.uscc,
                "waybill_no": None,
                "upstream_certificates": certificates,
                "check_passed": True,
                "check_note": None,
            },
            codes=codes,
            quantity=quantity,
            unit="kg",
        )
        return shipped, received

    def aggregation(self, parent: str, children: list[str]) -> Event:
        return self.scenario.event(
            self.farm,
            "Aggregated",
            {"parent_code": parent, "child_codes": children},
            codes=[parent, *children],
        )

    def farm_batch(self, events: list[Event]) -> bytes:
        return self.scenario.sign(self.farm, events)
