"""The recall from start to closure over HTTP (docs/recalls.md), on the demo ledger.

A regulator's sampling of the farm's case fails; the regulator starts a recall; the farm, the
market and the supermarket get notices and acknowledge with quantities; one of them lets the
acknowledgement deadline pass and raises a ``recall_overdue`` alert; closure is refused while
accounts do not reconcile, then accepted. Also: a producer's own recall (主动召回), a regulator's
override, listing with cursor pages, lookup by recall id and by event id, and the refusals.

Holders sign with custodial keys (the service holds them), registered here by the root key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import suyuan.recall
from suyuan.auth import create_token
from suyuan.custody import create_custodial_key, key_registration_event, load_custodial_key
from suyuan.events import decode_event
from suyuan.intake import Message
from suyuan.ledger import TRUST_SHARD, Leaf
from tests.integration.test_trace_api import BUREAU, FARM, MARKET, SHOP, Query, start_query


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    for query in start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path):
        yield World(query)


class World:
    """The demo ledger with custodial keys and tokens for the holders of the farm's case."""

    def __init__(self, query: Query) -> None:
        self.query = query
        self.master: bytes = query.client.app.state.context.recalls.custody_master  # type: ignore[attr-defined]
        engine = query.store.engine
        s = query.scenario
        self.farm, self.market, self.shop = (query.organisations[n] for n in (FARM, MARKET, SHOP))
        self.bureau = query.organisations[BUREAU]
        holders = [self.farm, self.market, self.shop, query.importer.uscc]
        trust = [
            key_registration_event(
                s.regulator_uscc, org, create_custodial_key(engine, self.master, org)
            )
            for org in holders
        ]
        written = query.writer.write(TRUST_SHARD, [Message("keys", s.sign_as_root(trust))])
        assert written.accepted == len(trust), written.rejections
        self.tokens = {org: create_token(engine, "producer", organisation=org) for org in holders}

    def post(self, path: str, body: dict[str, Any], token: str) -> Any:
        return self.query.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str, token: str, **params: Any) -> Any:
        return self.query.get(path, token, **params)

    def acknowledge(self, recall_id: str, org: str, **quantities: str) -> Any:
        body = {"unit": "kg", "on_hand": "0", "sold_on": "0", "returned": "0", "destroyed": "0"}
        body.update(quantities)
        return self.post(f"/v1/recalls/{recall_id}/acknowledgements", body, self.tokens[org])

    def failed_sampling(self, code: str) -> None:
        """The regulator's official sampling of ``code`` fails (signed with its custodial key)."""
        key = load_custodial_key(self.query.store.engine, self.master, self.bureau)
        sampling = self.query.scenario.pesticide_test(
            self.bureau,
            [code],
            passed=False,
            kind="OFFICIAL_SAMPLING",
            at=datetime.now().astimezone(),
        )
        self.query.append(key, [sampling])


def _accounts(recall: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["organisation"]: a for a in recall["accounts"]}


def _overdue(world: World, recall: dict[str, Any]) -> list[dict[str, Any]]:
    """The open recall_overdue alerts of ``recall`` (the demo's own recalls have theirs)."""
    alerts = world.get("/v1/alerts", world.query.regulator_token, kind="recall_overdue").json()
    return [a for a in alerts["alerts"] if a["event_id"].startswith(recall["event_id"])]


def _move_clock(monkeypatch: pytest.MonkeyPatch, to: datetime) -> None:
    monkeypatch.setattr(suyuan.recall, "current_time", lambda: to)


# --- the story ------------------------------------------------------------------------------------


