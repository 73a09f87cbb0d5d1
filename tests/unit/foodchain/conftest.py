"""Fixtures of the food-chain rules' tests: a fresh chain on its own SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.foodchain.chain import Chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    opened = Chain.open(tmp_path / "ledger.sqlite")
    yield opened
    opened.store.close()
