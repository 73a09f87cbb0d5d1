"""A signed batch crosses a real Kafka-protocol broker (Tansu) and is verified on the other side."""

from __future__ import annotations

import time

import pytest

from suyuan.events import decode_batch, decode_event, event_to_json, validate_event
from suyuan.signing import TrustStore, batch_proofs, verify_event_in_batch
from suyuan_ingest import kafka_clients
from tests.ledger_world import World

pytestmark = pytest.mark.integration


def _consume_one(bootstrap: str, topic: str, timeout: float = 60) -> tuple[bytes, bytes]:
    consumer = kafka_clients.consumer(
        bootstrap,
        group_id="suyuan-test",
        auto_offset_reset="earliest",
        max_poll_interval_ms=5000,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    return record.key, record.value
        raise AssertionError(f"nothing arrived on {topic} within {timeout}s")
    finally:
        consumer.close()


def test_signed_batch_survives_the_broker_and_verifies(kafka_bootstrap: str) -> None:
    world = World()
    events = [world.certificate() for _ in range(3)]
    trust = TrustStore([world.scenario.root])
    registration = world.scenario.registration(world.farm, world.market)
    root_batch = decode_batch(world.trust_message())
    trust.check_batch(root_batch, [decode_event(e) for e in root_batch.events])
    for event in registration:
        trust.apply(event)
    message = world.farm_batch(events)

    kafka_clients.create_topics(kafka_bootstrap, {"suyuan.events.test": 3})
    producer = kafka_clients.producer(kafka_bootstrap)
    producer.send("suyuan.events.test", key=world.farm.uscc.encode(), value=message).get(30)
    producer.close()

    key, value = _consume_one(kafka_bootstrap, "suyuan.events.test")

    assert key == world.farm.uscc.encode()
    batch = decode_batch(value)
    received = [decode_event(data) for data in batch.events]
    trust.check_batch(batch, received)
    for event in received:
        validate_event(event)
    assert [event_to_json(e) for e in received] == [event_to_json(e) for e in events]
    for data, proof in zip(batch.events, batch_proofs(batch), strict=True):
        verify_event_in_batch(data, proof, batch.signature, trust.key_for(batch.key_id))
