"""``python -m bench.batches``: what the write path costs per event as batches grow.

A Kafka worker with a backlog, or a producer sending a day's events under one signature,
writes large batches. A batch's events are judged against the ledger and against the events
before them in the same write, and that must cost the same per event whether the batch holds
500 events or 5,000. For each ``--sizes`` value this writes, into a fresh ledger:

- **farm**: ``--events`` farm events (certificate, two cases packed, one shipment per lot),
  each farm's run of events signed as batches of that size;
- **receipts**: the market's receipt of every lot's shipment (one event per lot), signed as
  batches of that size, onto the ledger the farm stream left;
- **tested**: as many events again from the farms, a self-test (rapid test) of a new lot
  followed later in the batch by the certificate citing it, half tests, half certificates.

Each figure is the writer's process CPU per event (``LedgerWriter.write``; on PostgreSQL the
server's own CPU is not counted), the median of ``--runs``, and its ratio to the first size.
JSON on stdout, one line per run on stderr. See bench/README.md, "Long writes".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench._backends import Backend, PostgresBackend, SqliteBackend
from bench._report import load_average, machine_info, positive, progress
from bench._suite import SHARD, BenchError, new_ledger
from bench._workload import LOTS_BEFORE, cold_code_cache
from suyuan.events.model import Event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import OffsetCommit
from suyuan.scenario import LotMaker, Organisation, Scenario, vegetable_certificate

SEED = 10
KINDS = ("farm", "receipts", "tested")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batches",
        description="The write path's CPU per event for batches of several sizes.",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--sizes", type=_sizes, default=(500, 5000), help="events per batch (500,5000)"
    )
    parser.add_argument(
        "--events", type=positive, default=10_000, help="farm events per run (10000)"
    )
    parser.add_argument("--runs", type=positive, default=3, help="runs per size (median; 3)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    backend: Backend | None = None
    try:
        backend = PostgresBackend() if args.backend == "postgresql" else SqliteBackend()
        report = run(args, backend)
    except BenchError as err:
        print(f"bench.batches: {err}", file=sys.stderr)
        return 1
    finally:
        if backend is not None:
            backend.close()
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


def run(args: argparse.Namespace, backend: Backend) -> dict[str, Any]:
    load_before = load_average()
    runs: dict[str, dict[int, list[float]]] = {
        kind: {size: [] for size in args.sizes} for kind in KINDS
    }
    for number in range(args.runs):
        for size in args.sizes:
            figures = _run_once(backend, size, args.events, f"b{size}_{number}")
            for kind in KINDS:
                runs[kind][size].append(figures[kind])
            progress(
                f"run {number}, batches of {size}: "
                + ", ".join(f"{kind} {figures[kind]:.0f} µs/event" for kind in KINDS)
            )
    first = args.sizes[0]
    medians = {
        kind: {
            str(size): {
                "cpu_us_per_event": round(statistics.median(runs[kind][size]), 1),
                "ratio_to_first_size": round(
                    statistics.median(runs[kind][size]) / statistics.median(runs[kind][first]), 3
                ),
                "runs": [round(v, 1) for v in runs[kind][size]],
            }
            for size in args.sizes
        }
        for kind in KINDS
    }
    return {
        "benchmark": "bench.batches",
        "settings": {
            "backend": args.backend,
            "sizes": list(args.sizes),
            "farm_events": args.events,
            "receipts": args.events // 4,
            "runs": args.runs,
        },
        "machine": machine_info(),
        "load_average": {"before": load_before, "after": load_average()},
        "medians": medians,
    }


def _run_once(backend: Backend, size: int, events: int, label: str) -> dict[str, float]:
    """CPU µs per event of each stream (:data:`KINDS`), batches of ``size``."""
    s = Scenario(SEED)
    farms = s.lot_farms(4)
    market = s.wholesale_market()
    trust = s.sign_as_root(s.registration(*farms, market))
    lots = LotMaker(s, market, lots_before=LOTS_BEFORE)
    farm_messages: list[bytes] = []
    receipts: list[Event] = []
    for number, start in enumerate(range(0, events, size)):
        farm = farms[number % len(farms)]
        batch = lots.events(farm, min(size, events - start))
        farm_messages.append(s.sign(farm, batch))
        receipts += [_receipt(s, market, farm, e) for e in batch if e.event_type == "Shipped"]
    receipt_messages = [
        s.sign(market, receipts[i : i + size]) for i in range(0, len(receipts), size)
    ]
    tested: list[list[Event]] = []
    for number, start in enumerate(range(0, events, size)):
        farm = farms[number % len(farms)]
        tested.append(_tested(s, farm, start, min(size, events - start)))
    tested_messages = [
        s.sign(farms[number % len(farms)], batch) for number, batch in enumerate(tested)
    ]
    store, writer = new_ledger(backend, s.root, trust, label)
    try:
        offset = 1
        figures: dict[str, float] = {}
        for kind, messages, count in (
            ("farm", farm_messages, events),
            ("receipts", receipt_messages, len(receipts)),
            ("tested", tested_messages, sum(len(batch) for batch in tested)),
        ):
            cold_code_cache()
            started = time.process_time()
            offset = _write(writer, messages, offset)
            figures[kind] = (time.process_time() - started) / count * 1e6
        return figures
    finally:
        backend.drop(store)


def _write(writer: LedgerWriter, messages: list[bytes], offset: int) -> int:
    """Write ``messages`` one per write from ``offset``; every event must be accepted."""
    for data in messages:
        result = writer.write(
            SHARD,
            [Message(f"bench[{SHARD}]@{offset}", data)],
            offset=OffsetCommit(offset, offset + 1),
        )
        if result.rejections:
            raise BenchError(f"event rejected: {result.rejections[0]}")
        offset += 1
    return offset


def _tested(s: Scenario, farm: Organisation, first: int, size: int) -> list[Event]:
    """``size`` events (rounded down to even) of ``farm``: a rapid test of each of ``size // 2``
    new lots, then a certificate of each lot citing its test."""
    lots = [s.unit_code(item="10010", lot=f"TS{first + n:08d}") for n in range(size // 2)]
    tests = [s.pesticide_test(farm, [lot]) for lot in lots]
    return [
        *tests,
        *(
            vegetable_certificate(s, farm, lot, basis="SELF_TESTED", inspection=test.event_id)
            for lot, test in zip(lots, tests, strict=True)
        ),
    ]


def _receipt(s: Scenario, market: Organisation, farm: Organisation, shipment: Event) -> Event:
    """The market's receipt of ``shipment`` (its cases, its quantity)."""
    return s.event(
        market,
        "Received",
        {
            "from_org": farm.uscc,
            "waybill_no": shipment.payload["waybill_no"],
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": None,
        },
        codes=list(shipment.codes),
        quantity=str(shipment.quantity),
        unit=shipment.unit,
    )


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected sizes separated by commas, e.g. 500,5000"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("every size must be at least 1")
    return sizes


if __name__ == "__main__":
    raise SystemExit(main())
