"""A write's checks read the ledger through one connection and transaction (docs/ledger.md,
"Reading"), on SQLite and a real PostgreSQL: a write of many one-event messages does not open a
connection, a transaction and (on PostgreSQL) a rollback per read of its checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD, SqlLedgerStore
from tests.databases import fresh_database, migrated_store, sqlite_store
from tests.ledger_world import World

MESSAGES = 40


class WriteReadsContract:
    @pytest.fixture
    def store(self) -> Iterator[SqlLedgerStore]:
        raise NotImplementedError

    def test_a_write_of_many_messages_checks_them_through_a_few_connections(
        self, store: SqlLedgerStore
    ) -> None:
        world = World()
        s = world.scenario
        writer = LedgerWriter(store, [s.root])
        trust = s.registration(world.farm, world.market)
        assert writer.write(TRUST_SHARD, [Message("trust", s.sign_as_root(trust))]).accepted
        messages = [
            Message(f"m{n}", world.farm_batch([world.certificate()])) for n in range(MESSAGES)
        ]
        checkouts: list[int] = []

        def checked_out(*_args: Any) -> None:
            checkouts.append(1)

        sa.event.listen(sa.pool.Pool, "checkout", checked_out)
        try:
            written = writer.write(0, messages)
        finally:
            sa.event.remove(sa.pool.Pool, "checkout", checked_out)

        assert written.accepted == MESSAGES, written.rejections
        # The checks read several times per message; one block holds one connection for all.
        assert len(checkouts) < 10


class TestSqliteWriteReads(WriteReadsContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlLedgerStore]:
        with sqlite_store(tmp_path) as store:
            yield store


@pytest.mark.integration
class TestPostgresWriteReads(WriteReadsContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SqlLedgerStore]:
        with fresh_database(postgres_url, "reads") as url, migrated_store(url) as store:
            yield store
