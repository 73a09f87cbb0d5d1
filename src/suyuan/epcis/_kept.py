"""The EPCIS members of a captured event that its event in the ledger does not hold, kept as
they were sent (docs/epcis.md "Kept as sent").

An EPCIS event says things our event catalogue has no field for (a purchase order, ``ilmd``, a
vendor's extension, humidity readings, a quantity of a class of goods) or says what we hold in
another form (a read point's sub-location, an EPC class by its URN). Captured, such an event is
recorded as our event and the members it would not export as sent are kept here, keyed by the
event's id. The full view's export puts them back, so the event exports with the CBV event
hash it was captured with. Our event's id derives from that hash and the capturing organisation
(:func:`captured_event_id`): kept members that would not hash to the event's id are not used.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from suyuan._auth_tables import epcis_kept_members as kept_table
from suyuan.epcis._hash import event_hash
from suyuan.events.model import Event

#: uuid5 namespace of captured event ids: uuid5(NAMESPACE_URL, "urn:suyuan:epcis:capture").
CAPTURE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:suyuan:epcis:capture")


@dataclass(frozen=True)
class Kept:
    """Members as sent (``None``: a member our export writes that the event did not have), the
    JSON-LD prefixes their names use, and the event's CBV hash."""

    event_hash: str
    members: Mapping[str, Any]
    prefixes: Mapping[str, str]


def captured_event_id(organisation: str, hash_: str) -> str:
    """Our event id of an EPCIS event with CBV hash ``hash_`` captured by ``organisation``:
    uuid5 of both, so a repeat is the same event and another organisation's is not."""
    return str(uuid.uuid5(CAPTURE_NAMESPACE, f"{organisation} {hash_}"))


def with_kept(body: dict[str, Any], event: Event, kept: Kept | None) -> dict[str, Any]:
    """``body`` (our export of ``event``) with the members kept as sent put back, and an event
    ``@context`` declaring their prefixes; ``body`` itself when nothing is kept, or when the
    result would not hash to the event's id (kept members that are not this event's)."""
    if kept is None or captured_event_id(event.actor, kept.event_hash) != event.event_id:
        return body
    merged: dict[str, Any] = {"@context": [dict(kept.prefixes)]} if kept.prefixes else {}
    merged.update(body)
    for name, value in kept.members.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    if event_hash(merged, kept.prefixes) != kept.event_hash:
        return body
    return merged


def keep_members(engine: Engine, event_id: str, kept: Kept) -> None:
    """Keep ``kept`` for the event ``event_id`` (replacing what was kept for that id).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be written.
    """
    text = json.dumps(
        {"members": dict(kept.members), "prefixes": dict(kept.prefixes)}, ensure_ascii=False
    )
    c = kept_table.c
    with engine.begin() as conn:
        updated = conn.execute(
            kept_table.update()
            .where(c.event_id == event_id)
            .values(event_hash=kept.event_hash, members=text)
        ).rowcount
        if not updated:
            conn.execute(
                kept_table.insert().values(
                    event_id=event_id, event_hash=kept.event_hash, members=text
                )
            )


def kept_members(engine: Engine | None, event_ids: Iterable[str]) -> dict[str, Kept]:
    """What is kept for each of ``event_ids`` (those with something kept); nothing without a
    database.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    wanted = sorted(set(event_ids))
    found: dict[str, Kept] = {}
    if engine is None or not wanted:
        return found
    c = kept_table.c
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                sa.select(c.event_id, c.event_hash, c.members).where(
                    c.event_id.in_(wanted[start : start + 500])
                )
            )
            for row in rows:
                data = json.loads(row.members)
                found[str(row.event_id)] = Kept(
                    str(row.event_hash), data["members"], data["prefixes"]
                )
    return found
