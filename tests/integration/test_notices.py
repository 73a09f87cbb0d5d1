"""Holders are told: ``GET /v1/notices`` with an organisation's own token (docs/http-query.md).

The food chain of test_food_chain.py (capture and query services in-process on one SQLite
ledger, every organisation signing through its custodial key): a recall started through
``POST /v1/recalls`` reaches the holders downstream, an alert against a buyer reaches the farm
that supplied the goods, and nobody learns another organisation's private details.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from schemathesis import GenerationMode

from suyuan.scenario import Organisation
from tests.integration import test_food_chain
from tests.integration.openapi_fuzz import assert_no_server_errors
from tests.integration.test_food_chain import Services

# Both services on one ledger, with a producer token for each organisation of the chain.
services = test_food_chain.services


def notices(services: Services, org: Organisation, **params: Any) -> Any:
    response = services.query.get(
        "/v1/notices",
        params=params,
        headers={"Authorization": f"Bearer {services.tokens[org.uscc]}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def recall(services: Services, lot: str) -> str:
    response = services.query.post(
        "/v1/recalls",
        json={"root_codes": [lot], "reason": "监督抽检毒死蜱超标", "level": "LEVEL_2"},
        headers={"Authorization": f"Bearer {services.regulator}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["recall_id"])


def farm_to_shop(services: Services, lot: str) -> str:
    """The farm certifies ``lot`` and ships 500 kg to the market, which ships 100 kg on to the
    supermarket; both check the certificate. Returns the certificate's code."""
    c = services.chain
    cert = services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    services.post_events(
        c.market,
        c.receive(c.market, c.farm, [lot], "500", certificates=[cert]),
        c.ship(c.market, c.shop, [lot], "100"),
    )
    services.post_events(c.shop, c.receive(c.shop, c.market, [lot], "100", certificates=[cert]))
    return cert


