"""The one code graph: closures over the ``code_edges`` projection (design.md §7: never a scan).

Every part that walks from a code to what it was packed in, made from or certified from — the
tracer, recall scopes, the food-chain rules, authority — walks through :class:`CodeGraph`, with
the same limits (:data:`MAX_DEPTH` levels, :data:`MAX_CODES` codes):

- :meth:`CodeGraph.closure` walks from some codes in the database, one recursive query for the
  whole walk (:meth:`LedgerStore.reach`), and says when it was cut (the tracer and recall
  scopes);
- :meth:`CodeGraph.load_down` / :meth:`CodeGraph.load_up` load the edges around many starting
  points at once (a query per level, the levels past :data:`LEVELS_BEFORE_WALK` in one walk:
  :meth:`LedgerStore.reach_edges`), then :meth:`CodeGraph.below` / :meth:`CodeGraph.above`
  walk them in memory (the food-chain rules, which ask many small questions of one
  neighbourhood).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from suyuan.codes import gs1_units_prefix
from suyuan.events.model import Event
from suyuan.ledger import (
    CONTAINS,
    EDGE_EVENT_TYPES,
    TRANSFORMED,
    UNPACKED,
    CodeEdge,
    CodeEventRef,
    LedgerStore,
    Reached,
    edges_of,
)

#: How far a walk goes (levels) and how many codes it may reach; past either it says so.
MAX_DEPTH = 32
MAX_CODES = 2_000_000
#: Rows a closure may read beyond its start, per code it may hold: a code reached by several
#: edges, or by paths of several lengths, is a row for each, so a walk through many diamonds
#: reads more rows than codes; past the bound it is cut.
ROWS_PER_CODE = 2
#: Levels a load reads one query each before it walks the rest in one query: one walk costs
#: what three or four point reads cost (its recursive and temporary tables, and its plan), and
#: a trace's loads end within four levels (on the bench ledgers, walking from the first level
#: made traces slower on SQLite and PostgreSQL: bench/README.md, "Statements per trace"); a
#: deeper chain then costs one query more, not one per level.
LEVELS_BEFORE_WALK = 4
#: Packing and making: what a code is made from or packed in (and the other way round).
MATERIAL_KINDS = frozenset({CONTAINS, TRANSFORMED})
PACKING_KINDS = frozenset({CONTAINS})


@dataclass(frozen=True, slots=True)
class Walk:
    """Codes reached by :meth:`CodeGraph.closure`."""

    codes: set[str]
    cut: bool
    """True when the walk stopped at its limit or :data:`MAX_DEPTH` with codes still to follow."""
    order: list[str] = field(default_factory=list)
    """With ``ordered``: the codes nearest first (the start as given, then by distance, then
    by code)."""


@dataclass(frozen=True, slots=True)
class EventWalk:
    """What :meth:`CodeGraph.closure_events` found: the codes of a walk down and the events
    about them and about their containers."""

    codes: tuple[str, ...]
    """The start codes and every code reached, in code order (empty when not asked for)."""
    count: int
    events: list[CodeEventRef]
    """Events of the asked types about ``codes``, by time."""
    above: list[CodeEventRef]
    """Events of the asked types about the containers of ``codes`` (at any level), by time."""
    cut: bool
    """True when codes :data:`MAX_DEPTH` edges away may have more below them."""


class CodeGraph:
    """The part of the ``code_edges`` projection around some codes, loaded level by level."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        # Edges as queried: below a code (edges_from) and above it (edges_to), never mixed, so a
        # walk only ever follows a code whose edges in that direction were all read.
        self._down: dict[str, set[tuple[str, str]]] = {}
        self._up: dict[str, set[tuple[str, str]]] = {}
        self._edge_positions: dict[tuple[str, str, str], tuple[int, int]] = {}
        # Edges of events not in the ledger yet (add_pending): followed by loads and walks.
        self._pending_down: dict[str, set[tuple[str, str]]] = {}
        self._pending_up: dict[str, set[tuple[str, str]]] = {}
        # The write's pending list that follow() reads, and how far it has read it.
        self._followed: Sequence[Event] = ()
        self._followed_seen = 0

    # --- closure (walked in the database) ---------------------------------------------------------

    def with_units(self, codes: Sequence[str], limit: int = MAX_CODES) -> tuple[list[str], bool]:
        """``codes``, then the serialised units the ledger names of every GS1 lot among them
        (docs/codes.md, "Lots and their units"): a unit is part of its lot by its code, with no
        edge between them, so it is found by its code's prefix
        (:func:`suyuan.codes.gs1_units_prefix`). False when more than ``limit`` codes in all
        would be listed (the units first by code are kept)."""
        listed = dict.fromkeys(codes)
        whole = True
        for code in list(listed):
            prefix = gs1_units_prefix(code)
            if prefix is None:
                continue
            room = max(0, limit - len(listed))
            units = self._store.codes_under([prefix], room + 1)
            whole = whole and len(units) <= room
            listed.update(dict.fromkeys(units[:room]))
        return list(listed), whole

    def closure(
        self,
        start: Sequence[str],
        *,
        upward: bool,
        kinds: Collection[str],
        limit: int | None = None,
        ordered: bool = False,
    ) -> Walk:
        """Codes reached from ``start`` (included) along edges of ``kinds``; ``cut`` when there
        were more than ``limit`` codes (default :data:`MAX_CODES`; the nearest are kept) or
        codes :data:`MAX_DEPTH` edges away. ``ordered`` fills :attr:`Walk.order`; nearest
        first is by distance, then by the ledger position of the edge that reached a code,
        then by code (the codes a cut keeps).

        One query walks the whole closure (:meth:`LedgerStore.reach`), reading at most
        :data:`ROWS_PER_CODE` rows per code it may hold; only the codes cross into Python.
        """
        most = min(MAX_CODES, limit) if limit is not None else MAX_CODES
        first = list(dict.fromkeys(start))
        room = max(0, most - len(first))

        def reach(nearest_first: bool) -> Reached:
            return self._store.reach(
                first,
                upward=upward,
                kinds=kinds,
                depth=MAX_DEPTH,
                rows=ROWS_PER_CODE * most,
                ordered=nearest_first,
            )

        reached = reach(ordered)
        if len(reached.distances) > room and not ordered:
            reached = reach(True)  # which codes are kept is decided nearest first
        distances = reached.distances[:room]
        # A code at the last level may have more below it: the walk says so (as it always has,
        # without looking).
        cut = not reached.ended or len(reached.distances) > room
        cut = cut or any(distance >= MAX_DEPTH for _code, distance in distances)
        codes = set(first)
        codes.update(code for code, _distance in distances)
        order = [*first, *(code for code, _distance in distances)] if ordered else []
        return Walk(codes, cut, order)

    def closure_events(
        self,
        start: Sequence[str],
        *,
        kinds: Collection[str],
        event_types: Collection[str],
        above_kinds: Collection[str],
        above_types: Collection[str],
        codes: bool = True,
    ) -> EventWalk | None:
        """The closure down from ``start`` along ``kinds`` (as :meth:`closure`), the events of
        ``event_types`` about its codes and those of ``above_types`` about the codes above them
        along ``above_kinds``, in one query (:meth:`LedgerStore.reach_events`); ``codes`` false
        leaves the codes in the database.

        ``None`` when the walk is larger than :data:`MAX_CODES` codes: which codes a cut keeps
        is decided nearest first (:meth:`closure`), and the caller asks about those.
        """
        first = list(dict.fromkeys(start))
        found = self._store.reach_events(
            first,
            kinds=kinds,
            depth=MAX_DEPTH,
            rows=ROWS_PER_CODE * MAX_CODES,
            event_types=event_types,
            above_kinds=above_kinds,
            above_types=above_types,
            codes=codes,
        )
        if not found.ended or found.count > max(MAX_CODES, len(first)):
            return None
        listed = tuple(sorted(found.codes))  # linear time: they come back in code order
        cut = found.deepest >= MAX_DEPTH  # as closure: the last level may have more below
        return EventWalk(listed, found.count, found.events, found.above, cut)

    # --- loading ---------------------------------------------------------------------------------

    def add_pending(self, edges: Iterable[tuple[str, str, str]]) -> None:
        """(parent, child, kind) edges of events accepted earlier in the same write, not in the
        ledger yet: loads and walks follow them as well as the stored ones (a case packed
        earlier in the write holds what was packed in it)."""
        for parent, child, kind in edges:
            self._pending_down.setdefault(parent, set()).add((child, kind))
            self._pending_up.setdefault(child, set()).add((parent, kind))

    def follow(self, pending: Sequence[Event]) -> None:
        """Add the edges (:meth:`add_pending`) of the events appended to ``pending`` — the
        write's list of events accepted so far, which only grows — since the last call: every
        rule of a write that walks the code graph shares one graph and one pass over the list.
        A different list starts over from its beginning (edges already added stay: they are
        a set)."""
        if pending is not self._followed or len(pending) < self._followed_seen:
            self._followed, self._followed_seen = pending, 0
        fresh = pending[self._followed_seen :]
        self._followed_seen = len(pending)
        self.add_pending(
            edge
            for event in fresh
            if event.event_type in EDGE_EVENT_TYPES
            for edge in edges_of(event)
        )

    def load_down(self, codes: Iterable[str], kinds: Collection[str]) -> None:
        """Load the edges below ``codes`` (children, their children …) following ``kinds``."""
        self._load(codes, kinds, downward=True)

    def load_up(self, codes: Iterable[str], kinds: Collection[str]) -> None:
        """Load the edges above ``codes`` (parents, their parents …) following ``kinds``."""
        self._load(codes, kinds, downward=False)

    def _load(self, codes: Iterable[str], kinds: Collection[str], *, downward: bool) -> None:
        """Load level by level: the edges of every code at fewer than :data:`MAX_DEPTH` edges
        from ``codes`` along ``kinds`` (while no more than :data:`MAX_CODES` codes are seen).
        Levels already loaded cost nothing; past :data:`LEVELS_BEFORE_WALK` levels the rest is
        read in one query (:meth:`_load_rest`), unless pending edges may lead where the
        database walk cannot."""
        known = self._down if downward else self._up
        pending = self._pending_down if downward else self._pending_up
        seen = set(codes)
        frontier = list(seen)
        for depth in range(MAX_DEPTH):
            if not frontier or len(seen) > MAX_CODES:
                return
            missing = [code for code in frontier if code not in known]
            if missing:
                if (
                    depth >= LEVELS_BEFORE_WALK
                    and not pending
                    and self._load_rest(frontier, seen, kinds, depth, known, downward)
                ):
                    return
                self._query(missing, known, downward=downward)
            following: list[str] = []
            for code in frontier:
                for other, kind in (*known.get(code, ()), *pending.get(code, ())):
                    if kind in kinds and other not in seen:
                        seen.add(other)
                        following.append(other)
            frontier = following

    def _load_rest(
        self,
        frontier: list[str],
        seen: set[str],
        kinds: Collection[str],
        depth: int,
        known: dict[str, set[tuple[str, str]]],
        downward: bool,
    ) -> bool:
        """What the level-by-level loop of :meth:`_load` would load from ``frontier`` (the
        codes ``depth`` edges away; ``seen``: every code up to there) on, in one walk in the
        database (:meth:`LedgerStore.reach_edges`); False, with nothing loaded, when the walk
        was larger than the loop's bounds and the loop must decide where to stop.

        Every code at ``depth`` edges or more that the loop would reach is reached from the
        frontier, and every code the walk reaches at a distance under :data:`MAX_DEPTH` is
        one the loop loads or has loaded: the loop loads them all unless it stops at
        :data:`MAX_CODES` seen codes, which (levels only grow) it does iff the walk's codes
        and ``seen`` are more than that.
        """
        reached = self._store.reach_edges(
            frontier,
            upward=not downward,
            kinds=kinds,
            depth=MAX_DEPTH - 1 - depth,
            rows=ROWS_PER_CODE * MAX_CODES,
        )
        if not reached.ended or len(seen.union(reached.codes)) > MAX_CODES:
            return False
        self._keep(
            [code for code in reached.codes if code not in known],
            reached.edges,
            known,
            downward=downward,
        )
        return True

    def _query(
        self, codes: list[str], known: dict[str, set[tuple[str, str]]], *, downward: bool
    ) -> None:
        edges = self._store.edges_from(codes) if downward else self._store.edges_to(codes)
        self._keep(codes, edges, known, downward=downward)

    def _keep(
        self,
        codes: list[str],
        edges: Iterable[CodeEdge],
        known: dict[str, set[tuple[str, str]]],
        *,
        downward: bool,
    ) -> None:
        """Mark ``codes`` loaded with their ``edges`` (in ledger order: the latest position of
        an edge recorded twice is the one kept); edges of other codes are left out."""
        for code in codes:
            known[code] = set()
        fresh = set(codes)
        for edge in edges:
            if (edge.parent if downward else edge.child) not in fresh:
                continue
            self._edge_positions[(edge.parent, edge.child, edge.kind)] = (edge.shard, edge.seq)
            if downward:
                known[edge.parent].add((edge.child, edge.kind))
            else:
                known[edge.child].add((edge.parent, edge.kind))

    # --- walking (in memory) ---------------------------------------------------------------------

    def below(self, codes: Iterable[str], kinds: Collection[str]) -> set[str]:
        """``codes`` and everything below them through loaded edges of ``kinds``."""
        return self._walk(codes, kinds, self._down, self._pending_down)

    def above(self, codes: Iterable[str], kinds: Collection[str]) -> set[str]:
        """``codes`` and everything above them through loaded edges of ``kinds``."""
        return self._walk(codes, kinds, self._up, self._pending_up)

    @staticmethod
    def _walk(
        codes: Iterable[str],
        kinds: Collection[str],
        edges: Mapping[str, set[tuple[str, str]]],
        pending: Mapping[str, set[tuple[str, str]]],
    ) -> set[str]:
        seen = set(codes)
        stack = list(seen)
        while stack and len(seen) <= MAX_CODES:
            code = stack.pop()
            for nxt, kind in (*edges.get(code, ()), *pending.get(code, ())):
                if kind in kinds and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def containers(self, code: str) -> set[str]:
        """Direct containers ``code`` was packed in."""
        return {parent for parent, kind in self._up.get(code, ()) if kind == CONTAINS}

    def packed_in(self, container: str) -> set[str]:
        """What is packed in ``container`` now, by its loaded edges: packed and not taken out
        since (a repacking after an unpacking on the same shard counts as packed)."""
        inside: set[str] = set()
        for child, kind in self._down.get(container, ()):
            if kind != CONTAINS:
                continue
            packed = self.packing_position(container, child)
            unpacked = self.unpacking_position(container, child)
            if unpacked is None or (
                packed is not None and packed[0] == unpacked[0] and packed[1] > unpacked[1]
            ):
                inside.add(child)
        return inside

    def contents(self, container: str, limit: int) -> list[str]:
        """Everything packed in ``container`` now, nearest first, at most ``limit`` codes (the
        cases on a pallet, the units in the cases …)."""
        self.load_down([container], {CONTAINS})
        found: list[str] = []
        seen = {container}
        frontier = [container]
        while frontier and len(found) < limit:
            following: list[str] = []
            for parent in frontier:
                for child in sorted(self.packed_in(parent) - seen):
                    seen.add(child)
                    found.append(child)
                    following.append(child)
            frontier = following
        return found[:limit]

    def packing_position(self, container: str, code: str) -> tuple[int, int] | None:
        """Where the Aggregated event that packed ``code`` in ``container`` sits."""
        return self._edge_positions.get((container, code, CONTAINS))

    def unpacking_position(self, container: str, code: str) -> tuple[int, int] | None:
        """Where the Disaggregated event that took ``code`` out of ``container`` sits."""
        return self._edge_positions.get((container, code, UNPACKED))


__all__ = [
    "LEVELS_BEFORE_WALK",
    "MATERIAL_KINDS",
    "MAX_CODES",
    "MAX_DEPTH",
    "PACKING_KINDS",
    "ROWS_PER_CODE",
    "CodeGraph",
    "EventWalk",
    "Walk",
]
