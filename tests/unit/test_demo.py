"""The demo province shows every case a newcomer should see (issues: food chain, demo data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from suyuan.foodchain import FoodChainMonitor
from suyuan.ledger import SqlLedgerStore
from suyuan.trace import Tracer
from suyuan_demo import DemoData
from tests.demo_ledger import load_demo


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoData, SqlLedgerStore]:
    path: Path = tmp_path_factory.mktemp("demo") / "ledger.sqlite"
    return load_demo(f"sqlite:///{path}")


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
    assert status["lot a buyer's own test failed"] == "attention"
    assert status["import past its shelf life"] == "expired"
    assert {"ok", "recalled", "frozen", "blocked", "expired", "attention", "replaced"} <= set(
        status.values()
    ), "the demo shows every verdict state"
    assert status["reissued certificate"] == "ok"
    assert status["frozen cold-chain unit"] == "frozen"
    assert status["cold-chain unit"] == "attention"  # an open temperature excursion
    assert status["sibling of a positive sample, sold on"] == "frozen"
    assert status["import with failed papers"] == "frozen"
    assert status["uncoded import unit"] == "attention"
    assert status["vaccine unit"] == "ok"
    assert status["vaccine dose with a serious adverse event (regulators only)"] == "ok"
    assert status["vaccine received without temperature record"] == "attention"
    assert status["vaccine dose given twice"] == "blocked"
    assert status["vaccine dose given under recall"] == "recalled"
    assert status["vaccine dose given expired, straight from the maker after 15 °C"] == "blocked"
    assert status["vaccine dose at the clinic straight from the maker"] == "blocked"
    assert status["drug dispensed once"] == "ok"
    assert status["drug sold again (回流药)"] == "attention"


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
        "vaccine_use_blocked",
        "vaccine_receipt_unchecked",
        "serious_adverse_event",
        "drug_resold",
        "import_papers_failed",
        "positive_sample",
        "import_papers_incomplete",
        "uncoded_import",
    }


def test_each_cold_chain_case_shows_its_rule_and_reaches_hangzhou(
    loaded: tuple[DemoData, SqlLedgerStore],
) -> None:
    data, store = loaded
    tracer = Tracer(store)

    def rules(label: str) -> set[str]:
        return {f.rule_id for f in tracer.trace(data.codes[label]).verdict.findings}

    assert rules("cold-chain unit") == {"temperature_excursion"}
    assert rules("frozen cold-chain unit") == {"inspection_failed", "positive_sample"}
    assert rules("sibling of a positive sample, sold on") == {
        "positive_sample",
        "import_papers_incomplete",
    }
    assert {"import_papers_failed", "import_papers_incomplete"} <= rules(
        "import with failed papers"
    )
    assert rules("uncoded import unit") == {"uncoded_import"}
    # Read in 宁波, the goods went on to 杭州: the 杭州 regulator follows these alerts too.
    hangzhou = {a.kind for a in FoodChainMonitor(store).alerts() if a.concerns("330100")}
    assert hangzhou >= {
        "temperature_excursion",
        "positive_sample",
        "import_papers_failed",
        "uncoded_import",
    }


def test_each_vaccine_and_drug_case_opens_its_own_alert(
    loaded: tuple[DemoData, SqlLedgerStore],
) -> None:
    data, store = loaded
    every = {a.alert_id for a in FoodChainMonitor(store).alerts()}
    tracer = Tracer(store)

    def kinds(label: str) -> set[str]:
        found = tracer.trace(data.codes[label]).alerts
        assert {a.alert_id for a in found} <= every  # the regulator's list has them too
        return {a.kind for a in found}

    expected = {
        "vaccine received without temperature record": "vaccine_receipt_unchecked",
        "vaccine dose given twice": "vaccine_use_blocked",
        "vaccine dose given under recall": "vaccine_use_blocked",
        "vaccine dose given expired, straight from the maker after 15 °C": "vaccine_use_blocked",
        "vaccine dose with a serious adverse event (regulators only)": "serious_adverse_event",
        "drug sold again (回流药)": "drug_resold",
    }

    for label, kind in expected.items():
        assert kind in kinds(label), label
    assert kinds("vaccine unit") == set()
    assert kinds("drug dispensed once") == set()
