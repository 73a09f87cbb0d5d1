"""The ledger storage contract: values in and out, and what every method raises.

:class:`LedgerStore` is the one interface the ingest pipeline, the query service and the audit
use; :class:`suyuan.ledger.SqlLedgerStore` implements it on SQLite and PostgreSQL, and the
contract tests in ``tests/contract/`` run against every implementation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from suyuan.errors import SuyuanError
from suyuan.events import decode_event
from suyuan.events.model import Event
from suyuan.ledger._leaf import Leaf

#: The shard that holds every trust event (organisations, signing keys, revocations), fed by the
#: one-partition trust topic. One shard gives trust events one order that every writer and the
#: audit share (docs/ledger.md, "Trust order"); event shards are numbered from 0 by partition.
TRUST_SHARD = 1_000_000


class LedgerError(SuyuanError):
    """The ledger refused an operation or is inconsistent."""


class StaleWriterError(LedgerError):
    """Compare-and-set failed: another writer moved the shard's offset or size (design.md §6).

    The writer lost its partition (or raced another writer); it must re-read the stored offset
    and continue from there. Nothing of the refused append was written.
    """


class EntryNotFoundError(LedgerError, LookupError):
    """No ledger entry has this event id / position."""


@dataclass(frozen=True, slots=True)
class Submission:
    """A verified event, ready to enter the ledger, with the signed material that proves it."""

    event: Event
    event_bytes: bytes
    key_id: str
    signature: bytes
    batch_size: int
    batch_index: int
    batch_path: tuple[bytes, ...]
    trust_size: int = 0
    """How many trust events (in trust order) the writer had applied when it judged the event;
    stored in the leaf so the audit checks the key against the same state."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Something consumed that did not enter the ledger, and why (machine-readable ``reason``)."""

    source: str
    reason: str
    rule: str
    field: str | None = None
    event_id: str | None = None
    actor: str | None = None
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class OffsetCommit:
    """The consumer position written with the entries (compare-and-set).

    ``expected`` is the offset the writer found stored when it took the partition (``None``
    when none was stored); ``next_offset`` is the offset of the next message to consume.
    """

    expected: int | None
    next_offset: int


