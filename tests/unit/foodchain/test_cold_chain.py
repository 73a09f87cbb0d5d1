"""浙冷链 三证一码 (docs/cold-chain.md): the 集中监管仓's release refused without the papers and
the code; receipts, sales and shipments recorded with an alert; failed papers and positive
samples freeze the whole declaration, and the alerts reach every region the goods went to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from suyuan.events.model import Event
from suyuan.foodchain import Alert, FoodChainMonitor
from suyuan.intake import Message
from suyuan.ledger import TRUST_SHARD, Rejection
from suyuan.scenario import Organisation
from suyuan.trace import Tracer
from tests.unit.foodchain import cold
from tests.unit.foodchain.chain import Chain


class ColdChain:
    """The food-chain test chain with a 集中监管仓."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.s = chain.s
        self.warehouse = cold.warehouse(chain.s)
        written = chain.writer.write(
            TRUST_SHARD,
            [Message("trust", chain.s.sign_as_root(chain.s.registration(self.warehouse)))],
        )
        assert not written.rejections, written.rejections

    def refused(self, org: Organisation, event: Event) -> Rejection:
        written = self.chain.writer.write(0, [Message("test", self.s.sign(org, [event]))])
        assert written.accepted == 0
        [rejection] = written.rejections
        return rejection

    def into_warehouse(self, codes: list[str], *, failed: tuple[str, ...] = ()) -> Event:
        """Declared with ``failed`` papers, shipped to the 集中监管仓 and taken in there."""
        c = self.chain
        declared = cold.declare(self.s, c.importer, codes, failed=failed)
        shipped, received = cold.hand_over(self.s, c.importer, self.warehouse, codes, "60")
        c.add(c.importer, declared, shipped)
        c.add(self.warehouse, received)
        return declared

    def released(self, codes: list[str]) -> None:
        """Coded, released and shipped to the cold store, which takes them in."""
        c = self.chain
        coded = cold.assign(self.s, self.warehouse, codes)
        released = cold.release(self.s, self.warehouse, codes, c.cold_store)
        shipped, received = cold.hand_over(self.s, self.warehouse, c.cold_store, codes, "60")
        c.add(self.warehouse, coded, released, shipped)
        c.add(c.cold_store, received)

    def alerts(self, kind: str) -> list[Alert]:
        return [a for a in FoodChainMonitor(self.chain.store).alerts() if a.kind == kind]

    def verdict(self, code: str) -> tuple[str, list[str]]:
        trace = Tracer(self.chain.store).trace(code)
        return trace.verdict.state, [f.rule_id for f in trace.verdict.findings]


@pytest.fixture
def cc(chain: Chain) -> Iterator[ColdChain]:
    yield ColdChain(chain)


# --- the release from the 集中监管仓: refused -------------------------------------------------


def test_a_release_with_failed_papers_is_refused_naming_them(cc: ColdChain) -> None:
    codes = cold.packages(cc.s, "0301")
    cc.into_warehouse(codes, failed=("nucleic_acid_test", "disinfection_certificate"))
    cc.chain.add(cc.warehouse, cold.assign(cc.s, cc.warehouse, codes))

    rejection = cc.refused(
        cc.warehouse, cold.release(cc.s, cc.warehouse, codes, cc.chain.cold_store)
    )

    assert (rejection.reason, rejection.field) == ("invalid_event", "codes[0]")
    assert "核酸检测证明" in rejection.rule and "消毒证明" in rejection.rule
    assert "检验检疫证明" not in rejection.rule.split("溯源码:", 1)[1]


def test_a_release_without_the_code_is_refused_until_the_goods_are_coded(cc: ColdChain) -> None:
    codes = cold.packages(cc.s, "0302")
    cc.into_warehouse(codes)

    rejection = cc.refused(
        cc.warehouse, cold.release(cc.s, cc.warehouse, codes, cc.chain.cold_store)
    )
    assert rejection.reason == "invalid_event"
    assert "溯源码" in rejection.rule

    cc.released(codes)  # coded first: released
    assert cc.alerts("uncoded_import") == []
    assert cc.alerts("import_papers_incomplete") == []
    assert cc.verdict(codes[0]) == ("ok", [])


