"""`suyuan keys new` / `keys show`: what a producer runs to get a signing key."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from suyuan.signing import load_signing_key, load_verify_key
from suyuan_cli import app

runner = CliRunner()


def test_keys_new_writes_a_loadable_pair_and_prints_its_key_id(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "new", "farm", "--out", str(tmp_path)])

    assert result.exit_code == 0, result.output
    private = load_signing_key(tmp_path / "farm.key")
    public = load_verify_key(tmp_path / "farm.pub")
    assert private.verify_key == public
    assert f"key id:      {public.key_id}" in result.output
    assert stat.S_IMODE((tmp_path / "farm.key").stat().st_mode) == 0o600


def test_keys_new_refuses_to_overwrite_without_flag(tmp_path: Path) -> None:
    runner.invoke(app, ["keys", "new", "farm", "--out", str(tmp_path)])
    first = load_verify_key(tmp_path / "farm.pub")

    refused = runner.invoke(app, ["keys", "new", "farm", "--out", str(tmp_path)])
    assert refused.exit_code == 2
    assert "already exists" in refused.output and "--overwrite" in refused.output
    assert load_verify_key(tmp_path / "farm.pub") == first

    replaced = runner.invoke(app, ["keys", "new", "farm", "--out", str(tmp_path), "--overwrite"])
    assert replaced.exit_code == 0
    assert load_verify_key(tmp_path / "farm.pub") != first


def test_keys_show_reports_same_key_id_for_both_halves(tmp_path: Path) -> None:
    runner.invoke(app, ["keys", "new", "farm", "--out", str(tmp_path)])
    from_private = runner.invoke(app, ["keys", "show", str(tmp_path / "farm.key")])
    from_public = runner.invoke(app, ["keys", "show", str(tmp_path / "farm.pub")])
    assert from_private.exit_code == from_public.exit_code == 0
    assert from_private.output == from_public.output


def test_keys_show_names_the_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.pub"
    bad.write_text("not a key")
    result = runner.invoke(app, ["keys", "show", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output
