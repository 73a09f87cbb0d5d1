"""Attacks through the services: an EPCIS capture speaking in the
ledger's own vocabulary, and the certificate path's ``Capture.submit_event`` held to every check
of ``POST /v1/events``.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from suyuan._auth_tables import epcis_kept_members
from suyuan.codegraph import CONTAINS
from suyuan.epcis import epc_urn_to_digital_link
from suyuan.epcis._document import NAMESPACE
from suyuan.events import event_to_json
from suyuan.events.model import Event, Location
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD
from suyuan.transport import EventStatus
from tests.databases import fresh_database, migrated_store
from tests.integration.test_epcis_capture import Ledger, start_ledger
from tests.integration.test_epcis_gs1 import (
    _document,
    admin_token,
    example,
    register,
    register_example_places,
)
from tests.ledger_world import World


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    yield from start_ledger(tmp_path)


def _kept_rows(ledger: Ledger) -> int:
    with ledger.ingest.store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(epcis_kept_members))
        return int(count.scalar_one())


def test_a_capture_naming_another_actor_in_our_vocabulary_is_refused_and_nothing_kept(
    ledger: Ledger,
) -> None:
    """The farm sends GS1's shipping event with ``sy:actor`` (``sy`` bound to our namespace)
    naming the market. Kept, the full view's export would give the event a second actor; it
    is refused instead, naming the member, and the same event without it is captured."""
    register_example_places(ledger, ledger.ingest.world.farm.uscc)
    shipping = example("Example_9.6.1-ObjectEvent.jsonld")["epcisBody"]["eventList"][0]
    lying = copy.deepcopy(shipping)
    lying["sy:actor"] = {"uscc": ledger.ingest.world.market.uscc}
    document = _document([lying])
    document["@context"].append({"sy": NAMESPACE})

    job = ledger.capture(document).json()
    honest = ledger.capture(_document([shipping])).json()

    assert job["refused"] == 1 and job["captured"] == 0, job
    assert [(p["reason"], p["field"]) for p in job["events"][0]["problems"]] == [
        ("unsupported_feature", "epcisBody.eventList[0].sy:actor")
    ]
    assert honest["captured"] == 1, honest
    assert _kept_rows(ledger) == 1  # the honest event's purchase order, nothing of the lie


def _certificate_variants(ledger: Ledger) -> dict[str, tuple[Event, str]]:
    """Events the farm's certificate path must refuse, with the reason ``POST /v1/events``
    gives each."""
    world = ledger.ingest.world
    good = world.certificate()
    market_place = "6901234000016"
    return {
        "another actor": (
            dataclasses.replace(good, actor=world.market.uscc, event_id=str(uuid.uuid4())),
            "wrong_signer",
        ),
        "another's place": (
            dataclasses.replace(
                good,
                event_id=str(uuid.uuid4()),
                location=Location(
                    region_code="330105", name="市场", address=None, gln=market_place
                ),
            ),
            "unauthorised",
        ),
        "a trust event": (
            dataclasses.replace(
                world.scenario.registration(world.farm)[0], event_id=str(uuid.uuid4())
            ),
            "wrong_signer",
        ),
        "content rules": (
            dataclasses.replace(good, event_id=str(uuid.uuid4()), codes=[]),
            "invalid_event",
        ),
    }


def test_submit_event_refuses_whatever_post_v1_events_refuses(ledger: Ledger) -> None:
    ingest = ledger.ingest
    registered = register(
        ledger,
        ingest.world.market.uscc,
        "6901234000016",
        {"kind": "place", "region_code": "330105", "name": "市场"},
        admin_token(ledger),
    )
    assert registered.status_code == 200, registered.text
    capture = ingest.client.app.state.context.capture
    size = ingest.store.head(0).size

    told: dict[str, tuple[Any, Any]] = {}
    for name, (event, _) in _certificate_variants(ledger).items():
        direct = capture.submit_event(ingest.world.farm.uscc, event).outcomes
        over_http = ingest.post_json(event_to_json(event)).json()["results"]
        told[name] = (
            [(o.status, o.reason) for o in direct],
            [(r["status"], r["reason"]) for r in over_http],
        )

    assert told == {
        name: ([(EventStatus.REJECTED, reason)], [("rejected", reason)])
        for name, (_, reason) in _certificate_variants(ledger).items()
    }
    assert ingest.store.head(0).size == size


@pytest.mark.integration
def test_crafted_start_codes_neither_break_the_walk_nor_hide_the_goods_on_postgres(
    postgres_url: str,
) -> None:
    """The walk binds its start codes as one text array on PostgreSQL: quotes, braces and
    commas (an array literal's own syntax) are codes like any other, never its structure."""
    world = World()
    s = world.scenario
    crafted = ["'", '"', "\\", "{}", "{a,b}", '"}', "NULL", "a,b", "码" * 300, "'); --"]
    with fresh_database(postgres_url, "review") as url, migrated_store(url) as store:
        writer = LedgerWriter(store, [s.root])
        writer.write(TRUST_SHARD, [Message("setup", world.trust_message())])
        pallet, lots = s.sscc(), [s.unit_code(lot=f"LA2026050{n}") for n in range(3)]
        packed = writer.write(
            0, [Message("p", world.farm_batch([world.aggregation(pallet, lots)]))]
        )
        assert packed.accepted == 1, packed.rejections

        down = store.reach(
            [*crafted, pallet, *crafted], upward=False, kinds={CONTAINS}, depth=10, rows=100
        )
        many = store.reach(
            [f"X{n:07d}'\"{{}}," for n in range(50_000)] + [pallet],
            upward=False,
            kinds={CONTAINS},
            depth=10,
            rows=100,
        )
        up = store.reach([*crafted, lots[0]], upward=True, kinds={CONTAINS}, depth=10, rows=100)

    assert sorted(down.distances) == sorted(many.distances) == sorted((lot, 1) for lot in lots)
    assert down.ended and many.ended
    assert up.distances == [(pallet, 1)]


def test_kept_members_are_shown_only_to_readers_of_the_full_view(ledger: Ledger) -> None:
    """The farm's shipment of GS1's example keeps its purchase order as sent. A shopper (no
    token) and the market, which never held the goods, read the public view without it, by
    trace and by EPCIS query; the regulator reads it."""
    register_example_places(ledger, ledger.ingest.world.farm.uscc)
    shipping = example("Example_9.6.1-ObjectEvent.jsonld")["epcisBody"]["eventList"][0]
    assert ledger.capture(_document([shipping])).json()["captured"] == 1
    order = shipping["bizTransactionList"][0]["bizTransaction"]
    epc = epc_urn_to_digital_link(shipping["epcList"][0])
    assert epc is not None

    def read(token: str | None) -> list[str]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        traced = ledger.query.get(
            f"/v1/trace/{quote(epc, safe='')}", params={"format": "epcis"}, headers=headers
        )
        queried = ledger.query.get("/epcis/events", params={"MATCH_anyEPC": epc}, headers=headers)
        return [r.text for r in (traced, queried) if r.status_code == 200]

    shopper, market, regulator = (
        read(None),
        read(ledger.ingest.market_token),
        read(ledger.regulator_token),
    )

    assert len(regulator) == 2 and all(order in text for text in regulator)
    assert len(shopper) == len(market) == 2  # answered, in the public view
    assert not any(order in text for text in [*shopper, *market])
