"""End-to-end audit of a ledger (``suyuan verify``, design.md §6).

Reads every entry of every shard in order and checks, for each: the leaf parses and sits at its
own position, the hash chain continues, the event's id, type and actor read
(:func:`suyuan.events.event_summary`: the rest of the signed bytes is covered by the chain, the
tree and the batch signature) and match its index rows, and the batch signature verifies under
a key the trust chain registered for the event's actor and had not revoked. At the end of each
shard the recomputed Merkle root, size and chain head must match the stored head, and every
checkpoint must carry the ledger key's signature and the root of the recomputed tree at its
size (which also makes consecutive checkpoints consistent).

Each finding names the shard and the sequence number of the first bad entry (or the checkpoint
size), and why.

The entries are checked in ranges — a power of two long, starting at multiples of it — in
worker processes when ``jobs`` > 1. A range starts its chain from the stored chain hash of the
entry before it, which the range before checks; its Merkle frontier joins the tree of the
ranges before it (:meth:`Frontier.join`). The results are then read in order as one pass
would meet them, so the report (counts, findings and their order) does not depend on ``jobs``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from suyuan.errors import (
    InvalidInputError,
    RevokedKeyError,
    SignatureError,
    SuyuanError,
    UnknownKeyError,
    WrongSignerError,
)
from suyuan.events import EventSummary, decode_event, event_summary
from suyuan.events.model import (
    SIGNING_KEY_REGISTERED,
    SIGNING_KEY_REVOKED,
    TRUST_EVENT_TYPES,
    Event,
    SignedBatch,
)
from suyuan.ledger._interface import (
    TRUST_SHARD,
    EntryNotFoundError,
    LedgerError,
    LedgerStore,
    ShardHead,
    StoredCheckpoint,
    StoredEntry,
)
from suyuan.ledger._leaf import Leaf
from suyuan.ledger._sql import GENESIS_CHAIN, SqlLedgerStore, chain_next, create_ledger_engine
from suyuan.merkle import Frontier, leaf_hash
from suyuan.runtime import tune_garbage_collector
from suyuan.signing import (
    BatchProof,
    RootKey,
    TrustStore,
    VerifyKey,
    batch_proof_from_path,
    batch_proofs,
    verify_batch_root,
)
from suyuan.tlog import Checkpoint, CheckpointError, NoteVerifier, open_checkpoint


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One thing wrong: where (shard, seq or checkpoint size) and what."""

    shard: int
    seq: int | None
    problem: str
    detail: str

    def __str__(self) -> str:
        where = f"shard {self.shard}" + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.problem}: {self.detail}"


@dataclass
class AuditReport:
    entries: int = 0
    shards: dict[int, int] = field(default_factory=dict)
    checkpoints: int = 0
    signatures: int = 0
    findings: list[AuditFinding] = field(default_factory=list)
    jobs: int = 1
    """Processes that checked the entries."""

    @property
    def ok(self) -> bool:
        return not self.findings


#: Entries checked together (the events of one signed batch are checked as one when they fall
#: in the same chunk: batches hold at most a few thousand events).
_CHUNK = 4096
#: Most entries one task checks. Ranges start at multiples of their length, a power of two, so
#: that the Merkle trees of ranges checked apart join into the shard's tree.
_MAX_RANGE = 1 << 17
#: Ranges per job when a shard is split (more ranges than jobs keep every process busy).
_RANGES_PER_JOB = 4
#: Fewest entries checked in worker processes, by how they start. A fork of this process
#: starts in milliseconds (then opens a connection and replays the trust events); a fork
#: server is a fresh interpreter that imports Suyuan first, about half a second, what one
#: process needs for some 20,000 entries. Smaller ledgers are checked in this process.
_PARALLEL_FROM = {"fork": 2 * _CHUNK, "forkserver": 65_536}

#: A verified batch signature: (key id, signature, batch root + count).
_Verified = tuple[str, bytes, bytes]
_Problems = list[tuple[str, str]]


def default_jobs() -> int:
    """The processes ``suyuan verify`` checks with by default: the CPUs it may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start_method() -> str:
    """How worker processes start: a fork of this process when it runs no other thread (a
    fork copies only the calling thread, so a lock another thread held would stay locked in
    the copy), else from a fork server."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "forkserver"


class _EnoughFindingsError(Exception):
    """Enough findings collected."""


