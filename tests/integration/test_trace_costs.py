"""What a trace costs and what the public sees (docs/http-query.md "Trace budget", "Public
view"): a code made from tens of thousands of inputs, a chain through a cold store, and the
bound on public traces worked on at once.

The ledger is written through the one write path (:class:`~suyuan.intake.LedgerWriter`).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    load_or_create_ledger_key,
    migrate,
)
from suyuan.scenario import Organisation, Scenario, vegetable_certificate
from suyuan_trace_query._deps import TraceSlots
from suyuan_trace_query.app import create_app

INPUTS = 40_000
PER_EVENT = 400  # codes per event, well within the 64 KiB event limit
BUDGET_CODES = 1_000  # the documented default of SUYUAN_TRACE_BUDGET_CODES


@dataclass
class Ledger:
    client: TestClient
    store: SqlLedgerStore
    writer: LedgerWriter
    s: Scenario
    farm: Organisation
    cold_store: Organisation
    shop: Organisation
    mixed: str
    """The code made from :data:`INPUTS` input lots."""
    lot: str
    """A lot shipped farm → cold store → shop and sold there."""
    regulator: str
    admin: str
    farm_token: str
    shop_token: str

    def get(self, path: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(path, headers=headers)

    def trace(self, code: str, token: str | None = None) -> Any:
        return self.get(f"/v1/trace/{quote(code, safe='()')}", token)

    def write(self, org: Organisation, events: list[Event]) -> None:
        result = self.writer.write(0, [Message(f"t#{uuid.uuid4()}", self.s.sign(org, events))])
        assert result.accepted == len(events), result.rejections


def _mixture(s: Scenario, farm: Organisation) -> tuple[str, list[list[Event]]]:
    """A code made from :data:`INPUTS` certified lots of the farm's own: batches of events."""
    inputs = [s.unit_code(item="10041", lot=f"IN{n:05d}") for n in range(INPUTS)]
    mixed = s.unit_code(item="10058", lot="MIX0506")
    batches: list[list[Event]] = []
    for start in range(0, INPUTS, PER_EVENT):
        chunk = inputs[start : start + PER_EVENT]
        certificate = vegetable_certificate(s, farm, chunk, quantity="10", origin=farm)
        made = s.event(
            farm,
            "Transformed",
            {
                "process": "MIXING",
                "inputs": [{"code": c, "quantity": "1", "unit": "kg"} for c in chunk],
                "outputs": [{"code": mixed, "quantity": str(len(chunk)), "unit": "kg"}],
            },
            codes=[*chunk, mixed],
        )
        batches.append([certificate, made])
    return mixed, batches


def _through_a_cold_store(
    s: Scenario, farm: Organisation, cold: Organisation, shop: Organisation
) -> tuple[str, list[tuple[Organisation, list[Event]]]]:
    lot = s.unit_code(item="10010", lot="CS0506")
    certificate = vegetable_certificate(s, farm, lot, quantity="800")

    def ship(sender: Organisation, to: Organisation, waybill: str, plate: str) -> Event:
        payload = {
            "to_org": to.uscc,
            "waybill_no": waybill,
            "vehicle_plate": plate,
            "carrier": None,
            "destination": to.location(),
        }
        return s.event(sender, "Shipped", payload, codes=[lot], quantity="800", unit="kg")

    def receive(receiver: Organisation, sender: Organisation, waybill: str) -> Event:
        payload = {
            "from_org": sender.uscc,
            "waybill_no": waybill,
            "upstream_certificates": [certificate.codes[0]],
            "check_passed": True,
            "check_note": None,
        }
        return s.event(receiver, "Received", payload, codes=[lot], quantity="800", unit="kg")

    stored = s.event(
        cold,
        "Stored",
        {"facility": "COLD_STORE", "storage_unit": "B-07"},
        codes=[lot],
        quantity="800",
        unit="kg",
    )
    sold = s.event(
        shop,
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": "R-0506-0001"},
        codes=[lot],
        quantity="2.5",
        unit="kg",
    )
    return lot, [
        (farm, [certificate, ship(farm, cold, "WB-FARM-COLD-1", "浙A·C0001")]),
        (cold, [receive(cold, farm, "WB-FARM-COLD-1"), stored]),
        (cold, [ship(cold, shop, "WB-COLD-SHOP-2", "浙A·C0002")]),
        (shop, [receive(shop, cold, "WB-COLD-SHOP-2"), sold]),
    ]


