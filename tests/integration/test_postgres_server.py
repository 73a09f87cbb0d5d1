"""The test PostgreSQL is a real server: SQL, transactions and constraints as in production."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


def test_real_postgres_enforces_unique_and_rolls_back(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text("select version()")).scalar_one()
            conn.execute(sa.text("create table probe (id text primary key)"))
            conn.execute(sa.text("insert into probe values ('a')"))
        assert version.startswith("PostgreSQL")

        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("insert into probe values ('b')"))
            conn.execute(sa.text("insert into probe values ('a')"))

        with engine.connect() as conn:
            rows = conn.execute(sa.text("select id from probe order by id")).scalars().all()
        assert rows == ["a"], "the failed transaction must leave nothing behind"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("drop table if exists probe"))
        engine.dispose()
