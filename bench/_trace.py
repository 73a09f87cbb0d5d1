"""Trace queries: ``GET /v1/trace/{code}`` over HTTP and the recall scope (design.md §7, §8, §10).

A ledger — a SQLite file, and a database on PostgreSQL — of ``--trace-events`` farm-lot
events (:func:`suyuan.scenario.bulk_messages`, written through
:class:`suyuan.intake.LedgerWriter`) plus three structures made with
:class:`suyuan.scenario.Scenario`:

- **deep**: chains of ten purchasers, each receiving the lot of the one before, repacking it
  into a new lot and issuing a purchaser certificate linked to the upstream one; the last lot is
  cut into units, packed into cases on a pallet, shipped, received and sold. A unit's backward
  trace crosses ~23 codes and ~50 events over 13 levels;
- **wide**: a farm lot cut into 2,000 pieces (ten ``Transformed`` events) packed into 100
  cases on 5 pallets shipped to 5 distributors: the lot's public trace holds the ten big
  ``Transformed`` events, its full trace 2,000 codes forward and the 6 organisations that held
  them (the plant, and the distributors through the pallets);
- **recall**: a vaccine lot processed into ``cases`` cases (``Transformed``), each case holding
  ``units`` 药品追溯码 units (one ``Aggregated`` per case), the cases received by ten CDCs.

The ledger is kept under ``build/bench-ledgers/`` keyed by its size, shape, seed and backend
(PostgreSQL: the cluster's directory, served on a free port while the benchmarks run), and
reused by the next run (the report says whether it was). A PostgreSQL ledger whose SQLite twin
(the same settings) is kept is copied from it row for row (:mod:`bench._copy`; minutes, where
writing it again took hours); the manifest says ``copied_from``. The query service runs as ``suyuan
serve-query`` in its own process (rate limit off), so the clients never share its GIL; the
recall scope is timed in process.
"""

from __future__ import annotations

import cProfile
import dataclasses
import http.client
import io
import json
import multiprocessing
import multiprocessing.queues
import os
import pstats
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from bench._backends import LOG_DIR, postgres_disk_usage, sqlite_disk_usage
from bench._copy import copy_sqlite_ledger
from bench._report import Result, progress
from bench._stats import WARM_UP, latencies_ms, median, p99
from bench._suite import BenchError, Benchmark
from bench._targets import AUDIT, BYTES_PER_EVENT, PROOF_MEDIAN, PROOF_P99, REQUEST_P99_MS, Target
from suyuan.auth import Role, create_token, revoke_token
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message, shard_for
from suyuan.ledger import (
    Auditor,
    Ledger,
    SqlLedgerStore,
    create_ledger_engine,
    default_jobs,
    initialise,
    load_or_create_ledger_key,
    migrate,
)
from suyuan.merkle import leaf_hash, verify_inclusion
from suyuan.scenario import Organisation, Scenario, bulk_messages, vegetable_certificate
from suyuan.tlog import verify_receipt
from suyuan.trace import Tracer, trace_json

if TYPE_CHECKING:
    from infra.local_services import PostgresServer

LEDGER_DIR = Path(__file__).resolve().parent.parent / "build" / "bench-ledgers"
#: Bump when the builder writes something else: ledgers of an older build are then not reused.
BUILD_VERSION = 3
#: How far the scenario clock moves per farm-lot event of the bulk (``Scenario.step``): 10M
#: events fit in the years the writer accepts.
BULK_STEP = timedelta(seconds=30)
#: The bulk's span per event, with a margin over :data:`BULK_STEP`.
BULK_SPAN_PER_EVENT = timedelta(seconds=40)
#: The earliest time of occurrence the writer accepts (docs/events.md, Bounds).
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
SHARD = 0
LEDGER_NAME = "bench.suyuan.local/trace"
DEFAULT_EVENTS = 10_000_000
#: Disk a trace ledger takes per farm-lot event, with room to spare (measured at 10M: 2.8 kB on
#: SQLite, 2.9 kB on PostgreSQL copied from it, 3.5 kB on PostgreSQL written event by event).
BYTES_PER_EVENT_BUILT = 3_600
QUICK_EVENTS = 20_000
VIEWS = ("public", "regulator")
KINDS = ("random", "deep", "wide")
#: The databases a trace ledger is built on; the benchmark names end with the backend's name.
TRACE_BACKENDS = ("sqlite", "postgresql")
HTTP_GROUP = "trace_http_{b}"
RECALL_GROUP = "recall_scope_{b}"
#: Audit, size and proofs of the whole trace ledger: the figures at its scale (10M events).
SCALE_GROUP = "ledger_scale_{b}"
SCALE_PROOFS = 1_000
RECALL_RUNS = 3
#: Purchasers between the farm and the last lot of a deep chain.
DEEP_LEVELS = 10
WIDE_PIECES = 2_000
PIECES_PER_TRANSFORM = 200
PIECES_PER_CASE = 20
CASES_PER_PALLET = 20
CASES_PER_TRANSFORM = 200
RECALL_HOLDERS = 10
#: Messages are cut at this many bytes of events (the writer accepts up to 8 MiB).
MESSAGE_BYTES = 4 * 1024 * 1024
SERVER_START_S = 60.0
REQUEST_TIMEOUT_S = 300.0
BULK_MAKER_WAIT_S = 120.0
#: Company prefix of the cases and pallets made after the bulk (never one of the bulk's).
OWN_PREFIX = "6905555"

P99_TARGET = Target(
    f"<= {REQUEST_P99_MS:g} ms p99 (GET /v1/trace on a 10M-event ledger)",
    lambda v: v <= REQUEST_P99_MS,
)
P50_TARGET = Target("none of its own (see the p99 figure)")
FIRST_PASS_TARGET = Target("none (a figure of the page cache, beside the loads' p99)")
#: The query service as uvicorn builds it in each worker process (settings from the environment).
RECALL_TARGET = Target("<= 1 s (recall scope of 1M affected units)", lambda v: v <= 1.0)


def trace_names() -> list[str]:
    return [g.format(b=b) for b in TRACE_BACKENDS for g in (HTTP_GROUP, RECALL_GROUP, SCALE_GROUP)]


