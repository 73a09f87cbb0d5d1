"""Issuing and voiding 合格证 against the ledger: every rule names its field and says why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest

from suyuan.errors import CodeError, EventValidationError
from suyuan.events import validate_event
from suyuan.events.model import Event
from suyuan.foodchain import (
    PRODUCER_COMMITMENT,
    PURCHASER_COMMITMENT,
    CertificateDraft,
    certificate_event,
    certificate_links,
    check_certificate,
    void_event,
)
from suyuan.foodchain._rules import commitment_matches
from suyuan.scenario import Organisation
from tests.unit.foodchain.chain import Chain


def refused(chain: Chain, event: Event, pending: Sequence[Event] = ()) -> EventValidationError:
    with pytest.raises(EventValidationError) as caught:
        check_certificate(event, chain.store, pending=pending)
    return caught.value


def farm_lot_to(chain: Chain, buyer: Organisation, lot: str, quantity: str = "500") -> Event:
    """The farm certifies ``lot`` and ships it to ``buyer``, who receives it with the
    certificate; the farm's certificate."""
    cert = chain.certificate(chain.farm, [lot], quantity=quantity)
    chain.add(chain.farm, cert, chain.ship(chain.farm, buyer, [lot], quantity))
    chain.add(
        buyer, chain.receive(buyer, chain.farm, [lot], quantity, certificates=[cert.codes[0]])
    )
    return cert


# --- commitment text ----------------------------------------------------------------------------


def test_the_2025_commitment_is_required_from_february_2026(chain: Chain) -> None:
    event = chain.certificate(chain.farm, [chain.lot("A1")], commitment="我承诺产品质量安全合格")

    err = refused(chain, event)

    assert err.field == "payload.commitment"
    assert "2025 rules" in err.rule and PRODUCER_COMMITMENT in err.rule


def test_a_purchaser_must_carry_the_purchaser_wording(chain: Chain) -> None:
    farm_cert = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("A1")]))[0]
    event = chain.certificate(
        chain.coop, [chain.lot("A1")], upstream=[farm_cert.codes[0]], commitment=PRODUCER_COMMITMENT
    )

    err = refused(chain, event)

    assert err.field == "payload.commitment" and PURCHASER_COMMITMENT in err.rule


def test_older_certificates_may_carry_earlier_wording(chain: Chain) -> None:
    event = chain.certificate(
        chain.farm,
        [chain.lot("A1")],
        commitment="我承诺对生产销售的食用农产品：不使用禁用农药兽药、停用兽药和非法添加物。",
        issue_date=date(2026, 1, 31),
    )
    recorded_then = replace(event, occurred_at=event.occurred_at.replace(month=1, day=31))

    check_certificate(recorded_then, chain.store)


@pytest.mark.parametrize(
    "spelling",
    [
        PRODUCER_COMMITMENT,
        PRODUCER_COMMITMENT + "。",
        PRODUCER_COMMITMENT.replace("；", ";"),
        PRODUCER_COMMITMENT.replace("；", "；\n"),
        " " + PRODUCER_COMMITMENT + " ",
    ],
)
def test_commitment_formatting_does_not_matter(spelling: str) -> None:
    assert commitment_matches("PRODUCER", spelling)


@pytest.mark.parametrize(
    "wording",
    [
        PRODUCER_COMMITMENT.replace("禁用", "违禁"),
        PRODUCER_COMMITMENT[:-3],
        PURCHASER_COMMITMENT,
    ],
)
def test_commitment_words_matter(wording: str) -> None:
    assert not commitment_matches("PRODUCER", wording)


# --- the certificate's own fields ---------------------------------------------------------------


def test_contact_must_be_a_telephone_number(chain: Chain) -> None:
    err = refused(chain, chain.certificate(chain.farm, [chain.lot("A1")], contact="张三"))

    assert err.field == "payload.contact" and "telephone" in err.rule


def test_quantity_must_be_above_zero(chain: Chain) -> None:
    err = refused(chain, chain.certificate(chain.farm, [chain.lot("A1")], quantity="0"))

    assert err.field == "quantity" and "above zero" in err.rule


