"""The 合格证 rules of issue 12 through the public API: ``POST /v1/certificates`` (the capture API
in-process on SQLite) and the Kafka ingest worker (the real broker, a real PostgreSQL ledger).

Each story is refused with the reason and field the issuer sees; the legitimate certificate next
to it is taken. The rules: docs/food-chain.md "The rules".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from suyuan.events.model import freeze, thaw
from suyuan.foodchain import PURCHASER_COMMITMENT
from suyuan.ledger import StoredRejection
from suyuan.scenario import vegetable_certificate
from tests.databases import fresh_database
from tests.integration import test_food_chain
from tests.integration.ingest_harness import IngestRig
from tests.integration.test_food_chain import Services

services = test_food_chain.services  # the capture and query APIs on one ledger (a fixture)

SEVEN_MONTHS = timedelta(days=213)


def refusal(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["reason"], body["field"]


# --- over HTTP: POST /v1/certificates -----------------------------------------------------------


def test_a_market_cannot_certify_5000_kg_on_a_30_kg_certificate_it_never_received(
    services: Services,
) -> None:
    c = services.chain
    lot, merged = c.lot("LA0601"), c.lot("HZ0601", item="10027")
    farm_cert = services.issued(c.farm, services.certificate_body([lot], quantity="30"))

    def body(quantity: str) -> dict[str, Any]:
        return services.certificate_body(
            [merged], issuer_type="PURCHASER", upstream=[farm_cert], quantity=quantity
        )

    never_received = services.issue(c.market, body("5000"))

    assert refusal(never_received) == (422, "invalid_event", "payload.upstream_certificates[0]")
    assert "no receipt of the goods of this certificate" in never_received.json()["rule"]

    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "30"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "30"))
    too_much = services.issue(c.market, body("5000"))
    assert refusal(too_much) == (422, "invalid_event", "quantity")
    assert "30 kg" in too_much.json()["rule"] and too_much.json()["value"] == "5000 kg"

    assert services.issue(c.market, body("30")).status_code == 201


def test_a_purchaser_cites_certificates_of_the_same_product(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0602")
    farm_cert = services.issued(c.farm, services.certificate_body([lot], quantity="30"))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "30"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "30"))

    other_product = services.issue(
        c.market,
        services.certificate_body(
            [], issuer_type="PURCHASER", upstream=[farm_cert], quantity="30", product_name="大白菜"
        ),
    )

    assert refusal(other_product) == (422, "invalid_event", "payload.upstream_certificates[0]")
    assert "same product" in other_product.json()["rule"]


def test_a_new_certificate_for_a_lot_under_an_open_recall_is_refused(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0603")
    services.issued(c.farm, services.certificate_body([lot]))
    recall = c.recall([lot])
    services.post_events(c.bureau, recall)

    again = services.issue(c.farm, services.certificate_body([lot]))

    assert refusal(again) == (422, "invalid_event", "lot_codes[0]")
    assert f"open recall {recall.payload['recall_id']}" in again.json()["rule"]
    assert services.trace(lot)["status"] == "recalled"  # and no fresh certificate says otherwise
    assert len(services.trace(lot)["certificates"]) == 1


def test_a_frozen_lot_packed_into_a_new_case_cannot_be_certified_again(
    services: Services,
) -> None:
    c = services.chain
    lot, case = c.lot("LA0604"), c.case()
    services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.bureau, c.inspection(c.bureau, [lot], passed=False))
    services.post_events(c.farm, c.pack(c.farm, case, [lot]))

    recertified = services.issue(c.farm, services.certificate_body([case]))

    assert refusal(recertified) == (422, "invalid_event", "lot_codes[0]")
    assert "frozen" in recertified.json()["rule"] and lot in recertified.json()["rule"]


def test_a_certificate_back_dated_seven_months_on_a_seven_month_old_test_is_refused(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0605")
    test = c.inspection(c.farm, [lot])
    old_test = replace(test, occurred_at=test.occurred_at - SEVEN_MONTHS)
    services.post_events(c.farm, old_test)
    body = services.certificate_body([lot], basis="SELF_TESTED", inspection=old_test.event_id)
    body["payload"]["issue_date"] = old_test.occurred_at.date().isoformat()

    back_dated = services.issue(c.farm, body)

    assert refusal(back_dated) == (422, "invalid_event", "payload.issue_date")
    assert "back-dated" in back_dated.json()["rule"]

    body["payload"]["issue_date"] = body["occurred_at"][:10]  # honest date, the same old test
    stale_test = services.issue(c.farm, body)
    assert refusal(stale_test) == (422, "invalid_event", "payload.inspection_event_id")
    assert "30 days" in stale_test.json()["rule"]


def test_a_retailer_cannot_issue_a_producer_certificate(services: Services) -> None:
    c = services.chain

    response = services.issue(c.shop, services.certificate_body([c.lot("SH0601")]))

    assert refusal(response) == (422, "unauthorised", "actor")
    assert "RETAILER" in response.json()["rule"]


def test_a_certificate_for_goods_the_issuer_does_not_hold_is_refused(services: Services) -> None:
    c = services.chain
    lot, other = c.lot("LA0606"), c.lot("LA0616")
    # a paper-only certificate of the farm, presented with each of two deliveries
    farm_cert = services.issued(c.farm, services.certificate_body([], quantity="60"))
    for buyer, goods in ((c.coop, lot), (c.market, other)):
        services.post_events(c.farm, c.ship(c.farm, buyer, [goods], "30"))
        services.post_events(
            buyer, c.receive(buyer, c.farm, [goods], "30", certificates=[farm_cert])
        )

    def body() -> dict[str, Any]:
        return services.certificate_body(
            [lot], issuer_type="PURCHASER", upstream=[farm_cert], quantity="30"
        )

    response = services.issue(c.market, body())  # the farm's lot, now the cooperative's

    assert refusal(response) == (422, "not_in_custody", "codes[1]")
    assert "holds neither this code" in response.json()["rule"]
    assert services.issue(c.coop, body()).status_code == 201


def test_the_purchaser_commitment_is_taken_in_its_documented_wordings(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0607")
    farm_cert = services.issued(c.farm, services.certificate_body([lot], quantity="30"))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "30"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "30"))

    def issue(**payload: Any) -> Any:
        return services.issue(
            c.market,
            services.certificate_body(
                [], issuer_type="PURCHASER", upstream=[farm_cert], quantity="10", **payload
            ),
        )

    filled = issue()
    assert filled.status_code == 201
    assert filled.json()["event"]["payload"]["commitment"] == PURCHASER_COMMITMENT
    assert "该批次农产品承诺达标合格证" in PURCHASER_COMMITMENT
    without = PURCHASER_COMMITMENT.replace("该批次农产品", "该批次")
    assert issue(commitment=without).status_code == 201
    assert issue(commitment="我承诺销售的食用农产品：" + without).status_code == 201
    assert refusal(issue(commitment="我承诺产品合格")) == (
        422,
        "invalid_event",
        "payload.commitment",
    )


# --- over Kafka: the real broker and one worker --------------------------------------------------


@pytest.fixture
def rig(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[IngestRig]:
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path)
        try:
            yield rig
        finally:
            rig.stop_all()


@pytest.mark.integration
def test_the_stories_are_refused_over_kafka_naming_the_field(rig: IngestRig) -> None:
    world, s = rig.world, rig.world.scenario
    farm, market = world.farm, world.market
    bureau = s.organisation(
        "杭州市市场监督管理局", ["REGULATOR"], "330100", "杭州市", registrar="1"
    )
    rig.start_worker()
    rig.register_world()
    rig.send_trust(s.sign_as_root(s.registration(bureau)))

    def lot(name: str) -> str:
        return s.unit_code(item="10010", lot=name)

    bought, recalled, frozen, tested, case = lot("K1"), lot("K2"), lot("K3"), lot("K4"), s.sscc()
    cert_30 = replace(vegetable_certificate(s, farm, bought), quantity=Decimal(30))
    failed = s.pesticide_test(farm, [frozen], passed=False)
    old_test = s.pesticide_test(farm, [tested], passed=True)
    old_test = replace(old_test, occurred_at=old_test.occurred_at - SEVEN_MONTHS)
    setup = [
        cert_30,
        vegetable_certificate(s, farm, recalled),
        vegetable_certificate(s, farm, frozen),
        failed,
        s.event(
            farm, "Aggregated", {"parent_code": case, "child_codes": [frozen]}, codes=[case, frozen]
        ),
        old_test,
    ]
    rig.send(world.farm_batch(setup), partition=0)
    recall = s.event(
        bureau,
        "RecallInitiated",
        {
            "recall_id": s.event_id(),
            "root_codes": [recalled],
            "reason": "抽检不合格",
            "level": "LEVEL_2",
        },
        codes=[recalled],
    )
    rig.send(s.sign(bureau, [recall]), partition=0)

    never_received = replace(
        vegetable_certificate(s, market, lot("M1"), upstream=(cert_30.codes[0],)),
        quantity=Decimal(5000),
    )
    rig.send(s.sign(market, [never_received]), partition=0)
    under_recall = vegetable_certificate(s, farm, recalled)
    packed_frozen = vegetable_certificate(s, farm, case)
    back_dated = vegetable_certificate(
        s, farm, tested, basis="SELF_TESTED", inspection=old_test.event_id
    )
    back_dated = replace(
        back_dated,
        payload=freeze({**thaw(back_dated.payload), "issue_date": old_test.occurred_at.date()}),
    )
    rig.send(world.farm_batch([under_recall, packed_frozen, back_dated]), partition=0)
    shipped, received = world.delivery([bought], [cert_30.codes[0]], quantity="30")
    rig.send(world.farm_batch([shipped]), partition=0)
    honest = vegetable_certificate(s, market, lot("M2"), upstream=(cert_30.codes[0],))
    honest = replace(honest, quantity=Decimal(30))
    rig.send(s.sign(market, [received, honest]), partition=0)
    rig.flush()

    rig.wait_for("the honest certificate", lambda: _stored(rig, honest.event_id), timeout=90)
    rig.wait_for("four refusals", lambda: len(rig.store.rejections()) >= 4, timeout=60)
    refused = {r.rejection.event_id: r for r in rig.store.rejections()}
    assert _seen(refused, never_received.event_id) == (
        "invalid_event",
        "payload.upstream_certificates[0]",
    )
    assert "no receipt" in refused[never_received.event_id].rejection.rule
    assert _seen(refused, under_recall.event_id) == ("invalid_event", "codes[1]")
    assert "open recall" in refused[under_recall.event_id].rejection.rule
    assert _seen(refused, packed_frozen.event_id) == ("invalid_event", "codes[1]")
    assert "frozen" in refused[packed_frozen.event_id].rejection.rule
    assert _seen(refused, back_dated.event_id) == ("invalid_event", "payload.issue_date")
    assert len(refused) == 4


def _seen(refused: dict[str | None, StoredRejection], event_id: str) -> tuple[str, str | None]:
    rejection = refused[event_id].rejection
    return rejection.reason, rejection.field


def _stored(rig: IngestRig, event_id: str) -> bool:
    try:
        rig.store.locate(event_id)
    except LookupError:
        return False
    return True
