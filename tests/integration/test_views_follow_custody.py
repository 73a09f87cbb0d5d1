"""Views follow custody: a producer token sees a trace in full only for goods its organisation held.

A lab that tested a lot, or an organisation whose event about someone else's goods was refused,
gets the public view — no quantities, no trading partners — like any anonymous caller.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    load_or_create_ledger_key,
    migrate,
)
from suyuan.scenario import Scenario, vegetable_certificate
from suyuan_trace_query.app import create_app

WAYBILL = "ZJYD20261205"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    s = Scenario(seed=11)
    key_file = tmp_path / "ledger.key"
    signer = load_or_create_ledger_key(key_file, "test.local/ledger")
    initialise(store, signer.verifier, [s.root])
    farm = s.organisation("临安区太湖源蔬菜专业合作社", ["PRODUCER"], "330185", "临安区")
    market = s.organisation("杭州农副产品物流中心", ["MARKET", "PURCHASER"], "330105", "拱墅区")
    lab = s.organisation("浙江方圆检测集团", ["LAB"], "330108", "滨江区")
    stranger = s.organisation("杭州冷链物流中心", ["COLD_STORE"], "330110", "余杭区")
    writer = LedgerWriter(store, [s.root])
    trust = s.sign_as_root(s.registration(farm, market, lab, stranger))
    assert not writer.write(TRUST_SHARD, [Message("trust", trust)]).rejections
    lot = s.unit_code(item="10010", lot="VIEW1205")
    shipped = s.event(
        farm,
        "Shipped",
        {
            "to_org": market.uscc,
            "waybill_no": WAYBILL,
            "vehicle_plate": None,
            "carrier": None,
            "destination": market.location(),
        },
        codes=[lot],
        quantity="500",
        unit="kg",
    )
    tested = s.pesticide_test(
        lab,
        [lot],
        kind="COMMISSIONED_LAB",
        lab=lab.name,
        lab_uscc=lab.uscc,
        report_no="FY-20261205-01",
    )
    stored = s.event(
        stranger,
        "Stored",
        {"facility": "COLD_STORE", "storage_unit": None},
        codes=[lot],
    )
    writes = [
        (farm, [vegetable_certificate(s, farm, lot, quantity="500"), shipped]),
        (lab, [tested]),
        (stranger, [stored]),
    ]
    results = [writer.write(0, [Message(f"w{n}", s.sign(o, e))]) for n, (o, e) in enumerate(writes)]
    assert [len(r.rejections) for r in results] == [0, 0, 1]  # the stranger held nothing
    assert results[2].rejections[0].reason == "not_in_custody"
    app = create_app(
        Settings(
            database_url=url, ledger_key_file=str(key_file), ledger_name="test.local/ledger"
        ).model_copy(
            update={
                **dict(
                    custody_master_key=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode())
                ),
                **dict(query_rate_limit_per_second=0),
            }
        ),
        store=store,
    )
    with TestClient(app) as client:
        yield {
            "client": client,
            "lot": lot,
            "tokens": {
                name: create_token(engine, "producer", organisation=org.uscc)
                for name, org in (("farm", farm), ("lab", lab), ("stranger", stranger))
            },
        }
    store.close()


def _trace(world: dict[str, Any], who: str) -> Any:
    token = world["tokens"][who]
    path = f"/v1/trace/{quote(world['lot'], safe='()')}"
    return world["client"].get(path, headers={"Authorization": f"Bearer {token}"})


def test_the_holder_sees_its_goods_in_full(world: dict[str, Any]) -> None:
    response = _trace(world, "farm")

    assert response.json()["view"] == "full"
    assert WAYBILL in response.text


@pytest.mark.parametrize("who", ["lab", "stranger"])
def test_a_tester_or_a_refused_stranger_gets_the_public_view(
    world: dict[str, Any], who: str
) -> None:
    response = _trace(world, who)

    assert response.status_code == 200
    body = response.json()
    assert body["view"] == "public"
    assert WAYBILL not in response.text
    assert body["forward"] is None
