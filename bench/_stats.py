"""Timing and summary statistics (``time.perf_counter``; medians, not means)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def seconds(action: Callable[[], object]) -> float:
    """Wall-clock seconds that ``action()`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(values: Sequence[float]) -> float:
    """The 99th percentile (linear interpolation between the closest ranks)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[98]


#: Untimed calls before a latency is taken.
WARM_UP = 10


def latencies_ms(
    call: Callable[[Any], object], args: Sequence[Any], warm_up: int = WARM_UP
) -> list[float]:
    """Milliseconds of ``call(arg)`` for each argument after the first ``warm_up``."""
    for arg in args[:warm_up]:
        call(arg)
    times = []
    for arg in args[warm_up:]:
        start = time.perf_counter()
        call(arg)
        times.append((time.perf_counter() - start) * 1000)
    return times
