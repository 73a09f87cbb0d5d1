"""The performance targets of design.md §10, one per kind of measurement.

A target is a sentence for the reader and, where §10 gives a number, a check of the measured
value. Where §10 has no target of its own the sentence says what the figure is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: §10: full audit of 10M events in at most 60 s.
AUDIT_EVENTS_PER_SECOND = 10_000_000 / 60
#: §10: GET /v1/trace p99; the budget an HTTP request serving a proof should also fit.
REQUEST_P99_MS = 50.0


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    check: Callable[[float], bool] | None = None

    def met_by(self, value: float) -> bool | None:
        return None if self.check is None else self.check(value)


APPEND_BATCHED = Target(
    ">= 50000 events/s (Kafka → committed ledger, 2 cores, batch signatures)",
    lambda v: v >= 50_000,
)
APPEND_PER_EVENT = Target(
    ">= 15000 events/s (Kafka → committed ledger, 2 cores, per-event signatures)",
    lambda v: v >= 15_000,
)
APPEND_STORE_ONLY = Target(
    "none of its own; §10 measured a bare decode→hash→Merkle→insert pipeline at ~50000 "
    "events/s per core"
)
CHECK = Target(
    "none of its own; §10 measured Ed25519 verify at ~9500/s per core and fastavro at "
    "~170000 records/s"
)
PROOF_MEDIAN = Target("none of its own (see the p99 figure)")
PROOF_P99 = Target(
    f"<= {REQUEST_P99_MS:g} ms p99 (no §10 target of its own: the p99 budget of GET /v1/trace, "
    "which a proof request should also fit)",
    lambda v: v <= REQUEST_P99_MS,
)
AUDIT = Target(
    f">= {AUDIT_EVENTS_PER_SECOND:.0f} events/s (full audit of 10M events <= 60 s)",
    lambda v: v >= AUDIT_EVENTS_PER_SECOND,
)
BYTES_PER_EVENT = Target(
    "<= 1024 bytes/event (<= 1 KiB per event on disk incl. indexes)", lambda v: v <= 1024
)
