"""The 合格证 rules of the 2025 rules that need the goods' history: a purchaser cites only what it
received, nothing frozen or recalled is certified again, issue dates are bounded, and the
purchaser's commitment is accepted in its documented wordings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from suyuan.errors import EventValidationError, MissingReferenceError
from suyuan.events.model import Event
from suyuan.foodchain import (
    PURCHASER_COMMITMENT,
    CertificateDraft,
    certificate_event,
    check_certificate,
)
from suyuan.foodchain._rules import commitment_matches
from suyuan.scenario import Organisation
from tests.unit.foodchain.chain import Chain


def refused(chain: Chain, event: Event, pending: Sequence[Event] = ()) -> EventValidationError:
    with pytest.raises(EventValidationError) as caught:
        check_certificate(event, chain.store, pending=pending)
    return caught.value


def farm_certificate(chain: Chain, lot: str, quantity: str = "30") -> Event:
    return chain.add(chain.farm, chain.certificate(chain.farm, [lot], quantity=quantity))[0]


def deliver(
    chain: Chain,
    buyer: Organisation,
    codes: Sequence[str],
    quantity: str,
    *,
    certificates: Sequence[str] = (),
    unit: str = "kg",
) -> None:
    """The farm ships ``codes`` to ``buyer``, who records receiving them."""
    chain.add(chain.farm, chain.ship(chain.farm, buyer, codes, quantity, unit=unit))
    chain.add(
        buyer,
        chain.receive(buyer, chain.farm, codes, quantity, certificates=certificates, unit=unit),
    )


def resale(chain: Chain, upstream: Sequence[str], quantity: str, **kwargs: object) -> Event:
    """The market's purchaser certificate of a new lot of its own."""
    return chain.certificate(
        chain.market,
        [chain.lot(f"M{chain.s.rng.randrange(10**6):06d}")],
        upstream=upstream,
        quantity=quantity,
        **kwargs,  # type: ignore[arg-type]
    )


# --- a purchaser cites what it received ----------------------------------------------------------


def test_a_market_cannot_cite_a_certificate_of_goods_it_never_received(chain: Chain) -> None:
    # The story: a 5,000 kg purchaser certificate citing a 30 kg certificate, never received.
    farm_cert = farm_certificate(chain, chain.lot("A1"))

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "5000"))

    assert isinstance(err, MissingReferenceError)  # over Kafka: the receipt may still arrive
    assert err.field == "payload.upstream_certificates[0]"
    assert "no receipt" in err.rule and chain.market.uscc in err.rule


def test_a_receipt_by_someone_else_does_not_count(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot)
    deliver(chain, chain.coop, [lot], "30", certificates=[farm_cert.codes[0]])

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "30"))

    assert err.field == "payload.upstream_certificates[0]" and "no receipt" in err.rule


def test_a_purchaser_certifies_at_most_what_it_received(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot, quantity="30")
    deliver(chain, chain.market, [lot], "30", certificates=[farm_cert.codes[0]])

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "5000"))

    assert err.field == "quantity" and err.value == "5000 kg"
    assert "at most what it received" in err.rule and "30 kg" in err.rule
    check_certificate(resale(chain, [farm_cert.codes[0]], "30"), chain.store)
    check_certificate(resale(chain, [farm_cert.codes[0]], "12.5"), chain.store)


def test_nor_more_than_the_cited_certificates_cover(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot, quantity="30")
    deliver(chain, chain.market, [lot], "500", certificates=[farm_cert.codes[0]])

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "100"))

    assert not isinstance(err, MissingReferenceError)
    assert err.field == "quantity" and "cited certificates cover (30 kg)" in err.rule


