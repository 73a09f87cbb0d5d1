#!/usr/bin/env bash
# Creates Suyuan's topics (design.md §6: one ledger shard per partition; the key is the actor's USCC).
# Usage: topics.sh BOOTSTRAP [PARTITIONS]
set -euo pipefail
bootstrap=${1:?bootstrap server}
partitions=${2:-6}
topics=/opt/kafka/bin/kafka-topics.sh
# Record timestamps are the broker's (LogAppendTime): the ingest worker orders events that cite
# each other across partitions by them, and a producer must not choose them (docs/runbook.md).
for topic in suyuan.events.v1 suyuan.events.dlq; do
    "$topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
        --topic "$topic" --partitions "$partitions" --replication-factor 1 \
        --config retention.ms=-1 --config message.timestamp.type=LogAppendTime
done
# Trust events (organisations, keys, revocations): one partition, so they keep one order that
# every worker and the audit share (docs/ledger.md, "Trust order"). Never compacted or expired.
"$topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic suyuan.trust.v1 --partitions 1 --replication-factor 1 \
    --config retention.ms=-1
"$topics" --bootstrap-server "$bootstrap" --describe
