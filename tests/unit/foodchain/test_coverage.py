"""Coverage metrics: each rate counts what docs/food-chain.md says, for the right organisation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suyuan.foodchain import CoverageReport, FoodChainMonitor, Rate, period_key, region_within
from tests.unit.foodchain.chain import Chain

DAY = date(2026, 5, 6)


def build(chain: Chain) -> None:
    """Two farm lots (one tested), the market's purchaser certificate resting on the tested one
    it received, a voided
    certificate; one receipt with its certificate and of goods the farm coded, one shipment
    never received, one receipt of a code its supplier never recorded and no certificate."""
    lot_a, lot_b, case = chain.lot("A0506"), chain.lot("B0506"), chain.case()
    test = chain.inspection(chain.farm, [lot_a])
    cert_a = chain.certificate(chain.farm, [lot_a], basis="SELF_TESTED", inspection=test.event_id)
    cert_b = chain.certificate(chain.farm, [lot_b])
    voided = chain.certificate(chain.farm, [lot_b])
    chain.add(
        chain.farm,
        test,
        cert_a,
        cert_b,
        voided,
        chain.void(chain.farm, voided.codes[0]),
        chain.pack(chain.farm, case, [lot_a]),
        chain.ship(chain.farm, chain.market, [case], "500"),
        chain.ship(chain.farm, chain.market, [lot_b], "300"),
    )
    chain.add(
        chain.market,
        chain.receive(chain.market, chain.farm, [case], "500", certificates=[cert_a.codes[0]]),
    )
    # Of the purchaser's own lot: a lot it never held would be refused (docs/authority.md);
    # it cites the certificate of goods it received (docs/food-chain.md).
    own_lot = chain.lot("A0506P")
    chain.add(chain.market, chain.certificate(chain.market, [own_lot], upstream=[cert_a.codes[0]]))
    uncoded = chain.lot("X0506", item="10027")
    chain.add(chain.market, chain.receive(chain.market, chain.coop, [uncoded], "50"))


def rates(rows: dict[str, Rate]) -> dict[str, tuple[int, int]]:
    return {metric: (r.numerator, r.denominator) for metric, r in rows.items()}


@pytest.fixture
def report(chain: Chain) -> CoverageReport:
    build(chain)
    return FoodChainMonitor(chain.store).coverage(period="day")


def test_totals(report: CoverageReport) -> None:
    assert rates(dict(report.total)) == {
        "certificate_rate": (1, 2),
        "testing_rate": (2, 3),
        "coding_rate": (0, 0),  # no imports here: see test_cold_chain
        "scan_rate": (2, 4),  # two shipments scanned in or not, two receipts scanned out or not
    }
    assert report.total["testing_rate"].value == pytest.approx(2 / 3)


def test_each_rate_is_counted_for_the_organisation_whose_duty_it_is(
    chain: Chain, report: CoverageReport
) -> None:
    by_org = {row.key: rates(dict(row.rates)) for row in report.by_org}

    assert by_org[chain.market.uscc] == {
        "certificate_rate": (1, 2),  # the buyer checks certificates
        "testing_rate": (1, 1),  # tested upstream
        "coding_rate": (0, 0),
        "scan_rate": (1, 2),  # the receiver scans what was shipped to it
    }
    assert by_org[chain.farm.uscc]["testing_rate"] == (1, 2)  # the issuer tests its lots
    # the supplier scans out what it hands over (出扫码); the cooperative never recorded the
    # lot the market took in from it
    assert by_org[chain.farm.uscc]["scan_rate"] == (1, 1)
    assert by_org[chain.coop.uscc]["scan_rate"] == (0, 1)
    assert by_org[chain.coop.uscc]["testing_rate"] == (0, 0)
    names = {row.key: (row.name, row.region) for row in report.by_org}
    assert names[chain.coop.uscc] == (chain.coop.name, "330110")


def test_by_region_and_by_period(report: CoverageReport) -> None:
    by_region = {row.key: rates(dict(row.rates)) for row in report.by_region}
    assert sorted(by_region) == ["330105", "330110", "330185"]
    assert by_region["330185"]["testing_rate"] == (1, 2)
    assert [row.key for row in report.by_period] == ["2026-05-06"]


def test_region_scope_window_and_organisation(chain: Chain) -> None:
    build(chain)
    monitor = FoodChainMonitor(chain.store)

    farm_only = monitor.coverage(scope="330185")
    assert {row.key for row in farm_only.by_org} == {chain.farm.uscc}
    city = monitor.coverage(scope="330100")
    assert rates(dict(city.total)) == rates(dict(monitor.coverage().total))

    later = monitor.coverage(since=date(2026, 5, 7))
    assert all(r.denominator == 0 and r.value is None for r in later.total.values())
    same_day = monitor.coverage(since=DAY, until=DAY)
    assert same_day.total["scan_rate"].denominator == 4

    market = monitor.coverage(organisation=chain.market.uscc)
    assert rates(dict(market.total))["certificate_rate"] == (1, 2)
    assert rates(dict(market.total))["testing_rate"] == (1, 1)


def test_new_events_are_counted_on_the_next_call(chain: Chain) -> None:
    build(chain)
    monitor = FoodChainMonitor(chain.store)
    assert monitor.coverage().total["scan_rate"] == Rate(2, 4)

    chain.add(chain.market, chain.receive(chain.market, chain.farm, [chain.lot("B0506")], "300"))

    # the shipment is now scanned in, and the new receipt was scanned out by the farm
    assert monitor.coverage().total["scan_rate"] == Rate(4, 5)


@pytest.mark.parametrize(
    ("period", "key"),
    [("day", "2026-05-06"), ("week", "2026-W19"), ("month", "2026-05"), ("year", "2026")],
)
def test_period_keys(period: str, key: str) -> None:
    assert period_key(DAY, period) == key


@pytest.mark.parametrize(
    ("region", "scope", "within"),
    [
        ("330185", "330000", True),
        ("330185", "330100", True),
        ("330185", "330185", True),
        ("330206", "330100", False),
        ("330100", "330185", False),
        ("310101", "330000", False),
        (None, "330100", False),
        (None, None, True),
    ],
)
def test_region_within(region: str | None, scope: str | None, within: bool) -> None:
    assert region_within(region, scope) is within


@given(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True))
def test_a_region_lies_within_its_city_and_province(region: str) -> None:
    assert region_within(region, region[:4] + "00")
    assert region_within(region, region[:2] + "0000")
    assert region_within(region, None)