def test_receiving_the_case_the_lot_was_packed_in_counts(chain: Chain) -> None:
    lot, case = chain.lot("A1"), chain.case()
    farm_cert = farm_certificate(chain, lot, quantity="500")
    chain.add(chain.farm, chain.pack(chain.farm, case, [lot]))
    deliver(chain, chain.market, [case], "500")  # the certificate was not even presented

    check_certificate(resale(chain, [farm_cert.codes[0]], "120"), chain.store)


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "message by message"])
def test_a_case_packed_shipped_and_received_in_the_same_write_counts(
    chain: Chain, one_write: bool
) -> None:
    """A worker with a backlog writes the whole story at once: the purchaser's receipt names
    the case, and the packing that put the certified lot in it is accepted in the same write."""
    lot, case = chain.lot("A1"), chain.case()
    farm_cert = chain.certificate(chain.farm, [lot], quantity="500")
    story = [
        (chain.farm, [farm_cert]),
        (chain.farm, [chain.pack(chain.farm, case, [lot])]),
        (chain.farm, [chain.ship(chain.farm, chain.market, [case], "500")]),
        (chain.market, [chain.receive(chain.market, chain.farm, [case], "500")]),
    ]
    story.append((chain.market, [resale(chain, [farm_cert.codes[0]], "120")]))

    assert chain.tell(story, one_write=one_write) == {}


def test_a_paper_only_certificate_counts_through_the_receipt_it_came_with(chain: Chain) -> None:
    paper = chain.add(chain.farm, chain.certificate(chain.farm, [], quantity="30"))[0]
    lot = chain.lot("A1")
    deliver(chain, chain.market, [lot], "30", certificates=[paper.codes[0]])

    check_certificate(resale(chain, [paper.codes[0]], "30"), chain.store)
    err = refused(chain, resale(chain, [paper.codes[0]], "31"))
    assert err.field == "quantity"


def test_receipts_in_another_unit_are_not_converted(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot, quantity="30")
    deliver(chain, chain.market, [lot], "3", certificates=[farm_cert.codes[0]], unit="箱")

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "30"))

    assert err.field == "quantity" and "3 箱" in err.rule and "not converted" in err.rule


def test_a_merged_lot_adds_up_what_was_received(chain: Chain) -> None:
    lots = [chain.lot("A1"), chain.lot("A2")]
    certs = [farm_certificate(chain, lot, quantity="30") for lot in lots]
    for lot, cert in zip(lots, certs, strict=True):
        deliver(chain, chain.market, [lot], "30", certificates=[cert.codes[0]])
    cited = [c.codes[0] for c in certs]

    check_certificate(resale(chain, cited, "60"), chain.store)
    assert refused(chain, resale(chain, cited, "61")).field == "quantity"


def test_what_earlier_certificates_took_is_not_certified_twice(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot, quantity="30")
    deliver(chain, chain.market, [lot], "30", certificates=[farm_cert.codes[0]])
    first = chain.add(chain.market, resale(chain, [farm_cert.codes[0]], "20"))[0]

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "20"))

    assert err.field == "quantity" and "took 20 kg" in err.rule
    check_certificate(resale(chain, [farm_cert.codes[0]], "10"), chain.store)
    chain.add(chain.market, chain.void(chain.market, first.codes[0]))  # a voided one took nothing
    check_certificate(resale(chain, [farm_cert.codes[0]], "30"), chain.store)


def test_an_earlier_certificate_drawing_on_other_goods_too_is_counted_against_all_of_them(
    chain: Chain,
) -> None:
    small, large = chain.lot("A1"), chain.lot("A2")
    small_cert = farm_certificate(chain, small, quantity="30")
    large_cert = farm_certificate(chain, large, quantity="100")
    deliver(chain, chain.market, [small], "30", certificates=[small_cert.codes[0]])
    deliver(chain, chain.market, [large], "100", certificates=[large_cert.codes[0]])
    both = [small_cert.codes[0], large_cert.codes[0]]
    chain.add(chain.market, resale(chain, both, "100"))  # it may all have come from the large lot

    check_certificate(resale(chain, [small_cert.codes[0]], "30"), chain.store)
    assert refused(chain, resale(chain, [small_cert.codes[0]], "31")).field == "quantity"