@dataclass(frozen=True, slots=True)
class AppendResult:
    shard: int
    appended: tuple[tuple[str, int], ...]
    """(event_id, seq) of every new entry, in order."""
    duplicates: tuple[str, ...]
    """event ids already in the ledger (or repeated in this call): counted, not stored."""
    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class ShardHead:
    shard: int
    size: int
    root: bytes
    chain_head: bytes
    consumer_offset: int | None
    duplicates: int


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of the ledger as stored: the leaf bytes and the chain hash after it."""

    shard: int
    seq: int
    event_id: str
    leaf: bytes
    chain_hash: bytes

    def read_leaf(self) -> Leaf:
        """The leaf record (docs/ledger.md). Raises: DecodeError (a damaged row)."""
        return Leaf.from_bytes(self.leaf)

    def event(self) -> Event:
        """The event this entry holds, decoded from its leaf.

        Raises:
            DecodeError: the row is damaged (the audit tells which).
        """
        return decode_event(Leaf.from_bytes(self.leaf).event)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    shard: int
    size: int
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CodeEventRef:
    """An index row: event (shard, seq) is about ``code``."""

    code: str
    shard: int
    seq: int
    event_type: str
    actor: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class CodeEdge:
    """``child`` came from / was packed in / descends from ``parent`` (``kind`` says which)."""

    parent: str
    child: str
    kind: str
    shard: int
    seq: int


@dataclass(frozen=True, slots=True)
class Reached:
    """What one walk of the ``code_edges`` projection reached (:meth:`LedgerStore.reach`)."""

    distances: list[tuple[str, int]]
    """(code, fewest edges from the start), for every code reached that is not a start code;
    nearest first if asked for, else in no particular order."""
    ended: bool
    """False when the walk stopped at its row bound with rows still to read."""


@dataclass(frozen=True, slots=True)
class ReachedEdges:
    """The codes of one walk of the ``code_edges`` projection and every edge next to them
    (:meth:`LedgerStore.reach_edges`)."""

    codes: list[str]
    """The start codes and every code reached, each once, in no particular order."""
    edges: list[CodeEdge]
    """Every edge, of any kind, whose parent (child, walking up) is one of ``codes``, by
    ledger position."""
    ended: bool
    """False when the walk stopped at its row bound with rows still to read (``codes`` and
    ``edges`` are then only part of the walk's)."""


@dataclass(frozen=True, slots=True)
class ReachedEvents:
    """What one walk down the ``code_edges`` projection reached, with the events about it
    (:meth:`LedgerStore.reach_events`)."""

    codes: list[str]
    """The start codes and every code reached, each once, in no particular order; empty when
    not asked for (``count`` still counts them)."""
    count: int
    """How many codes: the start codes and every code reached."""
    deepest: int
    """The most edges between a start code and a code reached (0: nothing reached)."""
    events: list[CodeEventRef]
    """Events of the asked types about ``codes``, by time of occurrence."""
    above: list[CodeEventRef]
    """Events of the asked types about the codes above ``codes`` (their containers and theirs),
    by time; an event may be in ``events`` too."""
    ended: bool
    """False when the walk stopped at its row bound with rows still to read."""


@dataclass(frozen=True, slots=True)
class StoredRejection:
    id: int
    rejection: Rejection
    shard: int | None
    rejected_at: datetime


class LedgerStore(ABC):
    """Append-only, sharded, verifiable storage of ledger entries and their projections."""

    @abstractmethod
    def append(
        self,
        shard: int,
        submissions: Sequence[Submission],
        *,
        rejections: Sequence[Rejection] = (),
        offset: OffsetCommit | None = None,
    ) -> AppendResult:
        """Append ``submissions`` to ``shard`` atomically with ``rejections`` and ``offset``.

        All or nothing: the leaves, chain, Merkle nodes, projections, rejections, duplicate count
        and consumer offset are written in one transaction. Events already in the ledger (same
        id, same event bytes) are reported as duplicates and not stored.

        Raises:
            StaleWriterError: ``offset.expected`` is not the stored offset, another writer
                appended to the shard concurrently, or an event id is stored with other event
                bytes (the writer refuses those first; meeting one here means another writer
                stored it meanwhile). Nothing was written.
            LedgerError: called inside a :meth:`reading` block of this store.
        """

    @abstractmethod
    def add_rejections(self, rejections: Sequence[Rejection]) -> None:
        """Record rejections that belong to no consumed shard (e.g. refused over HTTP)."""

    @abstractmethod
    def head(self, shard: int) -> ShardHead:
        """The current head of ``shard`` (size 0 and the empty root for an unknown shard)."""

    @abstractmethod
    def shard_ids(self) -> list[int]:
        """Every shard that has a head, ascending."""

    @abstractmethod
    def consumer_offset(self, shard: int) -> int | None:
        """The next Kafka offset to consume for ``shard``, or ``None`` if none was committed."""

    @abstractmethod
    def entries(self, shard: int, start: int = 0, end: int | None = None) -> Iterator[StoredEntry]:
        """Entries of ``shard`` with ``start <= seq < end`` in order, streamed."""

    @abstractmethod
    def entry(self, shard: int, seq: int) -> StoredEntry:
        """One entry. Raises: EntryNotFoundError."""

    @abstractmethod
    def entries_at(
        self, positions: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], StoredEntry]:
        """Several entries by (shard, seq) in one query (missing ones are absent)."""

    def event_at(self, shard: int, seq: int) -> Event:
        """The event at a ledger position: the one way to read an event back.

        Raises:
            EntryNotFoundError: no entry there.
            DecodeError: the row is damaged.
        """
        return self.entry(shard, seq).event()

    def events_at(self, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Event]:
        """The events at several positions, read in one query, in the order of ``positions``
        (repeats once; missing ones are absent).

        Raises:
            DecodeError: a row is damaged.
        """
        wanted = list(dict.fromkeys(positions))
        entries = self.entries_at(wanted)
        return {p: entries[p].event() for p in wanted if p in entries}

    @abstractmethod
    def locate(self, event_id: str) -> tuple[int, int]:
        """(shard, seq) of an event. Raises: EntryNotFoundError."""

    @abstractmethod
    def stored_events(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        """The signed event bytes stored under each of ``event_ids`` that is in the ledger
        (missing ones are absent), in one query."""

    @abstractmethod
    def node(self, shard: int, level: int, index: int) -> bytes:
        """A stored perfect-subtree hash. Raises: EntryNotFoundError."""

    @abstractmethod
    def nodes(self, shard: int, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Several stored perfect-subtree hashes in one query (missing ones are absent)."""

    @abstractmethod
    def add_checkpoint(self, shard: int, size: int, note: str) -> None:
        """Store a signed checkpoint. Raises: LedgerError if one exists for that size."""

    @abstractmethod
    def replace_checkpoint_note(self, shard: int, size: int, note: str) -> None:
        """Store ``note`` for an existing checkpoint: the same signed tree head with more
        signatures (witnesses' cosignatures). The caller keeps the note text unchanged.

        Raises: EntryNotFoundError if the shard has no checkpoint at that size."""

    @abstractmethod
    def latest_checkpoint(self, shard: int) -> StoredCheckpoint | None:
        """The checkpoint of ``shard`` with the largest size, or ``None`` (one row read: proofs,
        tiles and the signing schedule ask for it on every request)."""

    @abstractmethod
    def checkpoints(self, shard: int) -> list[StoredCheckpoint]:
        """All checkpoints of ``shard``, by size."""

    @abstractmethod
    def code_events(self, code: str) -> list[CodeEventRef]:
        """Events about ``code``, by time of occurrence."""

    @abstractmethod
    def code_events_for(
        self, codes: Sequence[str], event_types: Collection[str] | None = None
    ) -> list[CodeEventRef]:
        """Events about any of ``codes`` (only of ``event_types`` if given), by time."""

    @abstractmethod
    def code_events_under(
        self,
        prefix: str,
        event_types: Collection[str] | None = None,
        *,
        other_than: str | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[CodeEventRef]:
        """Events about codes that start with ``prefix`` (only of ``event_types`` if given, by
        an actor other than ``other_than`` if given, about codes past ``after`` if given: the
        next page), at most ``limit`` of them, by code:
        the units of a GS1 lot, found by their canonical text
        (:func:`suyuan.codes.gs1_units_prefix`). An indexed range read: codes compare by code
        point on every backend (PostgreSQL's code columns are collated ``"C"``).

        Raises:
            ValueError: ``prefix`` is empty, or ``limit`` is not positive.
        """

    @abstractmethod
    def codes_under(self, prefixes: Sequence[str], limit: int) -> list[str]:
        """The codes that start with one of ``prefixes`` and have an event in the ledger, by
        code, at most ``limit`` of them (the units of GS1 lots; as :meth:`code_events_under`),
        in one query.

        Raises:
            ValueError: a prefix is empty, or ``limit`` is not positive.
        """

    @abstractmethod
    def edges_from(self, codes: Sequence[str]) -> list[CodeEdge]:
        """Edges whose parent is one of ``codes``."""

    @abstractmethod
    def edges_to(self, codes: Sequence[str]) -> list[CodeEdge]:
        """Edges whose child is one of ``codes``."""

    @abstractmethod
    def reach(
        self,
        start: Sequence[str],
        *,
        upward: bool,
        kinds: Collection[str],
        depth: int,
        rows: int,
        ordered: bool = False,
    ) -> Reached:
        """The codes reached from ``start`` along edges of ``kinds`` — parent to child, or
        child to parent when ``upward`` — in at most ``depth`` edges, walked in the database
        (one query, whatever the size); ``suyuan.codegraph`` is its one caller.

        The walk reads rows (code, distance, edge) nearest first and stops after ``rows`` of
        them beyond the start (``ended`` false): a code reached by several edges or paths of
        several lengths is a row for each, so a cycle is followed at most ``depth`` times and
        then ends. ``ordered`` lists the codes nearest first: by distance, then by the ledger
        position of the first edge that reached them, then by code.
        """

    @abstractmethod
    def reach_edges(
        self,
        start: Sequence[str],
        *,
        upward: bool,
        kinds: Collection[str],
        depth: int,
        rows: int,
    ) -> ReachedEdges:
        """The walk of :meth:`reach` from ``start`` (along ``kinds``, at most ``depth`` edges,
        ``rows`` rows; ``depth`` 0: the start codes alone) and, in the same query, every edge
        of any kind below the start and the codes reached — above them when ``upward`` — as
        :meth:`edges_from` (:meth:`edges_to`) of all those codes would read them: the
        neighbourhood that ``suyuan.codegraph`` (its one caller) would otherwise load level by
        level, one query per level.

        Raises:
            sqlalchemy.exc.DBAPIError: the database refused the query (as for every read of
                :class:`~suyuan.ledger.SqlLedgerStore`).
        """

    @abstractmethod
    def reach_events(
        self,
        start: Sequence[str],
        *,
        kinds: Collection[str],
        depth: int,
        rows: int,
        event_types: Collection[str],
        above_kinds: Collection[str],
        above_types: Collection[str],
        codes: bool = True,
    ) -> ReachedEvents:
        """The walk of :meth:`reach` down from ``start`` (parent to child along ``kinds``, at
        most ``depth`` edges, ``rows`` rows), and in the same query the events of
        ``event_types`` about ``start`` and the codes reached, and those of ``above_types``
        about the codes above them along ``above_kinds`` (child to parent, at most ``depth``
        edges and ``rows`` rows): a recall's scope and its holders without a million codes
        crossing into Python (``codes`` false: not even once). ``suyuan.codegraph`` is its one
        caller.
        """

    @abstractmethod
    def rejections(
        self,
        *,
        actor: str | None = None,
        limit: int = 100,
        reasons: Collection[str] | None = None,
        since: datetime | None = None,
        before: int | None = None,
    ) -> list[StoredRejection]:
        """Most recent rejections first, optionally of one actor, of some reasons, rejected
        at or after ``since``, or stored before the rejection with id ``before`` (the next
        page after it)."""

    @abstractmethod
    def trust_positions(self) -> list[tuple[int, int]]:
        """(shard, seq) of every trust event in trust order: those of :data:`TRUST_SHARD` by
        sequence number, after any that older ledgers kept on event shards (by time recorded)."""

    @abstractmethod
    def repeated_event_ids(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Entries whose event id a row at an earlier (shard, seq) also has: position -> first.

        Empty while the unique index on event ids holds; the audit does not rely on it.
        """

    @abstractmethod
    def get_meta(self, name: str) -> str | None:
        """A ledger configuration value (e.g. the ledger verifier key), or ``None``."""

    @abstractmethod
    def set_meta(self, name: str, value: str) -> None:
        """Set a ledger configuration value."""

    @abstractmethod
    def rejection_counts(self) -> dict[str, int]:
        """Number of rejections by reason."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[None]:
        """A block whose reads of this store all see one snapshot of the ledger (one
        transaction): a trace or a recall read while a writer appends shows the ledger as it was
        at one moment, never half a write, and opens one transaction instead of one per read.
        Blocks nest (the inner one reads the outer's snapshot). Appending inside one raises
        :class:`LedgerError`: the writer's checks would read the block's snapshot, not the
        ledger it appends to."""
