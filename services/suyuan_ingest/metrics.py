"""Prometheus metrics of the ingest worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter(
    "suyuan_ingest_messages_consumed_total",
    "Kafka messages consumed: written to the ledger or to rejections, each once",
    ["partition"],
)
APPENDED = Counter(
    "suyuan_ingest_events_appended_total", "Events appended to the ledger", ["partition"]
)
DUPLICATES = Counter(
    "suyuan_ingest_events_duplicate_total", "Events already in the ledger", ["partition"]
)
REJECTED = Counter("suyuan_ingest_rejections_total", "Messages or events rejected", ["reason"])
LAG = Gauge("suyuan_ingest_lag_messages", "Messages behind the partition end", ["partition"])
BATCH_SECONDS = Histogram(
    "suyuan_ingest_batch_seconds",
    "Time to check and append one polled batch of one partition",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RETRIES = Counter("suyuan_ingest_retries_total", "Batches retried after an error", ["kind"])
TRUST_WAITS = Counter(
    "suyuan_ingest_trust_waits_total",
    "Times a partition was held back until the ledger caught up with the trust topic",
)
REFERENCE_WAITS = Counter(
    "suyuan_ingest_reference_waits_total",
    "Records held back because they refer to events on partitions not consumed that far yet",
)
