"""Order across partitions, against the real broker (Tansu) and PostgreSQL.

Trust events (organisations, keys, revocations) travel on their own one-partition topic; an event
is judged against every trust event produced before it, whichever worker owns the trust
partition and however late that worker is. An event that cites another organisation's event
(a purchaser certificate citing the farm's) waits for the partitions that may still bring it.
These tests freeze one worker (SIGSTOP), produce what the other worker's events depend on to the
frozen side, and check that the other worker waits instead of judging early.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from suyuan.events import decode_batch, decode_event
from suyuan.ledger import TRUST_SHARD, Auditor
from suyuan.scenario import vegetable_certificate
from tests.databases import fresh_database
from tests.integration.ingest_harness import IngestRig

pytestmark = pytest.mark.integration

_ASSIGNED = re.compile(r"INFO suyuan\.ingest (\S+)\[(\d+)\]@\S+ (assigned|revoked)")
#: Shorter than the test group's session timeout (6 s): the frozen worker stays in the group.
FROZEN_FOR_S = 3.0


@pytest.fixture
def rig(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[IngestRig]:
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path, partitions=2)
        try:
            yield rig
        finally:
            for proc in rig.workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
            rig.stop_all()


def _assignment(rig: IngestRig, worker: int) -> set[tuple[str, int]]:
    """What a worker owns now, from its log (assigned / revoked lines in order)."""
    owned: set[tuple[str, int]] = set()
    for topic, partition, what in _ASSIGNED.findall(rig.log_of(worker)):
        if what == "assigned":
            owned.add((topic, int(partition)))
        else:
            owned.discard((topic, int(partition)))
    return owned


def _two_workers_split(rig: IngestRig) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start two workers; return the one owning the trust partition and an events partition
    the other one owns (and that other worker's number)."""
    rig.start_worker()
    rig.start_worker()
    everything = {(rig.topic, 0), (rig.topic, 1), (rig.trust_topic, 0)}

    def settled() -> bool:
        first, second = _assignment(rig, 0), _assignment(rig, 1)
        return bool(first) and bool(second) and first | second == everything

    rig.wait_for("both workers to own partitions", settled, timeout=60)
    owner = 0 if (rig.trust_topic, 0) in _assignment(rig, 0) else 1
    other = 1 - owner
    [(_, partition)] = [tp for tp in _assignment(rig, other) if tp[0] == rig.topic]
    return rig.workers[owner], partition, other


def _ids(message: bytes) -> list[str]:
    return [decode_event(data).event_id for data in decode_batch(message).events]


def _stored(rig: IngestRig, event_id: str) -> bool:
    try:
        rig.store.locate(event_id)
    except LookupError:
        return False
    return True


def _audit_ok(rig: IngestRig) -> None:
    report = Auditor(
        rig.store, rig.verifier, [rig.world.scenario.root], ledger_name=rig.verifier.name
    ).run()
    assert report.findings == []


def test_events_of_a_new_organisation_wait_for_its_registration_on_a_frozen_worker(
    rig: IngestRig,
) -> None:
    trust_owner, partition, other = _two_workers_split(rig)
    world = rig.world
    trust_owner.send_signal(signal.SIGSTOP)
    rig.send_trust(world.trust_message())  # acknowledged: produced before what follows
    messages = [world.farm_batch([world.certificate() for _ in range(20)]) for _ in range(5)]
    for message in messages:
        rig.send(message, partition=partition)
    rig.flush()

    time.sleep(FROZEN_FOR_S)
    assert rig.store.rejections() == [], "judged before its trust events were applied"
    assert rig.store.head(partition).size == 0
    assert "waits for the trust topic" in rig.log_of(other)

    trust_owner.send_signal(signal.SIGCONT)
    rig.wait_for("the farm's 100 events", lambda: rig.store.head(partition).size >= 100)

    assert rig.store.rejections() == []
    assert rig.store.head(TRUST_SHARD).size == 4
    assert all(_stored(rig, event_id) for m in messages for event_id in _ids(m))
    _audit_ok(rig)  # keys registered on the trust shard, used on an events shard


def test_a_revocation_produced_first_refuses_the_key_on_another_partition(
    rig: IngestRig,
) -> None:
    world, s = rig.world, rig.world.scenario
    leaking = s.organisation("钥匙泄露合作社", ["PRODUCER"], "330185", "浙江省杭州市临安区")
    trust_owner, partition, other = _two_workers_split(rig)
    rig.send_trust(s.sign_as_root([*s.registration(world.farm, world.market, leaking)]))
    rig.wait_for("the registrations", lambda: rig.store.head(TRUST_SHARD).size >= 6)

    trust_owner.send_signal(signal.SIGSTOP)
    rig.send_trust(s.sign_as_root([s.revocation(leaking, "私钥泄露")]))
    forged = s.sign(leaking, [vegetable_certificate(s, leaking, None)])
    honest = world.farm_batch([world.certificate()])
    rig.send(forged, partition=partition)
    rig.send(honest, partition=partition)
    rig.flush()

    time.sleep(FROZEN_FOR_S)
    assert not any(_stored(rig, event_id) for event_id in _ids(forged)), (
        "accepted with a key whose revocation was produced before it"
    )
    assert "waits for the trust topic" in rig.log_of(other)

    trust_owner.send_signal(signal.SIGCONT)
    rig.wait_for("the rejection", lambda: len(rig.store.rejections()) >= 1)
    rig.wait_for("the honest event", lambda: all(_stored(rig, e) for e in _ids(honest)))

    [rejected] = rig.store.rejections()
    assert rejected.rejection.reason == "revoked_key"
    assert rejected.rejection.source.startswith(f"{rig.topic}[{partition}]@")
    assert not any(_stored(rig, event_id) for event_id in _ids(forged))
    _audit_ok(rig)


