"""The trust follower catches up with new registrations, and reads no trust positions while
the trust shard has not moved (a trace refreshes it; a ledger of many registrations would
otherwise read every position for each trace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from suyuan.follower import TrustFollower
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD, SqlLedgerStore
from tests.databases import sqlite_store
from tests.ledger_world import World


class _Counting(SqlLedgerStore):
    """The query service's own store on the same database, counting position reads."""

    def __init__(self, store: SqlLedgerStore) -> None:
        super().__init__(store.engine)
        self.position_reads = 0

    def trust_positions(self) -> list[tuple[int, int]]:
        self.position_reads += 1
        return super().trust_positions()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlLedgerStore]:
    with sqlite_store(tmp_path) as store:
        yield store


def test_a_follower_sees_a_new_registration_and_rereads_nothing_while_trust_is_unchanged(
    store: SqlLedgerStore,
) -> None:
    world = World()
    s = world.scenario
    writer = LedgerWriter(store, [s.root])
    writer.write(TRUST_SHARD, [Message("trust", world.trust_message())])
    reader = _Counting(store)
    follower = TrustFollower(reader, [s.root])

    assert follower.refresh() is True
    assert follower.trust.organisation(world.farm.uscc) is not None
    # events on an event shard move no trust position
    writer.write(0, [Message("farm", world.farm_batch([world.certificate()]))])
    assert [follower.refresh() for _ in range(3)] == [False, False, False]
    assert reader.position_reads == 1

    rival = s.organisation("余杭区径山茶叶专业合作社", ["PRODUCER"], "330110", "余杭区径山镇")
    writer.write(TRUST_SHARD, [Message("more", s.sign_as_root(s.registration(rival)))])

    assert follower.trust.organisation(rival.uscc) is None
    assert follower.refresh() is True
    assert follower.trust.organisation(rival.uscc) is not None
    assert reader.position_reads == 2


def test_reload_reads_the_trust_positions_again(store: SqlLedgerStore) -> None:
    world = World()
    writer = LedgerWriter(store, [world.scenario.root])
    writer.write(TRUST_SHARD, [Message("trust", world.trust_message())])
    reader = _Counting(store)
    follower = TrustFollower(reader, [world.scenario.root])
    follower.refresh()

    follower.reload()

    assert reader.position_reads == 2
    assert follower.trust.organisation(world.market.uscc) is not None
