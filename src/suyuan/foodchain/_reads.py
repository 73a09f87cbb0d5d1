"""Point reads of the ledger the food-chain rules share (design.md §7: projections, never a scan).

- :class:`Reads`: the events about some codes (``code_events``), events by id, and who the
  organisations are (the trust events' registrations);
- :func:`related_goods` / :func:`load_related` over the one code graph
  (:class:`suyuan.codegraph.CodeGraph`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from suyuan.codegraph import CodeGraph
from suyuan.directory import Directory
from suyuan.events.model import Event
from suyuan.ledger import (
    CERTIFIED_FROM,
    CONTAINS,
    TRANSFORMED,
    CodeEventRef,
    EntryNotFoundError,
    LedgerStore,
    codes_of,
)

#: Packing and making: what a code is made from or packed in (and the other way round).
MATERIAL_KINDS = frozenset({CONTAINS, TRANSFORMED})
PACKING_KINDS = frozenset({CONTAINS})
#: Packing, making and certifying: what a recall or a freeze of a code reaches (as the trace).
LINEAGE_KINDS = MATERIAL_KINDS | {CERTIFIED_FROM}


class Reads:
    """Events read through the ledger's projections and point reads."""

    def __init__(
        self,
        store: LedgerStore,
        directory: Directory | None = None,
        *,
        graph: CodeGraph | None = None,
    ) -> None:
        """``graph``: the write's code graph, when others judging the write share it (the
        custody checks do); by default one of its own, made at the first :meth:`graph` call
        with pending events."""
        self.store = store
        self.directory = directory or Directory(store)
        self._prefetched: dict[str, list[CodeEventRef]] = {}
        # The write's code graph (graph(pending)): the ledger's edges and the pending events'.
        self._graph = graph
        self._lineage_loaded = False  # the prefetched codes' lineage is loaded in it
        # Ledger entries never change: an event read once is kept for the reads to come (the
        # rules of one certificate read its goods' history several times).
        self._decoded: dict[tuple[int, int], Event] = {}
        # The write's pending events by type and by id (the first of an id), and how many of
        # them are indexed (_index_pending).
        self._pending: Sequence[Event] = ()
        self._pending_seen = 0
        self._pending_by_type: dict[str, list[tuple[int, Event]]] = {}
        self._pending_by_id: dict[str, Event] = {}
        # Those of a type by code (codes_of, as code_events indexes a stored event) once asked
        # by code: how many of the type are indexed, and the index.
        self._pending_by_code: dict[str, tuple[int, dict[str, list[tuple[int, Event]]]]] = {}

    def prefetch(self, codes: Iterable[str]) -> None:
        """Read the index rows of ``codes`` in one query, for the :meth:`about` calls to come
        (a batch of certificates then costs one query, not one per certificate)."""
        wanted = [c for c in dict.fromkeys(codes) if c not in self._prefetched]
        if not wanted:
            return
        for code in wanted:
            self._prefetched[code] = []
        for ref in self.store.code_events_for(wanted):
            self._prefetched[ref.code].append(ref)

    def about(self, codes: Iterable[str], types: Collection[str] | None = None) -> list[Event]:
        """Events indexed under any of ``codes`` (of ``types`` if given), by time, each once."""
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return []
        if all(code in self._prefetched for code in wanted):
            refs = sorted(
                {ref for code in wanted for ref in self._prefetched[code]},
                key=lambda r: (r.occurred_at, r.shard, r.seq),
            )
        else:
            refs = self.store.code_events_for(wanted, types)  # only the rows asked for
        positions = [(r.shard, r.seq) for r in refs if types is None or r.event_type in types]
        return self.at(positions)

    def at(self, positions: Sequence[tuple[int, int]]) -> list[Event]:
        """The events at ``positions`` (missing ones left out), by time of occurrence."""
        events = list(self.events_at(positions).values())
        events.sort(key=lambda e: (e.occurred_at, e.event_id))
        return events

    def events_at(self, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Event]:
        """The events at ``positions`` by position (missing ones left out)."""
        unique = list(dict.fromkeys(positions))
        missing = [p for p in unique if p not in self._decoded]
        if missing:
            self._decoded.update(self.store.events_at(missing))
        return {p: self._decoded[p] for p in unique if p in self._decoded}

    def pending_of(
        self,
        pending: Sequence[Event],
        types: Collection[str],
        codes: Iterable[str] | None = None,
    ) -> list[Event]:
        """The events of ``types`` among ``pending`` (events accepted earlier in the write, not
        in the ledger yet), in their order; with ``codes``, only those :meth:`about` would find
        under any of ``codes`` once stored (indexed under :func:`~suyuan.ledger.codes_of`).

        The writer only appends to ``pending`` while it judges a message: the list is indexed by
        type, and by code once asked by code, as it grows, so each rule of each certificate
        reads the few events of its types and codes instead of scanning every event accepted so
        far (which made a batch quadratic).
        """
        self._index_pending(pending)
        if codes is None:
            found = [item for kind in types for item in self._pending_by_type.get(kind, ())]
            if len(types) > 1:
                found.sort(key=lambda item: item[0])
        else:
            wanted = list(dict.fromkeys(codes))
            by_position = {
                item[0]: item
                for kind in types
                for index in [self._pending_by_code_of(kind)]
                for code in wanted
                for item in index.get(code, ())
            }
            found = [by_position[position] for position in sorted(by_position)]
        return [event for _position, event in found]

    def pending_event(self, pending: Sequence[Event], event_id: str) -> Event | None:
        """The first event with ``event_id`` among ``pending`` (the write's events accepted so
        far, as :meth:`pending_of`), or ``None``; the list is indexed by id as it grows."""
        self._index_pending(pending)
        return self._pending_by_id.get(event_id)

    def _index_pending(self, pending: Sequence[Event]) -> None:
        """Index the events appended to ``pending`` since the last call by type and id; a
        different (or shorter) list starts the indexes over."""
        if pending is not self._pending or len(pending) < self._pending_seen:
            self._pending, self._pending_seen = pending, 0
            self._pending_by_type, self._pending_by_id, self._pending_by_code = {}, {}, {}
        for position in range(self._pending_seen, len(pending)):
            event = pending[position]
            self._pending_by_type.setdefault(event.event_type, []).append((position, event))
            self._pending_by_id.setdefault(event.event_id, event)
        self._pending_seen = len(pending)

    def _pending_by_code_of(self, kind: str) -> dict[str, list[tuple[int, Event]]]:
        """The pending events of type ``kind`` by code, indexed up to the last one seen. Only
        the types asked for by code are indexed (certificates and receipts), not every event
        of the write."""
        of_kind = self._pending_by_type.get(kind, [])
        indexed, index = self._pending_by_code.setdefault(kind, (0, {}))
        for item in of_kind[indexed:]:
            for code in codes_of(item[1]):
                index.setdefault(code, []).append(item)
        self._pending_by_code[kind] = (len(of_kind), index)
        return index

    def by_id(self, event_id: str) -> Event | None:
        """The event with this id, or ``None`` when the ledger has none."""
        try:
            shard, seq = self.store.locate(event_id)
        except EntryNotFoundError:
            return None
        return self.store.event_at(shard, seq)

    def graph(self, pending: Sequence[Event] | None = None) -> CodeGraph:
        """A code graph over the ledger's edges.

        Without ``pending``: a new one (the read side, where the ledger grows between reads).
        With ``pending`` (the events accepted earlier in the write, not in the ledger yet): the
        one graph of the write, kept from call to call as the ledger does not change during a
        write, with the edges of ``pending`` added — each event's once, so a rule walking from
        goods sees what was packed or made earlier in the same write, as it would once they
        are stored. Pass the write's own list: it is read on from where the last call left it.
        """
        if pending is None:
            return CodeGraph(self.store)
        if self._graph is None:
            self._graph = CodeGraph(self.store)
        self._graph.follow(pending)
        return self._graph

    def lineage_graph(self, codes: Iterable[str], pending: Sequence[Event] = ()) -> CodeGraph:
        """The write's code graph (:meth:`graph`) with what :func:`lineage` walks from ``codes``
        loaded; at its first use also from every prefetched code, so a batch of certificates
        costs one query per level, not one per certificate."""
        graph = self.graph(pending)
        wanted = list(codes)
        if not self._lineage_loaded:
            self._lineage_loaded = True
            wanted = [*self._prefetched, *wanted]
        load_lineage(graph, wanted)
        return graph