def test_a_holder_downstream_of_a_recalled_lot_sees_the_recall_and_what_to_do(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0601")
    farm_to_shop(services, lot)
    recall_id = recall(services, lot)

    body = notices(services, c.shop)

    assert body["organisation"] == c.shop.uscc
    assert body["count"] == 1 and body["next_cursor"] is None
    [notice] = body["notices"]
    assert notice["notice_id"] == f"recall:{recall_id}"
    assert (notice["kind"], notice["status"], notice["relation"]) == ("recall", "open", "held")
    assert notice["codes"] == [lot]
    assert notice["reason"] == "监督抽检毒死蜱超标" and notice["level"] == "LEVEL_2"
    assert notice["state"] == "recalled" and notice["product"] == "food"
    assert notice["title"]["zh"] == "召回中：该批次在召回范围内"
    assert notice["advice"]["zh"].startswith("立即停止销售")
    assert notice["advice"]["en"].startswith("Stop selling now")
    assert notice["acknowledged"] is False
    assert notice["quantities"] == [{"quantity": "100", "unit": "kg"}]
    # the market's 500 kg and the farm are the other holders' affair
    text = json.dumps(body, ensure_ascii=False)
    assert c.market.uscc not in text and c.farm.uscc not in text
    assert "500" not in _amounts(body), "not the market's 500 kg"


def test_an_acknowledged_recall_says_so(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0602")
    farm_to_shop(services, lot)
    recall_id = recall(services, lot)
    acknowledged = c.s.event(
        c.shop,
        "RecallAcknowledged",
        {"recall_id": recall_id, "note": "已下架封存"},
        codes=[lot],
        quantity="100",
        unit="kg",
    )
    services.post_events(c.shop, acknowledged)

    [shop] = notices(services, c.shop)["notices"]
    [market] = notices(services, c.market)["notices"]

    assert shop["acknowledged"] is True
    assert market["acknowledged"] is False
    assert market["quantities"] == [{"quantity": "500", "unit": "kg"}]


def test_the_farm_that_made_a_recalled_lot_is_told(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0603")
    farm_to_shop(services, lot)
    recall_id = recall(services, lot)

    [notice] = notices(services, c.farm)["notices"]

    assert notice["notice_id"] == f"recall:{recall_id}"
    assert notice["relation"] == "held"


def test_an_organisation_that_never_held_the_goods_sees_nothing_of_them(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0604")
    farm_to_shop(services, lot)
    recall(services, lot)
    services.post_events(c.market, c.receive(c.market, c.farm, [c.lot("LA0605")], "50"))

    body = notices(services, c.coop)

    assert body == {"organisation": c.coop.uscc, "notices": [], "count": 0, "next_cursor": None}
    assert notices(services, c.plant, kind="recall")["count"] == 0


def test_the_farm_sees_the_missing_certificate_alert_its_buyer_raised_without_its_details(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0606")
    services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    receipt = c.receive(c.market, c.farm, [lot], "500")  # cites no certificate
    services.post_events(c.market, receipt)

    [farm] = notices(services, c.farm)["notices"]
    [market] = notices(services, c.market)["notices"]

    alert_id = f"missing_certificate:{receipt.event_id}"
    assert farm["notice_id"] == market["notice_id"] == alert_id
    assert (farm["relation"], farm["status"], farm["state"]) == ("held", "open", "attention")
    assert farm["codes"] == [lot]
    assert farm["title"]["zh"] == "进货时未查验到有效的承诺达标合格证"
    assert farm["advice"]["zh"].startswith("请补齐所缺证明")
    assert farm["summary"] is None and farm["outstanding"] == []
    assert c.market.uscc not in json.dumps(farm), "not whom it is against"
    # the buyer, against whom it is, reads the whole of it
    assert market["relation"] == "against"
    assert c.farm.uscc in market["summary"]
    assert market["outstanding"] == ["present a valid 合格证, or return or destroy"]
    assert notices(services, c.shop)["count"] == 0


def test_a_holder_of_frozen_goods_sees_its_own_position_only(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0607")
    farm_to_shop(services, lot)
    services.post_events(c.shop, c.sell(c.shop, [lot], "2"))
    failed = c.inspection(c.bureau, [lot], passed=False, kind="OFFICIAL_SAMPLING")
    services.post_events(c.bureau, failed)

    [shop] = notices(services, c.shop, kind="inspection_failed")["notices"]

    assert shop["notice_id"] == f"inspection_failed:{failed.event_id}"
    assert (shop["relation"], shop["state"]) == ("held", "frozen")
    assert shop["quantities"] == [{"quantity": "98", "unit": "kg"}]
    assert shop["advice"]["zh"].startswith("暂停销售")
    text = json.dumps(shop, ensure_ascii=False)
    assert c.market.uscc not in text and "400" not in _amounts(shop), "not the market's position"
    [farm] = notices(services, c.farm)["notices"]
    assert farm["relation"] == "against"
    assert farm["outstanding"] == [], "its outstanding items would name every holder"


def test_filters_by_status_and_kind(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0608")
    services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "500"))
    services.post_events(c.market, c.destroy(c.market, [lot], "500"))  # closes it

    assert notices(services, c.market, status="open")["count"] == 0
    [closed] = notices(services, c.market, status="closed")["notices"]
    assert (closed["closed_reason"], closed["state"], closed["advice"]) == ("disposed", "ok", None)
    assert notices(services, c.market, kind="recall")["count"] == 0
    assert notices(services, c.market, kind=["recall", "missing_certificate"])["count"] == 1


def test_pages_follow_the_cursor_newest_first(services: Services) -> None:
    c = services.chain
    receipts = []
    for name in ("LA0611", "LA0612", "LA0613"):
        lot = c.lot(name)
        services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "10"))
        receipt = c.receive(c.market, c.farm, [lot], "10")
        services.post_events(c.market, receipt)
        receipts.append(receipt.event_id)

    first = notices(services, c.market, limit=2)
    second = notices(services, c.market, limit=2, cursor=first["next_cursor"])

    assert first["count"] == second["count"] == 3
    seen = [n["event_id"] for n in first["notices"] + second["notices"]]
    assert seen == receipts[::-1]
    assert second["next_cursor"] is None


def test_bad_filters_are_refused_naming_the_parameter(services: Services) -> None:
    c = services.chain
    token = {"Authorization": f"Bearer {services.tokens[c.farm.uscc]}"}

    for params, field in (
        ({"kind": "fire"}, "kind"),
        ({"status": "pending"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ):
        response = services.query.get("/v1/notices", params=params, headers=token)
        assert (response.status_code, response.json()["field"]) == (422, field), params


def test_who_may_read_notices(services: Services) -> None:
    nobody = services.query.get("/v1/notices")
    regulator = services.query.get(
        "/v1/notices", headers={"Authorization": f"Bearer {services.regulator}"}
    )
    admin = services.query.get("/v1/notices", headers={"Authorization": f"Bearer {services.admin}"})
    forged = services.query.get("/v1/notices", headers={"Authorization": "Bearer sy_" + "x" * 32})

    assert (nobody.status_code, nobody.json()["reason"]) == (401, "missing_token")
    assert nobody.headers["www-authenticate"] == "Bearer"
    assert (regulator.status_code, admin.status_code) == (403, 403)
    assert "/v1/alerts" in regulator.json()["rule"]
    assert forged.status_code == 401


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(services: Services, mode: GenerationMode) -> None:
    c = services.chain
    lot = c.lot("LA0620")
    farm_to_shop(services, lot)
    recall(services, lot)
    shop = {"Authorization": f"Bearer {services.tokens[c.shop.uscc]}"}

    assert_no_server_errors(services.query.app, mode, [shop, {}], only=["GET /v1/notices"])


def test_a_buyer_s_own_failed_test_does_not_tell_the_other_holders_to_stop_selling(
    services: Services,
) -> None:
    """The market's failing rapid test of the farm's lot is the regulator's alert, and the
    farm and the supermarket are told of it — as the verdict every shopper sees says: under
    review (attention), not frozen; a failed official sampling freezes, and says so."""
    c = services.chain
    lot = c.lot("LA0612")
    farm_to_shop(services, lot)
    services.post_events(c.market, c.inspection(c.market, [lot], passed=False))

    [shop] = notices(services, c.shop, kind="inspection_failed")["notices"]
    [farm] = notices(services, c.farm, kind="inspection_failed")["notices"]
    verdict = services.trace(lot)["verdict"]

    assert verdict["state"] == "attention"
    for told in (shop, farm):
        assert (told["rule"], told["state"]) == ("self_test_failed", "attention")
        assert not told["advice"]["zh"].startswith("暂停销售")

    services.post_events(
        c.bureau, c.inspection(c.bureau, [lot], passed=False, kind="OFFICIAL_SAMPLING")
    )
    states = {n["rule"]: n["state"] for n in notices(services, c.shop)["notices"]}
    assert states == {"self_test_failed": "attention", "inspection_failed": "frozen"}
    assert services.trace(lot)["verdict"]["state"] == "frozen"


def _amounts(value: object) -> set[str]:
    """Every quantity anywhere in a JSON body (an id or a timestamp may hold the same digits)."""
    if isinstance(value, dict):
        found = {str(v) for k, v in value.items() if k == "quantity"}
        return found.union(*(_amounts(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_amounts(v) for v in value))
    return set()
