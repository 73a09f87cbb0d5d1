"""One contract for every LedgerStore backend (SQLite and a real PostgreSQL).

Each backend subclasses :class:`LedgerStoreContract` and provides the ``store`` fixture.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

import suyuan.codegraph
from suyuan.auth import Role, authenticate, create_token
from suyuan.codegraph import PACKING_KINDS, CodeGraph
from suyuan.codes import gs1_units_prefix
from suyuan.events import encode_event
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    UNPACKED,
    Auditor,
    EntryNotFoundError,
    Leaf,
    Ledger,
    LedgerError,
    LedgerStore,
    OffsetCommit,
    ReachedEdges,
    Rejection,
    SqlLedgerStore,
    StaleWriterError,
    Submission,
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

    def test_events_read_back_at_their_positions(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        events = [world.certificate() for _ in range(3)]
        writer.write(0, [Message("m", world.farm_batch(events))])
        positions = [store.locate(e.event_id) for e in events]

        assert store.event_at(*positions[1]) == events[1]
        wanted = [positions[2], (0, 999), positions[0], positions[2]]
        assert list(store.events_at(wanted).items()) == [
            (positions[2], events[2]),
            (positions[0], events[0]),
        ]
        with pytest.raises(EntryNotFoundError):
            store.event_at(0, 999)

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

    def test_the_units_of_a_lot_are_read_by_their_prefix(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        s = world.scenario
        lot = s.unit_code(lot="AB1")
        # neighbours in every order: a longer lot, another case, the lot itself, another GTIN
        units = [f"{lot}(21){serial}" for serial in ("0001", "0002", "A9", "a1")]
        others = [s.unit_code(lot=other, serial="0001") for other in ("AB10", "ab1", "AB", "AB0")]
        others += [lot, s.unit_code(item="10027", lot="AB1", serial="0001")]
        written = writer.write(
            0, [Message("m", world.farm_batch([world.aggregation(s.sscc(), [*units, *others])]))]
        )
        assert written.accepted == 1, written.rejections
        prefix = gs1_units_prefix(lot)
        assert prefix is not None
        found = store.code_events_under(prefix, {"Aggregated"})
        assert [r.code for r in found] == sorted(units)
        assert {r.actor for r in found} == {world.farm.uscc}
        assert len(store.code_events_under(prefix, limit=2)) == 2
        assert store.code_events_under(prefix, {"Shipped"}) == []
        assert store.code_events_under(prefix, other_than=world.farm.uscc) == []
        with pytest.raises(ValueError, match="prefix"):
            store.code_events_under("")
        assert store.codes_under([prefix], 10) == sorted(units)
        assert store.codes_under([prefix], 1) == sorted(units)[:1]
        other = gs1_units_prefix(s.unit_code(lot="AB10"))
        assert other is not None
        assert store.codes_under([other, prefix, prefix], 10) == sorted([*units, others[0]])
        assert store.codes_under([], 10) == []
        # the one code graph lists them after the codes asked about, and says when it cut them
        graph = CodeGraph(store)
        assert graph.with_units([units[2], lot]) == (
            [units[2], lot, *sorted(set(units) - {units[2]})],
            True,
        )
        assert graph.with_units([lot], limit=3) == ([lot, *sorted(units)[:2]], False)
        case = s.sscc()
        assert graph.with_units([units[0], case]) == ([units[0], case], True)  # no lot among them

    # --- walking the code graph in the database (suyuan.codegraph over LedgerStore.reach) ----

    @staticmethod
    def _packed(store: LedgerStore, world: World, *packings: tuple[str, list[str]]) -> None:
        """Aggregated events straight into the store, one entry each, in this order: the walk
        reads the projection, whatever rule the writer would have applied."""
        events = [world.aggregation(parent, children) for parent, children in packings]
        _store_events(store, events)

    def test_a_walk_reaches_a_diamond_once_nearest_first(
        self, store: LedgerStore, world: World
    ) -> None:
        # pallet → case1, case2 → the same unit → its part: two paths of two edges to the unit
        self._packed(
            store,
            world,
            ("pallet", ["case2", "case1"]),
            ("case1", ["unit"]),
            ("case2", ["unit"]),
            ("unit", ["part"]),
        )
        graph = CodeGraph(store)
        down = graph.closure(["pallet"], upward=False, kinds=PACKING_KINDS, ordered=True)
        assert down.order == ["pallet", "case1", "case2", "unit", "part"]
        assert down.codes == {"pallet", "case1", "case2", "unit", "part"} and not down.cut
        up = graph.closure(["part"], upward=True, kinds=PACKING_KINDS, ordered=True)
        assert up.order == ["part", "unit", "case1", "case2", "pallet"] and not up.cut

    def test_a_walk_through_a_cycle_ends_and_is_not_cut(
        self, store: LedgerStore, world: World
    ) -> None:
        self._packed(store, world, ("a", ["b"]), ("b", ["c"]), ("c", ["a", "d"]))
        for upward, start in ((False, "a"), (True, "d")):
            walk = CodeGraph(store).closure([start], upward=upward, kinds=PACKING_KINDS)
            assert walk.codes == {"a", "b", "c", "d"}
            assert not walk.cut

    def test_a_walk_cut_at_its_limit_keeps_the_nearest_codes(
        self, store: LedgerStore, world: World
    ) -> None:
        # the a-codes are one edge further than the late ones but recorded earlier and first by
        # code: nearness decides, then the order the edges were recorded in, then the code
        far = [f"a{n}" for n in range(9)]
        self._packed(
            store, world, ("root", ["near"]), ("near", far), ("root", ["late-b", "late-a"])
        )
        graph = CodeGraph(store)
        cut = graph.closure(["root"], upward=False, kinds=PACKING_KINDS, limit=3, ordered=True)
        assert cut.order == ["root", "near", "late-a"] and cut.cut
        unordered = graph.closure(["root"], upward=False, kinds=PACKING_KINDS, limit=4)
        assert unordered.codes == {"root", "near", "late-a", "late-b"} and unordered.cut
        whole = graph.closure(["root"], upward=False, kinds=PACKING_KINDS, limit=13)
        assert whole.codes == {"root", "near", "late-a", "late-b", *far} and not whole.cut
        assert graph.closure(["root"], upward=False, kinds=PACKING_KINDS, limit=12).cut

    def test_a_walk_cut_at_max_depth_says_so(
        self, store: LedgerStore, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self._packed(store, world, ("l0", ["l1"]), ("l1", ["l2"]), ("l2", ["l3"]))
        monkeypatch.setattr(suyuan.codegraph, "MAX_DEPTH", 2)
        walk = CodeGraph(store).closure(["l0"], upward=False, kinds=PACKING_KINDS)
        assert walk.codes == {"l0", "l1", "l2"} and walk.cut
        monkeypatch.setattr(suyuan.codegraph, "MAX_DEPTH", 3)
        walk = CodeGraph(store).closure(["l0"], upward=False, kinds=PACKING_KINDS)
        assert walk.codes == {"l0", "l1", "l2", "l3"} and walk.cut  # l3 may have more below
        monkeypatch.setattr(suyuan.codegraph, "MAX_DEPTH", 4)
        walk = CodeGraph(store).closure(["l0"], upward=False, kinds=PACKING_KINDS)
        assert not walk.cut

    def test_a_walk_follows_only_its_kinds_of_edge(self, store: LedgerStore, world: World) -> None:
        unpacked = world.scenario.event(
            world.farm,
            "Disaggregated",
            {"parent_code": "case", "child_codes": ["gone"]},
            codes=["case", "gone"],
        )
        self._packed(store, world, ("case", ["kept", "gone"]))
        _store_events(store, [unpacked])
        walk = CodeGraph(store).closure(["case"], upward=False, kinds={UNPACKED})
        assert walk.codes == {"case", "gone"}
        assert CodeGraph(store).closure(["case"], upward=False, kinds=()).codes == {"case"}

    def test_a_walk_and_a_lookup_take_more_codes_than_a_query_may_bind(
        self, store: LedgerStore, world: World
    ) -> None:
        self._packed(store, world, ("case", ["unit-00042"]))
        start = [f"unit-{n:05d}" for n in range(70_000)]  # SQLite binds 32,766, psycopg 65,535
        walk = CodeGraph(store).closure(start, upward=True, kinds=PACKING_KINDS)
        assert walk.codes == {*start, "case"} and not walk.cut
        refs = store.code_events_for(start, {"Aggregated"})
        assert [(r.code, r.event_type) for r in refs] == [("unit-00042", "Aggregated")]

    # --- loading a neighbourhood in one walk (CodeGraph.load_down/up over reach_edges) ------

    @staticmethod
    def _graph_events(world: World, *steps: tuple[str, str, list[str]]) -> list[Event]:
        """Events adding the edges of ``steps``: (event type, parent or input, children or
        outputs); a Transformed step makes its one input into every output."""
        events = []
        for event_type, parent, children in steps:
            if event_type == "Transformed":
                payload: dict[str, object] = {
                    "process": "SLAUGHTER",
                    "inputs": [{"code": parent, "quantity": "1", "unit": "kg"}],
                    "outputs": [{"code": c, "quantity": "1", "unit": "kg"} for c in children],
                }
            else:
                payload = {"parent_code": parent, "child_codes": children}
            codes = [parent, *children]
            events.append(world.scenario.event(world.farm, event_type, payload, codes=codes))
        return events

    def test_reach_edges_reads_every_edge_next_to_the_walk(
        self, store: LedgerStore, world: World
    ) -> None:
        # case ⊃ u1, u2 (u2 taken out again); u1 was made from lot; pallet ⊃ case; lot ⊃ part
        _store_events(
            store,
            self._graph_events(
                world,
                ("Aggregated", "pallet", ["case"]),
                ("Aggregated", "case", ["u1", "u2"]),
                ("Disaggregated", "case", ["u2"]),
                ("Transformed", "lot", ["u1"]),
                ("Aggregated", "u1", ["part"]),
            ),
        )
        down = store.reach_edges(["pallet"], upward=False, kinds=PACKING_KINDS, depth=5, rows=99)
        assert sorted(down.codes) == ["case", "pallet", "part", "u1", "u2"] and down.ended
        # every kind next to the codes walked (the unpacking too), not only those followed
        assert [(e.parent, e.child, e.kind) for e in down.edges] == [
            ("pallet", "case", "contains"),
            ("case", "u1", "contains"),
            ("case", "u2", "contains"),
            ("case", "u2", "unpacked"),
            ("u1", "part", "contains"),
        ]
        assert [(e.shard, e.seq) for e in down.edges] == [(0, 0), (0, 1), (0, 1), (0, 2), (0, 4)]
        near = store.reach_edges(["pallet"], upward=False, kinds=PACKING_KINDS, depth=1, rows=99)
        assert sorted(near.codes) == ["case", "pallet"]
        assert {(e.parent, e.child) for e in near.edges} == {
            ("pallet", "case"),
            ("case", "u1"),
            ("case", "u2"),
        }
        alone = store.reach_edges(["case"], upward=False, kinds=PACKING_KINDS, depth=0, rows=99)
        assert alone.codes == ["case"] and len(alone.edges) == 3
        up = store.reach_edges(
            ["part"], upward=True, kinds={"contains", "transformed"}, depth=5, rows=99
        )
        assert sorted(up.codes) == ["case", "lot", "pallet", "part", "u1"]
        assert {(e.parent, e.child, e.kind) for e in up.edges} == {
            ("u1", "part", "contains"),
            ("case", "u1", "contains"),
            ("lot", "u1", "transformed"),
            ("pallet", "case", "contains"),
        }
        cut = store.reach_edges(["pallet"], upward=False, kinds=PACKING_KINDS, depth=5, rows=2)
        assert not cut.ended
        nothing = store.reach_edges(["case"], upward=False, kinds=(), depth=5, rows=99)
        assert nothing.codes == ["case"] and len(nothing.edges) == 3 and nothing.ended
        assert store.reach_edges([], upward=True, kinds=PACKING_KINDS, depth=5, rows=9).codes == []

    @pytest.mark.parametrize(
        ("steps", "max_depth", "max_codes"),
        [
            pytest.param(
                [
                    ("Aggregated", "pallet", ["case1", "case2"]),
                    ("Aggregated", "case1", ["u1", "u2"]),
                    ("Aggregated", "case2", ["u3"]),
                ],
                32,
                2_000_000,
                id="packing",
            ),
            pytest.param(
                [
                    ("Aggregated", "case", ["u1", "u2"]),
                    ("Disaggregated", "case", ["u1"]),
                    ("Aggregated", "case", ["u1"]),  # packed again: the latest position counts
                    ("Aggregated", "pallet", ["case"]),
                ],
                32,
                2_000_000,
                id="unpacking-and-repacking",
            ),
            pytest.param(
                [
                    ("Transformed", "lot-a", ["juice"]),
                    ("Transformed", "lot-b", ["juice"]),
                    ("Aggregated", "case", ["juice", "u9"]),
                    ("Aggregated", "lot-a", ["seed"]),
                ],
                32,
                2_000_000,
                id="transformation",
            ),
            pytest.param(
                [
                    ("Aggregated", "a", ["b"]),
                    ("Aggregated", "b", ["c"]),
                    ("Aggregated", "c", ["a", "d"]),
                    ("Transformed", "d", ["a"]),
                ],
                32,
                2_000_000,
                id="cycles",
            ),
            pytest.param(
                [
                    ("Aggregated", "pallet", ["case1", "case2"]),
                    ("Aggregated", "case1", ["u"]),
                    ("Aggregated", "case2", ["u"]),
                    ("Aggregated", "u", ["part"]),
                ],
                32,
                2_000_000,
                id="diamond",
            ),
            pytest.param(
                [("Aggregated", f"l{n}", [f"l{n + 1}"]) for n in range(8)],
                3,
                2_000_000,
                id="deeper-than-max-depth",
            ),
            pytest.param(
                [
                    ("Aggregated", "root", ["near1", "near2"]),
                    ("Aggregated", "near1", [f"far{n}" for n in range(6)]),
                    ("Aggregated", "far0", ["farther"]),
                ],
                32,
                4,
                id="more-than-max-codes",
            ),
        ],
    )
    def test_loading_in_one_walk_loads_what_level_by_level_loads(
        self,
        store: LedgerStore,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
        steps: list[tuple[str, str, list[str]]],
        max_depth: int,
        max_codes: int,
    ) -> None:
        _store_events(store, self._graph_events(world, *steps))
        monkeypatch.setattr(suyuan.codegraph, "MAX_DEPTH", max_depth)
        monkeypatch.setattr(suyuan.codegraph, "MAX_CODES", max_codes)
        codes = sorted({code for _t, parent, children in steps for code in (parent, *children)})
        every_kind = {"contains", "unpacked", "transformed"}
        kind_sets = (PACKING_KINDS, suyuan.codegraph.MATERIAL_KINDS, every_kind, set())
        # the walk from the start, or from the second or third level on
        for levels, kinds, code in itertools.product((0, 1, 2), kind_sets, codes):
            with monkeypatch.context() as walking_after:
                walking_after.setattr(suyuan.codegraph, "LEVELS_BEFORE_WALK", levels)
                walked = _load_down_and_up(CodeGraph(store), code, kinds)
                with monkeypatch.context() as refused:  # no walk: level by level
                    refused.setattr(store, "reach_edges", _refused_walk)
                    stepped = _load_down_and_up(CodeGraph(store), code, kinds)
                assert _graph_state(walked) == _graph_state(stepped), (levels, code, kinds)
                assert walked.below([code], kinds) == stepped.below([code], kinds)
                assert walked.above([code], kinds) == stepped.above([code], kinds)

    def test_a_load_reads_the_whole_neighbourhood_in_one_query(
        self, store: LedgerStore, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _store_events(
            store,
            self._graph_events(
                world,
                ("Aggregated", "pallet", ["case1", "case2"]),
                ("Aggregated", "case1", ["u1"]),
                ("Aggregated", "u1", ["part"]),
            ),
        )
        monkeypatch.setattr(suyuan.codegraph, "LEVELS_BEFORE_WALK", 0)
        calls = _count_calls(monkeypatch, store, "reach_edges", "edges_from", "edges_to")
        graph = CodeGraph(store)
        graph.load_down(["pallet"], PACKING_KINDS)
        assert calls == {"reach_edges": 1}
        assert graph.contents("pallet", 10) == ["case1", "case2", "u1", "part"]
        graph.load_down(["case1"], PACKING_KINDS)  # loaded already: nothing to read
        graph.load_up(["part"], PACKING_KINDS)
        assert calls == {"reach_edges": 2}
        assert graph.above(["part"], PACKING_KINDS) == {"part", "u1", "case1", "pallet"}

    def test_a_deep_load_reads_its_first_levels_one_by_one_and_walks_the_rest(
        self, store: LedgerStore, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        levels = suyuan.codegraph.LEVELS_BEFORE_WALK
        chain = [f"l{n:02d}" for n in range(levels + 6)]
        _store_events(
            store,
            self._graph_events(
                world, *(("Aggregated", a, [b]) for a, b in itertools.pairwise(chain))
            ),
        )
        calls = _count_calls(monkeypatch, store, "reach_edges", "edges_from")
        graph = CodeGraph(store)
        graph.load_down([chain[0]], PACKING_KINDS)
        assert calls == {"edges_from": levels, "reach_edges": 1}
        assert graph.below([chain[0]], PACKING_KINDS) == set(chain)

    def test_a_load_follows_pending_edges_to_what_the_ledger_holds_below_them(
        self, store: LedgerStore, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(suyuan.codegraph, "LEVELS_BEFORE_WALK", 0)
        # the ledger: case ⊃ unit; the write being judged packs the case on a pallet
        _store_events(store, self._graph_events(world, ("Aggregated", "case", ["unit"])))
        graph = CodeGraph(store)
        graph.add_pending([("pallet", "case", "contains")])
        graph.load_down(["pallet"], PACKING_KINDS)
        assert graph.below(["pallet"], PACKING_KINDS) == {"pallet", "case", "unit"}
        graph.load_up(["unit"], PACKING_KINDS)
        assert graph.above(["unit"], PACKING_KINDS) == {"unit", "case", "pallet"}

    def test_a_reading_block_reads_a_shard_head_once(
        self,
        store: LedgerStore,
        writer: LedgerWriter,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # one snapshot: the head cannot change inside it (the trust follower asks for the trust
        # shard's several times in one trace)
        assert isinstance(store, SqlLedgerStore)
        reads: list[str] = []
        fetch = store._fetch

        def counted(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
            if threading.current_thread() is threading.main_thread():  # not the writer's
                reads.append(sql)
            return fetch(sql, params)

        monkeypatch.setattr(store, "_fetch", counted)
        outside = store.head(TRUST_SHARD)
        with store.reading():
            assert store.head(TRUST_SHARD) == outside
            more = [Message("more", world.trust_message())]
            other = threading.Thread(target=writer.write, args=(TRUST_SHARD, more))
            other.start()  # another writer, outside the block
            other.join()
            assert store.head(TRUST_SHARD) == outside
            with store.reading():
                assert store.head(TRUST_SHARD) == outside
            assert store.head(0).size == 0
        assert store.head(TRUST_SHARD).size > outside.size  # a new block reads it anew
        heads = [sql for sql in reads if "FROM shards" in sql]
        assert len(heads) == 4  # outside, once in the block, shard 0, after the block

    # --- a walk with the events about it (CodeGraph.closure_events over reach_events) ------

    def test_a_walk_down_brings_the_events_about_its_codes_and_their_containers(
        self, store: LedgerStore, world: World
    ) -> None:
        # crate ⊃ pallet ⊃ case1, case2 ⊃ the same unit ⊃ its part; seq = the line below
        self._packed(
            store,
            world,
            ("crate", ["pallet"]),
            ("pallet", ["case2", "case1"]),
            ("case1", ["unit"]),
            ("case2", ["unit"]),
            ("unit", ["part"]),
        )
        graph = CodeGraph(store)
        found = graph.closure_events(
            ["case1"],
            kinds=PACKING_KINDS,
            event_types={"Aggregated"},
            above_kinds=PACKING_KINDS,
            above_types={"Aggregated"},
        )
        assert found is not None and not found.cut
        walk = graph.closure(["case1"], upward=False, kinds=PACKING_KINDS)
        assert found.codes == ("case1", "part", "unit") == tuple(sorted(walk.codes))
        assert found.count == 3
        about = {(r.code, r.seq) for r in found.events}
        assert about == {("case1", 1), ("case1", 2), ("unit", 2), ("unit", 3), ("unit", 4)} | {
            ("part", 4)
        }
        # the containers at every level, case2 too (the unit was packed in it as well)
        above = {(r.code, r.seq) for r in found.above}
        assert {("crate", 0), ("pallet", 0), ("pallet", 1), ("case2", 1), ("case2", 3)} <= above
        assert {code for code, _seq in above} == {"crate", "pallet", "case1", "case2", "unit"}
        for refs in (found.events, found.above):
            assert refs == sorted(refs, key=lambda r: (r.occurred_at, r.shard, r.seq))
        assert {r.event_type for r in found.events} == {"Aggregated"}
        # of other types, nothing; without the codes, the same count and events
        other = graph.closure_events(
            ["case1"],
            kinds=PACKING_KINDS,
            event_types={"Received"},
            above_kinds=(),
            above_types={"Aggregated"},
            codes=False,
        )
        assert other is not None
        assert (other.codes, other.count, other.events, other.above) == ((), 3, [], [])

    def test_a_walk_with_events_ends_in_a_cycle_and_says_when_it_is_cut(
        self, store: LedgerStore, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self._packed(store, world, ("a", ["b"]), ("b", ["c"]), ("c", ["a", "d"]))

        def walk(start: str) -> suyuan.codegraph.EventWalk | None:
            return CodeGraph(store).closure_events(
                [start],
                kinds=PACKING_KINDS,
                event_types={"Aggregated"},
                above_kinds=PACKING_KINDS,
                above_types={"Aggregated"},
            )

        cycle = walk("a")
        assert cycle is not None and cycle.codes == ("a", "b", "c", "d") and not cycle.cut
        assert {r.seq for r in cycle.events} == {0, 1, 2}
        monkeypatch.setattr(suyuan.codegraph, "MAX_DEPTH", 2)
        deep = walk("a")  # c is 2 edges away and may have more below it
        assert deep is not None and deep.codes == ("a", "b", "c") and deep.cut
        monkeypatch.setattr(suyuan.codegraph, "MAX_DEPTH", 32)
        monkeypatch.setattr(suyuan.codegraph, "MAX_CODES", 3)
        assert walk("a") is None  # more codes than a walk may hold: the caller cuts it
        assert walk("c") is None

    def test_a_walk_with_events_lists_a_code_with_a_line_break_as_one_code(
        self, store: LedgerStore, world: World
    ) -> None:
        # never a valid trace code, but the store takes any text: the codes cross as one text
        self._packed(store, world, ("case", ["line\nbreak", "unit"]))
        found = CodeGraph(store).closure_events(
            ["case"],
            kinds=PACKING_KINDS,
            event_types={"Aggregated"},
            above_kinds=PACKING_KINDS,
            above_types={"Aggregated"},
        )
        assert found is not None and found.codes == ("case", "line\nbreak", "unit")
        assert found.count == 3

    def test_a_walk_with_events_takes_more_codes_than_a_query_may_bind(
        self, store: LedgerStore, world: World
    ) -> None:
        self._packed(store, world, ("unit-00042", ["part"]), ("case", ["unit-00042"]))
        start = [f"unit-{n:05d}" for n in range(70_000)]  # SQLite binds 32,766, psycopg 65,535
        found = CodeGraph(store).closure_events(
            start,
            kinds=PACKING_KINDS,
            event_types={"Aggregated"},
            above_kinds=PACKING_KINDS,
            above_types={"Aggregated"},
        )
        assert found is not None and found.codes == ("part", *start) and found.count == 70_001
        assert {(r.code, r.seq) for r in found.events} == {("unit-00042", 0), ("unit-00042", 1)} | {
            ("part", 0)
        }
        assert {r.code for r in found.above} == {"case", "unit-00042"}

    def test_reads_in_one_reading_block_see_one_snapshot(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        first = world.certificate()
        writer.write(0, [Message("t[0]@0", world.farm_batch([first]))])
        later = world.certificate()

        def write_later() -> None:  # another thread: a writer the block does not see
            writer.write(0, [Message("t[0]@1", world.farm_batch([later]))])

        with store.reading():
            before = store.head(0)
            thread = threading.Thread(target=write_later)
            thread.start()
            thread.join()
            # a trace in this block sees the ledger as it was: not the head, the events or
            # the codes of the write that committed meanwhile
            assert store.head(0) == before
            assert store.code_events(later.codes[0]) == []
            assert [r.code for r in store.code_events(first.codes[0])] == [first.codes[0]]
            with store.reading():  # nested: the outer snapshot
                assert store.head(0) == before
            with pytest.raises(LedgerError, match="reading"):
                writer.write(0, [Message("t[0]@2", world.farm_batch([world.certificate()]))])
        assert store.head(0).size == before.size + 1
        assert [r.code for r in store.code_events(later.codes[0])] == [later.codes[0]]

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

    def test_two_processes_signing_the_same_head_agree_on_one_checkpoint(
        self, store: LedgerStore, writer: LedgerWriter, world: World
    ) -> None:
        """Several query workers serve one ledger, each signing on its schedule: the one that
        loses the race to store a size gets the stored checkpoint, not an error."""
        signer = NoteSigner.generate("test.example/ledger")
        first, second = Ledger(store, signer), Ledger(store, signer)
        writer.write(0, [Message("m", world.farm_batch([world.certificate()]))])
        real = second.latest_checkpoint

        def read_before_the_winner_signed() -> None:
            """The loser's first read is from before the winner stored its checkpoint."""
            first_read = iter([True])
            second.latest_checkpoint = (  # type: ignore[method-assign]
                lambda shard: None if next(first_read, False) else real(shard)
            )

        read_before_the_winner_signed()

        winner = first.checkpoint(0)
        assert second.checkpoint(0) == winner
        assert [c.size for c in store.checkpoints(0)] == [1]

        writer.write(0, [Message("n", world.farm_batch([world.certificate()]))])
        other = sign_checkpoint(Checkpoint(first.origin(0), 2, b"\x01" * 32), signer)
        store.add_checkpoint(0, 2, other)  # a checkpoint of another tree took the size
        read_before_the_winner_signed()
        with pytest.raises(LedgerError):
            second.checkpoint(0)

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


