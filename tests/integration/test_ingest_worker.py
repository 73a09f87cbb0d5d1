"""The Kafka ingest worker against the real broker (Tansu) and a real PostgreSQL ledger."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from suyuan.events import SINGLE_OBJECT_MARKER, decode_batch, encode_batch, encode_event
from suyuan.events.model import SignedBatch
from suyuan.ledger import TRUST_SHARD, Auditor
from suyuan.scenario import LotMaker
from suyuan.signing import sign_batch
from suyuan_ingest import kafka_clients
from tests.databases import fresh_database
from tests.integration.ingest_harness import MAX_TEST_MESSAGE_BYTES, IngestRig

pytestmark = pytest.mark.integration

#: What a worker logs when it takes a partition and seeks to the offset stored in the ledger.
RESUMED = "assigned; resuming from the ledger's stored offset"


@pytest.fixture
def rig(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[IngestRig]:
    with fresh_database(postgres_url) as url:
        rig = IngestRig(kafka_bootstrap, url, tmp_path)
        try:
            yield rig
        finally:
            rig.stop_all()


def _farm_messages(rig: IngestRig, events: int, per_message: int) -> list[bytes]:
    world = rig.world
    return [
        world.farm_batch([world.certificate() for _ in range(min(per_message, events - start))])
        for start in range(0, events, per_message)
    ]


def _audit_ok(rig: IngestRig) -> None:
    report = Auditor(
        rig.store, rig.verifier, [rig.world.scenario.root], ledger_name=rig.verifier.name
    ).run()
    assert report.findings == []


def _event_ids(rig: IngestRig) -> list[str]:
    return [e.event_id for s in rig.store.shard_ids() for e in rig.store.entries(s)]


def test_ten_thousand_events_over_three_partitions_two_workers_exactly_once(
    rig: IngestRig,
) -> None:
    rig.start_worker()
    rig.start_worker()
    # Trust on its own topic, the farm's events right behind it (no waiting in between).
    rig.send_trust(rig.world.trust_message())
    messages = _farm_messages(rig, 10_000, 100)
    expected_ids = {e for m in messages for e in _ids_in(m)}
    for number, message in enumerate(messages):
        rig.send(message, partition=number % 3)
    rig.flush()

    rig.wait_for("10,004 entries", lambda: rig.entries() >= 10_004)
    time.sleep(1)  # anything extra would show up now

    ids = _event_ids(rig)
    assert len(ids) == 10_004 and len(set(ids)) == 10_004
    assert expected_ids <= set(ids)
    assert sorted(rig.store.shard_ids()) == [0, 1, 2, TRUST_SHARD]
    assert sum(rig.store.head(s).duplicates for s in (0, 1, 2)) == 0
    assert rig.store.rejections() == []
    _audit_ok(rig)


def test_a_backlog_of_one_event_messages_is_written_in_few_transactions(rig: IngestRig) -> None:
    # A producer that signs every event on its own: per lot a certificate, two cases packed
    # from goods nobody held yet (each such event must wait until the other partitions hold
    # what was produced before it) and the shipment; runs of 25 lots alternate partitions.
    world = rig.world
    lots = LotMaker(world.scenario, world.market)
    rig.send_trust(world.trust_message())
    sent = []
    for run in range(4):
        for event in lots.events(world.farm, 100):
            rig.send(world.farm_batch([event]), partition=run % 2)
            sent.append(event.event_id)
    rig.flush()

    rig.start_worker()  # the whole backlog is waiting for it
    rig.wait_for("all 404 entries", lambda: rig.entries() >= 404)
    time.sleep(1)

    ids = _event_ids(rig)
    assert len(ids) == len(set(ids)) == 404
    assert set(sent) <= set(ids)
    assert rig.store.rejections() == []
    # Far fewer ledger transactions than messages (one each, or two, before): PostgreSQL
    # stamps every row with the transaction that inserted it.
    assert _transactions(rig, shards=(0, 1)) < len(sent) // 10
    _audit_ok(rig)


def _transactions(rig: IngestRig, shards: tuple[int, ...]) -> int:
    with rig.store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(DISTINCT xmin::text) FROM ledger_entries "
                    "WHERE shard = ANY(:shards)"
                ),
                {"shards": list(shards)},
            ).scalar_one()
        )


def test_worker_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(
    rig: IngestRig,
) -> None:
    first = rig.start_worker()
    rig.send_trust(rig.world.trust_message())
    messages = _farm_messages(rig, 6_000, 50)
    for number, message in enumerate(messages):
        rig.send(message, partition=number % 3)
    rig.flush()
    rig.wait_for("some progress", lambda: rig.entries() > 1_000)
    rig.kill(first)
    killed_at = rig.entries()

    rig.start_worker()
    rig.wait_for("all 6,004 entries", lambda: rig.entries() >= 6_004)
    time.sleep(1)

    assert RESUMED in rig.log_of(1)
    ids = _event_ids(rig)
    assert killed_at < 6_004, "the kill must land mid-stream for this test to mean anything"
    assert len(ids) == len(set(ids)) == 6_004
    assert rig.store.rejections() == []
    _audit_ok(rig)


def test_worker_joining_mid_stream_causes_no_duplicate_and_no_gap(rig: IngestRig) -> None:
    rig.start_worker()
    rig.register_world()
    messages = iter(enumerate(_farm_messages(rig, 6_000, 25)))
    for number, message in itertools.islice(messages, 40):
        rig.send(message, partition=number % 3)
    rig.flush()
    rig.wait_for("first part", lambda: rig.entries() > 500)

    rig.start_worker()
    # Keep the stream flowing while the group rebalances, so the join lands mid-stream.
    for number, message in messages:
        rig.send(message, partition=number % 3)
        if RESUMED not in rig.log_of(1):
            rig.flush()
            time.sleep(0.05)
    rig.flush()
    rig.wait_for("all 6,004 entries", lambda: rig.entries() >= 6_004)
    time.sleep(1)

    assert RESUMED in rig.log_of(1), "the second worker must have taken partitions"
    assert "appended" in rig.log_of(1), "…and appended from them"
    assert "@- revoked" in rig.log_of(0), "the first worker must have given partitions up"
    ids = _event_ids(rig)
    assert len(ids) == len(set(ids)) == 6_004
    for shard in rig.store.shard_ids():
        assert [e.seq for e in rig.store.entries(shard)] == list(range(rig.store.head(shard).size))
    _audit_ok(rig)


def test_poison_messages_are_rejected_with_reasons_and_good_ones_land(rig: IngestRig) -> None:
    world = rig.world
    s = world.scenario
    revoked = s.organisation("已注销合作社", ["PRODUCER"], "330185", "浙江省杭州市临安区")
    rig.start_worker()
    rig.register_world()
    rig.send_trust(s.sign_as_root([*s.registration(revoked), s.revocation(revoked, "密钥泄露")]))
    rig.wait_for("revocation", lambda: rig.entries() >= 7)
    stranger = s.organisation("未登记公司", ["RETAILER"], "330106", "浙江省杭州市西湖区")

    good = [world.certificate() for _ in range(4)]
    signed = decode_batch(world.farm_batch([world.certificate()]))
    bad_signature = encode_batch(
        dataclasses.replace(
            signed, signature=bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
        )
    )
    unknown_schema = SINGLE_OBJECT_MARKER + b"\x01" * 8 + b"\x00" * 10
    bad_code = dataclasses.replace(world.certificate(), codes=("NOT-A-CODE",))
    oversized = world.farm_batch([world.certificate() for _ in range(700)])
    assert len(oversized) > MAX_TEST_MESSAGE_BYTES
    poison = [
        ("undecodable", b"\x00\xffgarbage"),
        ("unknown_schema", unknown_schema),
        ("bad_signature", bad_signature),
        (
            "revoked_key",
            s.sign(
                revoked,
                [
                    s.event(
                        revoked, "Sold", {"channel": "RETAIL", "buyer": None, "receipt_no": None}
                    )
                ],
            ),
        ),
        ("wrong_signer", s.sign(world.market, [world.certificate()])),
        ("invalid_code", encode_batch(sign_batch(world.farm.key, [encode_event(bad_code)]))),
        ("oversized", oversized),
        # trust events belong on the trust topic: on the events topic they are refused
        ("wrong_topic", s.sign_as_root(s.registration(stranger)[:1])),
    ]
    rig.send(world.farm_batch(good[:2]), partition=1)
    for _reason, message in poison:
        rig.send(message, partition=1)
    rig.send(world.farm_batch(good[2:]), partition=1)
    rig.flush()

    rig.wait_for("good events", lambda: all(_in_ledger(rig, e.event_id) for e in good))
    rig.wait_for("rejections", lambda: len(rig.store.rejections()) >= len(poison))

    reasons = sorted(r.rejection.reason for r in rig.store.rejections())
    assert reasons == sorted(reason for reason, _ in poison)
    for stored in rig.store.rejections():
        assert stored.rejection.rule
        assert stored.rejection.source.startswith(f"{rig.topic}[1]@")
    assert all(_in_ledger(rig, e.event_id) for e in good)
    dead = _dead_letters(rig, len(poison))
    assert sorted(h["suyuan-reason"] for h in dead) == reasons
    _audit_ok(rig)


def test_same_event_sent_twice_is_stored_once_and_counted_duplicate(rig: IngestRig) -> None:
    rig.start_worker()
    rig.register_world()
    message = rig.world.farm_batch([rig.world.certificate()])
    rig.send(message, partition=2)
    rig.send(message, partition=2)
    rig.flush()

    rig.wait_for("the duplicate", lambda: rig.store.head(2).duplicates >= 1)

    assert rig.store.head(2).size == 1
    assert rig.store.head(2).duplicates == 1


def _ids_in(message: bytes) -> list[str]:
    from suyuan.events import decode_event

    return [decode_event(e).event_id for e in decode_batch(message).events]


def _in_ledger(rig: IngestRig, event_id: str) -> bool:
    try:
        rig.store.locate(event_id)
    except LookupError:
        return False
    return True


def _dead_letters(rig: IngestRig, count: int) -> list[dict[str, str]]:
    consumer = kafka_clients.consumer(
        rig.bootstrap,
        group_id=f"dlq-{rig.topic}",
        auto_offset_reset="earliest",
        max_poll_interval_ms=5000,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    consumer.subscribe([rig.dlq])
    headers: list[dict[str, str]] = []
    deadline = time.monotonic() + 60
    while len(headers) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            headers += [{k: v.decode() for k, v in r.headers} for r in records]
    consumer.close()
    return headers


_ = SignedBatch
