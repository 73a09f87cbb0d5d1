"""The benchmarks of one storage backend: append, proofs, audit, bytes per event (design.md §10).

Appends go through :class:`suyuan.intake.LedgerWriter` (the one write path: decode, verify,
validate, append with the consumer offset) or straight into ``SqlLedgerStore.append`` with
pre-built submissions. Each timed run writes into a fresh ledger; the last ledger of each
stream is kept and the proof, audit and size benchmarks read it.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench._backends import Backend
from bench._report import Result, progress, rounded
from bench._stats import WARM_UP, latencies_ms, median, p99, seconds
from bench._targets import (
    APPEND_BATCHED,
    APPEND_PER_EVENT,
    APPEND_STORE_ONLY,
    AUDIT,
    BYTES_PER_EVENT,
    PROOF_MEDIAN,
    PROOF_P99,
    Target,
)
from bench._workload import BATCH_SIZE, Stream, Workload, cold_code_cache
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    Ledger,
    OffsetCommit,
    SqlLedgerStore,
    Submission,
    default_jobs,
)
from suyuan.merkle import leaf_hash, verify_consistency, verify_inclusion
from suyuan.signing import RootKey
from suyuan.tlog import NoteSigner, verify_receipt

SHARD = 0
#: Benchmark names of a backend; ``{b}`` is the backend name.
GROUPS = (
    "append_{b}_batch500",
    "append_{b}_per_event",
    "append_{b}_store_only",
    "proof_{b}",
    "audit_{b}",
    "bytes_per_event_{b}",
)


class BenchError(RuntimeError):
    """A benchmark did not do the work it measures (e.g. events were rejected)."""


@dataclass(frozen=True, slots=True)
class Settings:
    events: int
    per_event_events: int
    runs: int
    samples: int
    profile: bool
    seed: int


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    run: Callable[[], list[Result]]


@dataclass(frozen=True, slots=True)
class _Kind:
    """A stream and how it is written: ``label`` names the ledger it leaves behind."""

    label: str
    stream: Stream
    messages_per_write: int
    target: Target
    what: str


_Plan = list[tuple[list[Message], OffsetCommit]]


class BackendSuite:
    def __init__(
        self, backend: Backend, workload: Workload, settings: Settings, signer: NoteSigner
    ) -> None:
        self._backend = backend
        self._workload = workload
        self._settings = settings
        self._signer = signer
        self._ledgers: dict[str, SqlLedgerStore] = {}
        self._batched = _Kind(
            "batch500",
            workload.batched,
            1,
            APPEND_BATCHED,
            f"events signed in batches of {BATCH_SIZE} (one signature per message), "
            "one message per write",
        )
        self._per_event = _Kind(
            "per_event",
            workload.per_event,
            BATCH_SIZE,
            APPEND_PER_EVENT,
            f"events signed one by one (one signature per message), {BATCH_SIZE} messages "
            "per write",
        )

    def benchmarks(self) -> list[Benchmark]:
        b = self._backend.name
        runs = (
            lambda: self._append(self._batched),
            lambda: self._append(self._per_event),
            self._append_store_only,
            self._proofs,
            self._audit,
            self._bytes_per_event,
        )
        return [Benchmark(g.format(b=b), run) for g, run in zip(GROUPS, runs, strict=True)]

    def close(self) -> None:
        for store in self._ledgers.values():
            self._backend.drop(store)
        self._ledgers.clear()

    # --- append -----------------------------------------------------------------------------

    def _append(self, kind: _Kind) -> list[Result]:
        plan = _plan(kind.stream.messages, kind.messages_per_write)
        rates = []
        for _ in range(self._settings.runs):
            store, writer = self._new_ledger(kind.label)
            cold_code_cache()
            elapsed = seconds(partial(_write, writer, plan, kind.stream.events))
            self._keep(kind.label, store)
            rates.append(kind.stream.events / elapsed)
        if self._settings.profile:
            self._profile_append(kind, plan)
        return [
            self._rate_result(
                f"append_{self._backend.name}_{kind.label}",
                rates,
                kind.target,
                f"LedgerWriter.write (decode, signature check, validation, append with the "
                f"offset compare-and-set) of {kind.stream.events} {kind.what}, one transaction "
                f"per {BATCH_SIZE} events; one process",
                {"events": kind.stream.events},
            )
        ]

    def _append_store_only(self) -> list[Result]:
        submissions = self._workload.submissions()
        chunks = _chunks(submissions, BATCH_SIZE)
        rates = []
        for _ in range(self._settings.runs):
            store, _writer = self._new_ledger("store_only")
            cold_code_cache()
            try:
                elapsed = seconds(partial(_store_append, store, chunks))
            finally:
                self._backend.drop(store)
            rates.append(len(submissions) / elapsed)
        return [
            self._rate_result(
                f"append_{self._backend.name}_store_only",
                rates,
                APPEND_STORE_ONLY,
                f"SqlLedgerStore.append of {len(submissions)} pre-built Submission values (no "
                "decoding, signature check or validation): leaves, hash chain, Merkle nodes, "
                f"projections and offset, one transaction per {BATCH_SIZE} events",
                {"events": len(submissions)},
            )
        ]

    def _rate_result(
        self, name: str, rates: list[float], target: Target, what: str, details: dict[str, Any]
    ) -> Result:
        value = median(rates)
        return Result(
            name=name,
            backend=self._backend.name,
            value=rounded(value, "events/s"),
            unit="events/s",
            target=target,
            note=f"{what}; median of {len(rates)} runs, each on a fresh ledger",
            runs=tuple(rounded(r, "events/s") for r in rates),
            details={**details, "us_per_event": round(1e6 / value, 1)},
        )

    def _new_ledger(self, label: str) -> tuple[SqlLedgerStore, LedgerWriter]:
        return new_ledger(self._backend, self._workload.root, self._workload.trust_message, label)

    def _keep(self, label: str, store: SqlLedgerStore) -> None:
        previous = self._ledgers.pop(label, None)
        if previous is not None:
            self._backend.drop(previous)
        self._ledgers[label] = store

    def _ledger(self, kind: _Kind) -> SqlLedgerStore:
        """The ledger an append benchmark left, or one written now (untimed)."""
        if kind.label not in self._ledgers:
            progress(f"  writing the {kind.label} ledger ({kind.stream.events} events, untimed)")
            store, writer = self._new_ledger(kind.label)
            _write(writer, _plan(kind.stream.messages, kind.messages_per_write), 0)
            self._keep(kind.label, store)
        return self._ledgers[kind.label]

    def _profile_append(self, kind: _Kind, plan: _Plan) -> None:
        store, writer = self._new_ledger("profile")
        cold_code_cache()
        try:
            self._profile(f"append {kind.label}", partial(_write, writer, plan, 0))
        finally:
            self._backend.drop(store)

    def _profile(self, what: str, work: Callable[[], object]) -> None:
        """Run ``work`` once more under cProfile (never part of a figure); stats to stderr."""
        profiler = cProfile.Profile()
        profiler.runcall(work)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(25)
        progress(
            f"profile of one {what} run on {self._backend.name} (not timed):\n{out.getvalue()}"
        )

    # --- proofs -----------------------------------------------------------------------------

    def _proofs(self) -> list[Result]:
        store = self._ledger(self._batched)
        ledger = Ledger(store, self._signer)
        ledger.checkpoint(SHARD)
        head = store.head(SHARD)
        size = head.size
        rng = random.Random(self._settings.seed)
        n = min(self._settings.samples, size - WARM_UP - 1)
        seqs = [rng.randrange(size) for _ in range(n + WARM_UP)]
        ids = rng.sample(self._workload.batched.event_ids, n + WARM_UP)
        olds = [rng.randrange(1, size) for _ in range(n + WARM_UP)]

        inclusion = latencies_ms(lambda seq: ledger.inclusion_proof(SHARD, seq, size), seqs)
        path = ledger.inclusion_proof(SHARD, seqs[0], size)
        verify_inclusion(
            leaf_hash(store.entry(SHARD, seqs[0]).leaf), seqs[0], size, path, head.root
        )

        receipts = latencies_ms(ledger.receipt, ids)
        leaf = store.entry(*store.locate(ids[0])).leaf
        verify_receipt(ledger.receipt(ids[0]), ledger.verifier, leaf_data=leaf)

        consistency = latencies_ms(lambda old: ledger.consistency_proof(SHARD, old, size), olds)
        proof = ledger.consistency_proof(SHARD, olds[0], size)
        verify_consistency(olds[0], size, ledger.root_at(SHARD, olds[0]), head.root, proof)

        what = {
            "inclusion": f"Ledger.inclusion_proof(shard, seq, {size}) for {n} random seqs of a "
            f"{size}-entry shard (one query for the O(log n) stored Merkle nodes)",
            "receipt": f"Ledger.receipt(event_id) for {n} random events: locate, newest signed "
            "checkpoint (signature checked), leaf, inclusion proof, C2SP tlog-proof text",
            "consistency": f"Ledger.consistency_proof(shard, old, {size}) for {n} random old sizes",
        }
        results: list[Result] = []
        for proof_kind, times in (
            ("inclusion", inclusion),
            ("receipt", receipts),
            ("consistency", consistency),
        ):
            results.extend(self._latency_results(proof_kind, times, what[proof_kind], size))
        return results

    def _latency_results(
        self, kind: str, times_ms: list[float], what: str, size: int
    ) -> list[Result]:
        name = f"proof_{self._backend.name}_{kind}"
        note = f"{what}; after {WARM_UP} untimed calls; each proof checked once"
        return [
            Result(
                f"{name}_{label}",
                rounded(stat(times_ms), "ms"),
                "ms",
                target,
                note,
                backend=self._backend.name,
                details={"samples": len(times_ms), "ledger_entries": size},
            )
            for label, stat, target in (
                ("median", median, PROOF_MEDIAN),
                ("p99", p99, PROOF_P99),
            )
        ]

    # --- audit ------------------------------------------------------------------------------

    def _audit(self) -> list[Result]:
        return [self._audit_one(kind) for kind in (self._batched, self._per_event)]

    def _audit_one(self, kind: _Kind) -> Result:
        store = self._ledger(kind)
        Ledger(store, self._signer).checkpoint(SHARD)
        rates = []
        for _ in range(self._settings.runs):
            auditor = self._auditor(store)
            start = time.perf_counter()
            report = auditor.run()
            elapsed = time.perf_counter() - start
            if not report.ok:
                raise BenchError(f"audit of the {kind.label} ledger failed: {report.findings[0]}")
            rates.append(report.entries / elapsed)
        if self._settings.profile:
            # In one process: a profile of the parent would show only the waiting.
            self._profile(f"audit {kind.label}", self._auditor(store, jobs=1).run)
        value = median(rates)
        return Result(
            name=f"audit_{self._backend.name}_{kind.label}",
            backend=self._backend.name,
            value=rounded(value, "events/s"),
            unit="events/s",
            target=AUDIT,
            note=(
                f"Auditor.run() (what `suyuan verify` runs, --jobs {default_jobs()}: "
                f"{_processes(report.jobs)}) over the {report.entries}-entry ledger "
                f"of {kind.what}: chain, leaves, events' id/type/actor, {report.signatures} batch "
                f"signatures, Merkle root, {report.checkpoints} checkpoint(s); median of "
                f"{len(rates)} runs"
            ),
            runs=tuple(rounded(r, "events/s") for r in rates),
            details={
                "entries": report.entries,
                "batch_signatures": report.signatures,
                "jobs": default_jobs(),
                "processes": report.jobs,
                "projected_seconds_for_10M_events": round(10_000_000 / value, 1),
            },
        )

    def _auditor(self, store: SqlLedgerStore, jobs: int | None = None) -> Auditor:
        return Auditor(
            store,
            self._signer.verifier,
            [self._workload.root],
            ledger_name=self._signer.name,
            jobs=default_jobs() if jobs is None else jobs,
        )

    # --- size -------------------------------------------------------------------------------

    def _bytes_per_event(self) -> list[Result]:
        return [self._bytes_one(kind) for kind in (self._batched, self._per_event)]

    def _bytes_one(self, kind: _Kind) -> Result:
        store = self._ledger(kind)
        entries = store.head(SHARD).size
        with store.engine.connect() as conn:
            leaf_avg = conn.exec_driver_sql("SELECT avg(length(leaf)) FROM ledger_entries").scalar()
        usage = self._backend.disk_usage(store)
        how = (
            "database file size after PRAGMA wal_checkpoint(TRUNCATE)"
            if self._backend.name == "sqlite"
            else "sum of pg_total_relation_size over the ledger tables after VACUUM"
        )
        return Result(
            name=f"bytes_per_event_{self._backend.name}_{kind.label}",
            backend=self._backend.name,
            value=rounded(usage.total / entries, "bytes"),
            unit="bytes",
            target=BYTES_PER_EVENT,
            note=f"{how}, divided by the {entries} entries of the ledger of {kind.what}",
            details={
                "entries": entries,
                "total_bytes": usage.total,
                "bytes_per_event_by_table": usage.per_entry(entries),
                "leaf_bytes_avg": round(float(leaf_avg or 0), 1),
                "event_bytes_avg": round(kind.stream.event_bytes / kind.stream.events, 1),
            },
        )


def new_ledger(
    backend: Backend, root: RootKey, trust_message: bytes, label: str
) -> tuple[SqlLedgerStore, LedgerWriter]:
    """A fresh ledger holding the trust events on the trust shard, and its writer; the
    events shard's next offset is 1 (offset 0 stands for the trust message)."""
    store = backend.new_store(label)
    writer = LedgerWriter(store, [root])
    result = writer.write(
        TRUST_SHARD, [Message("bench.trust[0]@0", trust_message)], offset=OffsetCommit(None, 1)
    )
    if result.rejections:
        raise BenchError(f"trust events rejected: {result.rejections[0]}")
    writer.write(SHARD, [], offset=OffsetCommit(None, 1))
    return store, writer