# Commercial details of the cold-store chain that an anonymous caller must never get.
PRIVATE_VALUES = ("WB-FARM-COLD-1", "WB-COLD-SHOP-2", "浙A·C0001", "B-07", "R-0506-0001")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    tmp = tmp_path_factory.mktemp("costs")
    url = f"sqlite:///{tmp / 'ledger.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    s = Scenario(seed=7)
    key_file = tmp / "ledger.key"
    signer = load_or_create_ledger_key(key_file, "test.local/ledger")
    initialise(store, signer.verifier, [s.root])
    farm = s.organisation(
        "临安区太湖源蔬菜专业合作社",
        ["PRODUCER", "PROCESSOR"],
        "330185",
        "浙江省杭州市临安区太湖源镇白沙村",
        registrar="N",
        entity_type="2",
    )
    cold = s.organisation("杭州冷链仓储有限公司", ["COLD_STORE"], "330110", "杭州市余杭区")
    shop = s.organisation("联华超市（文三路店）", ["RETAILER"], "330106", "杭州市西湖区文三路")
    writer = LedgerWriter(store, [s.root])
    trust = writer.write(
        TRUST_SHARD, [Message("trust", s.sign_as_root(s.registration(farm, cold, shop)))]
    )
    assert not trust.rejections, trust.rejections
    mixed, batches = _mixture(s, farm)
    for number, events in enumerate(batches):
        result = writer.write(0, [Message(f"mix#{number}", s.sign(farm, events))])
        assert result.accepted == len(events), result.rejections
    lot, chain = _through_a_cold_store(s, farm, cold, shop)
    for number, (org, events) in enumerate(chain):
        result = writer.write(0, [Message(f"chain#{number}", s.sign(org, events))])
        assert result.accepted == len(events), result.rejections

    settings = Settings(
        database_url=url, ledger_key_file=str(key_file), ledger_name="test.local/ledger"
    )
    app = create_app(
        settings.model_copy(
            update={
                **dict(
                    custody_master_key=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode())
                ),
                **dict(query_rate_limit_per_second=0),
            }
        ),
        store=store,
    )
    with TestClient(app) as client:
        yield Ledger(
            client=client,
            store=store,
            writer=writer,
            s=s,
            farm=farm,
            cold_store=cold,
            shop=shop,
            mixed=mixed,
            lot=lot,
            regulator=create_token(engine, "regulator", region="330100"),
            admin=create_token(engine, "admin"),
            farm_token=create_token(engine, "producer", organisation=farm.uscc),
            shop_token=create_token(engine, "producer", organisation=shop.uscc),
        )
    store.close()


def _events(body: dict[str, Any]) -> list[dict[str, Any]]:
    lists = ("certificates", "inspections", "documents", "custody", "recalls", "voids")
    return [event for name in lists for event in body[name]]


# --- the trace budget -----------------------------------------------------------------------------


def test_an_anonymous_trace_of_a_huge_mixture_is_cut_at_the_budget(ledger: Ledger) -> None:
    response = ledger.trace(ledger.mixed)

    assert response.status_code == 200
    body = response.json()
    assert body["complete"] is False
    assert len(body["upstream_codes"]) == BUDGET_CODES - 1  # the code itself is the first
    events = {e["event_id"] for e in _events(body)}
    assert 0 < len(events) <= 2_000
    # 512 KiB of signed events read; their JSON is a little larger.
    assert len(response.content) < 1024 * 1024
    # Nearest first: the mixing events of the code itself fill the byte budget.
    assert all(ledger.mixed in e["codes"] for e in _events(body))


def test_a_producer_token_is_budgeted_too(ledger: Ledger) -> None:
    body = ledger.trace(ledger.mixed, ledger.farm_token).json()

    assert body["view"] == "full"
    assert body["complete"] is False
    assert len(body["upstream_codes"]) == BUDGET_CODES - 1


@pytest.mark.parametrize("who", ["regulator", "admin"])
def test_regulators_and_admins_get_the_rest(ledger: Ledger, who: str) -> None:
    body = ledger.trace(ledger.mixed, getattr(ledger, who)).json()

    assert body["complete"] is True
    assert len(body["upstream_codes"]) == INPUTS
    certificates = {e["event_id"] for e in body["certificates"]}
    assert len(certificates) == INPUTS // PER_EVENT


