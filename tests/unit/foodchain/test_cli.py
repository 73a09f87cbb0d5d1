"""``suyuan cert issue`` / ``suyuan cert void`` on an embedded ledger, signed with a key file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from suyuan.foodchain import PRODUCER_COMMITMENT, certificate_records
from suyuan.signing import save_key_pair
from suyuan_cli._certs import app
from tests.unit.foodchain.chain import Chain

runner = CliRunner()
BASE = "https://trace.example.cn"


def farm_key(chain: Chain, tmp_path: Path) -> Path:
    private, _public = save_key_pair(chain.farm.key, tmp_path / "keys", "farm")
    return private


def issue(db: str, key: Path, *extra: str) -> list[str]:
    return [
        "issue",
        "--key",
        str(key),
        "--db",
        db,
        "--product",
        "小青菜",
        "--category",
        "vegetables",
        "--quantity",
        "500",
        "--origin",
        "浙江省杭州市临安区太湖源镇白沙村",
        "--contact",
        "0571-63781234",
        "--issue-date",
        # recorded now: an issue date far from the day of recording is refused
        date.today().isoformat(),
        "--base-url",
        BASE,
        *extra,
    ]


def db_url(chain: Chain) -> str:
    return str(chain.store.engine.url)


def test_issue_prints_the_code_and_records_the_certificate(chain: Chain, tmp_path: Path) -> None:
    lot = chain.lot("LA0506")

    result = runner.invoke(app, issue(db_url(chain), farm_key(chain, tmp_path), "--lot", lot))

    assert result.exit_code == 0, result.output
    code = result.stdout.strip()
    record = certificate_records(chain.reads(), [code])[code]
    assert record.issue is not None
    assert record.issue.actor == chain.farm.uscc
    assert record.issue.codes == (code, lot)
    assert record.issue.payload["commitment"] == PRODUCER_COMMITMENT
    assert f"{BASE}/c/{code}/label.svg" in result.stderr


def test_issue_json_holds_the_links(chain: Chain, tmp_path: Path) -> None:
    result = runner.invoke(app, [*issue(db_url(chain), farm_key(chain, tmp_path)), "--json"])

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["scan_url"] == f"{BASE}/c/{body['code']}"
    assert body["qr_svg_url"] == f"{BASE}/v1/codes/{body['code']}/qr.svg"
    assert body["event"]["event_type"] == "CertificateIssued"


def test_a_broken_rule_exits_2_naming_the_field(chain: Chain, tmp_path: Path) -> None:
    key = farm_key(chain, tmp_path)

    wrong = runner.invoke(app, [*issue(db_url(chain), key), "--commitment", "保证质量"])
    untested = runner.invoke(
        app,
        [*issue(db_url(chain), key), "--basis", "self_tested", "--inspection", chain.s.event_id()],
    )

    assert wrong.exit_code == 2 and "payload.commitment" in wrong.stderr
    assert untested.exit_code == 2 and "payload.inspection_event_id" in untested.stderr
    assert chain.store.head(0).size == 0  # nothing recorded


def test_an_unregistered_key_is_refused(chain: Chain, tmp_path: Path) -> None:
    stranger, _ = save_key_pair(
        chain.s.organisation("x", ["PRODUCER"], "330185", "x").key, tmp_path, "x"
    )

    result = runner.invoke(app, issue(db_url(chain), stranger))

    assert result.exit_code == 2 and "unknown_key" in result.stderr


def test_void_points_to_the_replacement(chain: Chain, tmp_path: Path) -> None:
    key = farm_key(chain, tmp_path)
    wrong = runner.invoke(app, issue(db_url(chain), key)).stdout.strip()
    right = runner.invoke(app, issue(db_url(chain), key)).stdout.strip()

    result = runner.invoke(
        app,
        [
            "void",
            wrong,
            "--key",
            str(key),
            "--db",
            db_url(chain),
            "--reason",
            "重量填写错误",
            "--replacement",
            right,
        ],
    )

    assert result.exit_code == 0, result.output
    record = certificate_records(chain.reads(), [wrong])[wrong]
    assert [v.payload["replacement_code"] for v in record.voids] == [right]
    again = runner.invoke(
        app, ["void", wrong, "--key", str(key), "--db", db_url(chain), "--reason", "再次"]
    )
    assert again.exit_code == 2 and "already voided" in again.stderr
