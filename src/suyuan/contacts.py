"""An organisation's own 联系方式 (contact telephone), kept by the organisation itself
(``docs/food-chain.md`` § 联系方式).

Every 合格证 prints a 联系方式. An organisation sets its telephone once (``PUT
/v1/organisation/contact``, ``suyuan org contact``); a certificate issued without ``contact``
prints it. The ledger keeps what matters: the contact printed on each certificate, signed with
it. This table only remembers the default, as the token and custodial-key tables do — it is
not a trust event, because the regulator registers *who* an organisation is, while the
organisation keeps its own telephone current without a regulator.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from suyuan._auth_tables import organisation_contacts as contacts_table
from suyuan.errors import InvalidInputError
from suyuan.foodchain import CONTACT_RULE, is_contact

MAX_CONTACT_LENGTH = 64


def organisation_contact(engine: Engine, organisation: str) -> str | None:
    """The 联系方式 ``organisation`` set, or ``None``.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(contacts_table.c.contact).where(contacts_table.c.organisation == organisation)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def organisation_contacts(engine: Engine, organisations: Iterable[str]) -> dict[str, str]:
    """The 联系方式 each of ``organisations`` set, for those that set one.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    wanted = sorted(set(organisations))
    c = contacts_table.c
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                sa.select(c.organisation, c.contact).where(
                    c.organisation.in_(wanted[start : start + 500])
                )
            )
            found.update((str(r.organisation), str(r.contact)) for r in rows)
    return found


def check_contact(contact: str, field: str = "contact") -> str:
    """``contact`` without surrounding blanks, if it can be a 联系方式.

    Raises:
        InvalidInputError: fewer than 7 digits, longer than :data:`MAX_CONTACT_LENGTH`, or not
            printable on one line (field ``field``).
    """
    text = contact.strip()
    if len(text) > MAX_CONTACT_LENGTH or not text.isprintable():
        raise InvalidInputError(
            field, text[:60], f"at most {MAX_CONTACT_LENGTH} printable characters, one line"
        )
    if not is_contact(text):
        raise InvalidInputError(field, text, CONTACT_RULE)
    return text


def set_organisation_contact(engine: Engine, organisation: str, contact: str) -> str:
    """Set the 联系方式 of ``organisation`` (replacing the one before); the text stored.

    Raises:
        InvalidInputError: ``contact`` is not a telephone number (see :func:`check_contact`).
        sqlalchemy.exc.SQLAlchemyError: the database cannot be written.
    """
    text = check_contact(contact)
    now = time.time_ns() // 1000
    table = contacts_table
    with engine.begin() as conn:
        updated = conn.execute(
            table.update()
            .where(table.c.organisation == organisation)
            .values(contact=text, updated_at=now)
        ).rowcount
        if not updated:
            conn.execute(
                table.insert().values(organisation=organisation, contact=text, updated_at=now)
            )
    return text
