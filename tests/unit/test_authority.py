"""The authority rules in the write path: roles as registered at that moment, originators by
recorded order, holders through packing (docs/authority.md). The attack table itself runs in
tests/adversarial over HTTP and Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import suyuan.authority
from suyuan.events.model import Event
from suyuan.intake import Message, WriteResult
from suyuan.ledger import TRUST_SHARD
from suyuan.scenario import Organisation
from suyuan.trace import Tracer, trace_json
from tests.adversarial.rows import acknowledgement, closure, import_declaration, recall
from tests.unit.foodchain.chain import Chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    opened = Chain.open(tmp_path / "ledger.sqlite")
    yield opened
    opened.store.close()


def write(
    chain: Chain, *steps: tuple[Organisation | None, list[Event]], shard: int = 0
) -> WriteResult:
    """One write of several messages (``None`` signs with the root key)."""
    messages = [
        Message(f"m{n}", chain.s.sign_as_root(events) if org is None else chain.s.sign(org, events))
        for n, (org, events) in enumerate(steps)
    ]
    return chain.writer.write(shard, messages)


def reasons(result: WriteResult) -> list[tuple[str, str | None]]:
    return [(r.reason, r.field) for r in result.rejections]


def test_roles_are_those_registered_when_the_event_is_judged(chain: Chain) -> None:
    packages = [chain.lot("BR0301", item="10273") + "(21)001"]
    refused = write(
        chain,
        (chain.farm, [import_declaration(chain.s, chain.farm, packages, importer=chain.farm.uscc)]),
    )
    assert reasons(refused) == [("unauthorised", "actor")]
    assert "IMPORTER" in refused.rejections[0].rule

    farm = chain.farm
    again = chain.s.event(
        chain.s.regulator_uscc,
        "OrganisationRegistered",
        {
            "uscc": farm.uscc,
            "name": farm.name,
            "roles": ["PRODUCER", "IMPORTER"],
            "region_code": farm.region_code,
        },
    )
    declared = import_declaration(chain.s, farm, packages, importer=farm.uscc)
    # The re-registration enters the trust shard; the next event is judged by the roles it gave.
    assert write(chain, (None, [again]), shard=TRUST_SHARD).accepted == 1
    result = write(chain, (farm, [declared]))
    assert result.rejections == () and result.accepted == 1


def test_a_backdated_event_does_not_make_its_actor_the_originator(chain: Chain) -> None:
    lot = chain.lot("LA0601")
    certified = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    # The market claims it had the lot a day before the farm certified it.
    early = chain.s.event(
        chain.plant,
        "AnimalQuarantineCertified",
        {
            "certificate_no": "3301101234567",
            "form": "PRODUCT_A",
            "species": "生猪",
            "origin": "杭州市萧山区",
            "destination": "杭州市",
            "issuing_authority": "萧山区动物卫生监督所",
        },
        codes=[lot],
        quantity="10",
        unit="kg",
        at=certified.occurred_at - timedelta(days=1),
    )
    chain.add(chain.plant, early)

    # The plant may recall its own goods, and claims it had this lot first: it did not.
    refused = write(chain, (chain.plant, [recall(chain.s, chain.plant, [lot])]))
    assert reasons(refused) == [("unauthorised", "payload.root_codes[0]")]
    own = write(chain, (chain.farm, [recall(chain.s, chain.farm, [lot])]))
    assert own.rejections == ()


def test_the_first_shard_to_record_a_code_names_its_originator(chain: Chain) -> None:
    lot = chain.lot("LA0602")
    certified = [
        chain.certificate(chain.farm, [lot]),
        chain.ship(chain.farm, chain.coop, [lot], "10"),
    ]
    first = write(chain, (chain.farm, certified), shard=1)
    assert first.rejections == ()
    later = write(
        chain, (chain.coop, [chain.receive(chain.coop, chain.farm, [lot], "10")]), shard=0
    )
    assert later.rejections == ()

    other = write(chain, (chain.plant, [recall(chain.s, chain.plant, [lot])]))
    assert reasons(other) == [("unauthorised", "payload.root_codes[0]")]
    assert chain.farm.uscc in other.rejections[0].rule
    assert write(chain, (chain.farm, [recall(chain.s, chain.farm, [lot])])).rejections == ()


def test_a_producer_may_certify_test_and_recall_in_one_batch(chain: Chain) -> None:
    lot = chain.lot("LA0603")
    events = [
        chain.certificate(chain.farm, [lot]),
        chain.inspection(chain.farm, [lot], passed=False),
        recall(chain.s, chain.farm, [lot]),
    ]
    result = write(chain, (chain.farm, events))
    assert result.rejections == () and result.accepted == 3


def test_only_a_regulator_closes_a_recall_with_an_override(chain: Chain) -> None:
    lot = chain.lot("LA0607")
    own = recall(chain.s, chain.farm, [lot])
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]), own)

    def overriding(by: Organisation) -> Event:
        closed = closure(chain.s, by, own)
        payload = {**closed.payload, "override_reason": "无法联系到持有者"}
        return chain.s.event(by, "RecallClosed", payload, codes=list(closed.codes))

    by_farm = write(chain, (chain.farm, [overriding(chain.farm)]))
    assert reasons(by_farm) == [("unauthorised", "payload.override_reason")]
    by_bureau = write(chain, (chain.bureau, [overriding(chain.bureau)]))
    assert by_bureau.rejections == () and by_bureau.accepted == 1


def test_a_holder_of_the_case_may_self_test_what_is_packed_in_it(chain: Chain) -> None:
    lot, case = chain.lot("LA0604"), chain.case()
    chain.add(
        chain.farm,
        chain.certificate(chain.farm, [lot]),
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "10"),
    )
    outsider = write(chain, (chain.shop, [chain.inspection(chain.shop, [lot])]))
    assert reasons(outsider) == [("not_in_custody", "codes[0]")]

    chain.add(chain.market, chain.receive(chain.market, chain.farm, [case], "10"))
    assert write(chain, (chain.market, [chain.inspection(chain.market, [lot])])).rejections == ()


def test_a_laboratory_tests_any_goods_and_a_regulator_recalls_any(chain: Chain) -> None:
    lot = chain.lot("LA0605")
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    result = write(
        chain,
        (chain.lab, [chain.inspection(chain.lab, [lot], passed=False, kind="COMMISSIONED_LAB")]),
        (chain.bureau, [chain.recall([lot])]),
    )
    assert result.rejections == () and result.accepted == 2


def test_the_trace_keeps_self_tests_apart(chain: Chain) -> None:
    lot = chain.lot("LA0606")
    own = chain.inspection(chain.farm, [lot])
    lab = chain.inspection(chain.lab, [lot], kind="COMMISSIONED_LAB")
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]), own)
    chain.add(chain.lab, lab)

    body = trace_json(Tracer(chain.store).trace(lot), public=True)

    marked = {i["event_id"]: i["self_test"] for i in body["inspections"]}
    assert marked == {own.event_id: True, lab.event_id: False}


def test_a_shipment_and_its_receipt_may_travel_in_one_write(chain: Chain) -> None:
    lot, case = chain.lot("LA0607"), chain.case()
    farm_side = [
        chain.certificate(chain.farm, [lot]),
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "10"),
    ]
    market_side = [
        chain.receive(chain.market, chain.farm, [case], "10"),
        chain.ship(chain.market, chain.shop, [lot], "10"),  # the lot came in the case
    ]
    shop_side = [chain.receive(chain.shop, chain.market, [lot], "10")]
    result = write(
        chain, (chain.farm, farm_side), (chain.market, market_side), (chain.shop, shop_side)
    )
    assert result.rejections == () and result.accepted == 6

    stranger = write(chain, (chain.coop, [chain.receive(chain.coop, chain.market, [lot], "10")]))
    assert reasons(stranger) == [("not_in_custody", "codes[0]")]
    late = write(chain, (chain.cold_store, [chain.sell(chain.cold_store, [lot], "1")]))
    assert reasons(late) == [("not_in_custody", "codes[0]")]


def test_receipts_of_stored_shipments_in_one_write_each_need_their_own_addressee(
    chain: Chain,
) -> None:
    """One shipment of two cases to the market, in the ledger; in one later write the market
    receives both (in one receipt and again in two), and others claim them: only the market's
    receipts stand, however often the write has read that shipment before."""
    lot, cases = chain.lot("LA0611"), [chain.case(), chain.case()]
    chain.add(
        chain.farm,
        chain.certificate(chain.farm, [lot]),
        chain.pack(chain.farm, cases[0], [lot]),
        chain.ship(chain.farm, chain.market, cases, "20"),
    )
    steps = [
        (chain.market, [chain.receive(chain.market, chain.farm, cases, "20")]),
        (chain.coop, [chain.receive(chain.coop, chain.farm, [cases[1]], "10")]),
        (chain.market, [chain.receive(chain.market, chain.farm, [case], "10") for case in cases]),
        (chain.shop, [chain.receive(chain.shop, chain.farm, [lot], "10")]),
    ]

    result = write(chain, *steps)

    assert result.accepted == 3
    assert [(r.source, r.reason, r.field) for r in result.rejections] == [
        ("m1 events[0]", "not_in_custody", "codes[0]"),
        ("m3 events[0]", "not_in_custody", "codes[0]"),
    ]


def test_whoever_holds_a_pallet_packed_in_the_write_holds_the_cases_stored_on_it(
    chain: Chain,
) -> None:
    # The lot is in a case in the ledger; the case goes onto a pallet earlier in the same write,
    # and whoever received the pallet holds the lot (the walk goes through both).
    lot, case, pallet = chain.lot("LA0608"), chain.case(), chain.case()
    chain.add(
        chain.farm,
        chain.certificate(chain.farm, [lot]),
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "10"),
    )
    chain.add(chain.market, chain.receive(chain.market, chain.farm, [case], "10"))
    result = write(
        chain,
        (chain.market, [chain.pack(chain.market, pallet, [case])]),
        (chain.market, [chain.ship(chain.market, chain.shop, [pallet], "10")]),
        (chain.shop, [chain.receive(chain.shop, chain.market, [pallet], "10")]),
        (chain.shop, [chain.sell(chain.shop, [lot], "1")]),
        (chain.coop, [chain.sell(chain.coop, [lot], "1")]),
    )
    assert reasons(result) == [("not_in_custody", "codes[0]")]
    assert result.rejections[0].actor == chain.coop.uscc


def test_goods_of_a_recall_packed_and_received_in_the_write_of_the_acknowledgement(
    chain: Chain,
) -> None:
    # The recalled lot is packed, shipped and received in the write that carries the receiver's
    # acknowledgement: the receiver holds it through the case. The shop received a case of
    # other goods in the same write: it holds nothing in the recall's scope.
    lot, other, case, spare = chain.lot("LA0611"), chain.lot("LA0612"), chain.case(), chain.case()
    chain.add(
        chain.farm, chain.certificate(chain.farm, [lot]), chain.certificate(chain.farm, [other])
    )
    recalled = chain.add(chain.bureau, chain.recall([lot]))[0]
    farm_side = [
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "10"),
        chain.pack(chain.farm, spare, [other]),
        chain.ship(chain.farm, chain.shop, [spare], "10"),
    ]
    market_side = [
        chain.receive(chain.market, chain.farm, [case], "10"),
        acknowledgement(chain.s, chain.market, recalled, lot),
    ]
    shop_side = [
        chain.receive(chain.shop, chain.farm, [spare], "10"),
        acknowledgement(chain.s, chain.shop, recalled, lot),
    ]
    result = write(
        chain, (chain.farm, farm_side), (chain.market, market_side), (chain.shop, shop_side)
    )
    assert reasons(result) == [("not_in_custody", "actor")]
    assert result.rejections[0].actor == chain.shop.uscc
    assert result.accepted == 7


def test_the_acknowledgements_of_one_write_walk_the_recall_scope_once(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    lot, case = chain.lot("LA0610"), chain.case()
    chain.add(
        chain.farm,
        chain.certificate(chain.farm, [lot]),
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "10"),
    )
    chain.add(
        chain.market,
        chain.receive(chain.market, chain.farm, [case], "10"),
        chain.ship(chain.market, chain.shop, [lot], "4"),
    )
    chain.add(chain.shop, chain.receive(chain.shop, chain.market, [lot], "4"))
    recalled = chain.add(chain.bureau, chain.recall([lot]))[0]
    walks = []
    reach_events = chain.store.reach_events

    def counted(*args: Any, **kwargs: Any) -> Any:
        walks.append(args)
        return reach_events(*args, **kwargs)

    monkeypatch.setattr(chain.store, "reach_events", counted)
    result = write(
        chain,
        (chain.market, [acknowledgement(chain.s, chain.market, recalled, lot)]),
        (chain.shop, [acknowledgement(chain.s, chain.shop, recalled, lot)]),
        (chain.coop, [acknowledgement(chain.s, chain.coop, recalled, lot)]),
    )
    assert result.accepted == 2
    assert reasons(result) == [("not_in_custody", "actor")]
    assert result.rejections[0].actor == chain.coop.uscc
    assert len(walks) == 1  # the holders of the scope, asked once for the three


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "two writes"])
def test_a_lot_whose_units_another_packed_is_not_new_goods(chain: Chain, one_write: bool) -> None:
    # A market packs a unit of a lot nobody has named; the farm then certifies the lot, which
    # would make it a holder of the market's unit (whoever holds a lot holds its units).
    lot, case, theirs = chain.lot("LA0609"), chain.case(), chain.case()
    unit = f"{lot}(21)0001"
    packing = (chain.market, [chain.pack(chain.market, case, [unit])])
    claim = (chain.farm, [chain.certificate(chain.farm, [lot])])
    if one_write:
        result = write(chain, packing, claim)
    else:
        assert write(chain, packing).rejections == ()
        result = write(chain, claim)
    assert reasons(result) == [("not_in_custody", "codes[1]")]
    assert "already holds units of it" in result.rejections[0].rule
    # so the farm never holds the unit, and may not pack it into its own case
    taking = write(chain, (chain.farm, [chain.pack(chain.farm, theirs, [unit])]))
    assert reasons(taking) == [("not_in_custody", "payload.child_codes[0]")]
    # the market, which holds its units, may record the lot itself (here: packing it); and a lot
    # of the same GTIN whose number merely starts alike is not touched
    own = write(chain, (chain.market, [chain.pack(chain.market, chain.case(), [lot])]))
    assert own.rejections == ()
    assert write(chain, (chain.farm, [chain.certificate(chain.farm, [lot[:-1]])])).rejections == ()


@pytest.mark.parametrize("page", [2, 500])
def test_a_farm_may_certify_a_lot_after_its_own_units_went_to_market(
    chain: Chain, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Units the farm packed and shipped, which the market received by their own codes, are
    # still the farm's goods: its late certificate of their lot is not refused — unless one unit
    # of the lot was recorded only by the market (read a page of unit events at a time).
    monkeypatch.setattr(suyuan.authority, "_UNITS_PAGE", page)
    lot, late = chain.lot("LA0610"), chain.lot("LA0611")
    units = [f"{lot}(21){n:04d}" for n in range(5)]
    late_units = [f"{late}(21){n:04d}" for n in range(5)]
    farm_side = [
        chain.pack(chain.farm, chain.case(), units),
        chain.pack(chain.farm, chain.case(), late_units),
        chain.ship(chain.farm, chain.market, [*units, *late_units], "10"),
    ]
    market_side = [chain.receive(chain.market, chain.farm, [*units, *late_units], "10")]
    market_only = [chain.pack(chain.market, chain.case(), [f"{late}(21)9999"])]
    setup = write(chain, (chain.farm, farm_side), (chain.market, market_side + market_only))
    assert setup.rejections == ()

    # the market received the farm's units, but recorded them second: the lot is not its to
    # claim (it would then hold every other unit of it)
    claim = write(chain, (chain.market, [chain.pack(chain.market, chain.case(), [lot])]))
    assert reasons(claim) == [("not_in_custody", "payload.child_codes[0]")]
    assert write(chain, (chain.farm, [chain.certificate(chain.farm, [lot])])).rejections == ()
    refused = write(chain, (chain.farm, [chain.certificate(chain.farm, [late])]))
    assert reasons(refused) == [("not_in_custody", "codes[1]")]
