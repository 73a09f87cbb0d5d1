"""What the write path does before it touches the database, measured without one.

For every message: decode the batch and its events (fastavro), validate every event (the
contract's rules, incl. code parsing), verify the batch signature (Ed25519), and compute each
event's audit path in its batch — the work :class:`suyuan.intake.LedgerWriter` adds to
``store.append``, split into its phases.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from bench._report import Result, rounded
from bench._stats import median
from bench._targets import CHECK
from bench._workload import Stream, cold_code_cache
from suyuan.events import decode_batch, decode_event, validate_event
from suyuan.signing import VerifyKey, batch_proofs, verify_batch_signature

PHASES = ("decode", "validate", "signature", "batch_proofs")


def check_stream(
    name: str, stream: Stream, keys: Mapping[str, VerifyKey], runs: int, what: str
) -> Result:
    """Events/s of decode + validate + signature + batch proofs over ``stream`` (median run)."""
    timings = [_check_once(stream, keys) for _ in range(runs)]
    typical = sorted(timings, key=lambda spent: sum(spent.values()))[len(timings) // 2]
    rates = [stream.events / sum(spent.values()) for spent in timings]
    per_event = {p: round(typical[p] / stream.events * 1e6, 1) for p in PHASES}
    return Result(
        name=name,
        value=rounded(median(rates), "events/s"),
        unit="events/s",
        target=CHECK,
        note=(
            f"{what}: decode, validate, verify the signature and derive batch proofs for "
            f"{stream.events} events, no database; median of {runs} runs"
        ),
        runs=tuple(rounded(r, "events/s") for r in rates),
        details={"events": stream.events, "us_per_event_by_phase": per_event},
    )


def _check_once(stream: Stream, keys: Mapping[str, VerifyKey]) -> dict[str, float]:
    """Seconds spent in each phase over the whole stream."""
    cold_code_cache()
    spent = dict.fromkeys(PHASES, 0.0)
    clock = time.perf_counter
    for message in stream.messages:
        start = clock()
        batch = decode_batch(message)
        events = [decode_event(data) for data in batch.events]
        decoded = clock()
        for event in events:
            validate_event(event)
        validated = clock()
        verify_batch_signature(batch, keys[batch.key_id])
        verified = clock()
        batch_proofs(batch)
        done = clock()
        spent["decode"] += decoded - start
        spent["validate"] += validated - decoded
        spent["signature"] += verified - validated
        spent["batch_proofs"] += done - verified
    return spent
