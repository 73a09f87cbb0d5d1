"""``python -m bench``: choose the benchmarks, run them, print and save the JSON report."""

from __future__ import annotations

import argparse
import fnmatch
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench._backends import Backend, PostgresBackend, SqliteBackend, postgres_missing
from bench._checks import check_stream
from bench._kafka import KafkaServices, KafkaSuite, KeptLedger, kafka_names
from bench._report import (
    Result,
    dump,
    load_average,
    machine_info,
    positive,
    progress,
    write_report,
)
from bench._suite import GROUPS, BackendSuite, Benchmark, Settings
from bench._trace import TRACE_BACKENDS, TraceLedger, TraceSettings, TraceSuite, trace_names
from bench._workload import BATCH_SIZE, Stream, Workload, build_workload
from suyuan.runtime import tune_garbage_collector
from suyuan.signing import VerifyKey
from suyuan.tlog import NoteSigner

BACKENDS = ("sqlite", "postgresql")
#: What the Kafka benchmarks append onto (``--kafka-ledger``).
KAFKA_LEDGERS = ("trace", "fresh")
CHECKS = ("check_batch500", "check_per_event")
LEDGER_NAME = "bench.suyuan.local/ledger"
SEED = 10


def all_names() -> list[str]:
    return [
        *CHECKS,
        *(g.format(b=b) for b in BACKENDS for g in GROUPS),
        *kafka_names(),
        *trace_names(),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Ledger benchmarks (design.md §10): JSON on stdout and in bench/results/.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--events", type=positive, help="batch-signed events (default 20000)")
    parser.add_argument(
        "--per-event-events", type=positive, help="per-event-signed events (default events/4)"
    )
    parser.add_argument("--runs", type=positive, default=3, help="timed runs (median; 3)")
    parser.add_argument("--samples", type=positive, help="proofs timed per kind (default 1000)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="run benchmarks whose name contains PATTERN (shell wildcards allowed; repeatable)",
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip PostgreSQL (and Kafka, which needs it)"
    )
    parser.add_argument(
        "--kafka-runs", type=positive, help="timed runs per Kafka figure (default --runs; 1 quick)"
    )
    parser.add_argument(
        "--trace-events", type=positive, help="farm-lot events of the trace ledger (10000000)"
    )
    parser.add_argument(
        "--kafka-ledger",
        choices=KAFKA_LEDGERS,
        help="what the Kafka runs append onto: the kept PostgreSQL trace ledger, cut back "
        "after each run (trace; the default), or a fresh ledger per run (fresh; --quick)",
    )
    parser.add_argument(
        "--query-workers",
        type=positive,
        default=2,
        help="query service processes behind the port trace_http hits (2; 1: suyuan serve-query)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one extra append run (stderr)"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    parser.add_argument("--list", action="store_true", help="list benchmark names and exit")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    events = args.events or (2_000 if args.quick else 20_000)
    return Settings(
        events=events,
        per_event_events=args.per_event_events or max(BATCH_SIZE, events // 4),
        runs=args.runs,
        samples=args.samples or (100 if args.quick else 1_000),
        profile=args.profile,
        seed=SEED,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; exit status 1 when any benchmark failed to run."""
    args = parse_args(argv)
    if args.list:
        print("\n".join(all_names()))
        return 0
    started = datetime.now(UTC)
    # The collector settings of `suyuan ingest-worker` and `suyuan verify`, whose work the append
    # and audit benchmarks run in this process.
    tune_garbage_collector()
    kafka_runs = args.kafka_runs or (1 if args.quick else args.runs)
    report = run(
        settings_from(args),
        _matcher(args.only, quick=args.quick),
        no_postgres=args.no_postgres,
        kafka_runs=kafka_runs,
        kafka_ledger=args.kafka_ledger or ("fresh" if args.quick else "trace"),
        trace=TraceSettings.chosen(
            args.trace_events,
            quick=args.quick,
            profile=args.profile,
            seed=SEED,
            query_workers=args.query_workers,
        ),
    )
    report["started_at"] = started.isoformat(timespec="seconds")
    report["quick"] = args.quick
    print(dump(report))
    if not args.no_save:
        progress(f"report written to {write_report(report, started)}")
    return 1 if report["errors"] else 0


def run(
    settings: Settings,
    wanted: Callable[[str], bool],
    *,
    no_postgres: bool,
    kafka_runs: int | None = None,
    kafka_ledger: str = "fresh",
    trace: TraceSettings | None = None,
) -> dict[str, Any]:
    """Run every benchmark ``wanted`` accepts; the report as a JSON-ready dict.

    ``kafka_ledger`` (one of :data:`KAFKA_LEDGERS`): ``trace`` runs the Kafka benchmarks on the
    kept PostgreSQL trace ledger, after its trace and recall figures and before its audit (which
    then checks that the runs were cut back cleanly); ``fresh`` on a new ledger per run.
    """
    clock = time.perf_counter()
    machine = machine_info()
    runner = _Runner(wanted)
    progress(
        f"signing {settings.events} events in batches of {BATCH_SIZE} and "
        f"{settings.per_event_events} one by one (not timed)"
    )
    generation = time.perf_counter()
    workload = build_workload(settings.events, settings.per_event_events, SEED)
    generation = time.perf_counter() - generation
    runner.checks(workload, settings)
    backends: dict[str, Any] = {}
    for name in BACKENDS:
        backends[name] = runner.backend(name, workload, settings, no_postgres=no_postgres)
    kafka = partial(runner.kafka, workload, kafka_runs or settings.runs, no_postgres=no_postgres)
    if kafka_ledger == "fresh":
        backends["kafka"] = kafka()
    backends["trace"] = runner.trace(
        trace or TraceSettings.chosen(None, quick=False, profile=settings.profile, seed=SEED),
        no_postgres=no_postgres,
        kafka=kafka if kafka_ledger == "trace" else None,
    )
    if kafka_ledger == "trace":
        backends["kafka"] = runner.kafka_described
    return {
        "benchmark": "suyuan ledger (make bench)",
        "duration_s": round(time.perf_counter() - clock, 1),
        "settings": {**asdict(settings), "batch_size": BATCH_SIZE},
        "machine": {**machine, "load_average_1m_at_end": load_average()},
        "workload": {
            "generation_s": round(generation, 1),
            "batch500": _describe(workload.batched),
            "per_event": _describe(workload.per_event),
        },
        "backends": backends,
        "results": [r.to_json() for r in runner.results],
        "errors": runner.errors,
        "summary": _summary(runner.results),
    }


class _Runner:
    def __init__(self, wanted: Callable[[str], bool]) -> None:
        self._wanted = wanted
        self.results: list[Result] = []
        self.errors: list[dict[str, str]] = []
        self.kafka_described: dict[str, Any] = {"status": "not selected"}

    def checks(self, workload: Workload, settings: Settings) -> None:
        keys = {org.key.key_id: org.key.verify_key for org in workload.farms}
        streams = {"check_batch500": workload.batched, "check_per_event": workload.per_event}
        for name, stream in streams.items():
            what = "batch-signed" if stream is workload.batched else "per-event-signed"
            self._run(Benchmark(name, partial(_check, name, stream, keys, settings.runs, what)))

    def backend(
        self, name: str, workload: Workload, settings: Settings, *, no_postgres: bool
    ) -> dict[str, Any]:
        names = [g.format(b=name) for g in GROUPS if self._wanted(g.format(b=name))]
        if not names:
            return {"status": "not selected"}
        if name == "postgresql" and no_postgres:
            return self._skip(name, names, "--no-postgres")
        progress(f"starting {name}")
        backend: Backend | str = SqliteBackend() if name == "sqlite" else PostgresBackend.start()
        if isinstance(backend, str):
            return self._skip(name, names, backend)
        suite = BackendSuite(backend, workload, settings, NoteSigner.generate(LEDGER_NAME))
        try:
            for bench in suite.benchmarks():
                if bench.name in names:
                    self._run(bench)
            return backend.describe()
        finally:
            suite.close()
            backend.close()

    def kafka(
        self,
        workload: Workload,
        runs: int,
        kept: TraceLedger | None = None,
        *,
        no_postgres: bool,
    ) -> dict[str, Any]:
        """The Kafka → ledger benchmarks (``bench/_kafka.py``) on their own broker, into the
        ``kept`` trace ledger or into fresh ledgers on a server of their own."""
        names = [name for name in kafka_names() if self._wanted(name)]
        if not names:
            return {"status": "not selected"}
        if no_postgres:
            return self._skip("kafka", names, "--no-postgres (the Kafka benchmarks need it)")
        progress(
            "starting Tansu" + ("" if kept else " and PostgreSQL") + " for the Kafka benchmarks"
        )
        services = KafkaServices.start(postgres=kept is None)
        if isinstance(services, str):
            return self._skip("kafka", names, services)
        try:
            suite = KafkaSuite(
                services,
                workload,
                runs,
                NoteSigner.generate(LEDGER_NAME).verifier,
                None if kept is None else _kept(kept),
            )
            for name, bench in suite.benchmarks():
                self._run(Benchmark(name, bench))
            return services.describe()
        finally:
            services.close()

    def trace(
        self,
        settings: TraceSettings,
        *,
        no_postgres: bool,
        kafka: Callable[[TraceLedger], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The trace query benchmarks (``bench/_trace.py``), on a SQLite ledger and on a
        PostgreSQL one, each kept between runs; ``kafka`` (the Kafka benchmarks) runs on the
        PostgreSQL one between its reads and its audit."""
        described: dict[str, Any] = {}
        for backend in TRACE_BACKENDS:
            suite = TraceSuite(replace(settings, backend=backend))
            names = [bench.name for bench in suite.benchmarks() if self._wanted(bench.name)]
            appending = kafka if backend == "postgresql" else None
            if backend == "postgresql" and (names or appending):
                reason = "--no-postgres" if no_postgres else postgres_missing()
                if reason:
                    described[backend] = self._skip(f"trace ({backend})", names, reason)
                    if appending:
                        self.kafka_described = self._skip("kafka", kafka_names(), reason)
                    continue
            try:
                for bench in suite.benchmarks():
                    if appending and bench.name == suite.audit_benchmark:
                        self._kafka_on(suite, appending)
                        appending = None
                    self._run(bench)
                if appending:
                    self._kafka_on(suite, appending)
            finally:
                suite.close()
            described[backend] = suite.describe()
        return described

    def _kafka_on(self, suite: TraceSuite, kafka: Callable[[TraceLedger], dict[str, Any]]) -> None:
        """Run ``kafka`` on ``suite``'s ledger, prepared (built, if need be) first."""
        if not any(self._wanted(name) for name in kafka_names()):
            return
        try:
            ledger = suite.ledger()
        except Exception as err:  # the trace benchmarks report it too
            self.kafka_described = self._skip("kafka", kafka_names(), f"no trace ledger: {err}")
            return
        self.kafka_described = kafka(ledger)

    def _skip(self, backend: str, names: list[str], reason: str) -> dict[str, Any]:
        progress(f"{backend} skipped: {reason}")
        return {"status": "skipped", "reason": reason, "benchmarks_skipped": names}

    def _run(self, bench: Benchmark) -> None:
        if not self._wanted(bench.name):
            return
        progress(f"{bench.name} …")
        start = time.perf_counter()
        try:
            results = bench.run()
        except Exception as err:  # report it, keep measuring the rest
            progress(f"{bench.name} FAILED: {type(err).__name__}: {err}")
            self.errors.append({"name": bench.name, "error": f"{type(err).__name__}: {err}"})
            return
        for result in results:
            verdict = {True: "meets target", False: "misses target", None: "no target"}[
                result.target.met_by(result.value)
            ]
            progress(f"  {result.name} = {result.value:,g} {result.unit} ({verdict})")
        progress(f"{bench.name} done in {time.perf_counter() - start:.1f} s")
        self.results.extend(results)


def _kept(ledger: TraceLedger) -> KeptLedger:
    return KeptLedger(
        ledger.url,
        f"the kept PostgreSQL trace ledger ({ledger.manifest['bulk_events']:,} farm-lot events, "
        f"{ledger.manifest['entries']:,} entries on its events shard)",
    )


def _check(
    name: str, stream: Stream, keys: Mapping[str, VerifyKey], runs: int, what: str
) -> list[Result]:
    return [check_stream(name, stream, keys, runs, what)]


def _describe(stream: Stream) -> dict[str, Any]:
    return {
        "events": stream.events,
        "messages": len(stream.messages),
        "event_types": dict(sorted(stream.event_types.items())),
        "event_bytes_avg": round(stream.event_bytes / stream.events, 1),
        "message_bytes_per_event": round(stream.message_bytes / stream.events, 1),
    }


def _summary(results: list[Result]) -> dict[str, list[str]]:
    met = [r.name for r in results if r.target.met_by(r.value) is True]
    missed = [r.name for r in results if r.target.met_by(r.value) is False]
    return {"targets_met": met, "targets_missed": missed}


#: Left out of a ``--quick`` run unless ``--only`` names them: building and serving a second
#: trace ledger would take the smoke run past two minutes.
QUICK_LEAVES_OUT = ("trace_http_postgresql", "recall_scope_postgresql", "ledger_scale_postgresql")


def _matcher(patterns: list[str] | None, *, quick: bool = False) -> Callable[[str], bool]:
    if not patterns:
        if quick:
            return lambda name: name not in QUICK_LEAVES_OUT
        return lambda _name: True
    globs = [p if any(c in p for c in "*?[") else f"*{p}*" for p in patterns]
    return lambda name: any(fnmatch.fnmatchcase(name, g) for g in globs)
