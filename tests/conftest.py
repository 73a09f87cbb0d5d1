"""Session-wide fixtures: the real broker and PostgreSQL (design.md §9), started on demand.

Their logs go to ``build/test-logs/``; they are removed after a green run and kept when any test
failed. Set ``SUYUAN_TEST_POSTGRES_URL`` / ``SUYUAN_TEST_KAFKA_BOOTSTRAP`` to use servers of
your own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local_services import PostgresServer, TansuBroker

LOG_DIR = Path(__file__).resolve().parent.parent / "build" / "test-logs"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a running Kafka-protocol broker (Tansu, memory storage)."""
    external = os.environ.get("SUYUAN_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = TansuBroker(log_dir=LOG_DIR).start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database on a real server."""
    external = os.environ.get("SUYUAN_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    data_dir = Path(tempfile.mkdtemp(prefix="suyuan-pg-"))
    server = PostgresServer(data_dir=data_dir, log_dir=LOG_DIR).start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and LOG_DIR.exists():
        shutil.rmtree(LOG_DIR, ignore_errors=True)
    elif LOG_DIR.exists():
        print(f"\nservice logs kept in {LOG_DIR}")
