"""Create or upgrade the ledger schema with Alembic (migrations live in ``infra/migrations``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


def migrate(engine: Engine) -> None:
    """Bring the database of ``engine`` to the newest schema revision."""
    config = Config()
    config.set_main_option("script_location", str(Path(str(files("suyuan_migrations")))))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
