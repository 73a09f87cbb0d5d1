"""docker-compose.yml: no Docker engine runs here, so its structure is checked instead."""

from __future__ import annotations

import re
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
    # trust events keep one order only on a topic of one partition
    assert "--topic suyuan.trust.v1 --partitions 1" in script
    assert "partitions=${2:-6}" in script


def test_postgres_has_healthcheck_and_persistent_volume() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_services_share_one_database_and_broker_and_wait_for_the_ledger() -> None:
    services = _compose()["services"]
    init_env = services["ledger-init"]["environment"]
    for name in ("ingest-worker", "ingest-api", "trace-query"):
        service = services[name]
        assert service["environment"] == init_env, f"{name} must use the same settings"
        assert service["depends_on"]["ledger-init"]["condition"] == (
            "service_completed_successfully"
        )
    assert init_env["SUYUAN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert init_env["SUYUAN_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert services["ingest-worker"]["deploy"]["replicas"] >= 2


def test_service_commands_exist_in_the_cli() -> None:
    from typer.main import get_command

    from suyuan_cli import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    services = _compose()["services"]
    for name in ("ingest-worker", "ingest-api", "trace-query"):
        assert services[name]["command"][0] in commands, name


def test_regulator_uscc_of_the_stack_is_valid() -> None:
    from suyuan.codes import validate_uscc

    uscc = _compose()["services"]["ledger-init"]["environment"]["SUYUAN_REGULATOR_USCC"]
    assert validate_uscc(uscc) == uscc


def test_dockerfile_installs_the_project_and_runs_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'ENTRYPOINT ["suyuan"]' in dockerfile
    for folder in ("src", "services", "schemas", "infra"):
        assert f"COPY {folder} ./{folder}" in dockerfile


def test_a_monitor_follows_every_partition_with_the_public_key_only() -> None:
    compose = _compose()
    monitor = compose["services"]["log-monitor"]
    command = monitor["command"]
    assert command[:2] == ["monitor", "http://trace-query:8000"]
    shards = {command[i + 1] for i, arg in enumerate(command) if arg == "--shard"}
    partitions = int(re.search(r"partitions=\$\{2:-(\d+)\}", _topics()).group(1))  # type: ignore[union-attr]
    assert shards == {str(p) for p in range(partitions)}
    assert "suyuan-keys:/var/lib/suyuan/keys:ro" in monitor["volumes"]
    assert "--token" not in command  # what anyone can check, without an account
    assert monitor["depends_on"]["trace-query"]["condition"] == "service_healthy"
    assert "monitor-state" in compose["volumes"]


def _topics() -> str:
    return (ROOT / "infra" / "topics.sh").read_text()
