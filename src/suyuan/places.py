"""The GS1 identifiers of organisations: GLNs of their places and of themselves (docs/epcis.md
"Places and parties").

EPCIS names a place only by its GLN (``readPoint``/``bizLocation`` ``urn:epc:id:sgln:…`` or
``https://id.gs1.org/414/…``) and a trading partner only by its party GLN (``…/417/…``); our
events name a place by region code, name and address and a partner by its USCC. This registry
joins the two: each GLN is one organisation's, a **place** (with the region code, name and
address our events record) or the organisation itself as a **party**.

An admin registers them (``PUT /v1/organisations/{uscc}/glns/{gln}``), as the regulator
registers who an organisation is: a GS1 company prefix and the GLNs under it are assigned by
GS1 (中国物品编码中心), and an organisation's own claim proves nothing. A GLN registered to one
organisation is never taken over by another (:class:`GlnTakenError`). The ledger keeps what
matters: each event captured at a place records that place's region, name, address and GLN,
signed with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from stdnum import ean

from suyuan._auth_tables import gln_registry as registry_table
from suyuan.errors import InvalidInputError, raise_errors
from suyuan.regions import REGION_NAMES


class GlnKind(StrEnum):
    """What a GLN identifies."""

    PLACE = "place"
    """A place of the organisation (GS1 application identifier 414)."""
    PARTY = "party"
    """The organisation itself as a trading partner (application identifier 417)."""


class GlnTakenError(InvalidInputError):
    """The GLN is registered to another organisation."""

    reason = "gln_taken"


@dataclass(frozen=True, slots=True)
class GlnEntry:
    """One registered GLN: whose, what it names, and for a place what our events record."""

    gln: str
    kind: GlnKind
    organisation: str
    region_code: str | None = None
    name: str | None = None
    address: str | None = None


def check_gln(value: str, field: str = "gln") -> str:
    """``value`` if it is a GLN: 13 digits with a valid GS1 check digit.

    Raises:
        InvalidInputError: it is not (naming ``field``).
    """
    if len(value) != 13 or not value.isdigit() or not ean.is_valid(value):
        raise InvalidInputError(field, value, "must be a 13-digit GLN with a valid check digit")
    return value


def register_gln(engine: Engine, entry: GlnEntry) -> GlnEntry:
    """Register ``entry`` (or replace the same organisation's entry of that GLN).

    Raises:
        InvalidInputError: every problem at once (a :class:`~suyuan.errors.MultipleInputError`
            when several): not a GLN; a place without a known GB/T 2260 region code or a name;
            a party with a region, name or address.
        GlnTakenError: the GLN is another organisation's.
        sqlalchemy.exc.SQLAlchemyError: the database cannot be written.
    """
    problems: list[InvalidInputError] = []
    try:
        check_gln(entry.gln)
    except InvalidInputError as err:
        problems.append(err)
    if entry.kind is GlnKind.PLACE:
        region = entry.region_code or ""
        if not (len(region) == 6 and region.isdigit() and f"{region[:2]}0000" in REGION_NAMES):
            problems.append(
                InvalidInputError(
                    "region_code", entry.region_code, "a place needs a GB/T 2260 region code"
                )
            )
        if not (entry.name or "").strip():
            problems.append(InvalidInputError("name", entry.name, "a place needs a name"))
    elif entry.region_code or entry.name or entry.address:
        problems.append(
            InvalidInputError(
                "kind",
                entry.kind.value,
                "a party GLN names the organisation: no region, name or address",
            )
        )
    raise_errors(problems)
    c = registry_table.c
    values = {
        "kind": entry.kind.value,
        "organisation": entry.organisation,
        "region_code": entry.region_code,
        "name": entry.name.strip() if entry.name else None,
        "address": entry.address.strip() if entry.address else None,
        "registered_at": time.time_ns() // 1000,
    }
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                owner = conn.execute(
                    sa.select(c.organisation).where(c.gln == entry.gln)
                ).scalar_one_or_none()
                if owner is not None and owner != entry.organisation:
                    raise GlnTakenError(
                        "gln", entry.gln, "registered to another organisation: a GLN is one's only"
                    )
                if owner is None:
                    conn.execute(registry_table.insert().values(gln=entry.gln, **values))
                else:
                    conn.execute(registry_table.update().where(c.gln == entry.gln).values(**values))
            break
        except sa.exc.IntegrityError:
            # Registered by a concurrent request between our read and insert: read it again
            # (the second pass answers gln_taken, or updates our own).
            if attempt == 2:
                raise
    return gln_entries(engine, [entry.gln])[entry.gln]


def gln_entries(engine: Engine, glns: Iterable[str]) -> dict[str, GlnEntry]:
    """The registered entries of ``glns`` (those registered).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    wanted = sorted(set(glns))
    found: dict[str, GlnEntry] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                sa.select(registry_table).where(
                    registry_table.c.gln.in_(wanted[start : start + 500])
                )
            )
            found.update((str(r.gln), _entry(r)) for r in rows)
    return found


def organisation_glns(engine: Engine, organisation: str) -> list[GlnEntry]:
    """Every GLN registered to ``organisation``, in GLN order.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(registry_table)
            .where(registry_table.c.organisation == organisation)
            .order_by(registry_table.c.gln)
        )
        return [_entry(r) for r in rows]


def _entry(row: sa.Row[tuple[object, ...]]) -> GlnEntry:
    return GlnEntry(
        gln=str(row.gln),
        kind=GlnKind(row.kind),
        organisation=str(row.organisation),
        region_code=row.region_code,
        name=row.name,
        address=row.address,
    )