def test_issue_date_may_not_lie_after_the_issuing(chain: Chain) -> None:
    err = refused(chain, chain.certificate(chain.farm, [], issue_date=date(2026, 6, 1)))

    assert err.field == "payload.issue_date" and "must not be after" in err.rule


def test_a_certificate_code_is_issued_once(chain: Chain) -> None:
    first = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("A1")]))[0]
    again = chain.certificate(chain.farm, [chain.lot("A2")], code=first.codes[0])

    err = refused(chain, again)

    assert err.field == "codes[0]" and first.event_id in err.rule


def test_resending_the_same_event_is_not_a_second_issue(chain: Chain) -> None:
    event = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("A1")]))[0]

    check_certificate(event, chain.store)  # the ledger counts it as a duplicate


def test_a_frozen_lot_cannot_be_certified(chain: Chain) -> None:
    lot = chain.lot("A1")
    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))

    err = refused(chain, chain.certificate(chain.farm, [lot]))

    assert err.field == "codes[1]" and "frozen" in err.rule


def test_a_certificate_issued_before_the_failed_inspection_stands_whenever_it_arrives(
    chain: Chain,
) -> None:
    # Issued first, but the regulator's sampling reached the ledger first (another partition).
    lot = chain.lot("A1")
    issued_before = chain.certificate(chain.farm, [lot])
    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))

    check_certificate(issued_before, chain.store)  # the lot is frozen from the sampling on


# --- basis: a passing inspection of this lot ----------------------------------------------------


def test_test_basis_without_a_recorded_inspection_is_refused(chain: Chain) -> None:
    lot = chain.lot("A1")
    unrecorded = chain.inspection(chain.farm, [lot])
    event = chain.certificate(
        chain.farm, [lot], basis="SELF_TESTED", inspection=unrecorded.event_id
    )

    err = refused(chain, event)

    assert err.field == "payload.inspection_event_id" and "no InspectionRecorded" in err.rule


def test_test_basis_on_a_failed_inspection_is_refused(chain: Chain) -> None:
    lot, other = chain.lot("A1"), chain.lot("A2")
    failed = chain.add(chain.farm, chain.inspection(chain.farm, [other], passed=False))[0]

    err = refused(
        chain,
        chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=failed.event_id),
    )

    assert err.field == "payload.inspection_event_id" and "failed" in err.rule


def test_test_basis_on_another_lot_is_refused(chain: Chain) -> None:
    tested = chain.add(chain.farm, chain.inspection(chain.farm, [chain.lot("A2")]))[0]

    err = refused(
        chain,
        chain.certificate(
            chain.farm, [chain.lot("A1")], basis="SELF_TESTED", inspection=tested.event_id
        ),
    )

    assert err.field == "payload.inspection_event_id" and "of this lot" in err.rule


def test_an_inspection_of_the_case_the_lot_is_packed_in_counts(chain: Chain) -> None:
    lot, case = chain.lot("A1"), chain.case()
    chain.add(chain.farm, chain.pack(chain.farm, case, [lot]))
    tested = chain.add(chain.farm, chain.inspection(chain.farm, [case]))[0]

    check_certificate(
        chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=tested.event_id),
        chain.store,
    )


@pytest.mark.parametrize("one_write", [True, False], ids=["one write", "message by message"])
def test_a_test_of_the_case_packed_in_the_same_write_counts(chain: Chain, one_write: bool) -> None:
    """Packed, tested and certified in one write (a worker with a backlog): the test of the case
    is a test of the lot packed in it earlier in the write."""
    lot, case = chain.lot("A1"), chain.case()
    tested = chain.inspection(chain.farm, [case])
    story = [(chain.farm, [chain.pack(chain.farm, case, [lot])]), (chain.farm, [tested])]
    story.append(
        (
            chain.farm,
            [chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=tested.event_id)],
        )
    )

    assert chain.tell(story, one_write=one_write) == {}


def test_self_tested_rests_on_the_issuers_own_test(chain: Chain) -> None:
    lot = chain.lot("A1")
    tested = chain.add(chain.market, chain.inspection(chain.market, [lot]))[0]

    err = refused(
        chain,
        chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=tested.event_id),
    )

    assert err.field == "payload.inspection_event_id" and "issuer's own test" in err.rule