def test_an_ordinary_trace_is_complete_for_everyone(ledger: Ledger) -> None:
    assert ledger.trace(ledger.lot).json()["complete"] is True
    assert ledger.trace(ledger.lot, ledger.regulator).json()["complete"] is True


def test_the_scan_page_says_when_it_shows_only_part(ledger: Ledger) -> None:
    partial = ledger.get(f"/c/{quote(ledger.mixed, safe='()')}")
    whole = ledger.get(f"/c/{quote(ledger.lot, safe='()')}")
    english = ledger.get(f"/c/{quote(ledger.mixed, safe='()')}?lang=en")

    assert partial.status_code == 200
    assert 'id="partial"' in partial.text and "仅显示部分记录" in partial.text
    assert "Only part of the record is shown" in english.text
    assert 'id="partial"' not in whole.text


# --- public traces at once ------------------------------------------------------------------------


@contextmanager
def _held(slots: TraceSlots, count: int) -> Iterator[None]:
    """``count`` public trace slots taken, each by a thread of its own, until the block ends:
    the first ``slots.running`` in their turn, the others waiting for one."""
    release = threading.Event()

    def hold() -> None:
        with slots.slot():
            release.wait()

    with ThreadPoolExecutor(count) as pool:
        holders = []
        try:
            for n in range(count):
                holders.append(pool.submit(hold))
                _until(lambda n=n: slots.taken == n + 1)
            yield
        finally:
            release.set()
        for holder in holders:
            holder.result(timeout=10)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_public_traces_past_the_bound_are_refused_at_once(ledger: Ledger) -> None:
    slots = ledger.client.app.state.context.public_traces
    assert slots.running < slots.size  # some of the held slots wait for a turn
    # Each request in a thread of its own, with a deadline: one let past the bound would wait
    # for a turn the held slots keep, and hang the test instead of failing it.
    with ThreadPoolExecutor(1) as pool, _held(slots, slots.size):
        api = pool.submit(ledger.trace, ledger.lot).result(timeout=30)
        page = pool.submit(ledger.get, f"/c/{quote(ledger.lot, safe='()')}").result(timeout=30)
        producer = pool.submit(ledger.trace, ledger.lot, ledger.shop_token).result(timeout=30)
        regulator = pool.submit(ledger.trace, ledger.lot, ledger.regulator).result(timeout=30)
    after = ledger.trace(ledger.lot)

    assert api.status_code == 503
    assert api.json()["reason"] == "busy"
    assert api.headers["Retry-After"] == "1"
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "1"
    assert "查询繁忙" in page.text
    assert producer.status_code == 503
    assert regulator.status_code == 200  # accountable callers are never turned away
    assert after.status_code == 200
    assert slots.taken == 0


def test_public_traces_wait_for_a_turn_and_regulators_never_do(ledger: Ledger) -> None:
    slots = ledger.client.app.state.context.public_traces
    with ThreadPoolExecutor(1) as pool:
        with _held(slots, slots.running):
            waiting = pool.submit(ledger.trace, ledger.lot)
            _until(lambda: slots.taken == slots.running + 1)
            regulator = ledger.trace(ledger.lot, ledger.regulator)
            unanswered = not wait([waiting], timeout=1).done
        answered = waiting.result(timeout=30)

    assert regulator.status_code == 200  # no turn to wait for
    assert unanswered  # every turn was taken: the public trace waited, holding its slot
    assert answered.status_code == 200
    assert slots.taken == 0


# --- the public view ------------------------------------------------------------------------------


def test_anonymous_trace_shows_no_quantities_partners_or_middlemen(ledger: Ledger) -> None:
    response = ledger.trace(ledger.lot)
    body = response.json()

    assert body["view"] == "public"
    for private in (
        *PRIVATE_VALUES,
        ledger.cold_store.uscc,
        ledger.cold_store.name,
        "杭州市余杭区",
    ):
        assert private not in response.text
    assert all(e["quantity"] is None and e["unit"] is None for e in _events(body))
    assert all(
        "to_org" not in e["payload"] and "from_org" not in e["payload"] for e in _events(body)
    )
    held = [e for e in body["custody"] if e["actor"] is None]
    assert {e["event_type"] for e in held} == {"Received", "Stored", "Shipped"}
    assert all(
        e["location"] == {"region_code": "330110", "name": None, "address": None} for e in held
    )
    # The producer and the point of sale are named.
    named = {e["actor_name"] for e in body["custody"] if e["actor"] is not None}
    assert named == {ledger.farm.name, ledger.shop.name}


