"""docker-compose.yml: no Docker engine runs here, so its structure is checked instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_kafka_runs_kraft_single_node_with_healthcheck() -> None:
    kafka = _compose()["services"]["kafka"]
    env = kafka["environment"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert "healthcheck" in kafka


def test_topics_are_created_with_several_partitions_once_kafka_is_healthy() -> None:
    services = _compose()["services"]
    init = services["kafka-topics"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    script = (ROOT / "infra" / "topics.sh").read_text()
    assert "suyuan.events.v1" in script and "suyuan.events.dlq" in script
    assert "partitions=${2:-6}" in script


def test_postgres_has_healthcheck_and_persistent_volume() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