def test_commissioned_basis_needs_a_laboratory_test(chain: Chain) -> None:
    lot = chain.lot("A1")
    rapid = chain.add(chain.farm, chain.inspection(chain.farm, [lot], kind="RAPID_TEST"))[0]
    lab = chain.add(chain.lab, chain.inspection(chain.lab, [lot], kind="COMMISSIONED_LAB"))[0]

    err = refused(
        chain,
        chain.certificate(
            chain.farm, [lot], basis="COMMISSIONED_TESTED", inspection=rapid.event_id
        ),
    )
    assert err.field == "payload.inspection_event_id" and "COMMISSIONED_LAB" in err.rule

    check_certificate(
        chain.certificate(chain.farm, [lot], basis="COMMISSIONED_TESTED", inspection=lab.event_id),
        chain.store,
    )


def test_the_inspection_must_come_before_the_certificate(chain: Chain) -> None:
    lot = chain.lot("A1")
    certificate = chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=None)
    later = chain.add(chain.farm, chain.inspection(chain.farm, [lot]))[0]
    event = chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=later.event_id)
    early = replace(event, occurred_at=certificate.occurred_at)

    err = refused(chain, early)

    assert err.field == "payload.inspection_event_id" and "before the certificate" in err.rule


def test_an_inspection_in_the_same_batch_counts(chain: Chain) -> None:
    lot = chain.lot("A1")
    test = chain.inspection(chain.farm, [lot])
    certificate = chain.certificate(
        chain.farm, [lot], basis="SELF_TESTED", inspection=test.event_id
    )

    refused(chain, certificate)  # not in the ledger yet
    check_certificate(certificate, chain.store, pending=[test])


# --- purchasers: upstream certificates ----------------------------------------------------------


def test_upstream_certificates_must_be_in_the_ledger(chain: Chain) -> None:
    lot = chain.lot("A1")
    known = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    unknown = chain.s.certificate_code()

    err = refused(chain, chain.certificate(chain.coop, [lot], upstream=[known.codes[0], unknown]))

    assert err.field == "payload.upstream_certificates[1]" and "no certificate" in err.rule


def test_upstream_certificates_must_not_be_void(chain: Chain) -> None:
    lot = chain.lot("A1")
    wrong = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    right = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    chain.add(chain.farm, chain.void(chain.farm, wrong.codes[0], right.codes[0]))

    err = refused(chain, chain.certificate(chain.coop, [lot], upstream=[wrong.codes[0]]))

    assert err.field == "payload.upstream_certificates[0]"
    assert "voided" in err.rule and right.codes[0] in err.rule


def test_a_merged_lot_links_every_upstream_certificate(chain: Chain) -> None:
    farm_certs = [farm_lot_to(chain, chain.coop, chain.lot(name)) for name in ("A1", "A2")]
    merged = chain.lot("M1")

    check_certificate(
        chain.certificate(
            chain.coop, [merged], upstream=[c.codes[0] for c in farm_certs], quantity="1000"
        ),
        chain.store,
    )


def test_a_purchaser_certificate_without_upstream_breaks_the_content_rules(chain: Chain) -> None:
    event = chain.certificate(chain.coop, [chain.lot("A1")], issuer_type="PURCHASER")

    with pytest.raises(EventValidationError) as caught:
        validate_event(event)
    assert caught.value.field == "payload.upstream_certificates"


# --- void and reissue ---------------------------------------------------------------------------


def test_only_the_issuer_voids_its_certificate(chain: Chain) -> None:
    cert = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("A1")]))[0]

    err = refused(chain, chain.void(chain.market, cert.codes[0]))

    assert err.field == "actor" and chain.farm.uscc in err.rule


def test_voiding_an_unknown_certificate_is_refused(chain: Chain) -> None:
    err = refused(chain, chain.void(chain.farm, chain.s.certificate_code()))

    assert err.field == "codes[0]" and "no certificate" in err.rule


