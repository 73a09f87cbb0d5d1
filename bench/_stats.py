"""Timing and summary statistics (``time.perf_counter``; medians, not means)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


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
