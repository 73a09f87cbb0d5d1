"""The JSON report: each result beside its §10 target, the machine, and where it was written."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._targets import Target

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_PACKAGES = ("sqlalchemy", "psycopg", "cryptography", "fastavro", "biip", "python-stdnum")


@dataclass(frozen=True, slots=True)
class Result:
    """One measured figure, with its target and how it was obtained."""

    name: str
    value: float
    unit: str
    target: Target
    note: str
    backend: str | None = None
    runs: tuple[float, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "backend": self.backend,
            "value": self.value,
            "unit": self.unit,
            "target": self.target.text,
            "meets_target": self.target.met_by(self.value),
            "note": self.note,
        }
        if self.runs:
            out["runs"] = list(self.runs)
        if self.details:
            out["details"] = self.details
        return out


def rounded(value: float, unit: str) -> float:
    """Rates as whole numbers, milliseconds to the microsecond, bytes to a tenth."""
    if unit == "events/s":
        return float(round(value))
    if unit == "ms":
        return round(value, 3)
    return round(value, 1)


def machine_info() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "load_average_1m_at_start": load_average(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in _PACKAGES},
        "git_commit": _git_commit(),
    }


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine shows up here, and in the figures."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def write_report(report: dict[str, Any], started: datetime, directory: Path = RESULTS_DIR) -> Path:
    """Write ``report`` to ``directory/<UTC timestamp>.json`` (via a temporary file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(dump(report) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def dump(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the JSON report only)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
