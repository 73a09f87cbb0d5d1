"""Where the food-chain rules start from: the positions of a few kinds of events.

Alerts and coverage begin with *every* receipt, shipment, certificate, failed inspection and
temperature excursion. The ledger's projections index events by code only, so nothing answers
"all ``Received`` events" yet. :class:`EventFeed` stands in for that projection: it follows each
shard from where it stopped (``entries(shard, start)``), so every entry is read once per process
and a request only reads what was appended since the last one. It keeps positions, not events;
the rules read the events at those positions (point reads) when they need them.

A ledger projection ``events by type`` (event type, shard, seq, actor, occurred_at, written with
the entry) would replace it with one indexed query; :meth:`EventFeed.refs` is the seam.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from suyuan.codes import CodeKind, parse_trace_code
from suyuan.events import decode_event
from suyuan.events.model import Event
from suyuan.foodchain._rules import SLAUGHTER_PROCESS
from suyuan.ledger import Leaf, LedgerStore


@dataclass(frozen=True, slots=True)
class EventRef:
    """Where an event sits, and the envelope facts rules filter on before reading it."""

    shard: int
    seq: int
    event_type: str
    actor: str
    occurred_at: datetime

    @property
    def position(self) -> tuple[int, int]:
        return (self.shard, self.seq)


def _failed(event: Event) -> bool:
    return not event.payload.get("passed", True)


def has_excursion(event: Event) -> bool:
    """Whether a ``TemperatureRecorded`` event holds a reading outside its allowed range."""
    low, high = event.payload.get("min_celsius"), event.payload.get("max_celsius")
    return any(
        (low is not None and float(r["celsius"]) < low)
        or (high is not None and float(r["celsius"]) > high)
        for r in event.payload.get("readings", ())
    )


def _to_organisation(event: Event) -> bool:
    return event.payload.get("buyer") is not None


def drug_to_consumer(event: Event) -> bool:
    """Whether a ``Sold`` or ``Dispensed`` hands a 药品追溯码 to a consumer or patient (no
    buying organisation): the one use a drug unit has (docs/vaccines.md)."""
    return event.payload.get("buyer") is None and any(
        parse_trace_code(code).kind is CodeKind.DRUG for code in event.codes
    )


def _serious(event: Event) -> bool:
    return event.payload.get("serious") is True


#: The event types followed, and which of their events are kept.
FOLLOWED: dict[str, Callable[[Event], bool]] = {
    "Received": lambda _event: True,
    "Shipped": lambda _event: True,
    "CertificateIssued": lambda _event: True,
    "Sold": lambda event: _to_organisation(event) or drug_to_consumer(event),
    "InspectionRecorded": _failed,
    "TemperatureRecorded": has_excursion,
    "RecallInitiated": lambda _event: True,
    "Dispensed": drug_to_consumer,
    "VaccineAdministered": lambda _event: True,
    "AdverseEventReported": _serious,
    "ImportDeclared": lambda _event: True,
}


class EventFeed:
    """Positions of the followed events of a ledger, caught up on each :meth:`refresh`.

    Thread-safe: one feed may serve a threaded web server.
    """

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._cursor: dict[int, int] = {}
        self._refs: dict[str, list[EventRef]] = {name: [] for name in FOLLOWED}
        self._slaughterers: set[str] = set()
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the entries appended since the last refresh."""
        with self._lock:
            for shard in self._store.shard_ids():
                size = self._store.head(shard).size
                start = self._cursor.get(shard, 0)
                if start < size:
                    for entry in self._store.entries(shard, start, size):
                        self._note(entry.read_leaf())
                    self._cursor[shard] = size

    def refs(self, event_types: Iterable[str]) -> list[EventRef]:
        """Kept events of ``event_types`` (see :data:`FOLLOWED`), by time of occurrence."""
        with self._lock:
            found = [ref for name in event_types for ref in self._refs.get(name, ())]
        found.sort(key=lambda r: (r.occurred_at, r.shard, r.seq))
        return found

    def slaughterers(self) -> frozenset[str]:
        """Organisations that recorded a slaughter (``Transformed`` with process SLAUGHTER)."""
        with self._lock:
            return frozenset(self._slaughterers)

    def _note(self, leaf: Leaf) -> None:
        event = decode_event(leaf.event)
        kind = event.event_type
        if kind == "Transformed" and event.payload.get("process") == SLAUGHTER_PROCESS:
            self._slaughterers.add(event.actor)
        keep = FOLLOWED.get(kind)
        if keep is not None and keep(event):
            self._refs[kind].append(
                EventRef(leaf.shard, leaf.seq, kind, event.actor, event.occurred_at)
            )
