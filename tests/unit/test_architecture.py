"""The core (src/suyuan) imports no web framework, no Kafka client and no service package —
not even lazily, inside a function (design.md §2) — and no package reaches into another
package's private modules.

The services (services/: the HTTP APIs, the ingest worker, the witness, the command line and
the demo story) may import the core and each other. Tests may look inside (white-box tests);
the product's code may not.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "src" / "suyuan"
#: Every service package: each folder of services/ is one, its folder name its import name.
SERVICES = sorted(
    folder.name for folder in (ROOT / "services").iterdir() if (folder / "__init__.py").is_file()
)
FORBIDDEN = ("fastapi", "starlette", "uvicorn", "kafka", *SERVICES)


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_service_folder_is_a_package_of_its_own_name() -> None:
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    assert {name: package_dir.get(name) for name in SERVICES} == {
        name: f"services/{name}" for name in SERVICES
    }
    assert {"suyuan_cli", "suyuan_demo", "suyuan_ingest", "suyuan_trace_query"} <= set(SERVICES)


def test_core_modules_never_import_web_kafka_or_a_service() -> None:
    offenders = {
        str(path.relative_to(CORE)): sorted(_all_imports(path) & set(FORBIDDEN))
        for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


#: Where each importable package's code lives (pyproject.toml's package-dir).
PACKAGE_DIRS = {
    "suyuan": CORE,
    **{name: ROOT / "services" / name for name in SERVICES},
    "suyuan_migrations": ROOT / "infra" / "migrations",
    "bench": ROOT / "bench",
    "chaos": ROOT / "chaos",
}


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(module: str, path: Path) -> list[str]:
    """Absolute names of the modules ``path`` imports (``from x import y`` counts ``x.y``
    too: ``y`` may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def _private_parent(name: str) -> str | None:
    """The package whose private module ``name`` is (``a.b._c.d`` → ``a.b``), if any."""
    parts = name.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    return None


def test_no_package_imports_another_package_s_private_module() -> None:
    offenders: list[str] = []
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            module = _module_name(package, folder, path)
            for name in _imported_modules(module, path):
                owner = _private_parent(name)
                if owner is None or module == owner or module.startswith(owner + "."):
                    continue
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []
