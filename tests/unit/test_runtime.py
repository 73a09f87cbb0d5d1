"""The bulk processes' collector settings (docs/runbook.md, "Worker throughput and batching")."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from suyuan.runtime import tune_garbage_collector


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("collector")
def test_the_collector_runs_every_50000_allocations_and_stays_on() -> None:
    gc.set_threshold(700, 10, 10)
    tune_garbage_collector()
    tune_garbage_collector()
    assert gc.get_threshold() == (50_000, 20, 20)
    assert gc.isenabled()
