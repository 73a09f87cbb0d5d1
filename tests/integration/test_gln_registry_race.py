"""The GLN registry (suyuan.places, docs/epcis.md "Places and parties"): a GLN is one
organisation's only, even when two registrations of it race (on PostgreSQL, where two
transactions can both read the GLN free; SQLite's writer takes its lock when it begins)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from suyuan.ledger import create_ledger_engine, migrate
from suyuan.places import GlnEntry, GlnKind, GlnTakenError, organisation_glns, register_gln
from tests.databases import fresh_database

GLN = "6901234000016"
FARM, MARKET = "N233018510267GK0HE", "91330105J8RU0QR5NK"


def _place(owner: str) -> GlnEntry:
    return GlnEntry(GLN, GlnKind.PLACE, owner, "330185", "冷库")


@pytest.mark.integration
def test_a_registration_that_loses_a_race_is_told_the_gln_is_taken(postgres_url: str) -> None:
    with fresh_database(postgres_url) as url:
        engine = create_ledger_engine(url)
        migrate(engine)
        try:
            _race(engine)
        finally:
            engine.dispose()


def _race(engine: sa.Engine) -> None:
    raced = False

    def first_insert_loses(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Between this registration's read and its insert, another one stores the GLN.
        nonlocal raced
        if not raced and statement.startswith("INSERT INTO gln_registry"):
            raced = True
            other = sa.create_engine(engine.url)
            register_gln(other, _place(MARKET))
            other.dispose()

    sa.event.listen(engine, "before_cursor_execute", first_insert_loses)
    with pytest.raises(GlnTakenError):
        register_gln(engine, _place(FARM))
    sa.event.remove(engine, "before_cursor_execute", first_insert_loses)

    assert raced
    assert [e.organisation for e in organisation_glns(engine, MARKET)] == [MARKET]
    assert organisation_glns(engine, FARM) == []
    again = register_gln(engine, _place(MARKET))  # the owner may register it again
    assert again.organisation == MARKET
