"""Organisations as the trust chain registered them (design §5): names, roles and regions.

Rebuilt from the ``OrganisationRegistered`` events at the trust index's positions and kept up to
date with one small query per :meth:`Directory.refresh`; shared by the tracer, recalls and the
food-chain rules.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass

from suyuan.events import decode_event
from suyuan.events.model import ORGANISATION_REGISTERED, Event
from suyuan.ledger import Leaf, LedgerStore


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as the trust chain last registered it."""

    uscc: str
    name: str
    roles: frozenset[str]
    region: str


class Directory:
    """Registered organisations as of the last :meth:`refresh` (made on first use)."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._known: dict[str, Organisation] = {}
        self._seen = -1
        self._lock = threading.Lock()

    def get(self, uscc: str) -> Organisation | None:
        if self._seen < 0:
            self.refresh()
        return self._known.get(uscc)

    def name(self, uscc: str) -> str | None:
        org = self.get(uscc)
        return org.name if org else None

    def region(self, uscc: str, fallback: Event | None = None) -> str | None:
        """The organisation's registered region; else where ``fallback`` happened."""
        org = self.get(uscc)
        if org is not None:
            return org.region
        if fallback is not None and fallback.location is not None:
            return fallback.location.region_code
        return None

    def has_role(self, uscc: str, roles: Collection[str]) -> bool:
        org = self.get(uscc)
        return org is not None and bool(org.roles & set(roles))

    def organisations(self) -> list[Organisation]:
        """Every registered organisation (as of the last refresh)."""
        if self._seen < 0:
            self.refresh()
        return list(self._known.values())

    def refresh(self) -> None:
        """Catch up with the trust events (one small query when none were added)."""
        with self._lock:
            positions = self._store.trust_positions()
            if len(positions) == self._seen:
                return
            entries = self._store.entries_at(positions)
            known: dict[str, Organisation] = {}
            for position in positions:  # recorded order: a later registration replaces one
                entry = entries.get(position)
                if entry is None:
                    continue
                event = decode_event(Leaf.from_bytes(entry.leaf).event)
                if event.event_type == ORGANISATION_REGISTERED:
                    payload = event.payload
                    uscc = str(payload["uscc"])
                    known[uscc] = Organisation(
                        uscc,
                        str(payload["name"]),
                        frozenset(str(role) for role in payload["roles"]),
                        str(payload["region_code"]),
                    )
            self._known = known
            self._seen = len(positions)
