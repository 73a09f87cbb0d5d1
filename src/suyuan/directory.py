"""Organisations as the trust chain registered them (design.md §5): names, roles and regions.

A view of the one trust follower (:class:`suyuan.follower.TrustFollower`) over the ledger's
trust events, kept up to date with one small query per :meth:`Directory.refresh`; shared by the
tracer, recalls and the food-chain rules, so they see exactly the organisations the write path
judges by.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass

from suyuan.events.model import Event
from suyuan.follower import TrustFollower
from suyuan.ledger import LedgerError, LedgerStore, root_keys
from suyuan.signing import TrustStore


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as the trust chain last registered it."""

    uscc: str
    name: str
    roles: frozenset[str]
    region: str


class Directory:
    """Registered organisations as of the last :meth:`refresh` (made on first use).

    An uninitialised ledger (no root keys recorded) has no trust chain: nobody is registered.
    """

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._follower: TrustFollower | None = None
        self._known: dict[str, Organisation] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def get(self, uscc: str) -> Organisation | None:
        if not self._loaded:
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
        if not self._loaded:
            self.refresh()
        return list(self._known.values())

    def trust(self) -> TrustStore | None:
        """The trust store as of now (``None`` before the ledger is initialised)."""
        self.refresh()
        return None if self._follower is None else self._follower.trust

    def refresh(self) -> None:
        """Catch up with the trust events (one small query when none were added)."""
        with self._lock:
            if self._follower is None:
                try:
                    self._follower = TrustFollower(self._store, root_keys(self._store))
                except LedgerError:
                    self._loaded = True  # not initialised: no trust chain yet
                    return
            if self._follower.refresh() or not self._loaded:
                self._known = {
                    org.uscc: Organisation(
                        org.uscc, org.name, frozenset(org.roles), org.region_code
                    )
                    for org in self._follower.trust.organisations()
                }
            self._loaded = True