def test_a_purchaser_may_split_its_own_certificate(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot, quantity="30")
    deliver(chain, chain.market, [lot], "30", certificates=[farm_cert.codes[0]])
    first = chain.add(chain.market, resale(chain, [farm_cert.codes[0]], "30"))[0]

    check_certificate(resale(chain, [first.codes[0]], "30"), chain.store)
    assert refused(chain, resale(chain, [first.codes[0]], "31")).field == "quantity"


@pytest.mark.parametrize(
    ("name", "category", "accepted"),
    [
        ("小青菜", "VEGETABLES", True),
        (" 小青菜 ", "VEGETABLES", True),
        ("小\u3000青菜", "VEGETABLES", True),  # an ideographic space
        ("青菜", "VEGETABLES", False),
        ("大白菜", "VEGETABLES", False),
        ("小青菜", "FRUIT", False),
    ],
)
def test_a_purchaser_cites_certificates_of_the_same_product(
    chain: Chain, name: str, category: str, accepted: bool
) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot)
    deliver(chain, chain.market, [lot], "30", certificates=[farm_cert.codes[0]])
    event = resale(chain, [farm_cert.codes[0]], "30")
    event = replace(event, payload={**event.payload, "product_name": name, "category": category})

    if accepted:
        check_certificate(event, chain.store)
    else:
        err = refused(chain, event)
        assert err.field == "payload.upstream_certificates[0]"
        assert "same product" in err.rule and "小青菜 (VEGETABLES)" in err.rule


# --- nothing frozen or recalled is certified again -----------------------------------------------


def test_a_frozen_lot_packed_into_a_new_case_cannot_be_certified_again(chain: Chain) -> None:
    lot, case = chain.lot("A1"), chain.case()
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))
    chain.add(chain.farm, chain.pack(chain.farm, case, [lot]))

    err = refused(chain, chain.certificate(chain.farm, [case]))

    assert err.field == "codes[1]" and err.value == case
    assert "frozen" in err.rule and lot in err.rule


def test_a_case_packed_earlier_in_the_same_write_with_a_frozen_lot_cannot_be_certified(
    chain: Chain,
) -> None:
    """The packing is accepted but not stored yet (a worker writes many messages at once): the
    case still holds the frozen lot."""
    lot, case = chain.lot("A1"), chain.case()
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))
    packing = chain.pack(chain.farm, case, [lot])

    err = refused(chain, chain.certificate(chain.farm, [case]), pending=[packing])

    assert err.field == "codes[1]" and err.value == case
    assert "frozen" in err.rule and lot in err.rule


def test_a_freeze_and_a_packing_both_earlier_in_the_write_stop_the_case(chain: Chain) -> None:
    lot, case = chain.lot("A1"), chain.case()
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    pending = [
        chain.inspection(chain.bureau, [lot], passed=False),
        chain.pack(chain.farm, case, [lot]),
    ]

    err = refused(chain, chain.certificate(chain.farm, [case]), pending=pending)

    assert "frozen" in err.rule and lot in err.rule


def test_goods_made_from_a_frozen_lot_cannot_be_certified(chain: Chain) -> None:
    lot, cut = chain.lot("A1"), chain.lot("P1", item="10027")
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))
    made = chain.s.event(
        chain.farm,
        "Transformed",
        {
            "process": "PROCESSING",
            "inputs": [{"code": lot, "quantity": "500", "unit": "kg"}],
            "outputs": [{"code": cut, "quantity": "450", "unit": "kg"}],
        },
        codes=[lot, cut],
    )
    chain.add(chain.farm, made)

    err = refused(chain, chain.certificate(chain.farm, [cut]))

    assert err.field == "codes[1]" and "frozen" in err.rule


def test_a_new_certificate_for_a_lot_under_an_open_recall_is_refused(chain: Chain) -> None:
    # The story: the lot is red, a fresh certificate would give it a green QR.
    lot = chain.lot("A1")
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    recall = chain.add(chain.bureau, chain.recall([lot]))[0]

    err = refused(chain, chain.certificate(chain.farm, [lot]))

    assert err.field == "codes[1]" and err.value == lot
    assert "open recall" in err.rule and str(recall.payload["recall_id"]) in err.rule


