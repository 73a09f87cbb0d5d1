"""不合格核查处置: a failed inspection stays open until every affected quantity is disposed of."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from suyuan.foodchain import INSPECTION_FAILED, Alert, FoodChainMonitor, summarise
from suyuan.foodchain._disposal import disposal_state
from suyuan.trace import Tracer
from tests.unit.foodchain.chain import Chain


@dataclass
class Sold:
    """farm → (case) → market → shop → consumers, and a failed official sampling of the lot."""

    lot: str
    case: str
    farm_cert: str
    failed_id: str


def sold_chain(chain: Chain) -> Sold:
    lot, case = chain.lot("LA0506"), chain.case()
    cert = chain.certificate(chain.farm, [lot])
    chain.add(
        chain.farm,
        cert,
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "500"),
    )
    chain.add(
        chain.market,
        chain.receive(chain.market, chain.farm, [case], "500", certificates=[cert.codes[0]]),
    )
    resale = chain.certificate(chain.market, [lot], upstream=[cert.codes[0]], quantity="120")
    chain.add(chain.market, resale, chain.ship(chain.market, chain.shop, [lot], "120"))
    chain.add(
        chain.shop,
        chain.receive(chain.shop, chain.market, [lot], "120", certificates=[resale.codes[0]]),
        chain.sell(chain.shop, [lot], "1.25"),
    )
    failed = chain.add(
        chain.bureau,
        chain.inspection(chain.bureau, [lot], passed=False, kind="OFFICIAL_SAMPLING"),
    )[0]
    return Sold(lot, case, cert.codes[0], failed.event_id)


def failure_alert(chain: Chain, monitor: FoodChainMonitor | None = None) -> Alert:
    alerts = (monitor or FoodChainMonitor(chain.store)).alerts()
    found = [a for a in alerts if a.kind == INSPECTION_FAILED]
    assert len(found) == 1
    return found[0]


def holdings(alert: Alert) -> dict[str, dict[str, list[tuple[Decimal, str]]]]:
    return {
        h.name or h.organisation: {
            "held": [(a.quantity, a.unit) for a in h.held],
            "remaining": [(a.quantity, a.unit) for a in h.remaining],
            "sold_to_consumers": [(a.quantity, a.unit) for a in h.sold_to_consumers],
        }
        for h in alert.holders
    }


def test_failed_inspection_names_every_holder_with_what_it_still_holds(chain: Chain) -> None:
    sold_chain(chain)

    alert = failure_alert(chain)

    assert alert.status == "open"
    assert alert.organisation == chain.farm.uscc  # the source of the sampled lot
    assert alert.region == "330185"
    assert holdings(alert) == {
        chain.farm.name: {"held": [(500, "kg")], "remaining": [], "sold_to_consumers": []},
        chain.market.name: {
            "held": [(500, "kg")],
            "remaining": [(380, "kg")],
            "sold_to_consumers": [],
        },
        chain.shop.name: {
            "held": [(120, "kg")],
            "remaining": [(Decimal("118.75"), "kg")],
            "sold_to_consumers": [(Decimal("1.25"), "kg")],
        },
    }
    assert [h.region for h in alert.holders] == ["330185", "330105", "330106"]
    assert any("a recall is needed" in line for line in alert.outstanding)


def test_the_trace_marks_the_goods_frozen(chain: Chain) -> None:
    sold = sold_chain(chain)

    assert Tracer(chain.store).trace(sold.lot).status == "frozen"


def test_disposal_of_every_quantity_closes_the_case(chain: Chain) -> None:
    sold = sold_chain(chain)
    monitor = FoodChainMonitor(chain.store)
    assert failure_alert(chain, monitor).status == "open"

    chain.add(chain.market, chain.destroy(chain.market, [sold.case], "380"))
    chain.add(chain.shop, chain.destroy(chain.shop, [sold.lot], "118.75"))
    still = failure_alert(chain, monitor)
    assert still.status == "open"
    assert still.outstanding == (
        f"{chain.shop.name} ({chain.shop.uscc}) sold 1.25 kg to consumers: a recall is needed",
    )

    recall = chain.add(chain.bureau, chain.recall([sold.lot]))[0]
    closed = failure_alert(chain, monitor)

    assert closed.status == "closed"
    assert closed.closed_reason == "disposed"
    assert closed.closed_at == recall.occurred_at
    assert closed.outstanding == ()


def test_a_partial_destruction_leaves_the_rest_outstanding(chain: Chain) -> None:
    sold = sold_chain(chain)
    chain.add(chain.bureau, chain.recall([sold.lot]))
    chain.add(chain.market, chain.destroy(chain.market, [sold.lot], "300"))
    chain.add(chain.shop, chain.destroy(chain.shop, [sold.lot], "118.75"))

    alert = failure_alert(chain)

    assert alert.status == "open"
    assert alert.outstanding == (f"{chain.market.name} ({chain.market.uscc}) still holds 80 kg",)


def test_returning_to_the_supplier_counts_as_disposal(chain: Chain) -> None:
    sold = sold_chain(chain)
    chain.add(chain.bureau, chain.recall([sold.lot]))
    chain.add(chain.market, chain.ship(chain.market, chain.farm, [sold.case], "380"))
    chain.add(chain.shop, chain.ship(chain.shop, chain.market, [sold.lot], "118.75"))

    alert = failure_alert(chain)

    market = next(h for h in alert.holders if h.organisation == chain.market.uscc)
    assert [(a.quantity, a.unit) for a in market.returned] == [(Decimal(380), "kg")]
    assert alert.status == "closed" and alert.closed_reason == "disposed"


def test_a_returned_lot_received_back_must_be_disposed_of_by_the_supplier(chain: Chain) -> None:
    sold = sold_chain(chain)
    chain.add(chain.bureau, chain.recall([sold.lot]))
    chain.add(chain.shop, chain.destroy(chain.shop, [sold.lot], "118.75"))
    chain.add(chain.market, chain.ship(chain.market, chain.farm, [sold.case], "380"))
    chain.add(chain.farm, chain.receive(chain.farm, chain.market, [sold.case], "380"))

    alert = failure_alert(chain)
    assert alert.outstanding == (f"{chain.farm.name} ({chain.farm.uscc}) still holds 380 kg",)

    chain.add(chain.farm, chain.destroy(chain.farm, [sold.case], "380"))
    assert failure_alert(chain).status == "closed"


def test_goods_shipped_to_someone_who_never_received_them_stay_outstanding(chain: Chain) -> None:
    sold = sold_chain(chain)
    chain.add(chain.shop, chain.destroy(chain.shop, [sold.lot], "118.75"))
    chain.add(chain.market, chain.ship(chain.market, chain.coop, [sold.case], "380"))

    alert = failure_alert(chain)

    assert f"shipped 380 kg to {chain.coop.uscc}, who recorded no receipt" in " ".join(
        alert.outstanding
    )


def test_a_closed_recall_closes_the_case(chain: Chain) -> None:
    sold = sold_chain(chain)
    recall = chain.add(chain.bureau, chain.recall([sold.lot]))[0]
    closing = chain.s.event(
        chain.bureau,
        "RecallClosed",
        {"recall_id": recall.payload["recall_id"], "summary": "已全部监督销毁"},
        codes=[sold.lot],
    )
    chain.add(chain.bureau, closing)

    alert = failure_alert(chain)

    assert alert.closed_reason == "recall_closed" and alert.closed_at == closing.occurred_at


def test_goods_made_from_a_frozen_lot_are_frozen_too(chain: Chain) -> None:
    lot, pickles = chain.lot("LA0506"), chain.lot("PK0601", item="10027")
    making = chain.s.event(
        chain.farm,
        "Transformed",
        {
            "process": "PROCESSING",
            "inputs": [{"code": lot, "quantity": "100", "unit": "kg"}],
            "outputs": [{"code": pickles, "quantity": "80", "unit": "kg"}],
        },
        codes=[lot, pickles],
    )
    chain.add(chain.farm, chain.certificate(chain.farm, [lot], quantity="100"), making)
    failed = chain.add(chain.farm, chain.inspection(chain.farm, [lot], passed=False))[0]

    state = disposal_state(chain.reads(), failed)

    assert pickles in state.codes
    assert state.outstanding == (f"{chain.farm.name} ({chain.farm.uscc}) still holds 80 kg",)
    chain.add(chain.farm, chain.destroy(chain.farm, [pickles], "80"))
    assert disposal_state(chain.reads(), failed).closed


def test_a_case_carries_the_lot_only_while_it_is_in_it(chain: Chain) -> None:
    lot, case, other = chain.lot("LA0506"), chain.case(), chain.lot("LB0506", item="10027")
    cert = chain.certificate(chain.farm, [lot])
    chain.add(
        chain.farm,
        cert,
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "500"),
    )
    chain.add(
        chain.market,
        chain.receive(chain.market, chain.farm, [case], "500", certificates=[cert.codes[0]]),
        chain.unpack(chain.market, case, [lot]),
        chain.pack(chain.market, case, [other]),  # the case is reused for other goods
        chain.ship(chain.market, chain.shop, [case], "50"),
    )
    failed = chain.add(chain.market, chain.inspection(chain.market, [lot], passed=False))[0]

    state = disposal_state(chain.reads(), failed)

    assert [h.organisation for h in state.holders] == [chain.farm.uscc, chain.market.uscc]
    assert state.outstanding == (f"{chain.market.name} ({chain.market.uscc}) still holds 500 kg",)


def test_summary_counts_by_region_and_the_disposal_rate(chain: Chain) -> None:
    sold = sold_chain(chain)
    monitor = FoodChainMonitor(chain.store)
    before = summarise(monitor.alerts())
    assert [(c.key, c.open, c.closed) for c in before.by_region] == [("330185", 1, 0)]
    assert before.disposal_rate == 0

    chain.add(chain.bureau, chain.recall([sold.lot]))
    chain.add(chain.market, chain.destroy(chain.market, [sold.case], "380"))
    chain.add(chain.shop, chain.destroy(chain.shop, [sold.lot], "118.75"))
    after = summarise(monitor.alerts())

    assert [(c.key, c.open, c.closed) for c in after.by_region] == [("330185", 0, 1)]
    assert after.disposal_rate == 1.0
    assert (after.open, after.closed) == (0, 1)


def test_a_failure_nobody_is_recorded_holding_stays_open_until_something_is_done(
    chain: Chain,
) -> None:
    lot = chain.lot("LX0506")
    failed = chain.add(
        chain.bureau, chain.inspection(chain.bureau, [lot], passed=False, kind="OFFICIAL_SAMPLING")
    )[0]

    state = disposal_state(chain.reads(), failed)
    assert not state.closed and "no organisation is recorded holding" in state.outstanding[0]

    chain.add(chain.market, chain.destroy(chain.market, [lot], "20"))
    assert disposal_state(chain.reads(), failed).closed
