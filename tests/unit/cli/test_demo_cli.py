"""``suyuan demo --no-serve --summary FILE``: the demo's codes with their verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suyuan.config import get_settings
from suyuan_cli import app

runner = CliRunner()


def test_the_summary_names_each_code_with_its_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUYUAN_LEDGER_KEY_FILE", str(tmp_path / "ledger.key"))
    monkeypatch.setenv("SUYUAN_CUSTODY_KEY_FILE", str(tmp_path / "master.key"))
    get_settings.cache_clear()
    summary = tmp_path / "summary.json"

    result = runner.invoke(
        app,
        [
            "demo",
            "--no-serve",
            "--db",
            f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "--summary",
            str(summary),
        ],
    )
    get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    codes = json.loads(summary.read_text(encoding="utf-8"))["codes"]
    assert codes["sold lot"]["verdict"] == {"state": "ok", "rules": []}
    assert codes["recalled lot"]["verdict"]["state"] == "recalled"
    assert codes["voided certificate"]["verdict"] == {
        "state": "replaced",
        "rules": ["certificate_replaced"],
    }
    assert codes["lot received without certificate"]["verdict"] == {
        "state": "attention",
        "rules": ["missing_certificate"],
    }
    line = next(x for x in result.output.splitlines() if x.strip().startswith("recalled lot"))
    assert " recalled " in line, "the printed list says each code's state"