def test_a_release_after_a_positive_sample_is_refused(cc: ColdChain) -> None:
    codes = cold.packages(cc.s, "0303")
    cc.into_warehouse(codes)
    cc.chain.add(
        cc.warehouse,
        cold.assign(cc.s, cc.warehouse, codes),
        cold.nucleic_acid_test(cc.s, cc.warehouse, codes[:1]),
    )

    # the sibling packages were not sampled: the whole declaration is frozen all the same
    rejection = cc.refused(
        cc.warehouse, cold.release(cc.s, cc.warehouse, codes[1:], cc.chain.cold_store)
    )
    assert rejection.reason == "invalid_event"
    assert "tested positive" in rejection.rule


def test_other_stores_release_without_these_checks(cc: ColdChain) -> None:
    c = cc.chain
    lot = c.lot("LA0506")
    c.add(c.farm, c.certificate(c.farm, [lot]), c.ship(c.farm, c.cold_store, [lot], "500"))
    c.add(
        c.cold_store,
        c.receive(c.cold_store, c.farm, [lot], "500"),
        cold.release(cc.s, c.cold_store, [lot], c.market, facility="COLD_STORE"),
    )


# --- the release judged the same in one write as message by message ------------------------------
# A worker with a backlog writes many messages at once: the release rule must see the packing,
# the sample and the papers accepted earlier in the same write (docs/cold-chain.md).


def into_warehouse_and_packed(
    cc: ColdChain, codes: list[str], pallet: str, *, failed: tuple[str, ...] = ()
) -> list[tuple[Organisation, list[Event]]]:
    """The story up to the pallet: declared, handed to the 集中监管仓, coded and palletised."""
    c = cc.chain
    shipped, received = cold.hand_over(cc.s, c.importer, cc.warehouse, codes, "60")
    return [
        (c.importer, [cold.declare(cc.s, c.importer, codes, failed=failed), shipped]),
        (cc.warehouse, [received]),
        (cc.warehouse, [cold.assign(cc.s, cc.warehouse, codes)]),
        (cc.warehouse, [c.pack(cc.warehouse, pallet, codes)]),
    ]


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "message by message"])
def test_a_palletised_coded_declaration_is_released(cc: ColdChain, one_write: bool) -> None:
    codes, pallet = cold.packages(cc.s, "0311"), cc.chain.case()
    story = into_warehouse_and_packed(cc, codes, pallet)
    released = cold.release(cc.s, cc.warehouse, [pallet], cc.chain.cold_store)
    story.append((cc.warehouse, [released]))

    assert cc.chain.tell(story, one_write=one_write) == {}
    assert cc.chain.store.locate(released.event_id)


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "message by message"])
def test_a_positive_sample_of_the_pallet_stops_the_release_of_its_packages(
    cc: ColdChain, one_write: bool
) -> None:
    codes, pallet = cold.packages(cc.s, "0312"), cc.chain.case()
    story = into_warehouse_and_packed(cc, codes, pallet)
    story.append((cc.warehouse, [cold.nucleic_acid_test(cc.s, cc.warehouse, [pallet])]))
    released = cold.release(cc.s, cc.warehouse, codes[1:], cc.chain.cold_store)
    story.append((cc.warehouse, [released]))

    refused = cc.chain.tell(story, one_write=one_write)

    assert list(refused) == [released.event_id]
    assert (refused[released.event_id].reason, refused[released.event_id].field) == (
        "invalid_event",
        "codes[0]",
    )
    assert "tested positive" in refused[released.event_id].rule


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "message by message"])
def test_a_pallet_of_a_declaration_with_a_failed_paper_is_not_released(
    cc: ColdChain, one_write: bool
) -> None:
    codes, pallet = cold.packages(cc.s, "0313"), cc.chain.case()
    story = into_warehouse_and_packed(cc, codes, pallet, failed=("disinfection_certificate",))
    released = cold.release(cc.s, cc.warehouse, [pallet], cc.chain.cold_store)
    story.append((cc.warehouse, [released]))

    refused = cc.chain.tell(story, one_write=one_write)

    # final, not "may still arrive": the declaration is there and its paper failed
    assert list(refused) == [released.event_id]
    assert refused[released.event_id].reason == "invalid_event"
    assert "the 消毒证明 of declaration SIF1234-260301 failed" in refused[released.event_id].rule


# --- downstream: recorded, with an alert ----------------------------------------------------------