def test_failed_sampling_to_closure(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    q = world.query
    world.failed_sampling(q.case)
    assert q.trace(q.case, q.regulator_token).json()["status"] != "ok"

    started = q.recall({"root_codes": [q.case], "reason": "监督抽检毒死蜱超标", "level": "LEVEL_2"})
    assert started.status_code == 201, started.text
    recall = started.json()
    recall_id = recall["recall_id"]
    assert recall["initiative"] == "ordered"
    assert recall["status"] == "open"
    begun = datetime.fromisoformat(recall["started_at"])
    assert datetime.fromisoformat(recall["deadlines"]["acknowledge_by"]) == begun + timedelta(
        hours=48
    )
    finish_by = datetime.fromisoformat(recall["deadlines"]["finish_by"])
    assert finish_by - begun >= timedelta(days=26)  # 20 working days: four weeks
    accounts = _accounts(recall)
    assert set(accounts) == {world.farm, world.market, world.shop}  # the maker is listed too
    assert accounts[world.market]["received"] == [{"quantity": "500", "unit": "kg"}]
    assert not any(a["acknowledged"] for a in accounts.values())

    # Every holder has a notice with its deadline and what it still has to report.
    for org in (world.farm, world.market, world.shop):
        notices = world.get("/v1/notices", world.tokens[org], kind="recall").json()["notices"]
        mine = [n for n in notices if n["recall_id"] == recall_id]
        assert len(mine) == 1, org
        assert mine[0]["due_by"] == recall["deadlines"]["acknowledge_by"]
        assert mine[0]["outstanding"] == [
            "acknowledge with on_hand, sold_on, returned and destroyed"
        ]

    # The farm and the market acknowledge in time; the market still has 380 kg on hand.
    farm = world.acknowledge(recall_id, world.farm, sold_on="500")
    assert farm.status_code == 201, farm.text
    assert farm.json()["reconciled"] is True
    market = world.acknowledge(recall_id, world.market, sold_on="120", on_hand="380")
    assert market.status_code == 201, market.text
    assert market.json()["remaining"] == "380"
    assert market.json()["reconciled"] is False
    assert market.json()["missing"] == ["return or destroy the 380 kg on hand"]

    # Two days and an hour later the supermarket has not acknowledged: it is overdue.
    _move_clock(monkeypatch, begun + timedelta(hours=49))
    alerts = _overdue(world, recall)
    assert [(a["organisation"], a["status"]) for a in alerts] == [(world.shop, "open")]
    assert alerts[0]["opened_at"] == recall["deadlines"]["acknowledge_by"]
    body = world.get(f"/v1/recalls/{recall_id}", q.regulator_token).json()
    assert body["progress"]["overdue"] == [world.shop]
    assert _accounts(body)[world.shop]["overdue"] == "not_acknowledged"

    # Closure is refused while accounts do not reconcile.
    refused = world.post(f"/v1/recalls/{recall_id}/close", {"summary": "完成"}, q.regulator_token)
    assert refused.status_code == 422
    assert refused.json()["reason"] == "not_reconciled"
    assert refused.json()["field"] == "override"
    assert world.market in refused.json()["rule"] and world.shop in refused.json()["rule"]

    # The supermarket sold 1.25 kg to consumers and returned the rest; the market destroys 380 kg.
    shop = world.acknowledge(recall_id, world.shop, sold_on="1.25", returned="118.75")
    assert shop.json()["reconciled"] is True, shop.json()
    again = world.acknowledge(recall_id, world.market, sold_on="120", destroyed="380")
    assert again.json()["reconciled"] is True
    assert _overdue(world, recall) == []

    closed = world.post(
        f"/v1/recalls/{recall_id}/close", {"summary": "已全部召回并销毁"}, q.regulator_token
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed"
    assert body["closure"]["override_reason"] is None
    assert body["progress"]["reconciled"] == 3
    assert body["progress"]["overdue"] == []
    notices = world.get("/v1/notices", world.tokens[world.shop], kind="recall").json()["notices"]
    shown = next(n for n in notices if n["recall_id"] == recall_id)
    assert (shown["status"], shown["due_by"], shown["outstanding"]) == ("closed", None, [])
    # Closed is closed: no second closure, no more acknowledgements.
    twice = world.post(f"/v1/recalls/{recall_id}/close", {"summary": "x"}, q.regulator_token)
    late = world.acknowledge(recall_id, world.shop, returned="120")
    assert (twice.status_code, late.status_code) == (409, 409)
    assert twice.json()["reason"] == "recall_closed"


def test_regulator_closes_with_an_override_and_a_reason(world: World) -> None:
    q = world.query
    recall_id = q.recall({"root_codes": [q.case], "reason": "标签错误", "level": "LEVEL_3"}).json()[
        "recall_id"
    ]
    path = f"/v1/recalls/{recall_id}/close"

    no_reason = world.post(path, {"summary": "x", "override": True}, q.regulator_token)
    elsewhere = world.post(path, {"summary": "x", "override": True, "reason": "y"}, q.ningbo_token)
    by_producer = world.post(
        path, {"summary": "x", "override": True, "reason": "y"}, world.tokens[world.farm]
    )
    closed = world.post(
        path,
        {"summary": "经核查风险已消除", "override": True, "reason": "超市已停业，货物无法追回"},
        q.regulator_token,
    )

    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    assert (elsewhere.status_code, elsewhere.json()["field"]) == (403, "recall_id")
    assert (by_producer.status_code, by_producer.json()["field"]) == (403, "override")
    assert closed.status_code == 200, closed.text
    assert closed.json()["closure"]["override_reason"] == "超市已停业，货物无法追回"
    assert closed.json()["progress"]["reconciled"] == 0


def test_producer_recalls_its_own_goods(world: World) -> None:
    q = world.query
    importer = q.importer.uscc
    token = world.tokens[importer]
    body = {"root_codes": [q.slash_code], "reason": "自检发现标签错误", "level": "LEVEL_3"}

    started = world.post("/v1/recalls", body, token)
    others = world.post("/v1/recalls", {**body, "root_codes": [q.case]}, token)

    assert started.status_code == 201, started.text
    recall = started.json()
    assert (recall["initiative"], recall["regulator"]) == ("voluntary", importer)
    assert others.status_code == 403
    assert (others.json()["reason"], others.json()["field"]) == ("unauthorised", "root_codes[0]")
    assert "主动召回" in others.json()["rule"]
    # It sees its own recall, not the regulator's; the regulator of its region sees it too.
    listed = world.get("/v1/recalls", token).json()
    assert [r["recall_id"] for r in listed["recalls"]] == [recall["recall_id"]]
    ningbo = world.get("/v1/recalls", q.ningbo_token).json()["recalls"]
    assert recall["recall_id"] in [r["recall_id"] for r in ningbo]
    # It accounts for its 960 kg and closes the recall itself.
    acked = world.acknowledge(recall["recall_id"], importer, destroyed="960")
    assert acked.json()["reconciled"] is True, acked.json()
    closed = world.post(f"/v1/recalls/{recall['recall_id']}/close", {"summary": "已销毁"}, token)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closure"]["closed_by"] == importer


def test_recalls_are_listed_with_filters_and_cursor_pages(world: World) -> None:
    q = world.query
    before = world.get("/v1/recalls", q.regulator_token, level="LEVEL_1").json()["count"]
    ids = [
        q.recall({"root_codes": [q.case], "reason": f"第{n}次", "level": "LEVEL_1"}).json()[
            "recall_id"
        ]
        for n in range(3)
    ]

    pages = [world.get("/v1/recalls", q.regulator_token, level="LEVEL_1", limit=2).json()]
    while pages[-1]["next_cursor"] is not None:
        cursor = pages[-1]["next_cursor"]
        pages.append(
            world.get(
                "/v1/recalls", q.regulator_token, level="LEVEL_1", limit=2, cursor=cursor
            ).json()
        )
    closed = world.get("/v1/recalls", q.regulator_token, status="closed").json()
    elsewhere = world.get("/v1/recalls", q.wenzhou_token).json()
    bad_cursor = world.get("/v1/recalls", q.regulator_token, cursor="nope")
    bad_level = world.get("/v1/recalls", q.regulator_token, level="LEVEL_9")
    outside = world.get("/v1/recalls", q.regulator_token, region="330200")

    paged = [r["recall_id"] for page in pages for r in page["recalls"]]
    assert pages[0]["count"] == before + 3 == len(paged) == len(set(paged))
    assert paged[:3] == list(reversed(ids))  # newest first
    assert {r["level"] for page in pages for r in page["recalls"]} == {"LEVEL_1"}
    assert closed["recalls"] == []
    assert elsewhere["recalls"] == []  # no recall reaches 温州
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (422, "cursor")
    assert (bad_level.status_code, bad_level.json()["field"]) == (422, "level")
    assert (outside.status_code, outside.json()["field"]) == (403, "region")


def test_the_demo_recall_is_found_by_recall_id_and_event_id(world: World) -> None:
    q = world.query
    found = None
    for entry in q.store.entries(0):
        event = decode_event(Leaf.from_bytes(entry.leaf).event)
        if event.event_type == "RecallInitiated" and event.actor == world.bureau:
            found = event
    assert found is not None
    recall_id = str(found.payload["recall_id"])
    assert recall_id != found.event_id

    by_recall_id = world.get(f"/v1/recalls/{recall_id}", q.regulator_token)
    by_event_id = world.get(f"/v1/recalls/{found.event_id}", q.regulator_token)

    assert by_recall_id.status_code == 200, by_recall_id.text
    assert by_event_id.json()["recall_id"] == by_recall_id.json()["recall_id"] == recall_id
    # The demo's farm acknowledged and destroyed its lot: its account reconciles, none overdue.
    body = by_recall_id.json()
    farm = _accounts(body)[world.farm]
    assert (farm["received"], farm["destroyed"], farm["reconciled"]) == (
        [{"quantity": "500", "unit": "kg"}],
        "500",
        True,
    )
    assert (body["progress"]["disposals"], body["progress"]["overdue"]) == (1, [])
    assert _overdue(world, body) == []


def test_refusals_name_the_field_and_rule(world: World) -> None:
    q = world.query
    recall_id = q.recall({"root_codes": [q.case], "reason": "x", "level": "LEVEL_1"}).json()[
        "recall_id"
    ]
    acks = f"/v1/recalls/{recall_id}/acknowledgements"
    good = {"unit": "kg", "on_hand": "0", "sold_on": "0", "returned": "0", "destroyed": "0"}

    cases = {
        "negative": world.post(acks, {**good, "on_hand": "-1"}, world.tokens[world.shop]),
        "too_many_places": world.post(
            acks, {**good, "sold_on": "1.0001"}, world.tokens[world.shop]
        ),
        "no_unit": world.post(
            acks, {k: v for k, v in good.items() if k != "unit"}, world.tokens[world.shop]
        ),
        "not_a_holder": world.post(acks, good, world.tokens[q.importer.uscc]),
        "regulator": world.post(acks, good, q.regulator_token),
        "unknown": world.post(
            "/v1/recalls/00000000-0000-4000-8000-000000000000/acknowledgements",
            good,
            world.tokens[world.shop],
        ),
        "read_by_holder": world.get(f"/v1/recalls/{recall_id}", world.tokens[world.shop]),
    }

    got = {name: (r.status_code, r.json().get("field")) for name, r in cases.items()}
    assert got == {
        "negative": (422, "on_hand"),
        "too_many_places": (422, "sold_on"),
        "no_unit": (422, "unit"),
        "not_a_holder": (422, "organisation"),
        "regulator": (403, "Authorization"),
        "unknown": (404, "recall_id"),
        "read_by_holder": (403, "recall_id"),
    }
    assert "producer (organisation) token" in cases["regulator"].json()["rule"]
    assert cases["not_a_holder"].json()["reason"] == "not_a_holder"
    assert "greater than or equal to 0" in cases["negative"].json()["rule"]


def test_quantities_may_be_json_numbers(world: World) -> None:
    q = world.query
    recall_id = q.recall({"root_codes": [q.case], "reason": "x", "level": "LEVEL_1"}).json()[
        "recall_id"
    ]
    body = {"unit": "kg", "on_hand": 0, "sold_on": 1.2e2, "returned": 0, "destroyed": 3.8e2}

    acked = world.post(
        f"/v1/recalls/{recall_id}/acknowledgements", body, world.tokens[world.market]
    )

    assert acked.status_code == 201, acked.text
    assert (acked.json()["sold_on"], acked.json()["destroyed"]) == ("120", "380")
    assert acked.json()["reconciled"] is True


def test_a_holder_cannot_close_or_override_a_regulators_recall(world: World) -> None:
    """The story of milestone 2: a clinic (here a shop) closing a regulator's recall."""
    q = world.query
    recall_id = q.recall(
        {"root_codes": [q.case], "reason": "抽检不合格", "level": "LEVEL_2"}
    ).json()["recall_id"]
    close = f"/v1/recalls/{recall_id}/close"
    shop = world.tokens[world.shop]

    forced = world.post(close, {"summary": "已处理", "override": True, "reason": "急"}, shop)
    assert (forced.status_code, forced.json()["field"]) == (403, "override")
    # Every holder accounts for its goods: the recall could close — but not by the shop.
    assert world.acknowledge(recall_id, world.shop, sold_on="1.25", returned="118.75").json()[
        "reconciled"
    ]
    assert world.acknowledge(recall_id, world.market, sold_on="120", destroyed="380").json()[
        "reconciled"
    ]
    assert world.acknowledge(recall_id, world.farm, sold_on="500").json()["reconciled"]
    reconciled = world.get(f"/v1/recalls/{recall_id}", q.regulator_token).json()
    assert all(a["reconciled"] for a in reconciled["accounts"]), reconciled["accounts"]

    plain = world.post(close, {"summary": "已处理"}, shop)
    stranger = world.post(close, {"summary": "已处理"}, world.tokens[q.importer.uscc])

    assert plain.status_code == stranger.status_code == 403, (plain.text, stranger.text)
    assert world.get(f"/v1/recalls/{recall_id}", q.regulator_token).json()["status"] == "open"