def test_a_closed_recall_no_longer_blocks(chain: Chain) -> None:
    lot = chain.lot("A1")
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    recall = chain.add(chain.bureau, chain.recall([lot]))[0]
    closing = chain.s.event(
        chain.bureau,
        "RecallClosed",
        {"recall_id": recall.payload["recall_id"], "summary": "已全部下架销毁"},
        codes=[lot],
    )
    chain.add(chain.bureau, closing)

    check_certificate(chain.certificate(chain.farm, [lot]), chain.store)


def test_a_purchaser_certificate_resting_on_a_recalled_lot_is_refused(chain: Chain) -> None:
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot)
    deliver(chain, chain.market, [lot], "30", certificates=[farm_cert.codes[0]])
    chain.add(chain.bureau, chain.recall([lot]))

    err = refused(chain, resale(chain, [farm_cert.codes[0]], "30"))

    assert err.field == "payload.upstream_certificates[0]" and "open recall" in err.rule


def test_a_certificate_issued_before_the_recall_stands(chain: Chain) -> None:
    lot = chain.lot("A1")
    issued_before = chain.certificate(chain.farm, [lot])
    chain.add(chain.bureau, chain.recall([lot]))

    check_certificate(issued_before, chain.store)


def test_a_recall_in_the_same_batch_counts(chain: Chain) -> None:
    lot = chain.lot("A1")
    recall = chain.recall([lot])

    err = refused(chain, chain.certificate(chain.farm, [lot]), pending=[recall])

    assert err.field == "codes[1]" and "open recall" in err.rule


# --- dates ---------------------------------------------------------------------------------------


def test_a_certificate_back_dated_seven_months_on_a_seven_month_old_test_is_refused(
    chain: Chain,
) -> None:
    lot = chain.lot("A1")
    test = chain.inspection(chain.farm, [lot])
    seven_months_ago = test.occurred_at - timedelta(days=213)
    chain.add(chain.farm, replace(test, occurred_at=seven_months_ago))
    event = chain.certificate(
        chain.farm,
        [lot],
        basis="SELF_TESTED",
        inspection=test.event_id,
        issue_date=seven_months_ago.date(),
    )

    err = refused(chain, event)

    assert err.field == "payload.issue_date" and "back-dated" in err.rule


def test_the_issue_date_may_lie_up_to_seven_days_before_the_recording(chain: Chain) -> None:
    event = chain.certificate(chain.farm, [chain.lot("A1")])
    day = event.occurred_at.date()

    check_certificate(
        replace(event, payload={**event.payload, "issue_date": day - timedelta(days=7)}),
        chain.store,
    )
    err = refused(
        chain, replace(event, payload={**event.payload, "issue_date": day - timedelta(days=8)})
    )
    assert err.field == "payload.issue_date" and "7 days" in err.rule


def test_the_issue_date_is_not_earlier_than_the_test_it_cites(chain: Chain) -> None:
    lot = chain.lot("A1")
    test = chain.add(chain.farm, chain.inspection(chain.farm, [lot]))[0]
    event = chain.certificate(
        chain.farm,
        [lot],
        basis="SELF_TESTED",
        inspection=test.event_id,
        issue_date=test.occurred_at.date() - timedelta(days=1),
    )

    err = refused(chain, event)

    assert err.field == "payload.issue_date" and "earlier than the test" in err.rule


def test_the_test_cited_is_at_most_thirty_days_old(chain: Chain) -> None:
    lot = chain.lot("A1")
    test = chain.inspection(chain.farm, [lot])
    old = replace(test, occurred_at=test.occurred_at - timedelta(days=31))
    chain.add(chain.farm, old)
    event = chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=old.event_id)

    err = refused(chain, event)

    assert err.field == "payload.inspection_event_id" and "30 days" in err.rule
    thirty = replace(
        test,
        event_id=chain.s.event_id(),
        occurred_at=event.occurred_at.replace(hour=0, minute=0) - timedelta(days=30),
    )
    chain.add(chain.farm, thirty)
    check_certificate(
        chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=thirty.event_id),
        chain.store,
    )


