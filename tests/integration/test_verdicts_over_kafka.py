"""The demo province sent through Kafka (real broker, PostgreSQL, two workers) gives every
demo code the same verdict, with the same rules, as the embedded write path: each rule of
docs/verdicts.md that the demo shows a case of (docs/food-chain.md, cold-chain.md,
vaccines.md) holds whichever way the events arrive and whichever worker reads them first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from suyuan.events import decode_batch, decode_event
from suyuan.intake import carries_trust
from suyuan.ledger import SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.tlog import NoteSigner
from suyuan.trace import Tracer
from suyuan_demo import DemoData, build_demo
from tests.databases import fresh_database
from tests.demo_ledger import write_demo
from tests.integration.ingest_harness import IngestRig
from tests.ledger_world import World

SEED = 11


def _verdicts(store: SqlLedgerStore, data: DemoData) -> dict[str, tuple[str, list[str]]]:
    tracer = Tracer(store)
    out = {}
    for label, code in data.codes.items():
        verdict = tracer.trace(code).verdict
        out[label] = (verdict.state, sorted(f.rule_id for f in verdict.findings))
    return out


def _embedded(tmp_path: Path, data: DemoData) -> dict[str, tuple[str, list[str]]]:
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'embedded.sqlite'}")
    migrate(engine)
    store = SqlLedgerStore(engine)
    initialise(store, NoteSigner.generate("test.example/ledger").verifier, [data.scenario.root])
    write_demo(store, data)
    return _verdicts(store, data)


@pytest.fixture
def rig(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[IngestRig]:
    data = build_demo(seed=SEED)
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path, world=World(scenario=data.scenario))
        rig.demo = data  # type: ignore[attr-defined]
        try:
            yield rig
        finally:
            rig.stop_all()


@pytest.mark.integration
def test_every_demo_verdict_is_the_same_through_kafka(rig: IngestRig, tmp_path: Path) -> None:
    data: DemoData = rig.demo  # type: ignore[attr-defined]
    expected = _embedded(tmp_path, data)
    rig.start_worker()
    rig.start_worker()
    trust_events = 0
    for message in data.messages:
        if carries_trust(message):
            rig.send_trust(message)
            trust_events += len(decode_batch(message).events)
            continue
        actor = decode_event(decode_batch(message).events[0]).actor
        rig.send(message, partition=sum(actor.encode()) % rig.partitions, key=actor.encode())
    rig.flush()

    rig.wait_for("every demo event", lambda: rig.entries() >= data.events, timeout=240)

    assert rig.store.rejections(limit=10) == []
    assert rig.entries() == data.events
    through_kafka = _verdicts(rig.store, data)
    assert through_kafka == expected
    states = {state for state, _rules in expected.values()}
    assert states >= {"ok", "recalled", "frozen", "blocked", "attention", "replaced"}
    assert trust_events > 0