@dataclass(frozen=True, slots=True)
class PackingWindow:
    """When a code sat in a container: from its packing to its unpacking (open ends: None)."""

    container: str
    start: datetime | None
    end: datetime | None

    def holds_at(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at <= self.end)


def related_goods(graph: CodeGraph, codes: Iterable[str]) -> set[str]:
    """``codes``, what is packed in them, and what they (or their contents) were packed in or
    made from: every code whose documents speak for these goods."""
    contents = graph.below(codes, PACKING_KINDS)
    return graph.above(contents, MATERIAL_KINDS)


def load_related(graph: CodeGraph, codes: Iterable[str]) -> None:
    """Load what :func:`related_goods` walks, for all ``codes`` at once."""
    seeds = list(codes)
    graph.load_down(seeds, PACKING_KINDS)
    graph.load_up(graph.below(seeds, PACKING_KINDS), MATERIAL_KINDS)


def lineage(graph: CodeGraph, codes: Iterable[str]) -> set[str]:
    """``codes``, what is packed in them, and everything they (or their contents) were packed
    in, made from or certified from: every code whose recall or freeze reaches these goods."""
    return graph.above(graph.below(codes, PACKING_KINDS), LINEAGE_KINDS)


def load_lineage(graph: CodeGraph, codes: Iterable[str]) -> None:
    """Load what :func:`lineage` walks, for all ``codes`` at once."""
    seeds = list(codes)
    graph.load_down(seeds, PACKING_KINDS)
    graph.load_up(graph.below(seeds, PACKING_KINDS), LINEAGE_KINDS)
