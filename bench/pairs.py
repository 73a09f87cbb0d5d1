"""``python -m bench.pairs``: two query services side by side on a kept trace ledger.

Each service runs ``suyuan serve-query`` with an environment of its own (``--a`` / ``--b``,
e.g. ``SUYUAN_PUBLIC_TRACE_THREADS=64``). Short loads of random codes go to one, then the
other, alternating which goes first, and each pair gives the ratios A/B of requests per
second, p50, p99 and the services' CPU per request. The machine's speed drifts from one minute
to the next (bench/README.md), so a change is judged by the median of these ratios, not by two
figures taken minutes apart. JSON on stdout, one line per pair on stderr.

The ledger must exist: ``python -m bench --only trace_http`` builds it (or ``--trace-events``
for a smaller one). See bench/README.md, "Side by side".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

from bench._report import load_average, machine_info, positive, progress
from bench._suite import BenchError
from bench._trace import (
    DEFAULT_EVENTS,
    KINDS,
    LEDGER_DIR,
    VIEWS,
    TraceSettings,
    open_ledger,
    query_server,
    regulator_token,
    run_load,
)

SEED = 10
FIGURES = ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_request")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pairs",
        description="Two query services side by side on a kept trace ledger; ratios A/B.",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--view", choices=VIEWS, default="public")
    parser.add_argument("--kind", choices=KINDS, default="random")
    parser.add_argument("--workers", type=positive, default=2, help="processes per service (2)")
    parser.add_argument("--pairs", type=positive, default=6, help="loads of each (6)")
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per load (4)")
    parser.add_argument(
        "--trace-events", type=positive, default=DEFAULT_EVENTS, help="the ledger's size"
    )
    parser.add_argument("--a", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--b", action="append", default=[], metavar="NAME=VALUE")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sides = [_environment(args.a, "--a"), _environment(args.b, "--b")]
        report = run(args, sides)
    except BenchError as err:
        print(f"bench.pairs: {err}", file=sys.stderr)
        return 1
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


def run(args: argparse.Namespace, sides: list[dict[str, str]]) -> dict[str, Any]:
    settings = TraceSettings.chosen(
        args.trace_events, quick=False, profile=False, seed=SEED, backend=args.backend
    )
    settings = replace(settings, seconds_per_load=args.seconds, warm_up_s=0.5)
    directory = LEDGER_DIR / settings.ledger_key
    if not (directory / "manifest.json").exists():
        raise BenchError(f"no trace ledger at {directory}: run python -m bench --only trace_http")
    load_before = load_average()
    pairs: list[dict[str, Any]] = []
    ledger = open_ledger(directory, args.backend)
    try:
        codes = ledger.codes(args.kind)
        with regulator_token(ledger) as token, ExitStack() as stack:
            headers = {"Authorization": f"Bearer {token}"} if args.view == "regulator" else {}
            servers = [
                stack.enter_context(query_server(ledger, args.workers, settings.clients, side))
                for side in sides
            ]
            for server in servers:  # untimed: statements prepared, pages read
                run_load(server, codes, headers, settings, "warm-up")
            for n in range(args.pairs):
                figures: list[dict[str, float]] = [{}, {}]
                for side in (0, 1) if n % 2 == 0 else (1, 0):
                    load = run_load(servers[side], codes, headers, settings, f"pair-{n}")
                    figures[side] = load.figures()
                pairs.append({"a": figures[0], "b": figures[1]})
                progress(f"pair {n}: " + _line(figures))
    finally:
        ledger.close()
    return {
        "benchmark": "bench.pairs",
        "ledger": ledger.describe(),
        "settings": {
            "backend": args.backend,
            "view": args.view,
            "kind": args.kind,
            "workers": args.workers,
            "clients": settings.clients,
            "seconds_per_load": args.seconds,
            "a": sides[0],
            "b": sides[1],
        },
        "machine": machine_info(),
        "load_average": {"before": load_before, "after": load_average()},
        "medians": {name: _medians(pairs, name) for name in FIGURES},
        "pairs": pairs,
    }


def _medians(pairs: list[dict[str, Any]], name: str) -> dict[str, float]:
    a = [p["a"][name] for p in pairs]
    b = [p["b"][name] for p in pairs]
    ratios = sorted(x / y for x, y in zip(a, b, strict=True) if y)
    return {
        "a": round(statistics.median(a), 3),
        "b": round(statistics.median(b), 3),
        "ratio_a_b": round(statistics.median(ratios), 3),
        "ratio_min": round(ratios[0], 3),
        "ratio_max": round(ratios[-1], 3),
    }


def _line(figures: list[dict[str, float]]) -> str:
    return " | ".join(
        f"{side} {f['requests_per_s']:.0f}/s p99 {f['p99_ms']:.1f} ms "
        f"cpu {f['server_cpu_ms_per_request']:.2f} ms"
        for side, f in zip("AB", figures, strict=True)
    )


def _environment(pairs: list[str], option: str) -> dict[str, str]:
    environment: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise BenchError(f"{option} {pair!r}: expected NAME=VALUE")
        environment[name] = value
    return environment


if __name__ == "__main__":
    raise SystemExit(main())