def test_a_failed_paper_freezes_the_declaration_until_every_holder_disposed(
    cc: ColdChain,
) -> None:
    c = cc.chain
    codes = cold.packages(cc.s, "0304")
    declared = cc.into_warehouse(codes, failed=("nucleic_acid_test",))
    # The warehouse ships what it may not release; the cold store takes it in.
    shipped, received = cold.hand_over(cc.s, cc.warehouse, c.cold_store, codes[:1], "20")
    c.add(cc.warehouse, cold.assign(cc.s, cc.warehouse, codes), shipped)
    c.add(c.cold_store, received)

    [frozen] = cc.alerts("import_papers_failed")
    assert frozen.event_id == declared.event_id
    assert frozen.status == "open" and set(codes) <= set(frozen.codes)
    assert frozen.organisation == c.importer.uscc
    assert "核酸检测证明" in frozen.summary
    assert {h.organisation for h in frozen.holders} >= {cc.warehouse.uscc, c.cold_store.uscc}
    assert frozen.concerns("330100")  # the cold store's city (余杭) saw it, not only 宁波
    incomplete = {a.event_id: a for a in cc.alerts("import_papers_incomplete")}
    assert set(incomplete) == {shipped.event_id, received.event_id}
    assert incomplete[received.event_id].organisation == c.cold_store.uscc
    assert cc.verdict(codes[0])[0] == "frozen"
    # (the 集中监管仓's intake also shows as a receipt without a 合格证: docs/food-chain.md)
    assert cc.verdict(codes[2])[1][0] == "import_papers_failed"

    c.add(c.cold_store, c.destroy(c.cold_store, codes[:1], "20"))
    c.add(cc.warehouse, c.destroy(cc.warehouse, codes[1:], "40"))

    [closed] = cc.alerts("import_papers_failed")
    assert (closed.status, closed.closed_reason) == ("closed", "disposed")
    assert {a.status for a in cc.alerts("import_papers_incomplete")} == {"closed"}
    assert cc.verdict(codes[2]) == ("ok", [])


def test_a_positive_sample_freezes_the_sibling_packages_and_their_sale_raises_an_alert(
    cc: ColdChain,
) -> None:
    c = cc.chain
    codes = cold.packages(cc.s, "0305")
    cc.into_warehouse(codes)
    cc.released(codes)
    assert cc.verdict(codes[1]) == ("ok", [])

    sample = cold.nucleic_acid_test(cc.s, c.lab, codes[:1])
    c.add(c.lab, sample)
    shipped, received = cold.hand_over(cc.s, c.cold_store, c.market, codes[1:2], "20")
    c.add(c.cold_store, shipped)
    c.add(c.market, received)

    [alert] = cc.alerts("positive_sample")
    assert alert.event_id == sample.event_id and alert.status == "open"
    assert set(codes) <= set(alert.codes)
    assert c.market.uscc in {h.organisation for h in alert.holders}
    assert alert.concerns("330105")  # the market's district
    # the sibling never sampled, sold on after the positive result: frozen, and the sale noted
    state, rules = cc.verdict(codes[1])
    assert state == "frozen"
    assert "positive_sample" in rules and "import_papers_incomplete" in rules
    assert cc.verdict(codes[2]) == ("frozen", ["positive_sample"])
    incomplete = {a.event_id for a in cc.alerts("import_papers_incomplete")}
    assert incomplete == {shipped.event_id, received.event_id}
    # the trace's alert is the regulator's: same kind, same opening event
    trace = Tracer(c.store).trace(codes[2])
    assert [(a.kind, a.event_id) for a in trace.alerts] == [("positive_sample", sample.event_id)]


def test_a_negative_sample_or_a_domestic_failure_is_not_a_positive_sample(cc: ColdChain) -> None:
    c = cc.chain
    codes = cold.packages(cc.s, "0306")
    cc.into_warehouse(codes)
    c.add(cc.warehouse, cold.nucleic_acid_test(cc.s, cc.warehouse, codes[:1], positive=False))
    lot = c.lot("LA0507")
    c.add(c.farm, c.certificate(c.farm, [lot]), c.inspection(c.farm, [lot], passed=False))

    assert cc.alerts("positive_sample") == []
    assert cc.verdict(codes[1]) == ("ok", [])


