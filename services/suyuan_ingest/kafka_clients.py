"""Every Kafka client Suyuan makes, configured in one place (docs/design.md §9).

- :func:`producer`: ``acks=all`` (a message counts as sent once every in-sync replica holds
  it), a request large enough for the largest message plus its framing (a rejected message
  goes to the dead-letter topic whole), batching for 5 ms;
- :func:`consumer`: never commits offsets by itself — a worker's offsets live in the ledger,
  written in the same transaction as the entries (exactly once) —, fetches sized to the
  largest message;
- :func:`create_topics`: topics with their partition counts (replication 1: tests, bench,
  chaos; production topics come from ``infra/topics.sh``).

Callers override any setting by keyword (e.g. a consumer group, poll sizes, retries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

#: The default largest message (``SUYUAN_MAX_MESSAGE_BYTES``).
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Room for a record's framing above the message itself.
_FRAMING = 64 * 1024


def producer(
    bootstrap: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES, **tuning: Any
) -> KafkaProducer:
    """A producer of Suyuan messages (see the module docstring for its policy)."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "linger_ms": 5,
        "max_request_size": max_message_bytes + _FRAMING,
    }
    return KafkaProducer(**(settings | tuning))


def consumer(
    bootstrap: str,
    *,
    group_id: str | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    **tuning: Any,
) -> KafkaConsumer:
    """A consumer that never commits offsets by itself (see the module docstring)."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": max_message_bytes,
        "fetch_max_bytes": max(52_428_800, max_message_bytes),
    }
    return KafkaConsumer(**(settings | tuning))


def create_topics(bootstrap: str, partitions: Mapping[str, int]) -> None:
    """Create each topic with its number of partitions (replication factor 1)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            [
                NewTopic(name, num_partitions=count, replication_factor=1)
                for name, count in partitions.items()
            ]
        )
    finally:
        admin.close()
