"""A producer's first certificate on a fresh demo, over HTTP and with ``suyuan cert``/``org``.

``suyuan demo --no-serve`` loads a ledger exactly as ``make demo`` does (its producer token, the
farm's custodial key and 联系方式); the ingest API is then served by uvicorn on a loopback port,
and the CLI calls it with the demo's token. The minimal certificate is read from
docs/http-ingest.md, so the documented example cannot drift from what the service takes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from stdnum import ean
from typer.testing import CliRunner

from suyuan.auth import create_token
from suyuan.config import Settings, get_settings
from suyuan.directory import Directory
from suyuan.foodchain import Reads
from suyuan.ledger import SqlLedgerStore, create_ledger_engine
from suyuan.signing import save_key_pair
from suyuan_cli import app
from suyuan_ingest.api import create_app as create_ingest_app
from suyuan_trace_query.app import create_app as create_query_app
from tests.integration.browser_harness import served
from tests.unit.foodchain.chain import Chain

DOCS = Path(__file__).resolve().parents[2] / "docs" / "http-ingest.md"
DEMO_CONTACT = "0571-63781234"
runner = CliRunner()


@dataclass
class Demo:
    url: str
    """The ingest API, served."""
    token: str
    organisation: str
    query: TestClient
    """The query service (in-process)."""
    db: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{tmp / 'demo.sqlite'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SUYUAN_LEDGER_KEY_FILE", str(tmp / "ledger.key"))
        env.setenv("SUYUAN_CUSTODY_KEY_FILE", str(tmp / "custody.key"))
        for name in ("SUYUAN_URL", "SUYUAN_TOKEN", "SUYUAN_PUBLIC_BASE_URL"):
            env.delenv(name, raising=False)
        get_settings.cache_clear()
        summary = tmp / "summary.json"
        loaded = runner.invoke(app, ["demo", "--no-serve", "--db", db, "--summary", str(summary)])
        assert loaded.exit_code == 0, loaded.output
        assert "First certificate: SUYUAN_URL=" in loaded.output
        facts = json.loads(summary.read_text(encoding="utf-8"))
        settings = Settings(database_url=db, ledger_key_file=str(tmp / "ledger.key"))
        ingest = create_ingest_app(settings)
        query = create_query_app(settings)
        with (
            served(query, lifespan="on") as query_url,
            served(ingest, lifespan="on") as url,
            TestClient(query) as query_client,
        ):
            # the links of the answers point at the query service just served
            settings.public_base_url = query_url
            yield Demo(
                url, facts["producer_token"], facts["producer_organisation"], query_client, db
            )
        get_settings.cache_clear()


def _documented_minimal_certificate() -> dict[str, Any]:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- minimal-certificate[^>]*-->\n```json\n(.*?)\n```", text, re.S)
    assert found, "docs/http-ingest.md lost its minimal certificate example"
    body: dict[str, Any] = json.loads(found.group(1))
    return body


def _cli(demo: Demo, *args: str, token: str | None = None) -> Any:
    return runner.invoke(app, [*args, "--url", demo.url, "--token", token or demo.token])


def _mine(demo: Demo, code: str) -> dict[str, Any]:
    answer = demo.query.get(
        f"/v1/certificates/{code}", headers={"Authorization": f"Bearer {demo.token}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_documented_minimal_certificate_is_issued_on_a_fresh_demo(demo: Demo) -> None:
    body = _documented_minimal_certificate()
    answer = httpx.post(
        f"{demo.url}/v1/certificates",
        json=body,
        headers={"Authorization": f"Bearer {demo.token}"},
    )
    assert answer.status_code == 201, answer.text
    code = answer.json()["code"]
    shown = _mine(demo, code)
    assert (shown["product_name"], shown["quantity"], shown["status"]) == ("小青菜", "500", "valid")
    assert shown["basis"] == "QUALITY_CONTROL"
    assert shown["issuer_type"] == "PRODUCER"

    # without its contact it is still issued: the demo farm's own 联系方式 is printed
    del body["payload"]["contact"]
    again = httpx.post(
        f"{demo.url}/v1/certificates", json=body, headers={"Authorization": f"Bearer {demo.token}"}
    )
    assert again.status_code == 201, again.text
    assert _mine(demo, again.json()["code"])["contact"] == DEMO_CONTACT


def test_the_cli_issues_and_voids_over_http_with_a_token(demo: Demo) -> None:
    issued = _cli(
        demo,
        "cert",
        "issue",
        "--product",
        "菠菜",
        "--category",
        "vegetables",
        "--quantity",
        "80",
        "--origin",
        "浙江省杭州市临安区",
    )
    assert issued.exit_code == 0, issued.output
    wrong = issued.stdout.strip().splitlines()[-1]
    assert _mine(demo, wrong)["contact"] == DEMO_CONTACT

    get_settings.cache_clear()  # the settings are read from this environment
    fixed_run = runner.invoke(
        app,
        [
            "cert",
            "issue",
            "--product",
            "菠菜",
            "--category",
            "vegetables",
            "--quantity",
            "60",
            "--origin",
            "浙江省杭州市临安区",
            "--json",
        ],
        env={"SUYUAN_URL": demo.url, "SUYUAN_TOKEN": demo.token},
    )
    get_settings.cache_clear()
    assert fixed_run.exit_code == 0, fixed_run.output
    fixed = json.loads(fixed_run.stdout)["code"]

    voided = _cli(demo, "cert", "void", wrong, "--reason", "重量填写错误", "--replacement", fixed)
    assert voided.exit_code == 0, voided.output
    shown = _mine(demo, wrong)
    assert (shown["status"], shown["replacement_code"]) == ("replaced", fixed)

    again = _cli(demo, "cert", "void", wrong, "--reason", "again")
    assert again.exit_code == 2
    assert "already_voided" in again.output


def test_the_issuer_s_label_prints_its_contact_and_the_public_label_does_not(
    demo: Demo, tmp_path: Path
) -> None:
    saved = tmp_path / "label.svg"
    issued = _cli(
        demo,
        "cert",
        "issue",
        "--product",
        "小青菜",
        "--category",
        "vegetables",
        "--quantity",
        "500",
        "--origin",
        "临安",
        "--label",
        str(saved),
    )
    assert issued.exit_code == 0, issued.output
    code = issued.stdout.strip().splitlines()[-1]
    drawing = saved.read_text(encoding="utf-8")
    assert drawing.startswith("<svg") or drawing.startswith("<?xml")
    assert code in drawing
    assert "联系方式" in drawing and DEMO_CONTACT in drawing
    public = httpx.get(_mine(demo, code)["label_url"])
    assert public.status_code == 200
    assert code in public.text
    assert DEMO_CONTACT not in public.text
    assert "no-store" not in public.headers["cache-control"]
    own = httpx.get(
        _mine(demo, code)["label_url"], headers={"Authorization": f"Bearer {demo.token}"}
    )
    assert DEMO_CONTACT in own.text
    assert own.headers["cache-control"] == "private, no-store"


def test_the_cli_shows_the_service_s_field_and_rule_and_exits_by_kind(demo: Demo) -> None:
    base = ["cert", "issue", "--product", "菠菜", "--quantity", "80", "--origin", "临安"]
    refused = _cli(demo, *base, "--category", "flowers")
    assert refused.exit_code == 2
    assert "payload.category" in refused.output

    # Every problem the service found is shown, not only the first.
    twice = _cli(demo, *base, "--category", "VEGETABLES", "--lot", "NOT-A-CODE", "--lot", "X-2")
    assert twice.exit_code == 2
    shown = " ".join(twice.output.split())
    assert "lot_codes[0]" in shown and "also lot_codes[1]" in shown, shown

    bad_token = _cli(demo, *base, "--category", "vegetables", token="sy_" + "A" * 32)
    assert bad_token.exit_code == 3
    assert "unknown_token" in bad_token.output

    nobody = runner.invoke(
        app, [*base, "--category", "vegetables", "--url", "http://127.0.0.1:9", "--token", "sy_x"]
    )
    assert nobody.exit_code == 4
    assert "unreachable" in nobody.output

    get_settings.cache_clear()
    neither = runner.invoke(app, [*base, "--category", "vegetables"], env={"SUYUAN_URL": ""})
    get_settings.cache_clear()
    assert neither.exit_code == 2
    assert "--url" in neither.output


def test_the_organisation_sets_its_contact_and_new_certificates_print_it(demo: Demo) -> None:
    shown = _cli(demo, "org", "show")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["uscc"] == demo.organisation

    not_a_phone = _cli(demo, "org", "contact", "call us")
    assert not_a_phone.exit_code == 2
    assert "contact" in not_a_phone.output

    changed = _cli(demo, "org", "contact", "0571-88886666")
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.stdout)["contact"] == "0571-88886666"
    issued = _cli(
        demo,
        "cert",
        "issue",
        "--product",
        "韭菜",
        "--category",
        "vegetables",
        "--quantity",
        "20",
        "--origin",
        "临安",
    )
    assert issued.exit_code == 0, issued.output
    code = issued.stdout.strip().splitlines()[-1]
    assert _mine(demo, code)["contact"] == "0571-88886666"
    assert _cli(demo, "org", "contact", DEMO_CONTACT).exit_code == 0  # as the demo left it


def test_the_local_mode_signs_with_the_key_file_and_prints_the_stored_contact(
    tmp_path: Path,
) -> None:
    chain = Chain.open(tmp_path / "ledger.sqlite")
    db = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    key, _public = save_key_pair(chain.farm.key, tmp_path / "keys", "farm")
    base = ["cert", "issue", "--product", "小青菜", "--category", "vegetables"]
    base += ["--quantity", "500", "--origin", "临安", "--key", str(key), "--db", db]

    no_contact = runner.invoke(app, base)
    assert no_contact.exit_code == 2
    assert "--contact" in no_contact.output
    both = runner.invoke(app, [*base, "--url", "http://127.0.0.1:9"])
    assert both.exit_code == 2
    assert "not both" in both.output

    contact = ["org", "contact", "0571-12345678", "--org", chain.farm.uscc, "--db", db]
    assert runner.invoke(app, contact).exit_code == 0
    issued = runner.invoke(app, [*base, "--json"])
    assert issued.exit_code == 0, issued.output
    event = json.loads(issued.stdout)["event"]
    assert event["actor"] == chain.farm.uscc
    assert event["payload"]["contact"] == "0571-12345678"
    reads = Reads(chain.store)
    assert reads.by_id(event["event_id"]) is not None  # in the ledger, signed by the farm's key
    chain.store.close()


def _gln(stem: str) -> str:
    return stem + ean.calc_check_digit(stem)


def test_an_admin_registers_an_organisation_s_glns_and_the_organisation_lists_them(
    demo: Demo,
) -> None:
    admin = create_token(create_ledger_engine(demo.db), "admin")
    place, party = _gln("629104150021"), _gln("629104150022")
    place_args = ["org", "gln", demo.organisation, place, "--region-code", "330185"]

    by_producer = _cli(demo, *place_args, "--name", "临安基地")
    assert by_producer.exit_code != 0
    assert "admin" in by_producer.output
    registered = _cli(demo, *place_args, "--name", "临安基地", token=admin)
    assert registered.exit_code == 0, registered.output
    assert json.loads(registered.stdout)["name"] == "临安基地"
    nameless = _cli(demo, "org", "gln", demo.organisation, _gln("629104150023"), token=admin)
    assert nameless.exit_code == 2
    assert "name" in nameless.output and "region_code" in nameless.output
    local = runner.invoke(
        app, ["org", "gln", demo.organisation, party, "--kind", "party", "--db", demo.db]
    )
    assert local.exit_code == 0, local.output

    listed = _cli(demo, "org", "glns")
    assert listed.exit_code == 0, listed.output
    assert {(g["gln"], g["kind"]) for g in json.loads(listed.stdout)["glns"]} == {
        (place, "place"),
        (party, "party"),
    }
    store = SqlLedgerStore(create_ledger_engine(demo.db))
    other = next(o.uscc for o in Directory(store).organisations() if o.uscc != demo.organisation)
    store.close()
    unregistered = ["org", "gln", "91330100MA2B0C0D0E", place, "--kind", "party", "--db", demo.db]
    assert "no organisation" in runner.invoke(app, unregistered).output
    taken = runner.invoke(app, ["org", "gln", other, place, "--kind", "party", "--db", demo.db])
    assert taken.exit_code == 2
    assert "gln_taken" in taken.output
