"""Tests of the event contract: schemas, codec, JSON form and validation (design.md §4).

Shared helpers: the committed fixtures in ``tests/fixtures/events`` and the examples of the script
that made them.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "events"


@cache
def fixture_script() -> ModuleType:
    """``tests/fixtures/events/make_fixtures.py`` as a module."""
    path = FIXTURES_DIR / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_event_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example(event_type: str) -> dict[str, Any]:
    """A fresh, valid JSON example of ``event_type`` (safe to modify)."""
    examples: dict[str, dict[str, Any]] = fixture_script().examples()
    return copy.deepcopy(examples[event_type])


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
