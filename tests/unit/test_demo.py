"""The demo province shows every case a newcomer should see (issues: food chain, demo data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from suyuan.demo import DemoData, build_demo
from suyuan.foodchain import FoodChainMonitor
from suyuan.intake import LedgerWriter, Message, shard_for
from suyuan.ledger import SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.tlog import NoteSigner
from suyuan.trace import Tracer


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoData, SqlLedgerStore]:
    path: Path = tmp_path_factory.mktemp("demo") / "ledger.sqlite"
    engine = create_ledger_engine(f"sqlite:///{path}")
    migrate(engine)
    store = SqlLedgerStore(engine)
    data = build_demo()
    initialise(store, NoteSigner.generate("test.example/ledger").verifier, [data.scenario.root])
    writer = LedgerWriter(store, [data.scenario.root])
    for number, message in enumerate(data.messages):
        result = writer.write(shard_for(message), [Message(f"demo#{number}", message)])
        assert result.rejections == (), result.rejections
    return data, store


def test_every_demo_event_is_accepted_and_the_statuses_are_the_advertised_ones(
    loaded: tuple[DemoData, SqlLedgerStore],
) -> None:
    data, store = loaded
    tracer = Tracer(store)
    status = {label: tracer.trace(code).status for label, code in data.codes.items()}

    assert sum(store.head(s).size for s in store.shard_ids()) == data.events
    assert status["clean certificate"] == "ok"
    assert status["recalled lot"] == "recalled"
    assert status["voided certificate"] == "replaced"
    assert status["lot received without certificate"] == "attention"
    assert status["meat cut without quarantine certificate"] == "attention"
    assert status["meat cut"] == "ok"
    assert status["reissued certificate"] == "ok"
    assert status["frozen cold-chain unit"] == "frozen"
    assert status["vaccine unit"] == "ok"


def test_the_demo_raises_each_kind_of_alert_and_closes_the_disposed_case(
    loaded: tuple[DemoData, SqlLedgerStore],
) -> None:
    data, store = loaded
    alerts = FoodChainMonitor(store).alerts()
    by_code = {(a.kind, a.codes[0]): a.status for a in alerts}

    assert by_code[("missing_certificate", data.codes["lot received without certificate"])] == (
        "open"
    )
    assert (
        by_code[
            ("meat_certificates_missing", data.codes["meat cut without quarantine certificate"])
        ]
        == "open"
    )
    assert ("meat_certificates_missing", data.codes["meat cut"]) not in by_code
    assert by_code[("inspection_failed", data.codes["recalled lot"])] == "closed"
    assert {a.kind for a in alerts} >= {
        "missing_certificate",
        "meat_certificates_missing",
        "inspection_failed",
        "temperature_excursion",
    }