def test_messages_refused_before_their_key_are_replayed_from_the_dead_letter_topic(
    rig: IngestRig,
) -> None:
    world = rig.world
    rig.start_worker()
    # Sent with no registration at all: refused for good as unknown_key (nothing was produced
    # before them that registers the key), whole, onto the dead-letter topic.
    messages = [world.farm_batch([world.certificate() for _ in range(100)]) for _ in range(3)]
    for number, message in enumerate(messages):
        rig.send(message, partition=number % 2)
    rig.flush()
    rig.wait_for("the rejections", lambda: len(rig.store.rejections()) >= 3)
    assert {r.rejection.reason for r in rig.store.rejections()} == {"unknown_key"}

    rig.send_trust(world.trust_message())
    rig.wait_for("the registration", lambda: rig.store.head(TRUST_SHARD).size >= 4)
    env = {
        **os.environ,
        "SUYUAN_DEAD_LETTER_TOPIC": rig.dlq,
        "SUYUAN_EVENTS_TOPIC": rig.topic,
        "SUYUAN_TRUST_TOPIC": rig.trust_topic,
    }
    command = [sys.executable, "-m", "suyuan_cli", "dlq", "replay", "--from", "topic"]
    command += ["--bootstrap", rig.bootstrap, "--db", rig.db_url, "--reason", "unknown_key"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert "sent=3" in first.stdout
    rig.wait_for("the 300 replayed events", lambda: rig.entries() >= 4 + 300)
    assert all(_stored(rig, event_id) for m in messages for event_id in _ids(m))

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    rig.wait_for(
        "the second replay counted as duplicates",
        lambda: sum(rig.store.head(p).duplicates for p in (0, 1)) >= 300,
    )
    assert rig.entries() == 4 + 300
    _audit_ok(rig)


def test_a_purchaser_certificate_waits_for_the_upstream_one_on_a_frozen_partition(
    rig: IngestRig,
) -> None:
    world = rig.world
    owner, market_partition, _other = _two_workers_split(rig)
    farm_partition = 1 - market_partition  # owned by the frozen worker
    rig.register_world()
    lot = world.scenario.unit_code(item="10010", lot="LA20261206")
    farm_cert = world.certificate(lot=lot)
    shipped, received = world.delivery([lot], [farm_cert.codes[0]])
    resale = world.certificate(upstream=(farm_cert.codes[0],))

    owner.send_signal(signal.SIGSTOP)
    rig.send(world.farm_batch([farm_cert, shipped]), partition=farm_partition)
    rig.flush()
    rig.send(world.scenario.sign(world.market, [received, resale]), partition=market_partition)
    rig.flush()
    time.sleep(FROZEN_FOR_S)

    assert rig.store.rejections() == [], "judged before the certificate it cites could arrive"
    assert not _stored(rig, resale.event_id)
    owner.send_signal(signal.SIGCONT)
    rig.wait_for("the purchaser certificate", lambda: _stored(rig, resale.event_id))

    assert _stored(rig, farm_cert.event_id)
    assert rig.store.rejections() == []
    _audit_ok(rig)


def test_a_certificate_citing_nothing_anyone_sent_is_refused_without_a_long_wait(
    rig: IngestRig,
) -> None:
    world = rig.world
    rig.start_worker()
    rig.register_world()
    bogus = world.certificate(upstream=(world.scenario.certificate_code(),))
    started = time.monotonic()
    rig.send(world.scenario.sign(world.market, [bogus]), partition=1)
    rig.flush()

    rig.wait_for("the rejection", lambda: len(rig.store.rejections()) >= 1, timeout=60)

    [rejected] = rig.store.rejections()
    assert rejected.rejection.field == "payload.upstream_certificates[0]"
    assert "no certificate with this code is in the ledger" in rejected.rejection.rule
    # every other partition was caught up: no need to wait the full 30 s
    assert time.monotonic() - started < 20


def test_a_receipt_waits_for_the_shippers_partition_instead_of_taking_the_goods(
    rig: IngestRig,
) -> None:
    world, s = rig.world, rig.world.scenario
    owner, market_partition, _other = _two_workers_split(rig)
    farm_partition = 1 - market_partition  # owned by the frozen worker
    rig.register_world()
    lot = s.unit_code(item="10010", lot="LA20261205")
    cert = vegetable_certificate(s, world.farm, lot)
    shipped = s.event(
        world.farm,
        "Shipped",
        {
            "to_org": world.market.uscc,
            "waybill_no": "ZJYD20260506",
            "vehicle_plate": None,
            "carrier": None,
            "destination": world.market.location(),
        },
        codes=[lot],
        quantity="500",
        unit="kg",
    )
    received = s.event(
        world.market,
        "Received",
        {
            "from_org": world.farm.uscc,
            "waybill_no": "ZJYD20260506",
            "upstream_certificates": [cert.codes[0]],
            "check_passed": True,
            "check_note": None,
        },
        codes=[lot],
        quantity="500",
        unit="kg",
    )

    owner.send_signal(signal.SIGSTOP)
    rig.send(world.farm_batch([cert, shipped]), partition=farm_partition)
    rig.flush()
    rig.send(s.sign(world.market, [received]), partition=market_partition)
    rig.flush()
    time.sleep(FROZEN_FOR_S)

    # Judged now, the market would become the first holder of goods nobody holds yet, and
    # the farm's own certificate and shipment would then be refused as not in its custody.
    assert not _stored(rig, received.event_id)
    owner.send_signal(signal.SIGCONT)
    rig.wait_for("the receipt", lambda: _stored(rig, received.event_id))

    assert all(_stored(rig, e.event_id) for e in (cert, shipped))
    assert rig.store.rejections() == []
    _audit_ok(rig)