@dataclass(frozen=True, slots=True)
class _Range:
    """Entries ``start`` to ``end`` (exclusive; ``None``: every entry stored from ``start``)
    of one shard, checked as one task."""

    shard: int
    start: int
    end: int | None
    span: int
    """The range length, a power of two that divides ``start``; the tree is kept per span."""
    chunk: int
    trust_seqs: frozenset[int]
    """Positions of this range that the trust index lists."""
    sizes: frozenset[int]
    """Tree sizes in this range whose root a checkpoint (signed or held) needs."""
    max_findings: int
    """Problems after which the range stops: the audit stops within it anyway."""


@dataclass(slots=True)
class _RangeResult:
    """What one range holds and what is wrong with it, for the walk (:meth:`Auditor._walk`)."""

    first_seq: int | None = None
    end: int = 0
    """Entries ``start`` .. ``end - 1`` continue the hash chain (the range may stop earlier)."""
    stop: tuple[str, int, int] | None = None
    """``("missing_entry", expected, next seq)`` or ``("chain_break", seq, seq)``."""
    notable: list[tuple[int, _Problems, tuple[bytes, ...] | None]] = field(default_factory=list)
    """(seq, problems, tree up to it when a checkpoint needs its root) of the entries that have
    a problem or a checkpoint, in order."""
    chunks: list[tuple[int, frozenset[_Verified]]] = field(default_factory=list)
    """(first seq, batch signatures first verified) of each chunk."""
    tree: tuple[bytes, ...] = ()
    """The tree of the range's entries: a frontier (:meth:`Frontier.to_bytes`) per span."""
    chain: bytes = b""
    problems: int = 0


