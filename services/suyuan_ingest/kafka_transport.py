"""The HTTP capture API's transport in the full stack: publish signed batches to Kafka.

An event answered "accepted" here is *queued*: the ingest worker appends it (or rejects it,
e.g. as a duplicate) later, and producers see the outcome in ``GET /v1/rejections`` and in the
ledger. Events refused before publishing are written to the rejections store directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from kafka.errors import KafkaError

from suyuan.config import Settings
from suyuan.events import decode_batch, decode_event
from suyuan.intake import carries_trust
from suyuan.ledger import LedgerStore, Rejection
from suyuan.transport import (
    EventOutcome,
    EventStatus,
    SubmitResult,
    TransportError,
    produced_headers,
)
from suyuan_ingest import kafka_clients


class KafkaTransport:
    """Publishes to the events topic, keyed by the actor's USCC (design.md §6); messages of trust
    events go to the trust topic (docs/ledger.md, "Trust order")."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        store: LedgerStore,
        *,
        trust_topic: str = "suyuan.trust.v1",
        max_message_bytes: int = 8 * 1024 * 1024,
        timeout_s: float = 30,
    ) -> None:
        self._topic = topic
        self._trust_topic = trust_topic
        self._store = store
        self._timeout = timeout_s
        self._producer = kafka_clients.producer(bootstrap, max_message_bytes=max_message_bytes)

    @classmethod
    def from_settings(
        cls, settings: Settings, store: LedgerStore, *, bootstrap: str | None = None
    ) -> KafkaTransport:
        """The transport to the topics of ``settings`` (bootstrap: ``bootstrap`` or theirs).

        Raises:
            ValueError: no bootstrap server given or configured.
        """
        servers = bootstrap or settings.kafka_bootstrap
        if not servers:
            raise ValueError("no Kafka bootstrap server (--bootstrap or SUYUAN_KAFKA_BOOTSTRAP)")
        return cls(
            servers,
            settings.events_topic,
            store,
            trust_topic=settings.trust_topic,
            max_message_bytes=settings.max_message_bytes,
        )

    def submit(self, messages: Sequence[bytes], *, key: str, source: str) -> SubmitResult:
        """Publish and wait for the broker's acknowledgement of every message.

        Raises:
            TransportError: the broker did not acknowledge (nothing is reported accepted).
        """
        try:
            futures = [
                self._producer.send(
                    self._trust_topic if carries_trust(m) else self._topic,
                    key=key.encode(),
                    value=m,
                    headers=produced_headers(),
                )
                for m in messages
            ]
            for future in futures:
                future.get(timeout=self._timeout)
        except KafkaError as err:
            raise TransportError(f"event broker unavailable: {err}") from err
        outcomes = [
            EventOutcome(number, index, decode_event(data).event_id, EventStatus.ACCEPTED)
            for number, message in enumerate(messages)
            for index, data in enumerate(decode_batch(message).events)
        ]
        return SubmitResult(tuple(outcomes), committed=False)

    def reject(self, rejections: Sequence[Rejection]) -> None:
        try:
            self._store.add_rejections(rejections)
        except Exception as err:
            raise TransportError(f"could not record rejections: {err}") from err

    def close(self) -> None:
        self._producer.close(5)
