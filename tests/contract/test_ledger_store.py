"""One contract for every LedgerStore backend (SQLite and a real PostgreSQL).

Each backend subclasses :class:`LedgerStoreContract` and provides the ``store`` fixture.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    EntryNotFoundError,
    Leaf,
    Ledger,
    LedgerError,
    LedgerStore,
    OffsetCommit,
    Rejection,
    SqlLedgerStore,
    StaleWriterError,
    create_ledger_engine,
    migrate,
)
from suyuan.merkle import leaf_hash, root_from_leaf_hashes, verify_consistency, verify_inclusion
from suyuan.tlog import (
    Checkpoint,
    Cosigner,
    Note,
    NoteSigner,
    add_cosignatures,
    open_checkpoint,
    sign_checkpoint,
    verify_receipt,
    witnessed,
)
from tests.databases import fresh_database, migrated_store
from tests.ledger_world import World


class LedgerStoreContract:
    @pytest.fixture
    def store(self) -> Iterator[LedgerStore]:
        raise NotImplementedError

    @pytest.fixture
    def world(self) -> World:
        return World()

    @pytest.fixture
    def writer(self, store: LedgerStore, world: World) -> LedgerWriter:
        writer = LedgerWriter(store, [world.scenario.root])
        writer.write(TRUST_SHARD, [Message("setup", world.trust_message())])
        return writer

    # --- append ---------------------------------------------------------------------------

    def test_append_numbers_entries_and_head_is_rfc6962_root(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        batch = [world.certificate() for _ in range(5)]
        result = writer.write(0, [Message("t[0]@0", world.farm_batch(batch))])

        # the trust events are on the trust shard: shard 0 starts empty
        assert [seq for _, seq in result.append.appended] == [0, 1, 2, 3, 4]
        leaves = [e.leaf for e in store.entries(0)]
        assert len(leaves) == 5
        head = store.head(0)
        assert head.size == 5
        assert head.root == root_from_leaf_hashes([leaf_hash(leaf) for leaf in leaves])
        chain = bytes(32)
        for entry in store.entries(0):
            chain = hashlib.sha256(chain + leaf_hash(entry.leaf)).digest()
            assert entry.chain_hash == chain
        assert head.chain_head == chain

    def test_leaf_holds_exact_signed_bytes_and_signer(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        event = world.certificate()
        message = world.farm_batch([event])
        before = datetime.now(UTC)
        writer.write(0, [Message("m", message)])

        shard, seq = store.locate(event.event_id)
        leaf = Leaf.from_bytes(store.entry(shard, seq).leaf)
        from suyuan.events import decode_batch

        batch = decode_batch(message)
        assert leaf.event == batch.events[0]
        assert leaf.signature == batch.signature
        assert leaf.key_id == world.farm.key.key_id
        assert (leaf.shard, leaf.seq, leaf.batch_size, leaf.batch_index) == (0, seq, 1, 0)
        assert before - timedelta(seconds=1) <= leaf.recorded_at <= datetime.now(UTC)

    def test_duplicate_event_is_counted_not_stored(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        event = world.certificate()
        message = world.farm_batch([event])
        first = writer.write(0, [Message("a", message)])
        again = writer.write(0, [Message("b", message), Message("c", message)])

        assert first.accepted == 1
        assert again.accepted == 0
        assert list(again.append.duplicates) == [event.event_id, event.event_id]
        assert store.head(0).size == 1
        assert store.head(0).duplicates == 2

    def test_offset_compare_and_set_refuses_stale_writer_and_writes_nothing(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        writer.write(1, [], offset=OffsetCommit(expected=None, next_offset=10))
        assert store.consumer_offset(1) == 10
        size_before = store.head(1).size
        stale = [Message("t[1]@3", world.farm_batch([world.certificate()]))]

        with pytest.raises(StaleWriterError):
            store.append(
                1,
                [],
                rejections=[Rejection("t[1]@3", "x", "r")],
                offset=OffsetCommit(expected=None, next_offset=11),
            )
        with pytest.raises(StaleWriterError):
            writer.write(1, stale, offset=OffsetCommit(expected=5, next_offset=11))

        assert store.consumer_offset(1) == 10
        assert store.head(1).size == size_before
        assert store.rejections() == []
        writer.write(1, stale, offset=OffsetCommit(expected=10, next_offset=11))
        assert store.consumer_offset(1) == 11
        assert store.head(1).size == size_before + 1

    def test_rejections_are_stored_with_the_append(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        good = world.certificate()
        result = writer.write(
            2,
            [Message("t[2]@7", b"\x00garbage"), Message("t[2]@8", world.farm_batch([good]))],
            offset=OffsetCommit(expected=None, next_offset=9),
        )
        assert result.accepted == 1
        stored = store.rejections()
        assert len(stored) == 1
        assert stored[0].rejection.source == "t[2]@7"
        assert stored[0].rejection.reason == "undecodable"
        assert stored[0].rejection.raw == b"\x00garbage"
        assert store.rejection_counts() == {"undecodable": 1}

    def test_projections_index_codes_and_edges(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        s = world.scenario
        cert = world.certificate()
        case = s.sscc()
        units = [s.unit_code(serial=f"{i:06d}") for i in range(3)]
        packed = world.aggregation(case, units)
        shipped, received = world.delivery([case], [cert.codes[0]])
        writer.write(0, [Message("m", world.farm_batch([cert, packed, shipped]))])
        merged = world.certificate(upstream=(cert.codes[0],))
        written = writer.write(0, [Message("n", s.sign(world.market, [received, merged]))])
        assert written.accepted == 2, written.rejections

        refs = store.code_events(units[1])
        assert [(r.event_type, r.actor) for r in refs] == [("Aggregated", world.farm.uscc)]
        edges = store.edges_from([case])
        assert {(e.child, e.kind) for e in edges} == {(u, "contains") for u in units}
        lineage = store.edges_to([merged.codes[0]])
        assert [(e.parent, e.kind) for e in lineage] == [(cert.codes[0], "certified_from")]
        # the writer asks for ~2,500 codes at once (read 500 at a time), by event type
        unknown = [f"(00){n:018d}" for n in range(600)]
        by_type = store.code_events_for([*unknown, units[1], *units, case], {"Aggregated"})
        assert sorted(r.code for r in by_type) == sorted([case, *units])
        assert {(r.event_type, r.actor) for r in by_type} == {("Aggregated", world.farm.uscc)}
        assert store.code_events_for([*units, case], ()) == []
        assert {(e.parent, e.child) for e in store.edges_from([*unknown, case])} == {
            (case, u) for u in units
        }

    def test_concurrent_writers_on_one_shard_never_fork_the_chain(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        messages = [world.farm_batch([world.certificate()]) for _ in range(40)]
        errors: list[BaseException] = []

        def run(part: list[bytes]) -> None:
            own = LedgerWriter(store, [world.scenario.root])
            for message in part:
                for _attempt in range(20):
                    try:
                        own.write(3, [Message("x", message)])
                        break
                    except StaleWriterError:
                        continue
                else:
                    errors.append(RuntimeError("gave up"))

        threads = [threading.Thread(target=run, args=(messages[i::2],)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert store.head(3).size == 40
        assert [e.seq for e in store.entries(3)] == list(range(40))

    # --- checkpoints, proofs, receipts, audit -----------------------------------------------

    def test_checkpoints_proofs_and_receipts_verify_offline(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        ledger = Ledger(store, NoteSigner.generate("test.example/ledger"))
        events = [world.certificate() for _ in range(6)]
        writer.write(0, [Message("m", world.farm_batch(events[:3]))])
        first = open_checkpoint(ledger.checkpoint(0), ledger.verifier)
        writer.write(0, [Message("n", world.farm_batch(events[3:]))])
        second = open_checkpoint(ledger.checkpoint(0), ledger.verifier)

        assert (first.size, second.size) == (3, 6)
        proof = ledger.consistency_proof(0, first.size, second.size)
        verify_consistency(first.size, second.size, first.root_hash, second.root_hash, proof)
        leaves = [leaf_hash(e.leaf) for e in store.entries(0)]
        for seq, hashed in enumerate(leaves):
            path = ledger.inclusion_proof(0, seq, second.size)
            verify_inclusion(hashed, seq, second.size, path, second.root_hash)

        receipt = ledger.receipt(events[4].event_id)
        verified = verify_receipt(
            receipt, ledger.verifier, leaf_data=store.entry(*store.locate(events[4].event_id)).leaf
        )
        assert verified.checkpoint.size == 6
        assert ledger.checkpoint(0) == store.checkpoints(0)[-1].note, "unchanged head: no new note"
        latest = store.latest_checkpoint(0)
        assert latest is not None and (latest.size, latest.note) == (
            6,
            store.checkpoints(0)[-1].note,
        )
        assert store.latest_checkpoint(5) is None

    def test_a_checkpoint_gains_cosignatures_but_keeps_its_text(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        signer = NoteSigner.generate("test.example/ledger")
        ledger = Ledger(store, signer)
        writer.write(0, [Message("m", world.farm_batch([world.certificate() for _ in range(3)]))])
        note = ledger.checkpoint(0)
        witness = Cosigner.generate("witness.example/1")
        cosigned = add_cosignatures(note, [witness.cosign(Note.parse(note).text, 1_700_000_000)])
        ledger.add_cosignatures(0, cosigned)
        assert store.checkpoints(0)[-1].note == cosigned
        assert [c.timestamp for c in witnessed(cosigned, [witness.verifier])] == [1_700_000_000]

        other = sign_checkpoint(Checkpoint(ledger.origin(0), 3, b"\x00" * 32), signer)
        with pytest.raises(LedgerError):
            ledger.add_cosignatures(0, other)  # another tree head under the same size
        with pytest.raises(EntryNotFoundError):
            store.replace_checkpoint_note(0, 99, cosigned)
        assert store.checkpoints(0)[-1].note == cosigned

    def test_audit_of_a_clean_ledger_passes(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        ledger = Ledger(store, NoteSigner.generate("test.example/ledger"))
        writer.write(0, [Message("m", world.farm_batch([world.certificate() for _ in range(7)]))])
        ledger.checkpoint(0)
        writer.write(1, [Message("n", world.farm_batch([world.certificate()]))])
        ledger.checkpoint(1)

        report = Auditor(
            store, ledger.verifier, [world.scenario.root], ledger_name=ledger.name
        ).run()
        assert report.findings == []
        assert report.entries == 12
        assert report.shards == {0: 7, 1: 1, TRUST_SHARD: 4}
        assert report.checkpoints == 2


class TestSqliteLedgerStore(LedgerStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LedgerStore]:
        engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        migrate(engine)
        store = SqlLedgerStore(engine)
        yield store
        store.close()

    def test_sqlite_runs_in_wal_mode(self, store: LedgerStore) -> None:
        assert isinstance(store, SqlLedgerStore)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


@pytest.mark.integration
class TestPostgresLedgerStore(LedgerStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[LedgerStore]:
        with fresh_database(postgres_url, "ledger") as url, migrated_store(url) as store:
            yield store