class Auditor:
    """Audits a :class:`LedgerStore` against the ledger key and the regulator root keys."""

    def __init__(
        self,
        store: LedgerStore,
        ledger_verifier: NoteVerifier,
        roots: Sequence[RootKey],
        *,
        ledger_name: str,
        max_findings: int = 20,
        held_checkpoints: Sequence[Checkpoint] = (),
        jobs: int = 1,
    ) -> None:
        """``held_checkpoints``: checkpoints the auditor kept from earlier (already opened with
        the ledger key); the ledger must still contain each of their trees — this catches a
        ledger cut back together with its stored checkpoints.

        ``jobs``: processes that check ranges of the shards at once (each with its own
        database connection; a ledger only this process can open, e.g. in-memory SQLite, is
        checked in this process, and so is a ledger too small to repay starting them). The
        report is the same for any number of jobs.

        Raises:
            ValueError: ``jobs`` below 1.
        """
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        self._store = store
        self._held = tuple(held_checkpoints)
        self._verifier = ledger_verifier
        self._roots = tuple(roots)
        self._name = ledger_name
        self._max = max_findings
        self._jobs = jobs

    def total_entries(self) -> int:
        return sum(self._store.head(shard).size for shard in self._store.shard_ids())

    def run(self, progress: Callable[[int], None] | None = None) -> AuditReport:
        """Audit every shard. ``progress(n)`` is called as entries are checked.

        Raises:
            LedgerError: a worker process ended before its range was checked (the ledger was
                not judged: no report).
        """
        report = AuditReport()
        # Every entry's row must hold its leaf's event id (index_mismatch), so an event stored
        # twice shows as a repeated row id, even when the unique index was dropped.
        repeated = self._store.repeated_event_ids()
        checker, trust_findings = _replay_trust(self._store, self._roots)
        shards = [_ShardPlan(shard, self._store.head(shard)) for shard in self._store.shard_ids()]
        trust_positions = self._store.trust_positions()
        for plan in shards:
            plan.checkpoints = self._checkpoints(plan.shard)
            origin = f"{self._name}/shard/{plan.shard}"
            plan.held = {c.size: c.root_hash for c in self._held if c.origin == origin}
            plan.trust_seqs = {seq for s, seq in trust_positions if s == plan.shard}
        tasks = self._ranges(shards)
        url = self._store_url()
        walk = _Walk(report, progress)
        walk.verified |= checker.verified  # the trust events' batches, checked in the replay
        try:
            for shard, seq, detail in trust_findings:
                self._find(report, shard, seq, "bad_trust_event", detail)
            total = sum(plan.head.size for plan in shards)
            method = _start_method()
            if self._jobs == 1 or url is None or len(tasks) < 2 or total < _PARALLEL_FROM[method]:
                ranges = _RangeChecker(self._store, checker, repeated)
                self._walk(shards, tasks, map(ranges.check, tasks), walk)
            else:
                report.jobs = min(self._jobs, len(tasks))
                self._walk_in_workers(method, url, repeated, shards, tasks, walk)
        except _EnoughFindingsError:
            pass
        return report

    def _walk_in_workers(
        self,
        method: str,
        url: str,
        repeated: dict[tuple[int, int], tuple[int, int]],
        shards: list[_ShardPlan],
        tasks: list[_Range],
        walk: _Walk,
    ) -> None:
        """:meth:`_walk` the ranges checked by :attr:`AuditReport.jobs` worker processes.

        A pool of processes that notices a worker ending before it answered (killed, out of
        memory, or failing to open the ledger): ``multiprocessing.Pool`` would wait for its
        answer for ever.

        Raises:
            LedgerError: a worker process ended before its range was checked.
        """
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload([__name__])
        roots = [(r.verify_key.raw, r.organisation) for r in self._roots]
        executor = ProcessPoolExecutor(
            walk.report.jobs,
            mp_context=context,
            initializer=_start_worker,
            initargs=(url, roots, repeated),
        )
        finished = False
        try:
            self._walk(shards, tasks, executor.map(_check_in_worker, tasks), walk)
            finished = True
        except BrokenProcessPool as err:
            raise LedgerError(
                "a worker process of the audit ended before its range was checked (killed, out "
                "of memory, or unable to open the ledger); run it again, or with --jobs 1"
            ) from err
        finally:
            # Enough findings end the walk early: ranges not started are dropped, and the few
            # being checked are not waited for.
            executor.shutdown(wait=finished, cancel_futures=True)

    # --- planning ---------------------------------------------------------------------------

    def _store_url(self) -> str | None:
        """How a worker process opens the ledger, if it can."""
        if not isinstance(self._store, SqlLedgerStore):
            return None
        url = self._store.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return url.render_as_string(hide_password=False)

    def _ranges(self, shards: list[_ShardPlan]) -> list[_Range]:
        total = sum(plan.head.size for plan in shards)
        wanted = max(total // (self._jobs * _RANGES_PER_JOB), 1)
        span = min(max(1 << (wanted - 1).bit_length(), _CHUNK), _MAX_RANGE)
        chunk = min(_CHUNK, span)
        tasks: list[_Range] = []
        for plan in shards:
            sizes = set(plan.checkpoints.roots) | set(plan.held)
            last = max(plan.head.size - 1, 0) // span * span
            for start in range(0, last + 1, span):
                end = None if start == last else start + span

                def inside(seq: int, start: int = start, end: int | None = end) -> bool:
                    return seq >= start and (end is None or seq < end)

                tasks.append(
                    _Range(
                        plan.shard,
                        start,
                        end,
                        span,
                        chunk,
                        frozenset(s for s in plan.trust_seqs if inside(s)),
                        frozenset(s for s in sizes if inside(s - 1)),
                        self._max,
                    )
                )
            plan.tasks = len(range(0, last + 1, span))
        return tasks

    # --- walking the shards -----------------------------------------------------------------

    def _walk(
        self,
        shards: list[_ShardPlan],
        tasks: list[_Range],
        results: Iterator[_RangeResult],
        walk: _Walk,
    ) -> None:
        """Read the ranges' results in order, as one pass over every shard would find things."""
        pairs = zip(tasks, results, strict=True)
        for plan in shards:
            mine = itertools.islice(pairs, plan.tasks)
            self._shard(plan, mine, walk)
            for _rest in mine:  # the ranges after a shard's walk stopped
                pass

    def _shard(
        self, plan: _ShardPlan, ranges: Iterator[tuple[_Range, _RangeResult]], walk: _Walk
    ) -> None:
        report = walk.report
        shard = plan.shard
        for finding in plan.checkpoints.findings:
            report.checkpoints += 1
            if finding is not None:
                self._find(report, shard, *finding)
        checkpoints = dict(plan.checkpoints.roots)
        held = dict(plan.held)
        tree = Frontier()
        chain = GENESIS_CHAIN
        expected = 0
        for task, result in ranges:
            walk.start_range(result)
            for seq, problems, snapshot in result.notable:
                report.entries += seq - expected
                expected = seq
                if seq > 0:  # one pass counts signatures entry by entry, so does a cut report
                    walk.verified_through(seq - 1)
                for problem, detail in problems:
                    self._find(report, shard, seq, problem, detail)
                walk.verified_through(seq)
                if snapshot is not None:
                    root = _joined(tree, snapshot).root()
                    held_root = held.pop(seq + 1, None)
                    if held_root is not None and held_root != root:
                        self._find(
                            report,
                            shard,
                            seq,
                            "forked_from_held_checkpoint",
                            f"the checkpoint you hold at size {seq + 1} commits to another tree",
                        )
                    signed_root = checkpoints.pop(seq + 1, None)
                    if signed_root is not None and signed_root != root:
                        self._find(
                            report,
                            shard,
                            seq,
                            "checkpoint_mismatch",
                            f"signed checkpoint at size {seq + 1} commits to another tree",
                        )
                expected += 1
                report.entries += 1
            report.entries += result.end - expected
            if result.end > task.start:
                walk.verified_through(result.end - 1)
            walk.advance(result.end - task.start)
            expected = result.end
            stop = result.stop
            if stop is None and task.end is not None and result.end < task.end:
                # The range ended early: entries are missing unless none follow at all.
                following = (r.first_seq for _, r in ranges)
                next_seq = next((s for s in following if s is not None), None)
                if next_seq is not None:
                    stop = ("missing_entry", expected, next_seq)
            if stop is not None:
                walk.stopped()
                kind, seq, next_seq = stop
                if kind == "missing_entry":
                    detail = f"entries {seq}..{next_seq - 1} are missing"
                else:
                    detail = "leaf bytes do not continue the hash chain (entry altered or moved)"
                self._find(report, shard, seq, kind, detail)
                return
            tree = _joined(tree, result.tree)
            chain = result.chain if result.end > task.start else chain
        report.shards[shard] = expected
        self._head(shard, plan.head.size, plan.head.root, plan.head.chain_head, tree, chain, report)
        for size in sorted(checkpoints):
            self._find(
                report,
                shard,
                size - 1,
                "checkpoint_beyond_ledger",
                f"signed checkpoint at size {size} but the ledger has {expected} entries",
            )
        for size in sorted(held):
            self._find(
                report,
                shard,
                size - 1,
                "rolled_back",
                f"the checkpoint you hold shows {size} entries; the ledger has {expected}",
            )

    # --- heads and checkpoints --------------------------------------------------------------

    def _checkpoints(self, shard: int) -> _Checkpoints:
        origin = f"{self._name}/shard/{shard}"
        found = _Checkpoints(list(self._store.checkpoints(shard)))
        for stored in found.stored:
            try:
                body = open_checkpoint(stored.note, self._verifier, origin=origin)
            except InvalidInputError as err:
                # A well-signed note of another shard or ledger is a mismatch, not a forgery.
                problem = (
                    "checkpoint_mismatch"
                    if isinstance(err, CheckpointError)
                    else "bad_checkpoint_signature"
                )
                found.findings.append(
                    (stored.size - 1, problem, f"checkpoint at size {stored.size}: {err}")
                )
                continue
            if body.size != stored.size:
                found.findings.append(
                    (
                        stored.size - 1,
                        "checkpoint_mismatch",
                        f"checkpoint stored at size {stored.size} is for size {body.size}",
                    )
                )
                continue
            found.findings.append(None)
            found.roots[body.size] = body.root_hash
        return found

    def _head(
        self,
        shard: int,
        size: int,
        root: bytes,
        chain_head: bytes,
        frontier: Frontier,
        chain: bytes,
        report: AuditReport,
    ) -> None:
        if frontier.size != size:
            self._find(
                report,
                shard,
                min(frontier.size, size),
                "head_mismatch",
                f"shard head says {size} entries, the ledger holds {frontier.size}",
            )
        elif frontier.root() != root:
            self._find(
                report,
                shard,
                None,
                "root_mismatch",
                "recomputed Merkle root differs from the shard head",
            )
        elif chain != chain_head:
            self._find(report, shard, None, "chain_break", "chain head differs from the shard head")

    def _find(
        self, report: AuditReport, shard: int, seq: int | None, problem: str, detail: str
    ) -> None:
        report.findings.append(AuditFinding(shard, seq, problem, detail))
        if len(report.findings) >= self._max:
            raise _EnoughFindingsError


@dataclass(slots=True)
class _Checkpoints:
    """A shard's stored checkpoints: the roots they sign by size, and what is wrong with each
    (``None``: nothing), in order."""

    stored: list[StoredCheckpoint]
    roots: dict[int, bytes] = field(default_factory=dict)
    findings: list[tuple[int, str, str] | None] = field(default_factory=list)


@dataclass(slots=True)
class _ShardPlan:
    shard: int
    head: ShardHead
    checkpoints: _Checkpoints = field(default_factory=lambda: _Checkpoints([]))
    held: dict[int, bytes] = field(default_factory=dict)
    trust_seqs: set[int] = field(default_factory=set)
    tasks: int = 0


class _Walk:
    """The state of the walk over the ranges' results that is not the report itself."""

    def __init__(self, report: AuditReport, progress: Callable[[int], None] | None) -> None:
        self.report = report
        self.progress = progress
        self.verified: set[_Verified] = set()
        self.chunks: Iterator[tuple[int, frozenset[_Verified]]] = iter(())
        self.pending: tuple[int, frozenset[_Verified]] | None = None

    def start_range(self, result: _RangeResult) -> None:
        self.chunks = iter(result.chunks)
        self.pending = next(self.chunks, None)

    def stopped(self) -> None:
        """The shard's walk stopped in this range: its chunks were all checked (and their
        signatures count), though no later entry was walked."""
        while self.pending is not None:
            self.verified |= self.pending[1]
            self.pending = next(self.chunks, None)

    def verified_through(self, seq: int) -> None:
        """Count the batch signatures verified by the chunks up to the one holding ``seq``
        (one pass counts them chunk by chunk, so a report cut short counts the same)."""
        while self.pending is not None and self.pending[0] <= seq:
            self.verified |= self.pending[1]
            self.pending = next(self.chunks, None)
        self.report.signatures = len(self.verified)

    def advance(self, entries: int) -> None:
        if self.progress is not None and entries > 0:
            self.progress(entries)


def _joined(tree: Frontier, spans: Sequence[bytes]) -> Frontier:
    """``tree`` followed by the trees of a range's spans (``tree`` itself is not changed)."""
    joined = tree.copy()
    for span in spans:
        joined.join(Frontier.from_bytes(span))
    return joined


def _replay_trust(
    store: LedgerStore, roots: Sequence[RootKey]
) -> tuple[SignatureChecker, list[tuple[int, int, str]]]:
    """Replay the trust events in trust order: the checker that results, and the trust events
    that failed as (shard, seq, why)."""
    checker = SignatureChecker(roots)
    failed: list[tuple[int, int, str]] = []
    for number, (shard, seq) in enumerate(store.trust_positions(), start=1):
        entry = store.entry(shard, seq)
        try:
            leaf = Leaf.from_bytes(entry.leaf)
            checker.apply_trust(number, leaf, decode_event(leaf.event))
        except SuyuanError as err:
            failed.append((shard, seq, str(err)))
    return checker, failed


class _RangeChecker:
    """Checks ranges of entries: in this process, or in each worker process."""

    def __init__(
        self,
        store: LedgerStore,
        checker: SignatureChecker,
        repeated: dict[tuple[int, int], tuple[int, int]],
    ) -> None:
        self._store = store
        self._checker = checker
        self._repeated = repeated

    def check(self, task: _Range) -> _RangeResult:
        """Leaves, events, index rows, signatures, hash chain and tree of one range.

        The chain starts from the stored chain hash of the entry before the range; the range
        before checks that entry against its own chain, so the chain is checked across.

        Chunks hold ``task.chunk`` entries as read, like one pass's: where entries are missing
        the last chunk reads on past the range's end (the walk stops at the gap anyway), so
        the batch signatures it verifies, and the report's count of them, are one pass's."""
        result = _RangeResult(end=task.start)
        if task.start == 0:
            chain = GENESIS_CHAIN
        else:
            try:
                chain = self._store.entry(task.shard, task.start - 1).chain_hash
            except EntryNotFoundError:  # entries are missing: only where the range starts counts
                inside = self._store.entries(task.shard, task.start, task.end)
                result.first_seq = next((e.seq for e in inside), None)
                return result
        entries: Iterator[StoredEntry] = self._store.entries(task.shard, task.start, task.end)
        if task.end is not None:
            # Read (lazily) only when the range ends before a chunk is full.
            entries = itertools.chain(entries, _entries_from(self._store, task.shard, task.end))
        self._checker.forget_verified()
        spans: list[Frontier] = []
        expected = task.start
        chunk: list[StoredEntry] = []
        for entry in entries:
            if result.first_seq is None:
                result.first_seq = entry.seq
            chunk.append(entry)
            if len(chunk) == task.chunk:
                chain, expected = self._walk_chunk(task, chunk, chain, expected, spans, result)
                chunk = []
                if (
                    result.stop is not None
                    or result.problems >= task.max_findings
                    or (task.end is not None and expected >= task.end)
                ):
                    break
        else:
            if chunk:
                chain, expected = self._walk_chunk(task, chunk, chain, expected, spans, result)
        result.tree = tuple(span.to_bytes() for span in spans)
        return result

    def _walk_chunk(
        self,
        task: _Range,
        chunk: list[StoredEntry],
        chain: bytes,
        expected: int,
        spans: list[Frontier],
        result: _RangeResult,
    ) -> tuple[bytes, int]:
        before = self._checker.signatures
        problems = self._check_chunk(task, chunk)
        result.chunks.append((chunk[0].seq, frozenset(self._checker.verified_since(before))))
        span = spans[-1] if spans else Frontier()
        for entry, found in zip(chunk, problems, strict=True):
            if entry.seq != expected:
                result.stop = ("missing_entry", expected, entry.seq)
                return chain, expected
            hashed = leaf_hash(entry.leaf)
            following = chain_next(chain, hashed)
            if following != entry.chain_hash:
                result.stop = ("chain_break", entry.seq, entry.seq)
                return chain, expected
            chain = following
            if expected % task.span == 0:
                span = Frontier()
                spans.append(span)
            span.add(hashed)
            expected += 1
            result.end = expected
            result.chain = chain
            if found or expected in task.sizes:
                snapshot = None
                if expected in task.sizes:
                    snapshot = tuple(span.to_bytes() for span in spans)
                result.notable.append((entry.seq, found, snapshot))
                result.problems += len(found)
                if result.problems >= task.max_findings:
                    break
        return chain, expected

    def _check_chunk(self, task: _Range, chunk: list[StoredEntry]) -> list[_Problems]:
        """What is wrong with each entry's content (leaf, event, index rows, signature); the
        events of one signed batch in the chunk are checked together
        (:meth:`SignatureChecker.check_many`)."""
        problems: list[_Problems] = []
        numbers: list[int] = []
        signed: list[tuple[Leaf, EventSummary]] = []
        for number, entry in enumerate(chunk):
            found: _Problems = []
            problems.append(found)
            parsed = self._content(task, entry, found)
            if parsed is not None:
                numbers.append(number)
                signed.append(parsed)
        errors = self._checker.check_many(signed)
        for number, error in zip(numbers, errors, strict=True):
            if error is not None:
                problems[number].append((error.reason, str(error)))
        return problems

    def _content(
        self, task: _Range, entry: StoredEntry, found: _Problems
    ) -> tuple[Leaf, EventSummary] | None:
        """Check one entry's leaf, event and index rows, adding (problem, detail) to ``found``;
        the leaf and what its signature check needs of the event."""
        shard = task.shard
        try:
            leaf = Leaf.from_bytes(entry.leaf)
        except InvalidInputError as err:
            found.append(("bad_leaf", str(err)))
            return None
        if (leaf.shard, leaf.seq) != (shard, entry.seq):
            found.append(("misplaced_entry", f"leaf says shard {leaf.shard} seq {leaf.seq}"))
            return None
        try:
            # Only the id, type and actor: the bytes after them are the signed bytes the chain,
            # the tree and the batch signature cover, and the writer decoded them in full.
            event = event_summary(leaf.event)
        except InvalidInputError as err:
            found.append(("bad_event", str(err)))
            return None
        if event.event_id != entry.event_id:
            found.append(
                ("index_mismatch", f"row says event {entry.event_id}, leaf holds {event.event_id}")
            )
        first = self._repeated.get((shard, entry.seq)) if self._repeated else None
        if first is not None:
            found.append(
                (
                    "duplicate_event",
                    f"event {event.event_id} is already entry {first[1]} of shard {first[0]}",
                )
            )
        trust_event = event.event_type in TRUST_EVENT_TYPES
        if trust_event and entry.seq not in task.trust_seqs:
            found.append(
                ("trust_index_incomplete", f"{event.event_type} is missing from the trust index")
            )
        if leaf.trust_size is not None and (shard == TRUST_SHARD) != trust_event:
            found.append(
                (
                    "wrong_shard",
                    f"{event.event_type} on shard {shard}: trust events, and only they, belong "
                    f"on the trust shard {TRUST_SHARD}",
                )
            )
        return leaf, event


def _entries_from(store: LedgerStore, shard: int, start: int) -> Iterator[StoredEntry]:
    yield from store.entries(shard, start)


#: The range checker of a worker process (set by :func:`_start_worker`).
_WORKER: _RangeChecker | None = None


def _start_worker(
    url: str, roots: list[tuple[bytes, str]], repeated: dict[tuple[int, int], tuple[int, int]]
) -> None:
    """Open the ledger and replay the trust events once per worker process."""
    global _WORKER
    tune_garbage_collector()
    store = SqlLedgerStore(create_ledger_engine(url, for_writing=False))
    keys = [RootKey(VerifyKey.from_raw(raw), organisation) for raw, organisation in roots]
    checker, _failed = _replay_trust(store, keys)  # the parent reports them
    _WORKER = _RangeChecker(store, checker, repeated)


def _check_in_worker(task: _Range) -> _RangeResult:
    if _WORKER is None:
        raise RuntimeError("worker process not started")
    return _WORKER.check(task)


class SignatureChecker:
    """Checks leaves' signatures against the trust chain as their writer saw it: the auditor's
    check, and a monitor's that follows the log from outside (:mod:`suyuan.monitor`).

    Trust events are applied in trust order with :meth:`apply_trust`; :meth:`check` then judges
    any leaf whose ``trust_size`` is at most :attr:`trust_size`. A batch signature is verified
    once, however many of its events are checked.
    """

    def __init__(self, roots: Sequence[RootKey]) -> None:
        self.trust = TrustStore(roots)
        self._history = _TrustHistory(self.trust)
        self._verified_batches: set[_Verified] = set()
        self._verified_order: list[_Verified] = []

    @property
    def trust_size(self) -> int:
        """The trust order number of the last trust event applied."""
        return self._history.size

    @property
    def signatures(self) -> int:
        """Batch signatures verified so far."""
        return len(self._verified_batches)

    @property
    def verified(self) -> frozenset[_Verified]:
        """The batch signatures verified so far (key id, signature, batch root and size)."""
        return frozenset(self._verified_batches)

    def verified_since(self, count: int) -> list[_Verified]:
        """The batch signatures verified after the first ``count``."""
        return self._verified_order[count:]

    def forget_verified(self) -> None:
        """Verify every batch signature again when next met (ranges checked apart each
        report what they verified)."""
        self._verified_batches = set()
        self._verified_order = []

    def apply_trust(self, number: int, leaf: Leaf, event: Event) -> None:
        """Check trust event ``number`` (from 1, in trust order) and apply it.

        Raises:
            SignatureError: not signed by a root key, or the signature fails.
            SuyuanError: the trust store refuses the event; nothing is applied then.
        """
        self.check(leaf, event)
        self.trust.apply(event)
        self._history.applied(number, leaf, event)

    def check(self, leaf: Leaf, event: Event | EventSummary) -> None:
        """Whether ``leaf``'s signer could sign ``event`` when it was judged, and its batch
        signature verifies.

        Raises:
            UnknownKeyError, RevokedKeyError, WrongSignerError: see :meth:`_TrustHistory.check`.
            SignatureError: the batch signature does not verify.
        """
        self._history.check(leaf, event)
        self._verify(leaf, _proof_from_path(leaf))

    def check_many(
        self, leaves: Sequence[tuple[Leaf, Event | EventSummary]]
    ) -> list[SignatureError | None]:
        """:meth:`check` of each leaf, what it raised (or ``None``) in order.

        The events of one signed batch found here in full are checked together: the batch's
        tree is built once from their events and must give every leaf its stored audit path,
        instead of one root computed per leaf (a batch only partly here, e.g. with an event
        refused or a duplicate, is checked leaf by leaf)."""
        errors: list[SignatureError | None] = [None] * len(leaves)
        batches: dict[tuple[str, bytes, int], list[int]] = {}
        for number, (leaf, event) in enumerate(leaves):
            try:
                self._history.check(leaf, event)
            except SignatureError as err:
                errors[number] = err
                continue
            batches.setdefault((leaf.key_id, leaf.signature, leaf.batch_size), []).append(number)
        for (_key_id, _signature, size), members in batches.items():
            found = [leaves[n][0] for n in members]
            whole = self._whole_batch(found, size)
            if whole is not None:
                # Every member's proof has the batch's root and size: one check answers all.
                try:
                    self._verify(found[0], whole[0])
                except SignatureError as err:
                    for number in members:
                        errors[number] = err
                continue
            for number, leaf in zip(members, found, strict=True):
                try:
                    self._verify(leaf, _proof_from_path(leaf))
                except SignatureError as err:
                    errors[number] = err
        return errors

    @staticmethod
    def _whole_batch(members: list[Leaf], size: int) -> tuple[BatchProof, ...] | None:
        """The proofs of a batch whose every event is among ``members``, each leaf holding its
        proof's audit path; ``None`` otherwise (then each leaf is checked alone)."""
        if len(members) != size or sorted(m.batch_index for m in members) != list(range(size)):
            return None
        ordered = sorted(members, key=lambda m: m.batch_index)
        first = ordered[0]
        events = tuple(m.event for m in ordered)
        proofs = batch_proofs(SignedBatch(first.key_id, first.signature, events))
        if any(m.batch_path != p.audit_path for m, p in zip(ordered, proofs, strict=True)):
            return None
        return proofs

    def _verify(self, leaf: Leaf, proof: BatchProof) -> None:
        key = self.trust.key_for(leaf.key_id)
        cache_key = (leaf.key_id, leaf.signature, proof.root + proof.count.to_bytes(8, "big"))
        if cache_key not in self._verified_batches:
            verify_batch_root(proof, leaf.signature, key)
            self._verified_batches.add(cache_key)
            self._verified_order.append(cache_key)


def _proof_from_path(leaf: Leaf) -> BatchProof:
    """The batch proof a leaf's own audit path gives (raises SignatureError if it cannot)."""
    return batch_proof_from_path(leaf.event, leaf.batch_size, leaf.batch_index, leaf.batch_path)


class _TrustHistory:
    """When each signing key became usable and stopped being usable, in trust order.

    A second-format leaf records how many trust events its writer had applied
    (``trust_size``): its key must have been registered by then and not yet revoked — exactly
    what the writer decided. First-format leaves carry no such number; they are judged by time
    of recording, as they were written.
    """

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self.size = 0
        self._registered: dict[str, int] = {}
        self._revoked: dict[str, tuple[int, datetime]] = {}

    def applied(self, number: int, leaf: Leaf, event: Event) -> None:
        """Trust event ``number`` (from 1, in trust order) was applied."""
        self.size = number
        key_id = str(event.payload.get("key_id", ""))
        if event.event_type == SIGNING_KEY_REGISTERED:
            self._registered.setdefault(key_id, number)
        elif event.event_type == SIGNING_KEY_REVOKED:
            self._revoked.setdefault(key_id, (number, leaf.recorded_at))

    def check(self, leaf: Leaf, event: Event | EventSummary) -> None:
        """Whether ``leaf``'s key could sign ``event`` when it was judged.

        Raises:
            UnknownKeyError: the key was registered only after the event was judged.
            RevokedKeyError: the key was revoked before the event was judged.
            WrongSignerError: a root key signed a non-trust event, a registered key a trust
                event, or the key belongs to another organisation than the event's actor.
        """
        trust = self.trust
        if trust.is_root(leaf.key_id):
            if event.event_type not in TRUST_EVENT_TYPES:
                raise WrongSignerError("key_id", leaf.key_id, "root keys sign only trust events")
            return
        if event.event_type in TRUST_EVENT_TYPES:
            raise WrongSignerError(
                "key_id", leaf.key_id, "trust events must be signed by a regulator root key"
            )
        owner = trust.organisation_of(leaf.key_id)
        if owner != event.actor:
            raise WrongSignerError("actor", event.actor, f"key {leaf.key_id} belongs to {owner}")
        revoked = self._revoked.get(leaf.key_id)
        if leaf.trust_size is None:
            if revoked is not None and revoked[1] <= leaf.recorded_at:
                raise RevokedKeyError(
                    "key_id", leaf.key_id, f"was revoked at {revoked[1].isoformat()}"
                )
            return
        registered = self._registered.get(leaf.key_id, 0)
        if registered > leaf.trust_size:
            raise UnknownKeyError(
                "key_id",
                leaf.key_id,
                f"was registered by trust event {registered}, after the {leaf.trust_size} "
                "the writer had applied",
            )
        if revoked is not None and revoked[0] <= leaf.trust_size:
            raise RevokedKeyError(
                "key_id",
                leaf.key_id,
                f"was revoked by trust event {revoked[0]}, before the {leaf.trust_size} "
                "the writer had applied",
            )