def _source(offset: int) -> str:
    return f"bench[{SHARD}]@{offset}"


def _processes(jobs: int) -> str:
    if jobs > 1:
        return f"{jobs} worker processes, each checking ranges of the shard"
    return "one process (a ledger this small is not split: starting workers costs more)"


def _plan(messages: Sequence[bytes], per_write: int) -> _Plan:
    """Writes of ``per_write`` messages, with the offsets a consumer would commit (0 = trust)."""
    plan: _Plan = []
    for start in range(0, len(messages), per_write):
        first = start + 1
        part = messages[start : start + per_write]
        batch = [Message(_source(first + i), data) for i, data in enumerate(part)]
        plan.append((batch, OffsetCommit(first, first + len(part))))
    return plan


def _write(writer: LedgerWriter, plan: _Plan, expected: int) -> None:
    """Run ``plan``; every event must be appended (``expected`` > 0 checks the count)."""
    appended = 0
    for messages, offset in plan:
        result = writer.write(SHARD, messages, offset=offset)
        if result.rejections:
            raise BenchError(f"workload event rejected: {result.rejections[0]}")
        appended += result.accepted
    if expected and appended != expected:
        raise BenchError(f"appended {appended} events, expected {expected}")


def _chunks(
    submissions: Sequence[Submission], size: int
) -> list[tuple[Sequence[Submission], OffsetCommit]]:
    return [
        (submissions[start : start + size], OffsetCommit(n + 1, n + 2))
        for n, start in enumerate(range(0, len(submissions), size))
    ]


def _store_append(
    store: SqlLedgerStore, chunks: list[tuple[Sequence[Submission], OffsetCommit]]
) -> None:
    for submissions, offset in chunks:
        result = store.append(SHARD, submissions, offset=offset)
        if len(result.appended) != len(submissions):
            raise BenchError(f"{len(result.duplicates)} submissions taken for duplicates")