def test_uncoded_goods_moved_downstream_raise_an_alert_until_coded(cc: ColdChain) -> None:
    c = cc.chain
    codes = cold.packages(cc.s, "0307")
    c.add(c.importer, cold.declare(cc.s, c.importer, codes))
    # into the first station (a cold store codes on entry): no alert
    to_store, at_store = cold.hand_over(cc.s, c.importer, c.cold_store, codes, "60")
    c.add(c.importer, to_store)
    c.add(c.cold_store, at_store)
    assert cc.alerts("uncoded_import") == []
    # on to the market without a code: recorded, with an alert on both sides
    shipped, received = cold.hand_over(cc.s, c.cold_store, c.market, codes[:1], "20")
    c.add(c.cold_store, shipped)
    c.add(c.market, received)

    alerts = {a.event_id: a for a in cc.alerts("uncoded_import")}
    assert set(alerts) == {shipped.event_id, received.event_id}
    assert alerts[received.event_id].organisation == c.market.uscc
    assert alerts[received.event_id].counterparty == c.cold_store.uscc
    assert cc.verdict(codes[0]) == ("attention", ["uncoded_import", "uncoded_import"])
    assert cc.verdict(codes[1]) == ("ok", [])
    assert cc.alerts("import_papers_incomplete") == []

    c.add(c.cold_store, cold.assign(cc.s, c.cold_store, codes))  # the station codes them late

    assert {(a.status, a.closed_reason) for a in cc.alerts("uncoded_import")} == {
        ("closed", "coded")
    }
    assert cc.verdict(codes[0]) == ("ok", [])


def test_temperature_excursions_reach_every_region_the_goods_went_to(cc: ColdChain) -> None:
    c = cc.chain
    codes = cold.packages(cc.s, "0308")
    cc.into_warehouse(codes)
    c.add(cc.warehouse, c.temperature(cc.warehouse, codes, [-19.0, -15.5]))
    cc.released(codes)
    shipped, received = cold.hand_over(cc.s, c.cold_store, c.market, codes[:1], "20")
    c.add(c.cold_store, shipped)
    c.add(c.market, received)

    [excursion] = cc.alerts("temperature_excursion")
    assert excursion.region == "330206"
    assert excursion.concerns("330105") and excursion.concerns("330100")
    assert not excursion.concerns("330185")
    assert cc.verdict(codes[0]) == ("attention", ["temperature_excursion"])


# --- 赋码率: coded at the first station ----------------------------------------------------------


def test_the_coding_rate_counts_packages_coded_before_they_left_the_first_station(
    cc: ColdChain,
) -> None:
    c = cc.chain
    codes = cold.packages(cc.s, "0309")
    cc.into_warehouse(codes)
    cc.released(codes[:2])  # the third package is still at the warehouse, never coded
    late = cold.packages(cc.s, "0310", count=1)
    declared = cold.declare(cc.s, c.importer, late, batch="SIF0310")
    to_store, at_store = cold.hand_over(cc.s, c.importer, c.cold_store, late, "20")
    c.add(c.importer, declared, to_store)
    c.add(c.cold_store, at_store)
    shipped, received = cold.hand_over(cc.s, c.cold_store, c.market, late, "20")
    c.add(c.cold_store, shipped)
    c.add(c.market, received)
    c.add(c.cold_store, cold.assign(cc.s, c.cold_store, late))  # coded after it left

    report = FoodChainMonitor(c.store).coverage()
    coding = {
        row.key: (row.rates["coding_rate"].numerator, row.rates["coding_rate"].denominator)
        for row in report.by_org
    }
    assert coding[cc.warehouse.uscc] == (2, 3)
    assert coding[c.cold_store.uscc] == (0, 1)
    assert coding[c.importer.uscc] == (0, 0)
    assert (report.total["coding_rate"].numerator, report.total["coding_rate"].denominator) == (
        2,
        4,
    )


def test_a_cold_store_s_own_positive_alerts_but_freezes_no_sibling(cc: ColdChain) -> None:
    # A registered cold store holding one package records a "positive" of its own: the
    # regulator is alerted, but a trader's word does not freeze a whole declaration.
    c = cc.chain
    codes = cold.packages(cc.s, "0306")
    cc.into_warehouse(codes)
    cc.released(codes)

    sample = cold.nucleic_acid_test(cc.s, c.cold_store, codes[:1])
    c.add(c.cold_store, sample)

    assert cc.alerts("positive_sample") == []
    assert [a.event_id for a in cc.alerts("inspection_failed")] == [sample.event_id]
    assert cc.verdict(codes[0]) == ("attention", ["self_test_failed"])
    assert cc.verdict(codes[1]) == ("ok", [])
