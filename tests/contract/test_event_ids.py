"""One event id, one event (docs/ledger.md, "Event ids"), on SQLite and a real PostgreSQL.

A second event under a known id with other content is refused as ``id_conflict``; only a
byte-identical repeat is a ``duplicate``. The write path checks it in one query per write and
the store refuses, under its lock, an id that another writer filled with other content meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from suyuan.errors import UnknownKeyError
from suyuan.events import decode_event, encode_event, event_from_json, event_to_json
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Leaf,
    SqlLedgerStore,
    StaleWriterError,
    Submission,
    create_ledger_engine,
    migrate,
)
from suyuan.scenario import Organisation, vegetable_certificate
from tests.databases import fresh_database, migrated_store
from tests.ledger_world import World


def _with_id(event: Event, event_id: str) -> Event:
    return dataclasses.replace(event, event_id=event_id)


class EventIdContract:
    @pytest.fixture
    def store(self) -> Iterator[SqlLedgerStore]:
        raise NotImplementedError

    @pytest.fixture
    def world(self) -> World:
        return World()

    @pytest.fixture
    def rival(self, world: World) -> Organisation:
        s = world.scenario
        return s.organisation("余杭区径山茶叶专业合作社", ["PRODUCER"], "330110", "余杭区径山镇")

    @pytest.fixture
    def writer(self, store: SqlLedgerStore, world: World, rival: Organisation) -> LedgerWriter:
        writer = LedgerWriter(store, [world.scenario.root])
        s = world.scenario
        trust = s.registration(world.farm, world.market, rival)
        assert writer.write(TRUST_SHARD, [Message("setup", s.sign_as_root(trust))]).accepted == len(
            trust
        )
        return writer

    def _certificate(self, world: World, issuer: Organisation) -> Event:
        return vegetable_certificate(world.scenario, issuer, None)

    def test_another_organisations_id_used_first_refuses_the_event_as_id_conflict(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World, rival: Organisation
    ) -> None:
        taken = self._certificate(world, rival)
        writer.write(0, [Message("rival", world.scenario.sign(rival, [taken]))])
        own = _with_id(self._certificate(world, world.farm), taken.event_id)

        result = writer.write(0, [Message("farm", world.farm_batch([own]))])

        assert (result.accepted, result.duplicates) == (0, 0)
        [rejection] = result.rejections
        assert (rejection.reason, rejection.field) == ("id_conflict", "event_id")
        assert (rejection.source, rejection.actor) == ("farm events[0]", world.farm.uscc)
        assert taken.event_id in rejection.rule
        assert "taken by an event with other content (in the ledger)" in rejection.rule
        stored = Leaf.from_bytes(store.entry(*store.locate(taken.event_id)).leaf).event
        assert decode_event(stored).actor == rival.uscc
        assert store.head(0).duplicates == 0
        assert store.rejection_counts() == {"id_conflict": 1}

    def test_an_identical_resend_stays_a_duplicate(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        event = self._certificate(world, world.farm)
        writer.write(0, [Message("a", world.farm_batch([event]))])
        # Signed again in another batch: same event bytes, other signature.
        resent = world.farm_batch([event, self._certificate(world, world.farm)])

        result = writer.write(0, [Message("b", resent)])

        assert (result.accepted, result.duplicates, result.rejections) == (1, 1, ())

    def test_two_events_with_one_id_in_one_write_keep_the_first(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World, rival: Organisation
    ) -> None:
        first = self._certificate(world, world.farm)
        second = _with_id(self._certificate(world, rival), first.event_id)

        result = writer.write(
            0,
            [
                Message("m0", world.farm_batch([first])),
                Message("m1", world.scenario.sign(rival, [second])),
                Message("m2", world.farm_batch([first])),
            ],
        )

        assert result.append.appended == ((first.event_id, store.head(0).size - 1),)
        assert result.duplicates == 1
        [rejection] = result.rejections
        assert (rejection.reason, rejection.source) == ("id_conflict", "m1 events[0]")
        assert "(earlier in this write)" in rejection.rule

    def test_a_trust_event_under_a_taken_id_registers_nothing(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World, rival: Organisation
    ) -> None:
        s = world.scenario
        taken = self._certificate(world, world.farm)
        writer.write(0, [Message("farm", world.farm_batch([taken]))])
        newcomer = s.organisation("桐庐县富春江茶场", ["PRODUCER"], "330122", "桐庐县")
        registration = [
            _with_id(e, taken.event_id) if i == 1 else e
            for i, e in enumerate(s.registration(newcomer))
        ]

        result = writer.write(TRUST_SHARD, [Message("root", s.sign_as_root(registration))])

        assert [(r.reason, r.source) for r in result.rejections] == [
            ("id_conflict", "root events[1]")
        ]
        with pytest.raises(UnknownKeyError):
            writer.trust.usable_key(newcomer.key.key_id)
        fresh = LedgerWriter(store, [s.root])  # the trust store rebuilt from the ledger agrees
        with pytest.raises(UnknownKeyError):
            fresh.trust.usable_key(newcomer.key.key_id)

    def test_stored_events_gives_the_signed_bytes_of_known_ids_only(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        events = [self._certificate(world, world.farm) for _ in range(3)]
        writer.write(0, [Message("a", world.farm_batch(events))])
        unknown = world.scenario.event_id()

        found = store.stored_events([events[2].event_id, unknown, events[0].event_id])

        assert found == {e.event_id: encode_event(e) for e in (events[0], events[2])}

    def test_the_store_refuses_an_id_filled_with_other_content_meanwhile(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World, rival: Organisation
    ) -> None:
        # The race: another shard's writer stored the id after this writer's check. The store
        # sees it under its lock and refuses the whole append, so the writer retries, and its
        # check then refuses the event as id_conflict instead of counting it a duplicate.
        taken = self._certificate(world, rival)
        own = _with_id(self._certificate(world, world.farm), taken.event_id)
        writer.write(1, [Message("rival", world.scenario.sign(rival, [taken]))])
        size = store.head(0).size
        blind = _BlindOnce(store)
        racing = LedgerWriter(blind, [world.scenario.root])
        message = Message("farm", world.farm_batch([own]))

        with pytest.raises(StaleWriterError, match="taken by other content"):
            racing.write(0, [message])
        assert store.head(0).size == size  # nothing of the refused append
        assert store.rejection_counts() == {}

        result = racing.write(0, [message])
        assert [r.reason for r in result.rejections] == ["id_conflict"]
        assert store.head(0).size == size

    def test_the_store_itself_never_counts_other_content_as_a_duplicate(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        event = self._certificate(world, world.farm)
        writer.write(0, [Message("a", world.farm_batch([event]))])
        leaf = Leaf.from_bytes(store.entry(*store.locate(event.event_id)).leaf)
        other = event_from_json({**event_to_json(event), "quantity": "1"})
        submission = Submission(
            event=other,
            event_bytes=encode_event(other),
            key_id=leaf.key_id,
            signature=leaf.signature,
            batch_size=1,
            batch_index=0,
            batch_path=(),
        )

        with pytest.raises(StaleWriterError):
            store.append(0, [submission])
        assert store.head(0).duplicates == 0

    def test_the_writer_judges_dates_by_its_own_clock(
        self, store: SqlLedgerStore, world: World
    ) -> None:
        s = world.scenario
        trust = s.registration(world.farm, world.market)
        then = s.clock.astimezone(UTC) + timedelta(days=2)
        event = self._certificate(world, world.farm)

        later = LedgerWriter(store, [s.root], clock=lambda: then)
        later.write(TRUST_SHARD, [Message("setup", s.sign_as_root(trust))])
        early = LedgerWriter(store, [s.root], clock=lambda: then - timedelta(days=30))
        refused = early.write(0, [Message("a", world.farm_batch([event]))])
        taken = later.write(0, [Message("b", world.farm_batch([event]))])

        assert [(r.reason, r.field) for r in refused.rejections] == [
            ("invalid_event", "occurred_at")
        ]
        assert taken.accepted == 1


class _BlindOnce(SqlLedgerStore):
    """A store whose first id lookup misses everything: a check that ran before another
    writer's commit."""

    def __init__(self, store: SqlLedgerStore) -> None:
        super().__init__(store.engine)
        self._blind = True

    def stored_events(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        if self._blind:
            self._blind = False
            return {}
        return super().stored_events(event_ids)


class TestSqliteEventIds(EventIdContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlLedgerStore]:
        engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        migrate(engine)
        store = SqlLedgerStore(engine)
        yield store
        store.close()


@pytest.mark.integration
class TestPostgresEventIds(EventIdContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SqlLedgerStore]:
        with fresh_database(postgres_url, "ids") as url, migrated_store(url) as store:
            yield store