def test_the_scan_page_names_neither_middlemen_nor_quantities(ledger: Ledger) -> None:
    html = ledger.get(f"/c/{quote(ledger.lot, safe='()')}").text

    for private in (*PRIVATE_VALUES, ledger.cold_store.name, "800 kg", "2.5 kg"):
        assert private not in html
    assert "流通环节经营者（不公开）" in html
    assert ledger.farm.name in html and ledger.shop.name in html


def test_a_regulator_sees_the_whole_chain(ledger: Ledger) -> None:
    response = ledger.trace(ledger.lot, ledger.regulator)
    body = response.json()

    assert body["view"] == "full"
    for private in (*PRIVATE_VALUES, ledger.cold_store.uscc, ledger.cold_store.name):
        assert private in response.text
    assert {e["quantity"] for e in body["custody"] if e["event_type"] == "Shipped"} == {"800"}


def _event_id(ledger: Ledger, event_type: str, actor: Organisation) -> str:
    from suyuan.events import decode_event
    from suyuan.ledger import Leaf

    for entry in ledger.store.entries(0):
        event = decode_event(Leaf.from_bytes(entry.leaf).event)
        if event.event_type == event_type and event.actor == actor.uscc:
            return event.event_id
    raise AssertionError(f"no {event_type} by {actor.name}")


def test_an_event_on_its_own_hides_partners_and_amounts_from_the_public(ledger: Ledger) -> None:
    shipped = _event_id(ledger, "Shipped", ledger.cold_store)

    public = ledger.get(f"/v1/events/{shipped}")
    regulator = ledger.get(f"/v1/events/{shipped}", ledger.regulator)
    own = ledger.get(f"/v1/events/{shipped}", ledger.shop_token)  # the receiver, not the actor

    event = public.json()["event"]
    assert public.json()["view"] == "public"
    assert event["actor"] is None and event["quantity"] is None and event["unit"] is None
    assert event["location"] == {"region_code": "330110"}
    assert event["payload"] == {}  # receiver, waybill, plate, carrier, destination: all private
    for private in (*PRIVATE_VALUES, ledger.cold_store.uscc, ledger.shop.uscc):
        assert private not in public.text
    assert own.json()["view"] == "public"
    assert regulator.json()["event"]["payload"]["to_org"] == ledger.shop.uscc
    assert regulator.json()["event"]["quantity"] == "800"


def test_a_sale_on_its_own_names_the_point_of_sale_but_not_the_amount(ledger: Ledger) -> None:
    sold = _event_id(ledger, "Sold", ledger.shop)

    event = ledger.get(f"/v1/events/{sold}").json()["event"]

    assert event["actor"] == ledger.shop.uscc
    assert event["quantity"] is None
    assert "receipt_no" not in event["payload"]


def test_a_recall_beyond_the_budget_does_not_leave_the_public_a_green_verdict(
    ledger: Ledger,
) -> None:
    """The farm recalls the last of the 40,000 inputs: the regulator's whole trace of the
    mixture is red; the budgeted public one cannot see the recall, so it must not say 正常."""
    last = ledger.s.unit_code(item="10041", lot=f"IN{INPUTS - 1:05d}")
    recall = ledger.s.event(
        ledger.farm,
        "RecallInitiated",
        {
            "recall_id": ledger.s.event_id(),
            "root_codes": [last],
            "reason": "自检发现农药残留超标",
            "level": "LEVEL_2",
        },
        codes=[last],
    )
    ledger.write(ledger.farm, [recall])

    public = ledger.trace(ledger.mixed).json()
    whole = ledger.trace(ledger.mixed, ledger.regulator).json()
    page = ledger.get(f"/c/{quote(ledger.mixed, safe='()')}").text

    assert whole["verdict"]["state"] == "recalled"
    assert public["complete"] is False
    assert public["verdict"]["state"] == "attention"
    assert [f["rule"] for f in public["verdict"]["findings"]] == ["record_incomplete"]
    assert 'data-status="attention"' in page and "✓ 正常" not in page
    assert "无法排除更上游的召回或冻结" in page
