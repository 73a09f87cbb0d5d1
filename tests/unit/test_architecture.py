"""The core (src/suyuan) imports no web framework and no Kafka client (design.md §2).

The CLI is the one exception: its Kafka and server commands import the services lazily, inside
the command functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "suyuan"
FORBIDDEN = (
    "fastapi",
    "starlette",
    "uvicorn",
    "kafka",
    "suyuan_ingest",
    "suyuan_trace_query",
    "suyuan_http",
    "suyuan_witness",
)


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:  # module level only: lazy imports inside functions are allowed
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_never_import_web_or_kafka() -> None:
    offenders = {
        str(path.relative_to(CORE)): sorted(_all_imports(path) & set(FORBIDDEN))
        for path in CORE.rglob("*.py")
        if "cli" not in path.relative_to(CORE).parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cli_imports_services_only_lazily() -> None:
    offenders = {
        str(path.relative_to(CORE)): sorted(_module_level_imports(path) & set(FORBIDDEN))
        for path in (CORE / "cli").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
