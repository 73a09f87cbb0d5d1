"""Alembic environment: runs against the connection handed over by ``suyuan.ledger.migrate``,
or against ``sqlalchemy.url`` / ``SUYUAN_DATABASE_URL`` when run through the alembic command."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

import suyuan.auth  # noqa: F401  (defines the token, custody and contact tables on metadata)
from suyuan.ledger import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("SUYUAN_DATABASE_URL")
    if not url:
        raise SystemExit("set sqlalchemy.url or SUYUAN_DATABASE_URL")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _migrate(conn)
    engine.dispose()


def _migrate(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