# --- the purchaser's commitment ------------------------------------------------------------------


def test_the_canonical_purchaser_commitment_names_the_farm_produce() -> None:
    assert "该批次农产品承诺达标合格证" in PURCHASER_COMMITMENT


@pytest.mark.parametrize(
    "wording",
    [
        PURCHASER_COMMITMENT,
        PURCHASER_COMMITMENT.replace("农产品", ""),
        "我承诺销售的食用农产品：" + PURCHASER_COMMITMENT,
        "我承诺生产销售的食用农产品：" + PURCHASER_COMMITMENT.replace("农产品", ""),
        "我承诺销售的食用农产品:\n" + PURCHASER_COMMITMENT + "。",
    ],
)
def test_the_documented_purchaser_wordings_are_accepted(wording: str) -> None:
    assert commitment_matches("PURCHASER", wording)


@pytest.mark.parametrize(
    "wording",
    [
        "我承诺收购的食用农产品：" + PURCHASER_COMMITMENT,  # not a documented lead-in
        PURCHASER_COMMITMENT.replace("保鲜剂、", ""),
        "我承诺销售的食用农产品：",
    ],
)
def test_other_purchaser_wordings_are_not(wording: str) -> None:
    assert not commitment_matches("PURCHASER", wording)


def test_the_api_fills_in_the_canonical_purchaser_text(chain: Chain) -> None:
    draft = CertificateDraft(
        issuer_type="PURCHASER",
        product_name="小青菜",
        category="VEGETABLES",
        quantity="30",
        unit="kg",
        origin="临安",
        issue_date=date(2026, 5, 6),
        contact="0571-63781234",
        upstream_certificates=[chain.s.certificate_code()],
    )

    event = certificate_event(
        draft,
        actor=chain.market.uscc,
        code=chain.s.certificate_code(),
        occurred_at=datetime(2026, 5, 6, 9, 0).astimezone(),
    )

    assert event.payload["commitment"] == PURCHASER_COMMITMENT


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "message by message"])
def test_the_farm_s_own_failed_test_stops_a_buyer_certifying_in_the_same_write(
    chain: Chain, one_write: bool
) -> None:
    """The farm certified the lot and its own test then failed: its word binds, as it vouches
    for the lot — also when its certificate is in the same write as the buyer's."""
    lot = chain.lot("A1")
    farm_cert = chain.certificate(chain.farm, [lot], quantity="60")
    cited = [farm_cert.codes[0]]
    story = [
        (chain.farm, [farm_cert]),
        (chain.farm, [chain.inspection(chain.farm, [lot], passed=False)]),
        (chain.farm, [chain.ship(chain.farm, chain.market, [lot], "30")]),
    ]
    story.append(
        (chain.market, [chain.receive(chain.market, chain.farm, [lot], "30", certificates=cited)])
    )
    resold = resale(chain, cited, "30")
    story.append((chain.market, [resold]))

    refused = chain.tell(story, one_write=one_write)

    assert list(refused) == [resold.event_id]
    assert refused[resold.event_id].field == "payload.upstream_certificates[0]"
    assert "frozen" in refused[resold.event_id].rule


def test_another_buyer_s_own_failed_test_does_not_stop_a_market_certifying(chain: Chain) -> None:
    # A hostile buyer of part of the lot records a failing rapid test of it: the market that
    # also bought from the lot may still certify (a trader's word freezes only what it vouches
    # for); a regulator's failed sampling stops it.
    lot = chain.lot("A1")
    farm_cert = farm_certificate(chain, lot, quantity="60")
    deliver(chain, chain.coop, [lot], "30", certificates=[farm_cert.codes[0]])
    deliver(chain, chain.market, [lot], "30", certificates=[farm_cert.codes[0]])
    chain.add(chain.coop, chain.inspection(chain.coop, [lot], passed=False))

    check_certificate(resale(chain, [farm_cert.codes[0]], "30"), chain.store)

    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))
    err = refused(chain, resale(chain, [farm_cert.codes[0]], "30"))
    assert "frozen" in err.rule
