"""EmbeddedTransport: one outcome per event, in order, from the one write path (design.md §6)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from suyuan.events import encode_batch, encode_event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import Rejection, SqlLedgerStore
from suyuan.signing import SigningKey, sign_batch
from suyuan.transport import EmbeddedTransport, EventOutcome, EventStatus
from tests.databases import sqlite_store
from tests.ledger_world import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def store(tmp_path: Path, world: World) -> Iterator[SqlLedgerStore]:
    with sqlite_store(tmp_path, world) as store:
        yield store


@pytest.fixture
def transport(store: SqlLedgerStore, world: World) -> EmbeddedTransport:
    return EmbeddedTransport(store, [world.scenario.root])


def test_accepted_events_are_in_the_ledger_and_resent_ones_are_duplicates(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    events = [world.certificate() for _ in range(2)]
    message = world.farm_batch(events)

    first = transport.submit([message], key=world.farm.uscc, source="t")
    again = transport.submit([message], key=world.farm.uscc, source="t")

    assert first.committed
    assert first.outcomes == (
        EventOutcome(0, 0, events[0].event_id, EventStatus.ACCEPTED),
        EventOutcome(0, 1, events[1].event_id, EventStatus.ACCEPTED),
    )
    assert [o.status for o in again.outcomes] == [EventStatus.DUPLICATE] * 2
    assert store.locate(events[1].event_id)[0] == 0


def test_an_event_repeated_inside_one_batch_is_stored_once(
    transport: EmbeddedTransport, world: World
) -> None:
    event = world.certificate()

    result = transport.submit([world.farm_batch([event, event])], key="k", source="t")

    assert [o.status for o in result.outcomes] == [EventStatus.ACCEPTED, EventStatus.DUPLICATE]
    assert result.count(EventStatus.ACCEPTED) == 1


def test_invalid_event_is_rejected_alone_with_field_and_rule(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    good = world.certificate()
    bad = world.scenario.event(
        world.farm, "Aggregated", {"parent_code": "(00)069012340000000016", "child_codes": []}
    )

    result = transport.submit([world.farm_batch([good, bad])], key="k", source="http:abc")

    assert [o.status for o in result.outcomes] == [EventStatus.ACCEPTED, EventStatus.REJECTED]
    rejected = result.outcomes[1]
    assert rejected.event_id == bad.event_id
    assert rejected.reason == "invalid_event"
    assert rejected.field and rejected.rule
    [stored] = store.rejections(actor=world.farm.uscc)
    assert stored.rejection.source == "http:abc events[1]"


def test_bad_signature_rejects_every_event_of_the_batch(
    transport: EmbeddedTransport, world: World
) -> None:
    events = [world.certificate() for _ in range(3)]
    message = encode_batch(sign_batch(SigningKey.generate(), [encode_event(e) for e in events]))

    result = transport.submit([message], key="k", source="t")

    assert [(o.index, o.event_id, o.reason) for o in result.outcomes] == [
        (i, e.event_id, "unknown_key") for i, e in enumerate(events)
    ]


def test_unreadable_message_is_one_rejected_outcome_beside_good_ones(
    transport: EmbeddedTransport, world: World
) -> None:
    event = world.certificate()

    result = transport.submit([b"junk", world.farm_batch([event])], key="k", source="t")

    assert result.outcomes[0].message == 0
    assert result.outcomes[0].index is None
    assert result.outcomes[0].status is EventStatus.REJECTED
    assert result.outcomes[0].reason == "undecodable"
    assert result.outcomes[1] == EventOutcome(1, 0, event.event_id, EventStatus.ACCEPTED)


def test_reject_records_rejections_without_touching_the_tree(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    head = store.head(0)

    transport.reject(
        [
            Rejection(
                source="http:1 body[0]",
                reason="invalid_event",
                rule="r",
                field="unit",
                actor=world.farm.uscc,
            )
        ]
    )

    [stored] = store.rejections(actor=world.farm.uscc)
    assert (stored.rejection.field, stored.rejection.source) == ("unit", "http:1 body[0]")
    assert store.head(0) == head


def test_concurrent_submissions_are_serialised(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    messages = [world.farm_batch([world.certificate()]) for _ in range(12)]
    results: list[EventStatus] = []

    def send(chunk: list[bytes]) -> None:
        for message in chunk:
            results.extend(
                o.status for o in transport.submit([message], key="k", source="t").outcomes
            )

    threads = [threading.Thread(target=send, args=(messages[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [EventStatus.ACCEPTED] * 12
    assert store.head(0).size == 12


def test_the_writer_reports_each_events_fate_without_the_caller_decoding(
    store: SqlLedgerStore, world: World
) -> None:
    """``WriteResult.outcomes``: what transports answer with (no batch is decoded again)."""
    writer = LedgerWriter(store, [world.scenario.root])
    kept = world.certificate()
    writer.write(0, [Message("first", world.farm_batch([kept]))])
    fresh = world.certificate()
    bad = world.scenario.event(
        world.farm, "Aggregated", {"parent_code": "(00)069012340000000016", "child_codes": []}
    )
    forged = encode_batch(sign_batch(SigningKey.generate(), [encode_event(fresh)]))

    result = writer.write(
        0,
        [
            Message("a", world.farm_batch([kept, fresh, bad])),
            Message("b", forged),
            Message("c", b"junk"),
        ],
    )

    assert [(o.message, o.index, o.event_id, o.status, o.reason) for o in result.outcomes] == [
        (0, 0, kept.event_id, EventStatus.DUPLICATE, None),
        (0, 1, fresh.event_id, EventStatus.ACCEPTED, None),
        (0, 2, bad.event_id, EventStatus.REJECTED, "invalid_event"),
        (1, 0, fresh.event_id, EventStatus.REJECTED, "unknown_key"),
        (2, None, None, EventStatus.REJECTED, "undecodable"),
    ]
    assert result.accepted == 1