@dataclass(frozen=True, slots=True)
class TraceSettings:
    events: int
    """Farm-lot events of the bulk (the deep, wide and recall structures come on top)."""
    recall_cases: int
    units_per_case: int
    deep_chains: int
    wide_lots: int
    random_codes: int
    seconds_per_load: float
    clients: int
    seed: int
    profile: bool
    warm_up_s: float = 0.0
    """Seconds of the same load before each timed one, not timed: the figures are of a running
    service, not of its first requests (new connections, statements not prepared yet)."""
    query_workers: int = 1
    """Query service processes behind the one port (1: ``suyuan serve-query``)."""
    backend: str = "sqlite"
    """``sqlite`` (a file) or ``postgresql`` (a cluster kept beside the manifest)."""

    @classmethod
    def chosen(
        cls,
        events: int | None,
        *,
        quick: bool,
        profile: bool,
        seed: int,
        query_workers: int = 1,
        backend: str = "sqlite",
    ) -> TraceSettings:
        """Defaults for a full run (10M events, 1M recall units) or a ``--quick`` one."""
        return cls(
            events=events or (QUICK_EVENTS if quick else DEFAULT_EVENTS),
            recall_cases=20 if quick else 1_000,
            units_per_case=500 if quick else 1_000,
            deep_chains=5 if quick else 20,
            wide_lots=2 if quick else 5,
            random_codes=200 if quick else 1_000,
            seconds_per_load=2.0 if quick else 10.0,
            warm_up_s=0.5 if quick else 2.0,
            clients=8,
            seed=seed,
            profile=profile,
            query_workers=query_workers,
            backend=backend,
        )

    @property
    def recall_units(self) -> int:
        return self.recall_cases * self.units_per_case

    @property
    def ledger_key(self) -> str:
        return (
            f"trace-v{BUILD_VERSION}-{self.events}ev-{self.recall_cases}x{self.units_per_case}"
            f"-d{self.deep_chains}-w{self.wide_lots}-seed{self.seed}"
            + ("" if self.backend == "sqlite" else f"-{self.backend}")
        )


# --- the ledger -----------------------------------------------------------------------------


@dataclass
class TraceLedger:
    """A built ledger and what the benchmarks need to know about it (``manifest.json``)."""

    directory: Path
    manifest: dict[str, Any]
    reused: bool
    url: str
    """Where it is served from now (a PostgreSQL cluster listens on a new port each run)."""
    cluster: PostgresServer | None = None
    """The kept PostgreSQL cluster serving it; stopped by :meth:`close`."""

    @property
    def backend(self) -> str:
        return "sqlite" if self.cluster is None else "postgresql"

    @property
    def path(self) -> Path:
        """The SQLite file, or the PostgreSQL cluster's directory."""
        return _sqlite_file(self.directory) if self.cluster is None else self.cluster.data_dir

    @property
    def key_file(self) -> Path:
        return self.directory / "ledger.key"

    def codes(self, kind: str) -> list[str]:
        codes: list[str] = self.manifest["codes"][kind]
        return codes

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "reused": self.reused,
            "reuse": "kept under build/bench-ledgers/ by size, shape and seed; a later run with "
            "the same settings reuses it (delete the directory to rebuild)",
            **{k: v for k, v in self.manifest.items() if k != "codes"},
            "codes_timed": {kind: len(self.codes(kind)) for kind in KINDS},
            "backend": self.backend,
        }

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


def prepare_ledger(settings: TraceSettings) -> TraceLedger:
    """The ledger for ``settings``: the one a previous run built, or a new one (untimed)."""
    directory = LEDGER_DIR / settings.ledger_key
    manifest = directory / "manifest.json"
    reused = manifest.exists()
    if not reused:
        _build(directory, settings)
    else:
        progress(f"  reusing the trace ledger {directory}")
    ledger = open_ledger(directory, settings.backend, reused=reused)
    try:
        store = SqlLedgerStore(create_ledger_engine(ledger.url))
        try:
            migrate(store.engine)  # a no-op unless the schema moved on since the build
            size = store.head(SHARD).size
        finally:
            store.close()
        if size != ledger.manifest["entries"]:
            raise BenchError(
                f"{ledger.path}: {size:,} entries on shard {SHARD}, the manifest says "
                f"{ledger.manifest['entries']:,} (a Kafka run stopped before cutting it back? "
                f"delete {ledger.directory} to rebuild it)"
            )
    except BaseException:
        ledger.close()
        raise
    return ledger


def open_ledger(directory: Path, backend: str, *, reused: bool = True) -> TraceLedger:
    """The trace ledger built in ``directory``, as it is (its PostgreSQL cluster started)."""
    url, cluster = _open(directory, backend)
    manifest = json.loads((directory / "manifest.json").read_text())
    return TraceLedger(directory, manifest, reused, url, cluster)


