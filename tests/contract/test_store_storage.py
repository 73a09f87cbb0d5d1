"""How ``SqlLedgerStore`` lays the ledger out, on SQLite and a real PostgreSQL: Merkle level 0
hashed from the leaves (migration 0003, both ways), and bulk inserts (binary COPY on PostgreSQL)
that keep every value and fail as an INSERT would."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from suyuan.events import decode_event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Leaf,
    Ledger,
    Rejection,
    SqlLedgerStore,
    StaleWriterError,
    Submission,
    create_ledger_engine,
    migrate,
)
from suyuan.merkle import leaf_hash, verify_inclusion
from suyuan.tlog import NoteSigner, open_checkpoint
from tests.databases import fresh_database, migrated_store
from tests.ledger_world import World


def _alembic(engine: sa.Engine, step: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(str(files("suyuan_migrations")))))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, step)(config, revision)


def _level_zero_rows(store: SqlLedgerStore) -> dict[int, bytes]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT idx, hash FROM merkle_nodes WHERE shard = 0 AND level = 0"
        ).all()
    return {int(idx): bytes(hashed) for idx, hashed in rows}


class StoreStorageContract:
    @pytest.fixture
    def store(self) -> Iterator[SqlLedgerStore]:
        raise NotImplementedError

    @pytest.fixture
    def world(self) -> World:
        return World()

    @pytest.fixture
    def writer(self, store: SqlLedgerStore, world: World) -> LedgerWriter:
        writer = LedgerWriter(store, [world.scenario.root])
        writer.write(TRUST_SHARD, [Message("setup", world.trust_message())])
        return writer

    def _fill(self, writer: LedgerWriter, world: World, sizes: list[int]) -> None:
        for n, size in enumerate(sizes):
            events = [world.certificate() for _ in range(size)]
            writer.write(0, [Message(f"t[0]@{n}", world.farm_batch(events))])

    def test_leaf_hashes_are_served_from_the_leaves_not_stored(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        self._fill(writer, world, [3, 5, 1])
        entries = list(store.entries(0))

        assert _level_zero_rows(store) == {}
        assert store.nodes(0, [(0, e.seq) for e in entries]) == {
            (0, e.seq): leaf_hash(e.leaf) for e in entries
        }
        assert store.node(0, 0, 2) == leaf_hash(entries[2].leaf)
        assert store.nodes(0, [(0, len(entries)), (1, 0)]) == {(1, 0): store.node(0, 1, 0)}

    def test_proofs_verify_at_every_position_and_size(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        ledger = Ledger(store, NoteSigner.generate("test.example/ledger"))
        for step in ([1], [2], [4], [6]):
            self._fill(writer, world, step)
            checkpoint = open_checkpoint(ledger.checkpoint(0), ledger.verifier)
            for entry in store.entries(0):
                path = ledger.inclusion_proof(0, entry.seq, checkpoint.size)
                verify_inclusion(
                    leaf_hash(entry.leaf), entry.seq, checkpoint.size, path, checkpoint.root_hash
                )

    def test_migration_0003_drops_level_zero_and_its_downgrade_restores_it(
        self, store: SqlLedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        self._fill(writer, world, [5, 2])
        leaves = {e.seq: leaf_hash(e.leaf) for e in store.entries(0)}

        _alembic(store.engine, "downgrade", "0002")
        assert _level_zero_rows(store) == leaves

        _alembic(store.engine, "upgrade", "head")
        assert _level_zero_rows(store) == {}
        assert store.nodes(0, [(0, seq) for seq in leaves]) == {
            (0, s): h for s, h in leaves.items()
        }

    def test_rejections_keep_every_field_and_null_in_one_append(
        self, store: SqlLedgerStore
    ) -> None:
        full = Rejection(
            "topic[3]@17 events[2]", "validation", "must be 18 characters", "actor",
            "0e3a8c5e-7b1d-4f2a-9c6b-000000000001", "91330100MA27XL0E2Y", b"\x00\xff raw",
        )  # fmt: skip
        bare = Rejection("topic[3]@18", "undecodable", "is not Avro: 产品 ✓")
        store.append(0, [], rejections=[full, bare])

        stored = sorted(store.rejections(), key=lambda r: r.id)
        assert [r.rejection for r in stored] == [full, bare]
        assert [r.shard for r in stored] == [0, 0]

    def test_an_event_id_stored_meanwhile_refuses_the_whole_append(
        self,
        store: SqlLedgerStore,
        writer: LedgerWriter,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Another shard's writer stores the event between the duplicate check and the insert:
        # the database's unique index refuses the bulk insert, and the writer must retry.
        self._fill(writer, world, [2])
        entry = next(e for e in store.entries(0) if e.seq == 0)
        leaf = Leaf.from_bytes(entry.leaf)
        again = Submission(
            event=decode_event(leaf.event),
            event_bytes=leaf.event,
            key_id=leaf.key_id,
            signature=leaf.signature,
            batch_size=leaf.batch_size,
            batch_index=leaf.batch_index,
            batch_path=leaf.batch_path,
        )
        monkeypatch.setattr(
            SqlLedgerStore, "_split_duplicates", lambda self, conn, subs: (list(subs), [])
        )

        with pytest.raises(StaleWriterError, match="concurrent write refused"):
            store.append(1, [again], rejections=[Rejection("t[1]@0", "x", "r")])
        assert store.head(1).size == 0
        assert store.rejections() == []


class TestSqliteStoreStorage(StoreStorageContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlLedgerStore]:
        engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        migrate(engine)
        store = SqlLedgerStore(engine)
        yield store
        store.close()


@pytest.mark.integration
class TestPostgresStoreStorage(StoreStorageContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SqlLedgerStore]:
        with fresh_database(postgres_url, "ledger") as url, migrated_store(url) as store:
            yield store