def test_a_certificate_is_voided_once(chain: Chain) -> None:
    cert = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("A1")]))[0]
    first = chain.add(chain.farm, chain.void(chain.farm, cert.codes[0]))[0]

    err = refused(chain, chain.void(chain.farm, cert.codes[0]))

    assert err.field == "codes[0]" and first.event_id in err.rule


def test_the_replacement_is_the_issuers_own_and_not_void(chain: Chain) -> None:
    lot = chain.lot("A1")
    cert = farm_lot_to(chain, chain.coop, lot)
    foreign = chain.add(
        chain.coop, chain.certificate(chain.coop, [chain.lot("A1P")], upstream=[cert.codes[0]])
    )
    voided = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    chain.add(chain.farm, chain.void(chain.farm, voided.codes[0]))

    err = refused(chain, chain.void(chain.farm, cert.codes[0], foreign[0].codes[0]))
    assert err.field == "payload.replacement_code" and "issuer's own" in err.rule

    err = refused(chain, chain.void(chain.farm, cert.codes[0], voided.codes[0]))
    assert err.field == "payload.replacement_code" and "voided" in err.rule


def test_a_replacement_announced_first_is_reserved_for_its_issuer(chain: Chain) -> None:
    cert = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("A1")]))[0]
    reserved = chain.s.certificate_code()
    chain.add(chain.farm, chain.void(chain.farm, cert.codes[0], reserved))

    err = refused(chain, chain.certificate(chain.market, [], code=reserved, issuer_type="PRODUCER"))
    assert err.field == "codes[0]" and "replacement" in err.rule

    check_certificate(chain.certificate(chain.farm, [chain.lot("A1")], code=reserved), chain.store)


def test_other_event_types_pass_untouched(chain: Chain) -> None:
    check_certificate(chain.inspection(chain.farm, [chain.lot("A1")], passed=False), chain.store)


# --- building the events --------------------------------------------------------------------------


def test_certificate_event_fills_the_fixed_commitment_and_canonical_codes(chain: Chain) -> None:
    draft = CertificateDraft(
        issuer_type="PRODUCER",
        product_name="小青菜",
        category="VEGETABLES",
        quantity="500",
        unit="kg",
        origin="浙江省杭州市临安区太湖源镇白沙村",
        issue_date=date(2026, 5, 6),
        contact="0571-63781234",
        lot_codes=["https://id.gs1.org/01/06901234100105/10/LA1"],
    )
    code = chain.s.certificate_code()

    event = certificate_event(draft, actor=chain.farm.uscc, code=code)

    assert event.codes == (code, "(01)06901234100105(10)LA1")
    assert event.payload["commitment"] == PRODUCER_COMMITMENT
    assert event.biz_step == "commissioning"


def test_certificate_event_names_a_bad_lot_code_by_its_event_path(chain: Chain) -> None:
    draft = CertificateDraft(
        issuer_type="PRODUCER",
        product_name="小青菜",
        category="VEGETABLES",
        quantity="500",
        unit="kg",
        origin="临安",
        issue_date=date(2026, 5, 6),
        contact="0571-63781234",
        lot_codes=["(01)06901234100105(10)LA1", "not a code"],
    )

    with pytest.raises(CodeError) as caught:
        certificate_event(draft, actor=chain.farm.uscc, code=chain.s.certificate_code())
    assert caught.value.field == "codes[2]"


def test_void_event_wants_certificate_codes(chain: Chain) -> None:
    with pytest.raises(CodeError) as caught:
        void_event(chain.lot("A1"), actor=chain.farm.uscc, reason="错误")
    assert caught.value.field == "codes[0]" and "certificate code" in caught.value.rule


def test_certificate_links_point_at_the_query_service() -> None:
    links = certificate_links("https://trace.example.cn/", "V9MA0HMRWMYA")

    assert links.scan_url == "https://trace.example.cn/c/V9MA0HMRWMYA"
    assert links.qr_svg_url == "https://trace.example.cn/v1/codes/V9MA0HMRWMYA/qr.svg"
    assert links.label_url == "https://trace.example.cn/c/V9MA0HMRWMYA/label.svg"