def _build(directory: Path, settings: TraceSettings) -> None:
    """Build the ledger for ``settings`` in ``directory`` (written as ``….partial``, renamed
    once complete, so an interrupted build is never reused)."""
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    needed = settings.events * BYTES_PER_EVENT_BUILT
    free = shutil.disk_usage(directory.parent).free
    if free < needed:
        raise BenchError(
            f"building the {settings.events:,}-event {settings.backend} trace ledger needs about "
            f"{needed / 1e9:.0f} GB in {directory.parent}, {free / 1e9:.0f} GB are free; "
            "choose fewer with --trace-events (e.g. 1000000)"
        )
    partial.mkdir()
    progress(
        f"  building the {settings.backend} trace ledger ({settings.events:,} farm-lot events + "
        f"{settings.recall_units:,} recall units) in {partial}; untimed, kept for later runs"
    )
    start = time.perf_counter()
    url, cluster = _open(partial, settings.backend)
    twin = LEDGER_DIR / dataclasses.replace(settings, backend="sqlite").ledger_key
    try:
        if cluster is not None and (twin / "manifest.json").exists():
            content = _copied(twin, partial, url)
        else:
            content = _Builder(partial, settings, url).build()
    finally:
        if cluster is not None:
            cluster.stop()
    content["built_in_s"] = round(time.perf_counter() - start, 1)
    content["built_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (partial / "manifest.json").write_text(json.dumps(content, ensure_ascii=False, indent=1))
    partial.rename(directory)


def _open(directory: Path, backend: str) -> tuple[str, PostgresServer | None]:
    """The URL of the ledger in ``directory``, with the cluster serving it on PostgreSQL
    (started here: a new one is made on first use; the caller stops it)."""
    if backend == "sqlite":
        return f"sqlite:///{_sqlite_file(directory)}", None
    from infra.local_services import PostgresServer

    cluster = PostgresServer(data_dir=directory / "pg", log_dir=LOG_DIR)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster.url, cluster


def _copied(twin: Path, directory: Path, url: str) -> dict[str, Any]:
    """The manifest of a PostgreSQL ledger copied from the kept SQLite ledger ``twin`` (see
    :mod:`bench._copy`): the same entries, codes and keys."""
    progress(f"  copying the kept SQLite trace ledger {twin} (the same settings) row for row")
    copy_sqlite_ledger(_sqlite_file(twin), url)
    for name in ("ledger.key", "ledger.pub"):
        shutil.copy2(twin / name, directory / name)  # with its mode: the key stays private
    content: dict[str, Any] = json.loads((twin / "manifest.json").read_text())
    content["copied_from"] = {"ledger": twin.name, "built_in_s": content.get("built_in_s")}
    return content


def _sqlite_file(directory: Path) -> Path:
    return directory / "ledger.sqlite"


class _Builder:
    """Writes the ledger of :mod:`bench._trace` through :class:`LedgerWriter`."""

    def __init__(self, directory: Path, settings: TraceSettings, url: str) -> None:
        self._settings = settings
        self._s = Scenario(settings.seed)
        self._rng = random.Random(settings.seed)
        self._orgs = self._organisations()
        everyone = [org for group in self._orgs.values() for org in group]
        # The farm lots are made and signed in another process while this one writes them. Their
        # clock starts early enough to end where the rest begins: the writer refuses events more
        # than a day after the time of recording.
        rest_starts = self._s.clock
        self._s.clock = rest_starts - BULK_SPAN_PER_EVENT * settings.events
        if self._s.clock < EARLIEST_EVENT:
            most = (rest_starts - EARLIEST_EVENT) // BULK_SPAN_PER_EVENT
            raise BenchError(
                f"{settings.events:,} farm-lot events at {BULK_SPAN_PER_EVENT.total_seconds():g} s "
                f"each would start before {EARLIEST_EVENT.date()}, which the writer refuses: at "
                f"most {most:,}"
            )
        usual_step, self._s.step = self._s.step, BULK_STEP
        self._bulk_queue, self._bulk_maker = _start_bulk_maker(
            self._s, self._orgs["farms"], self._orgs["market"][0], settings.events
        )
        self._s.clock = rest_starts
        self._s.step = usual_step
        # What is made here after the bulk must not repeat the identifiers made there.
        self._s.rng.seed(f"{settings.seed}-after-bulk")
        self._store = SqlLedgerStore(create_ledger_engine(url))
        migrate(self._store.engine)
        signer = load_or_create_ledger_key(directory / "ledger.key", LEDGER_NAME)
        initialise(self._store, signer.verifier, [self._s.root])
        self._writer = LedgerWriter(self._store, [self._s.root])
        self._messages = 0
        self._write_message(Message("trust", self._s.sign_as_root(self._s.registration(*everyone))))

    def _organisations(self) -> dict[str, list[Organisation]]:
        s = self._s

        def org(name: str, roles: list[str], region: str, place: str) -> Organisation:
            return s.organisation(name, roles, region, place)

        orgs = {
            "farms": s.lot_farms(4),
            "market": [s.wholesale_market()],
            "purchasers": [
                org(f"第{n}级农产品批发商", ["PURCHASER", "PROCESSOR"], "330102", f"批发路{n}号")
                for n in range(1, DEEP_LEVELS + 1)
            ],
            "retailers": [org("联华超市（文三路店）", ["RETAILER"], "330106", "文三路259号")],
            "processors": [org("杭州肉联加工厂", ["PROCESSOR"], "330110", "仁和街道6号")],
            "distributors": [
                org(f"第{n}配送中心", ["DISTRIBUTOR"], "330108", f"配送路{n}号")
                for n in range(1, 6)
            ],
            "makers": [org("浙江某生物制品有限公司", ["VACCINE_MAKER"], "330110", "文一西路998号")],
            "cdcs": [
                org(f"第{n}区疾病预防控制中心", ["CDC"], "330106", f"保俶北路{n}号")
                for n in range(1, RECALL_HOLDERS + 1)
            ],
        }
        return orgs

    def build(self) -> dict[str, Any]:
        settings = self._settings
        try:
            self._bulk()
            bulk_entries = self._store.head(SHARD).size
            deep = [self._deep_chain(n) for n in range(settings.deep_chains)]
            wide = [self._wide_lot(n) for n in range(settings.wide_lots)]
            recall = self._recall_lot()
            sampled = self._sample_codes(bulk_entries, settings.random_codes)
            entries = self._store.head(SHARD).size
        finally:
            self._bulk_maker.kill()
            self._bulk_maker.join()
            self._store.close()
        return {
            "build_version": BUILD_VERSION,
            "seed": settings.seed,
            "entries": entries,
            "bulk_events": settings.events,
            "deep": {
                "chains": settings.deep_chains,
                "purchaser_levels": DEEP_LEVELS,
                "codes_timed": "the 12 units of each chain's last lot",
            },
            "wide": {
                "lots": settings.wide_lots,
                "pieces_per_lot": WIDE_PIECES,
                "cases_per_lot": WIDE_PIECES // PIECES_PER_CASE,
                "pallets_per_lot": WIDE_PIECES // PIECES_PER_CASE // CASES_PER_PALLET,
                "codes_timed": "the lot codes",
            },
            "recall": recall,
            "codes": {
                "random": sampled,
                "deep": [unit for units in deep for unit in units],
                "wide": wide,
            },
        }

    # --- writing ----------------------------------------------------------------------------

    def _write_message(self, message: Message) -> int:
        result = self._writer.write(shard_for(message.data, SHARD), [message])
        if result.rejections:
            raise BenchError(f"trace ledger event rejected: {result.rejections[0]}")
        self._messages += 1
        return result.accepted

    def _write(self, signer: Organisation, events: Sequence[Event]) -> None:
        """Sign ``events`` as few messages of at most :data:`MESSAGE_BYTES` and write them."""
        part: list[Event] = []
        size = 0
        for event in events:
            weight = 200 + 60 * len(event.codes)  # a generous guess at its encoded size
            if part and (size + weight > MESSAGE_BYTES or len(part) >= 500):
                self._write_signed(signer, part)
                part, size = [], 0
            part.append(event)
            size += weight
        if part:
            self._write_signed(signer, part)

    def _write_signed(self, signer: Organisation, events: list[Event]) -> None:
        self._write_message(Message(f"build@{self._messages}", self._s.sign(signer, events)))

    def _bulk(self) -> None:
        total = self._settings.events
        written = 0
        start = last = time.perf_counter()
        while written < total:
            try:
                data = self._bulk_queue.get(timeout=BULK_MAKER_WAIT_S)
            except queue.Empty:
                raise BenchError(
                    f"the farm-lot maker sent nothing for {BULK_MAKER_WAIT_S:g} s "
                    f"(exit code {self._bulk_maker.exitcode})"
                ) from None
            written += self._write_message(Message(f"bulk@{self._messages}", data))
            now = time.perf_counter()
            if now - last >= 15 or written == total:
                rate = written / (now - start)
                progress(
                    f"  trace ledger: {written:,} / {total:,} farm-lot events "
                    f"({rate:,.0f}/s, ~{(total - written) / rate:,.0f} s left)"
                )
                last = now

    def _sample_codes(self, entries: int, wanted: int) -> list[str]:
        """Distinct codes named by the bulk's events: one code of each of random events."""
        picks = sorted(self._rng.sample(range(entries), min(entries, wanted * 2)))
        events = self._store.events_at([(SHARD, seq) for seq in picks])
        codes = list(dict.fromkeys(self._rng.choice(events[SHARD, seq].codes) for seq in picks))
        self._rng.shuffle(codes)
        return codes[:wanted]

    # --- deep: a certificate chain of purchasers ----------------------------------------------

    def _deep_chain(self, n: int) -> list[str]:
        """Farm lot → ten purchasers (repack + certificate each) → units, cases, pallet, sale."""
        s = self._s
        farm = self._orgs["farms"][n % len(self._orgs["farms"])]
        purchasers = self._orgs["purchasers"]
        lot = s.unit_code(item="10041", lot=f"DP{n:04d}L00")
        cert = _certificate(s, farm, lot, upstream=None)
        self._write(farm, [cert, _shipped(s, farm, purchasers[0], [lot], "1000")])
        holder, previous = farm, cert.codes[0]
        for level, buyer in enumerate(purchasers, start=1):
            new_lot = s.unit_code(item="10041", lot=f"DP{n:04d}L{level:02d}")
            quantity = str(1000 - 10 * level)
            events = [
                _received(s, buyer, holder, [lot], previous, quantity),
                _transformed(s, buyer, "REPACKING", [(lot, quantity)], [(new_lot, quantity)]),
                _certificate(s, buyer, new_lot, upstream=previous, quantity=quantity),
            ]
            previous = events[-1].codes[0]
            if level < DEEP_LEVELS:
                events.append(_shipped(s, buyer, purchasers[level], [new_lot], quantity))
            self._write(buyer, events)
            holder, lot = buyer, new_lot
        return self._deep_finish(n, holder, lot)

    def _deep_finish(self, n: int, last: Organisation, lot: str) -> list[str]:
        s = self._s
        shop = self._orgs["retailers"][0]
        units = [s.unit_code(item="10041", lot=f"DP{n:04d}U", serial=f"{u:04d}") for u in range(12)]
        cases = [s.sscc(OWN_PREFIX) for _ in range(2)]
        pallet = s.sscc(OWN_PREFIX)
        packing = [
            _transformed(s, last, "REPACKING", [(lot, "12")], [(u, "1") for u in units]),
            _aggregated(s, last, cases[0], units[:6]),
            _aggregated(s, last, cases[1], units[6:]),
            _aggregated(s, last, pallet, cases),
            _shipped(s, last, shop, [pallet], "12"),
        ]
        self._write(last, packing)
        self._write(
            shop,
            [
                _received(s, shop, last, [pallet], None, "12"),
                s.event(
                    shop,
                    "Sold",
                    {"channel": "RETAIL", "buyer": None, "receipt_no": f"LH-{n:06d}"},
                    codes=[units[0]],
                    quantity="1",
                    unit="kg",
                ),
            ],
        )
        return units

    # --- wide: one lot cut into thousands of pieces --------------------------------------------

    def _wide_lot(self, n: int) -> str:
        s = self._s
        farm = self._orgs["farms"][n % len(self._orgs["farms"])]
        plant = self._orgs["processors"][0]
        lot = s.unit_code(item="10065", lot=f"WD{n:04d}")
        cert = _certificate(s, farm, lot, upstream=None, quantity="2000")
        self._write(farm, [cert, _shipped(s, farm, plant, [lot], "2000")])
        pieces = [
            s.unit_code(item="10072", lot=f"WD{n:04d}", serial=f"{p:05d}")
            for p in range(WIDE_PIECES)
        ]
        events = [_received(s, plant, farm, [lot], cert.codes[0], "2000")]
        for start in range(0, WIDE_PIECES, PIECES_PER_TRANSFORM):
            part = pieces[start : start + PIECES_PER_TRANSFORM]
            events.append(
                _transformed(s, plant, "CUTTING", [(lot, str(len(part)))], [(p, "1") for p in part])
            )
        cases = [s.sscc(OWN_PREFIX) for _ in range(WIDE_PIECES // PIECES_PER_CASE)]
        for number, case in enumerate(cases):
            start = number * PIECES_PER_CASE
            events.append(_aggregated(s, plant, case, pieces[start : start + PIECES_PER_CASE]))
        shipments: list[tuple[Organisation, str]] = []
        for number, start in enumerate(range(0, len(cases), CASES_PER_PALLET)):
            pallet = s.sscc(OWN_PREFIX)
            events.append(_aggregated(s, plant, pallet, cases[start : start + CASES_PER_PALLET]))
            to = self._orgs["distributors"][number % len(self._orgs["distributors"])]
            events.append(_shipped(s, plant, to, [pallet], str(CASES_PER_PALLET)))
            shipments.append((to, pallet))
        self._write(plant, events)
        for to, pallet in shipments:
            self._write(to, [_received(s, to, plant, [pallet], None, str(CASES_PER_PALLET))])
        return lot

    # --- recall: a lot reaching cases × units ---------------------------------------------------

    def _recall_lot(self) -> dict[str, Any]:
        s = self._s
        settings = self._settings
        maker = self._orgs["makers"][0]
        cdcs = self._orgs["cdcs"]
        lot = s.unit_code(item="10089", lot="YM2026R0001")
        cases = [s.sscc("6909876") for _ in range(settings.recall_cases)]
        progress(
            f"  trace ledger: recall lot of {len(cases):,} cases × "
            f"{settings.units_per_case:,} units"
        )
        made = [
            _transformed(
                s,
                maker,
                "PROCESSING",
                [(lot, str(len(part) * settings.units_per_case))],
                [(case, str(settings.units_per_case)) for case in part],
                unit="剂",
            )
            for part in _chunks(cases, CASES_PER_TRANSFORM)
        ]
        self._write(maker, made)
        for first in range(0, len(cases), 50):
            packs = [
                _aggregated(
                    s,
                    maker,
                    case,
                    [
                        s.drug_code("8123456", number * 1_000_000 + unit)
                        for unit in range(settings.units_per_case)
                    ],
                )
                for number, case in enumerate(cases[first : first + 50], start=first)
            ]
            self._write(maker, packs)
        per_holder = -(-len(cases) // len(cdcs))
        holders = 0
        for cdc, part in zip(cdcs, _chunks(cases, per_holder), strict=False):
            units = str(len(part) * settings.units_per_case)
            self._write(maker, [_shipped(s, maker, cdc, part, units, unit="剂")])
            self._write(cdc, [_received(s, cdc, maker, part, None, units, unit="剂")])
            holders += 1
        return {
            "root": lot,
            "cases": len(cases),
            "units_per_case": settings.units_per_case,
            "units": settings.recall_units,
            "scope_codes": 1 + len(cases) + settings.recall_units,
            "holders": holders,
        }


def _start_bulk_maker(
    s: Scenario, farms: list[Organisation], market: Organisation, events: int
) -> tuple[multiprocessing.queues.Queue[bytes], BaseProcess]:
    """A forked process that signs the farm-lot messages of the bulk into a queue, in order."""
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.queues.Queue[bytes] = context.Queue(maxsize=64)
    maker = context.Process(
        target=_make_bulk, args=(queue, s, farms, market, events), name="trace-bulk", daemon=True
    )
    maker.start()
    return queue, maker


def _make_bulk(
    queue: multiprocessing.queues.Queue[bytes],
    s: Scenario,
    farms: list[Organisation],
    market: Organisation,
    events: int,
) -> None:
    for _count, data in bulk_messages(s, farms, market, events):
        queue.put(data)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _certificate(
    s: Scenario, issuer: Organisation, lot: str, *, upstream: str | None, quantity: str = "1000"
) -> Event:
    return vegetable_certificate(
        s, issuer, lot, upstream=(upstream,) if upstream else (), quantity=quantity
    )


def _shipped(
    s: Scenario,
    sender: Organisation,
    to: Organisation,
    codes: Sequence[str],
    quantity: str,
    *,
    unit: str = "kg",
) -> Event:
    return s.event(
        sender,
        "Shipped",
        {
            "to_org": to.uscc,
            "waybill_no": f"WB{s.rng.randrange(10**10):010d}",
            "vehicle_plate": "浙A·D12345",
            "carrier": None,
            "destination": to.location(),
        },
        codes=list(codes),
        quantity=quantity,
        unit=unit,
    )


def _received(
    s: Scenario,
    receiver: Organisation,
    sender: Organisation,
    codes: Sequence[str],
    certificate: str | None,
    quantity: str,
    *,
    unit: str = "kg",
) -> Event:
    return s.event(
        receiver,
        "Received",
        {
            "from_org": sender.uscc,
            "waybill_no": None,
            "upstream_certificates": [certificate] if certificate else [],
            "check_passed": True,
            "check_note": None,
        },
        codes=list(codes),
        quantity=quantity,
        unit=unit,
    )


def _transformed(
    s: Scenario,
    actor: Organisation,
    process: str,
    inputs: Sequence[tuple[str, str]],
    outputs: Sequence[tuple[str, str]],
    *,
    unit: str = "kg",
) -> Event:
    def entries(side: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"code": code, "quantity": quantity, "unit": unit} for code, quantity in side]

    return s.event(
        actor,
        "Transformed",
        {"process": process, "inputs": entries(inputs), "outputs": entries(outputs)},
        codes=[code for code, _q in [*inputs, *outputs]],
    )


def _aggregated(s: Scenario, actor: Organisation, parent: str, children: Sequence[str]) -> Event:
    return s.event(
        actor,
        "Aggregated",
        {"parent_code": parent, "child_codes": list(children)},
        codes=[parent, *children],
        biz_step="packing",
    )


# --- the benchmarks -------------------------------------------------------------------------


class TraceSuite:
    """The trace benchmarks on one ledger, built (or found) when the first of them runs."""

    def __init__(self, settings: TraceSettings) -> None:
        self._settings = settings
        self._ledger: TraceLedger | None = None
        b = settings.backend
        self._backend = b
        self._db = "SQLite" if b == "sqlite" else "PostgreSQL"
        self._http_group = HTTP_GROUP.format(b=b)
        self._recall_group = RECALL_GROUP.format(b=b)
        self._scale_group = SCALE_GROUP.format(b=b)

    def close(self) -> None:
        """Stop the PostgreSQL cluster the ledger was served from, if any."""
        if self._ledger is not None:
            self._ledger.close()

    def benchmarks(self) -> list[Benchmark]:
        return [
            Benchmark(self._http_group, self._http),
            Benchmark(self._recall_group, self._recall),
            Benchmark(self._scale_group, self._scale),
        ]

    def describe(self) -> dict[str, Any]:
        """The ledger the figures were taken on (``status: not selected`` when none ran)."""
        if self._ledger is None:
            return {"status": "not selected"}
        s = self._settings
        return {
            "status": "ok",
            "ledger": self._ledger.describe(),
            "http": {
                "server": f"suyuan serve-query --workers {s.query_workers} (uvicorn, "
                f"{s.query_workers} process(es) on one port)"
                + " on a loopback port, rate limit off (SUYUAN_QUERY_RATE_LIMIT_PER_SECOND=0), "
                f"{s.clients} public traces at once per process "
                f"(SUYUAN_PUBLIC_TRACE_CONCURRENCY={s.clients}), "
                f"access log to {LOG_DIR / 'trace-query.log'}",
                "query_workers": s.query_workers,
                "clients": f"{s.clients} threads of one process, one keep-alive connection "
                "each (http.client), each sending its next request when the last one answered, "
                f"after {s.warm_up_s:g} s of the same load untimed",
                "seconds_per_load": s.seconds_per_load,
                "views": {
                    "public": "no token: the consumer view (backward trace, custody)",
                    "regulator": "a regulator token: the full view, with the forward trace "
                    "and the holders",
                },
            },
        }

    @property
    def audit_benchmark(self) -> str:
        """The benchmark that audits the whole ledger (and measures its size)."""
        return self._scale_group

    def ledger(self) -> TraceLedger:
        """The ledger, prepared (found or built, untimed) on first use."""
        if self._ledger is None:
            self._ledger = prepare_ledger(self._settings)
        return self._ledger

    # --- GET /v1/trace ------------------------------------------------------------------------

    def _http(self) -> list[Result]:
        ledger = self.ledger()
        results: list[Result] = []
        workers = self._settings.query_workers
        clients = self._settings.clients
        with (
            regulator_token(ledger) as token,
            query_server(ledger, workers, clients) as server,
        ):
            regulator = {"Authorization": f"Bearer {token}"}
            first = _first_pass(server, ledger.codes("random"), regulator)
            _first_pass(server, [*ledger.codes("deep"), *ledger.codes("wide")], regulator)
            results.extend(self._first_pass_results(first, ledger))
            for view in VIEWS:
                headers = {"Authorization": f"Bearer {token}"} if view == "regulator" else {}
                for kind in KINDS:
                    codes = ledger.codes(kind)
                    _check_view(server.url, codes[0], headers, full=view == "regulator")
                    load = run_load(server, codes, headers, self._settings, f"{view}-{kind}")
                    results.extend(self._http_results(view, kind, load, ledger))
        if self._settings.profile:
            self._profile_traces(ledger)
        return results

    def _first_pass_results(self, first: _Load, ledger: TraceLedger) -> list[Result]:
        if not first.latencies_ms:
            raise BenchError("no trace of the first pass answered")
        note = (
            "GET /v1/trace/{code} (regulator view) of each random code once, one client, before "
            "any load (the deep and wide codes follow, untimed): the pages they need are as the "
            f"runs before left them (a {ledger.manifest['entries']}-entry ledger may not fit in "
            "memory: after the other backend's ledger was read, from disk). Each load after it "
            "finds them cached"
        )
        targets = {"p50": FIRST_PASS_TARGET, "p99": FIRST_PASS_TARGET}
        return self._latencies(f"{self._http_group}_first_pass", first, targets, note, ledger)

    def _http_results(self, view: str, kind: str, load: _Load, ledger: TraceLedger) -> list[Result]:
        if not load.latencies_ms:
            raise BenchError(f"no {view} trace of a {kind} code answered")
        name = f"{self._http_group}_{view}_{kind}"
        entries = ledger.manifest["entries"]
        s = self._settings
        note = (
            f"GET /v1/trace/{{code}} ({view} view) of {_KIND_TEXT[kind]}, "
            f"{s.clients} concurrent clients for {s.seconds_per_load:g} s after "
            f"{s.warm_up_s:g} s of the same load untimed "
            f"against suyuan serve-query on a {entries}-entry {self._db} ledger; latency from "
            "sending the request to the last byte of the answer"
        )
        targets = {"p50": P50_TARGET, "p99": P99_TARGET}
        return self._latencies(name, load, targets, note, ledger)

    def _latencies(
        self, name: str, load: _Load, targets: dict[str, Target], note: str, ledger: TraceLedger
    ) -> list[Result]:
        """The p50 and p99 of ``load`` as ``{name}_p50`` and ``{name}_p99``."""
        details = load.details()
        details["ledger_entries"] = ledger.manifest["entries"]
        return [
            Result(
                f"{name}_{label}",
                round(stat(load.latencies_ms), 3),
                "ms",
                targets[label],
                note,
                backend=self._backend,
                details=details,
            )
            for label, stat in (("p50", median), ("p99", p99))
        ]

    # --- recall scope -------------------------------------------------------------------------

    def _recall(self) -> list[Result]:
        ledger = self.ledger()
        expected = ledger.manifest["recall"]
        store = SqlLedgerStore(create_ledger_engine(ledger.url))
        try:
            tracer = Tracer(store)
            times = [_timed_scope(tracer, expected) for _ in range(RECALL_RUNS)]
            if self._settings.profile:
                _profile(
                    "Tracer.recall_scope",
                    lambda: tracer.recall_scope([expected["root"]]),
                )
        finally:
            store.close()
        return [
            Result(
                self._recall_group,
                round(median(times), 3),
                "s",
                RECALL_TARGET,
                f"Tracer.recall_scope([lot]) in process: every code reached forward from a lot "
                f"processed into {expected['cases']} cases of {expected['units_per_case']} units "
                f"each ({expected['scope_codes']} codes) and the {expected['holders']} "
                f"organisations that received them, on a {ledger.manifest['entries']}-entry "
                f"{self._db} ledger; median of {RECALL_RUNS} runs",
                backend=self._backend,
                runs=tuple(round(t, 3) for t in times),
                details={
                    "units": expected["units"],
                    "cases": expected["cases"],
                    "codes_in_scope": expected["scope_codes"],
                    "holders": expected["holders"],
                    "ledger_entries": ledger.manifest["entries"],
                },
            )
        ]

    # --- the ledger at scale: proofs, audit, size ------------------------------------------

    def _scale(self) -> list[Result]:
        ledger = self.ledger()
        store = SqlLedgerStore(create_ledger_engine(ledger.url))
        try:
            results = self._scale_proofs(ledger, store)
            results.append(self._scale_audit(ledger, store))
            results.append(self._scale_bytes(ledger, store))
        finally:
            store.close()
        return results

    def _scale_proofs(self, ledger: TraceLedger, store: SqlLedgerStore) -> list[Result]:
        signer = load_or_create_ledger_key(ledger.key_file, LEDGER_NAME)
        proofs = Ledger(store, signer)
        proofs.checkpoint(SHARD)  # receipts need a signed checkpoint at the ledger's size
        head = store.head(SHARD)
        rng = random.Random(self._settings.seed)
        seqs = [rng.randrange(head.size) for _ in range(SCALE_PROOFS + WARM_UP)]
        inclusion = latencies_ms(lambda seq: proofs.inclusion_proof(SHARD, seq, head.size), seqs)
        verify_inclusion(
            leaf_hash(store.entry(SHARD, seqs[0]).leaf),
            seqs[0],
            head.size,
            proofs.inclusion_proof(SHARD, seqs[0], head.size),
            head.root,
        )
        ids = [store.entry(SHARD, seq).event_id for seq in seqs]
        receipts = latencies_ms(proofs.receipt, ids)
        verify_receipt(
            proofs.receipt(ids[0]), proofs.verifier, leaf_data=store.entry(SHARD, seqs[0]).leaf
        )
        what = {
            "inclusion": "Ledger.inclusion_proof(shard, seq, size) for random seqs",
            "receipt": "Ledger.receipt(event_id) (C2SP tlog-proof) for random events",
        }
        results = []
        for kind, times in (("inclusion", inclusion), ("receipt", receipts)):
            for label, stat, target in (("median", median, PROOF_MEDIAN), ("p99", p99, PROOF_P99)):
                results.append(
                    Result(
                        f"{self._scale_group}_{kind}_{label}",
                        round(stat(times), 3),
                        "ms",
                        target,
                        f"{what[kind]} on the {head.size}-entry {self._db} trace ledger; "
                        f"{len(times)} samples after {WARM_UP} untimed calls; one proof checked",
                        backend=self._backend,
                        details={"samples": len(times), "ledger_entries": head.size},
                    )
                )
        return results

    def _scale_audit(self, ledger: TraceLedger, store: SqlLedgerStore) -> Result:
        signer = load_or_create_ledger_key(ledger.key_file, LEDGER_NAME)
        auditor = Auditor(
            store,
            signer.verifier,
            [Scenario(self._settings.seed).root],
            ledger_name=LEDGER_NAME,
            jobs=default_jobs(),
        )
        start = time.perf_counter()
        report = auditor.run(_AuditProgress(ledger.manifest["entries"]))
        elapsed = time.perf_counter() - start
        if not report.ok:
            raise BenchError(f"audit of the trace ledger failed: {report.findings[0]}")
        return Result(
            f"{self._scale_group}_audit",
            round(report.entries / elapsed),
            "events/s",
            AUDIT,
            f"Auditor.run() (what `suyuan verify` runs) over the whole {report.entries}-entry "
            f"{self._db} trace ledger: chain, leaves, events, batch signatures, Merkle root, "
            f"checkpoint; {report.jobs} process(es) (suyuan verify's default --jobs); one run",
            backend=self._backend,
            details={
                "entries": report.entries,
                "seconds": round(elapsed, 1),
                "jobs": report.jobs,
                "projected_seconds_for_10M_events": round(10_000_000 * elapsed / report.entries),
            },
        )

    def _scale_bytes(self, ledger: TraceLedger, store: SqlLedgerStore) -> Result:
        entries = sum(store.head(shard).size for shard in store.shard_ids())
        store.close()  # no pooled connection may hold a read snapshot of SQLite's WAL
        if ledger.cluster is None:
            usage = sqlite_disk_usage(ledger.path)
            how = "file size after PRAGMA wal_checkpoint(TRUNCATE)"
        else:
            usage = postgres_disk_usage(store.engine)
            how = "sum of pg_total_relation_size over the ledger tables after VACUUM"
        return Result(
            f"{self._scale_group}_bytes_per_event",
            round(usage.total / entries),
            "bytes",
            BYTES_PER_EVENT,
            f"{how} of the {self._db} trace ledger, divided by its {entries} entries",
            backend=self._backend,
            details={
                "entries": entries,
                "total_bytes": usage.total,
                "bytes_per_event_by_table": usage.per_entry(entries),
            },
        )

    def _profile_traces(self, ledger: TraceLedger) -> None:
        """One trace of each kind, full view, in process under cProfile (stderr, not timed)."""
        store = SqlLedgerStore(create_ledger_engine(ledger.url))
        try:
            tracer = Tracer(store)
            for kind in KINDS:
                code = ledger.codes(kind)[0]
                _profile(
                    f"Tracer.trace + trace_json of a {kind} code (full view)",
                    partial(_full_trace_json, tracer, code),
                )
        finally:
            store.close()


_KIND_TEXT = {
    "random": "codes drawn at random from those the farm-lot events name",
    "deep": f"the units at the end of the {DEEP_LEVELS}-purchaser certificate chains",
    "wide": f"the lot codes each cut into {WIDE_PIECES} pieces",
}


class _AuditProgress:
    """A line on stderr every 30 s of a long audit."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._done = 0
        self._start = self._last = time.perf_counter()

    def __call__(self, entries: int) -> None:
        self._done += entries
        now = time.perf_counter()
        if now - self._last >= 30:
            rate = self._done / (now - self._start)
            progress(f"  audit: {self._done:,} / {self._total:,} entries ({rate:,.0f}/s)")
            self._last = now


def _full_trace_json(tracer: Tracer, code: str) -> dict[str, Any]:
    return trace_json(tracer.trace(code, full=True), public=False)


def _timed_scope(tracer: Tracer, expected: dict[str, Any]) -> float:
    start = time.perf_counter()
    scope = tracer.recall_scope([expected["root"]])
    codes, holders = scope.codes, scope.holders
    elapsed = time.perf_counter() - start
    if len(codes) != expected["scope_codes"] or len(holders) != expected["holders"]:
        raise BenchError(
            f"recall scope found {len(codes)} codes and {len(holders)} holders, expected "
            f"{expected['scope_codes']} and {expected['holders']}"
        )
    return elapsed


def _profile(what: str, work: Callable[[], object]) -> None:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(work)
    elapsed = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(25)
    progress(f"profile of one {what} ({elapsed:.3f} s under cProfile):\n{out.getvalue()}")


# --- the server and its clients -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Server:
    url: str
    pid: int


@contextmanager
def regulator_token(ledger: TraceLedger) -> Iterator[str]:
    """A regulator token in the ledger's token table, revoked afterwards."""
    engine = create_ledger_engine(ledger.url)
    try:
        token = create_token(engine, Role.REGULATOR, region="330100", label="bench trace")
        try:
            yield token
        finally:
            revoke_token(engine, token)
    finally:
        engine.dispose()


@contextmanager
def query_server(
    ledger: TraceLedger,
    workers: int = 1,
    clients: int = 8,
    environment: Mapping[str, str] | None = None,
) -> Iterator[_Server]:
    """``suyuan serve-query --workers`` on the ledger, on a free loopback port, until the block
    ends: with several ``workers``, uvicorn's processes behind the one port, each with the
    query service (the service keeps no state between requests). Each process works on as many
    public traces at once as there are ``clients``: the figures time traces, not the 503
    ``busy`` answers past SUYUAN_PUBLIC_TRACE_CONCURRENCY. ``environment``: more settings, on
    top of this process's environment."""
    port = _free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **(environment or {}),
        "SUYUAN_QUERY_RATE_LIMIT_PER_SECOND": "0",
        "SUYUAN_PUBLIC_TRACE_CONCURRENCY": str(clients),
        "SUYUAN_LEDGER_KEY_FILE": str(ledger.key_file),
        "SUYUAN_LEDGER_NAME": LEDGER_NAME,
        "SUYUAN_DATABASE_URL": ledger.url,
    }
    command = [
        sys.executable,
        "-m",
        "suyuan_cli",
        "serve-query",
        "--db",
        ledger.url,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with (LOG_DIR / "trace-query.log").open("ab") as log:
        server = subprocess.Popen(
            command, env=env, cwd=ledger.directory, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, server)
        yield _Server(url, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"suyuan serve-query exited ({server.returncode}); see its log")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise BenchError(f"suyuan serve-query did not answer /healthz within {SERVER_START_S:g} s")


def _path(code: str) -> str:
    return f"/v1/trace/{quote(code, safe='')}"


def _check_view(url: str, code: str, headers: dict[str, str], *, full: bool) -> None:
    """One untimed request: the code is found and the view is the one meant to be timed."""
    response = httpx.get(url + _path(code), headers=headers, timeout=REQUEST_TIMEOUT_S)
    if response.status_code != 200:
        raise BenchError(f"GET {_path(code)} answered {response.status_code}: {response.text}")
    body = response.json()
    if body.get("view") != ("full" if full else "public") or (body.get("forward") is None) == full:
        raise BenchError(
            f"GET {_path(code)} did not answer the {'full' if full else 'public'} view"
        )


@dataclass
class _Load:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    response_bytes: int = 0
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    warm_up: _Load | None = None
    """The untimed requests sent before the timed ones."""

    def details(self) -> dict[str, Any]:
        done = len(self.latencies_ms)
        figures = self.figures()
        warm_up = self.warm_up or _Load()
        return {
            "requests": done,
            "warm_up_requests": len(warm_up.latencies_ms),
            "warm_up_statuses": {str(k): v for k, v in sorted(warm_up.statuses.items())},
            "requests_per_s": figures["requests_per_s"],
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "transport_failures": len(self.failures) + len(warm_up.failures),
            "p90_ms": round(_percentile(self.latencies_ms, 90), 3),
            "max_ms": round(max(self.latencies_ms), 3),
            "response_bytes_avg": round(self.response_bytes / max(done, 1)),
            "server_cpu_ms_per_request": figures["server_cpu_ms_per_request"],
            "server_cpu_share": round(self.server_cpu_s / self.wall_s, 2),
            "client_cpu_share": round(self.client_cpu_s / self.wall_s, 2),
            "wall_s": round(self.wall_s, 2),
        }

    def figures(self) -> dict[str, float]:
        """Requests per second, p50 and p99, and the service's CPU per request."""
        done = max(len(self.latencies_ms), 1)
        return {
            "requests_per_s": round(self.statuses.get(200, 0) / self.wall_s, 1),
            "p50_ms": round(_percentile(self.latencies_ms, 50), 3),
            "p99_ms": round(_percentile(self.latencies_ms, 99), 3),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / done, 2),
        }


def _first_pass(server: _Server, codes: Sequence[str], headers: dict[str, str]) -> _Load:
    """Each of ``codes`` traced once, in turn, on one keep-alive connection."""
    first = _Load()
    lock = threading.Lock()
    address = urlsplit(server.url)
    c = http.client.HTTPConnection(address.netloc, timeout=REQUEST_TIMEOUT_S)
    server_cpu, start = _cpu_seconds(server.pid), time.perf_counter()
    try:
        for code in dict.fromkeys(codes):
            _one_request(c, code, headers, first, lock)
    finally:
        c.close()
    first.wall_s = time.perf_counter() - start
    first.server_cpu_s = _cpu_seconds(server.pid) - server_cpu
    return first


def run_load(
    server: _Server,
    codes: Sequence[str],
    headers: dict[str, str],
    settings: TraceSettings,
    label: str,
) -> _Load:
    """``settings.clients`` threads requesting random ``codes`` for ``warm_up_s`` untimed,
    then for ``seconds_per_load`` timed (requests sent from then on)."""
    untimed = _Load()
    load = _Load(warm_up=untimed)
    lock = threading.Lock()
    start_line = threading.Barrier(settings.clients + 1)
    timed_from = [0.0]
    stop_at = [0.0]

    def client(number: int) -> None:
        rng = random.Random(f"{settings.seed}-{label}-{number}")
        address = urlsplit(server.url)  # http://127.0.0.1:port
        # The standard library's client: httpx cost ~0.8 ms of CPU per request, on the cores
        # the service is measured on (0.25 ms here).
        c = http.client.HTTPConnection(address.netloc, timeout=REQUEST_TIMEOUT_S)
        try:
            c.request("GET", "/healthz")  # open the keep-alive connection before the clock
            c.getresponse().read()
            start_line.wait()
            while (now := time.perf_counter()) < stop_at[0]:
                chosen = rng.choice(codes)
                _one_request(c, chosen, headers, load if now >= timed_from[0] else untimed, lock)
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(settings.clients)]
    for thread in threads:
        thread.start()
    timed_from[0] = time.perf_counter() + settings.warm_up_s
    stop_at[0] = timed_from[0] + settings.seconds_per_load
    start_line.wait()
    time.sleep(max(0.0, timed_from[0] - time.perf_counter()))
    server_cpu, client_cpu = _cpu_seconds(server.pid), _own_cpu_seconds()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    load.wall_s = time.perf_counter() - start
    load.server_cpu_s = _cpu_seconds(server.pid) - server_cpu
    load.client_cpu_s = _own_cpu_seconds() - client_cpu
    return load


def _one_request(
    connection: http.client.HTTPConnection,
    code: str,
    headers: dict[str, str],
    load: _Load,
    lock: threading.Lock,
) -> None:
    start = time.perf_counter()
    try:
        connection.request("GET", _path(code), headers=headers)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as err:
        connection.close()  # the next request opens a new one
        with lock:
            load.failures.append(f"{type(err).__name__}: {err}")
        return
    elapsed = (time.perf_counter() - start) * 1000
    with lock:
        load.latencies_ms.append(elapsed)
        load.statuses[response.status] = load.statuses.get(response.status, 0) + 1
        load.response_bytes += len(body)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its live child processes (uvicorn's
    workers) (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = children.read_text().split() if children.exists() else []
    return own + sum(_cpu_seconds(int(child)) for child in found)


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _percentile(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