def _refused_walk(*_args: object, **_kwargs: object) -> ReachedEdges:
    """A walk that says it was cut before reading anything: the code graph loads level by
    level."""
    return ReachedEdges([], [], ended=False)


def _load_down_and_up(graph: CodeGraph, code: str, kinds: Collection[str]) -> CodeGraph:
    """Load down from ``code`` and then up from what that found, as the food-chain rules do."""
    graph.load_down([code], kinds)
    graph.load_up(graph.below([code], kinds), kinds)
    return graph


def _graph_state(graph: CodeGraph) -> tuple[object, ...]:
    """What a code graph has loaded: the edges below and above each code, and where each
    edge was recorded."""
    return graph._down, graph._up, graph._edge_positions


def _count_calls(
    monkeypatch: pytest.MonkeyPatch, store: LedgerStore, *names: str
) -> dict[str, int]:
    """Count the calls of the store's methods ``names`` (by name, when called)."""
    calls: dict[str, int] = {}
    for name in names:
        method = getattr(store, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _method(*args, **kwargs)

        monkeypatch.setattr(store, name, counted)
    return calls


def _store_events(store: LedgerStore, events: list[Event]) -> None:
    for event in events:
        store.append(0, [Submission(event, encode_event(event), "0" * 16, bytes(64), 1, 0, ())])


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


def _move_schema(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Upgrade (``down``: downgrade) the schema of ``engine`` to ``revision``, as
    :func:`~suyuan.ledger.migrate` brings it to the newest."""
    from importlib.resources import files

    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("suyuan_migrations")))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


@pytest.mark.integration
class TestPostgresLedgerStore(LedgerStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[LedgerStore]:
        with fresh_database(postgres_url, "ledger") as url, migrated_store(url) as store:
            yield store

    def test_a_lot_s_units_are_found_under_a_language_collation(
        self, postgres_url: str, world: World
    ) -> None:
        # A database whose default collation ignores punctuation at the first level, as glibc's
        # en_US.UTF-8 does: GS1 text does not sort by its prefix there, so the code columns are
        # collated "C" (migration 0006) for a lot's units to be one index range.
        shifted = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-u-ka-shifted'"
        with fresh_database(postgres_url, "ledger", shifted) as url, migrated_store(url) as store:
            writer = LedgerWriter(store, [world.scenario.root])
            writer.write(TRUST_SHARD, [Message("setup", world.trust_message())])
            s = world.scenario
            lot = s.unit_code(lot="AB1")
            units = [f"{lot}(21){serial}" for serial in ("0001", "0002")]
            packing = world.aggregation(s.sscc(), [*units, s.unit_code(lot="AB10", serial="1")])
            assert writer.write(0, [Message("m", world.farm_batch([packing]))]).accepted == 1
            prefix = gs1_units_prefix(lot)
            assert prefix is not None
            assert [r.code for r in store.code_events_under(prefix)] == units
            above = prefix[:-1] + "*"
            assert isinstance(store, SqlLedgerStore)
            with store.engine.connect() as conn:
                # the same range in the database's own collation misses them
                in_default = conn.exec_driver_sql(
                    'SELECT count(*) FROM code_events WHERE code COLLATE "default" >= %s '
                    'AND code COLLATE "default" < %s',
                    (prefix, above),
                ).scalar()
            assert in_default == 0

    def test_collating_the_codes_keeps_the_planner_s_statistics(
        self, postgres_url: str, world: World
    ) -> None:
        # ALTER COLUMN ... TYPE drops a column's statistics, and without them PostgreSQL scanned
        # a 10M-event ledger's code index for every list of codes: migration 0006 analyzes.
        with fresh_database(postgres_url, "ledger") as url:
            engine = create_ledger_engine(url)
            _move_schema(engine, "0005")
            store = SqlLedgerStore(engine)
            try:
                writer = LedgerWriter(store, [world.scenario.root])
                writer.write(TRUST_SHARD, [Message("setup", world.trust_message())])
                unit = world.scenario.unit_code(serial="000001")
                packing = world.aggregation(world.scenario.sscc(), [unit])
                assert writer.write(0, [Message("m", world.farm_batch([packing]))]).accepted
                with engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE code_events")
                    conn.exec_driver_sql("ANALYZE code_edges")
                migrate(engine)
                with engine.connect() as conn:
                    analysed = conn.exec_driver_sql(
                        "SELECT tablename, attname FROM pg_stats "
                        "WHERE attname IN ('code', 'parent', 'child')"
                    ).all()
            finally:
                store.close()
        assert sorted(analysed) == [
            ("code_edges", "child"),
            ("code_edges", "parent"),
            ("code_events", "code"),
        ]

    def test_walks_down_the_code_graph_are_planned_for_about_ten_children_a_code(
        self, postgres_url: str
    ) -> None:
        # The sampled estimate said 100 children a parent on the 10M-event ledger (6.2 there),
        # and a forward walk's duplicate check was sized for it (migration 0007).
        def parent_options() -> list[str] | None:
            with engine.connect() as conn:
                options: list[str] | None = conn.exec_driver_sql(
                    "SELECT attoptions FROM pg_attribute "
                    "WHERE attrelid = 'code_edges'::regclass AND attname = 'parent'"
                ).scalar()
                return options

        with fresh_database(postgres_url, "ledger") as url:
            engine = create_ledger_engine(url)
            try:
                migrate(engine)
                migrated = parent_options()
                _move_schema(engine, "0006", down=True)
                downgraded = parent_options()
            finally:
                engine.dispose()
        assert migrated == ["n_distinct=-0.1"]
        assert downgraded is None

    def test_statements_stay_prepared_from_one_reading_block_to_the_next(
        self, store: LedgerStore
    ) -> None:
        # psycopg prepares a statement run five times on a connection and forgets them all at
        # a ROLLBACK: a block that only reads ends without one, so a trace's statements are
        # not planned again for every trace
        assert isinstance(store, SqlLedgerStore)
        for _ in range(6):
            with store.reading():
                store.edges_from(["case"])
        with store.reading():
            [(prepared,)] = store._fetch(_PREPARED, ("%FROM code_edges WHERE parent IN%",))
        assert prepared == 1

    def test_a_statement_about_many_codes_is_planned_for_them(self, store: LedgerStore) -> None:
        # a plan kept for a few codes is not one for a recall's million
        assert isinstance(store, SqlLedgerStore)
        many = [f"unit-{n:05d}" for n in range(1_001)]
        for _ in range(6):
            with store.reading():
                assert store.code_events_for(many) == []
        with store.reading():
            [(prepared,)] = store._fetch(_PREPARED, ("%FROM code_events WHERE code IN%",))
            assert store.code_events_for(many[:10]) == []
        assert prepared == 0

    def test_a_write_s_reads_of_its_codes_are_planned_for_them(self, store: LedgerStore) -> None:
        # the writer reads the edges and events of a message's ~500 codes: a plan PostgreSQL
        # kept from a new ledger's first writes went on scanning the whole table as it grew
        # (a 20,000-event append: 500-650 events/s, 2,000-2,200 planned each time)
        assert isinstance(store, SqlLedgerStore)
        codes = [f"unit-{n:05d}" for n in range(500)]
        for _ in range(6):
            with store.reading():
                assert store.edges_to(codes) == []
                assert store.code_events_for(codes[:65]) == []
        with store.reading():
            [(edges,)] = store._fetch(_PREPARED, ("%FROM code_edges WHERE child IN%",))
            [(events,)] = store._fetch(_PREPARED, ("%FROM code_events WHERE code IN%",))
        assert edges == events == 0

    def test_a_read_outside_a_block_and_a_token_check_keep_the_statements_prepared(
        self, store: LedgerStore
    ) -> None:
        # each ended in a ROLLBACK, at which psycopg forgets the connection's prepared
        # statements: every regulator's trace (a token check, then the trace) planned them all
        assert isinstance(store, SqlLedgerStore)
        token = create_token(store.engine, Role.REGULATOR, region="330100", label="test")
        for _ in range(6):
            with store.reading():
                store.edges_from(["case"])
        store.edges_to(["case"])
        assert authenticate(store.engine, token).role is Role.REGULATOR
        with store.reading():
            [(prepared,)] = store._fetch(_PREPARED, ("%FROM code_edges WHERE parent IN%",))
        assert prepared == 1


_PREPARED = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s"
