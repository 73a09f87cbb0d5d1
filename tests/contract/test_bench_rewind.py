"""The benchmarks' rewind of a kept ledger (bench/_rewind.py): after a Kafka run appended onto
the kept trace ledger, it must be exactly the ledger it was — every later figure, and the
audit, are taken on it. On SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench._rewind import LedgerMark, RewindError
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    Ledger,
    OffsetCommit,
    SqlLedgerStore,
    initialise,
    metadata,
)
from suyuan.scenario import LotMaker, Organisation, Scenario
from suyuan.tlog import NoteSigner
from tests.databases import fresh_database, migrated_store, sqlite_store

SIGNER = NoteSigner.generate("test.example/rewind")


def _rows(store: SqlLedgerStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every ledger table, sorted: what the ledger is."""
    with store.engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(sa.select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


class RewindContract:
    @pytest.fixture
    def store(self) -> Iterator[SqlLedgerStore]:
        raise NotImplementedError

    def _kept_ledger(
        self, store: SqlLedgerStore
    ) -> tuple[Scenario, LedgerWriter, LotMaker, list[Organisation]]:
        """A kept ledger as the trace benchmarks build it: trust, lots, a checkpoint."""
        s = Scenario(7)
        farms = s.lot_farms(2)
        market = s.wholesale_market()
        initialise(store, SIGNER.verifier, [s.root])
        writer = LedgerWriter(store, [s.root])
        trust = s.sign_as_root(s.registration(*farms, market))
        assert writer.write(TRUST_SHARD, [Message("trust", trust)]).accepted
        lots = LotMaker(s, market)
        assert writer.write(0, [Message("bulk", s.sign(farms[0], lots.events(farms[0], 40)))])
        Ledger(store, SIGNER).checkpoint(0)
        return s, writer, LotMaker(s, market, lots_before=1_000), farms

    def test_a_rewind_leaves_the_ledger_as_it_was_and_whole(self, store: SqlLedgerStore) -> None:
        s, writer, lots, registered = self._kept_ledger(store)
        before = _rows(store)
        mark = LedgerMark.take(store.engine)
        assert mark.entries == store.head(0).size + store.head(TRUST_SHARD).size

        # What a Kafka run does: appends on the kept shard and on a new one, with offsets,
        # a checkpoint, and a rejected message beside them.
        first = [
            Message(f"t[0]@{n}", s.sign(registered[0], lots.events(registered[0], 12)))
            for n in range(2)
        ]
        second = Message("t[1]@0", s.sign(registered[1], lots.events(registered[1], 8)))
        assert writer.write(0, first, offset=OffsetCommit(None, 2)).accepted == 24
        assert writer.write(1, [second], offset=OffsetCommit(None, 1)).accepted == 8
        assert writer.write(1, [Message("t[1]@1", b"junk")], offset=OffsetCommit(1, 2)).rejections
        Ledger(store, SIGNER).checkpoint(0)
        assert _rows(store) != before

        deleted = mark.rewind(store.engine)

        assert deleted > 32
        assert _rows(store) == before
        report = Auditor(store, SIGNER.verifier, [s.root], ledger_name=SIGNER.name).run()
        assert report.ok, report.findings
        # The next run appends the same messages again: new to the ledger, not duplicates.
        again = LedgerWriter(store, [s.root]).write(0, first, offset=OffsetCommit(None, 2))
        assert again.accepted == 24 and again.duplicates == 0

    def test_a_change_it_cannot_take_back_stops_it_and_changes_nothing(
        self, store: SqlLedgerStore
    ) -> None:
        s, writer, lots, registered = self._kept_ledger(store)
        mark = LedgerMark.take(store.engine)
        message = Message("t[0]@0", s.sign(registered[0], lots.events(registered[0], 4)))
        assert writer.write(0, [message], offset=OffsetCommit(None, 1)).accepted == 4
        with store.engine.begin() as conn:
            conn.execute(metadata.tables["ledger_meta"].insert().values(name="x", value="y"))
        appended = _rows(store)

        with pytest.raises(RewindError, match="ledger_meta"):
            mark.rewind(store.engine)

        assert _rows(store) == appended


class TestSqliteRewind(RewindContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlLedgerStore]:
        with sqlite_store(tmp_path) as store:
            yield store


@pytest.mark.integration
class TestPostgresRewind(RewindContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SqlLedgerStore]:
        with fresh_database(postgres_url, "rewind") as url, migrated_store(url) as store:
            yield store
