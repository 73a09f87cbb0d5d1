"""不合格核查处置: follow a failed inspection to a recorded disposal of every affected quantity.

A failed ``InspectionRecorded`` freezes its codes and everything made from or packed out of them
(the forward closure over ``contains``/``transformed`` edges; :class:`suyuan.trace.Tracer` marks
each such code ``frozen``). Containers carry the frozen goods while they are packed in them, so
hand-overs of a case count for the lot inside it.

Each organisation's position is reconciled per unit: what came in (received, produced under a
producer's certificate, made in a transformation, declared at import) minus what left (passed on
to an organisation that recorded its receipt, used in processing, sold, returned, destroyed).
The case is closed when every organisation's remainder is zero and every quantity that left the
registered chain — sold to consumers, or shipped to someone who never recorded a receipt — is
covered by a recall; or when a regulator closed a recall covering the goods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from suyuan.codegraph import MATERIAL_KINDS, PACKING_KINDS, CodeGraph
from suyuan.events.model import Event
from suyuan.foodchain._certificates import certificate_records, goods_codes, own_certificate_code
from suyuan.foodchain._reads import PackingWindow, Reads
from suyuan.ledger import CERTIFIED_FROM

RECALL_INITIATED = "RecallInitiated"
RECALL_CLOSED = "RecallClosed"
FORWARD_KINDS = MATERIAL_KINDS | {CERTIFIED_FROM}
#: How many container levels above the frozen goods are followed (unit → case → pallet …).
MAX_CARRIER_LEVELS = 4
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Amount:
    quantity: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class HolderPosition:
    """One organisation's share of the frozen goods and what it did with it."""

    organisation: str
    name: str | None
    region: str | None
    held: tuple[Amount, ...]
    """Everything that came in: received, produced, made, declared."""
    passed_on: tuple[Amount, ...]
    """Shipped or sold to organisations that recorded receiving it."""
    used: tuple[Amount, ...]
    """Used as input of a transformation (its outputs are frozen too)."""
    destroyed: tuple[Amount, ...]
    returned: tuple[Amount, ...]
    sold_to_consumers: tuple[Amount, ...]
    unconfirmed: tuple[Amount, ...]
    """Shipped to an organisation that has not recorded receiving it."""
    remaining: tuple[Amount, ...]
    """Still held: to be destroyed or returned."""


@dataclass(frozen=True, slots=True)
class DisposalState:
    """Where the frozen goods of a failed inspection are, and whether the case is closed."""

    codes: tuple[str, ...]
    holders: tuple[HolderPosition, ...]
    outstanding: tuple[str, ...]
    recalls: tuple[str, ...]
    """Ids of recalls covering the goods."""
    closed: bool
    closed_at: datetime | None
    closed_reason: str | None
    """``disposed`` (every quantity destroyed, returned or recalled) or ``recall_closed``."""


@dataclass
class _Ledger:
    """Running totals of one organisation, per unit."""

    first_seen: datetime
    held: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    passed_on: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    used: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    destroyed: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    returned: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    sold: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    unconfirmed: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    unconfirmed_to: set[str] = field(default_factory=set)
    unquantified_in: bool = False
    acted: bool = False

    def remaining(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for unit, amount in self.held.items():
            left = amount - sum(
                (
                    column.get(unit, _ZERO)
                    for column in (
                        self.passed_on,
                        self.used,
                        self.destroyed,
                        self.returned,
                        self.sold,
                        self.unconfirmed,
                    )
                ),
                _ZERO,
            )
            if left > 0:
                out[unit] = left
        return out


def disposal_state(
    reads: Reads, failed: Event, codes: Sequence[str] | None = None
) -> DisposalState:
    """The closed-loop state of the failed inspection ``failed`` now: of its codes, or of
    ``codes`` when the failure freezes more than it names (a positive sample, its declaration)."""
    frozen_codes = failed.codes if codes is None else tuple(codes)
    graph = reads.graph()
    graph.load_down(frozen_codes, FORWARD_KINDS)
    frozen = graph.below(frozen_codes, FORWARD_KINDS)
    graph.load_up(frozen_codes, MATERIAL_KINDS)
    lineage = graph.above(frozen_codes, MATERIAL_KINDS) | frozen
    windows = _carriers(reads, graph, frozen)
    events = reads.about([*frozen, *windows])
    in_scope = [e for e in events if _carries(e, frozen, windows)]
    books = _reconcile(reads, in_scope, frozen)
    recalls, recall_closed_at = _recalls(reads, lineage)
    return _state(reads, failed, frozen, books, in_scope, recalls, recall_closed_at)


def _carriers(reads: Reads, graph: CodeGraph, frozen: set[str]) -> dict[str, list[PackingWindow]]:
    """Containers that held frozen goods, and when (packing to unpacking)."""
    windows: dict[str, list[PackingWindow]] = defaultdict(list)
    level: dict[str, PackingWindow | None] = dict.fromkeys(frozen)
    for _ in range(MAX_CARRIER_LEVELS):
        graph.load_up(level, PACKING_KINDS)
        pairs = [
            (container, code)
            for code in level
            for container in graph.containers(code)
            if container not in frozen
        ]
        if not pairs:
            break
        times = _event_times(reads, graph, pairs)
        following: dict[str, PackingWindow | None] = {}
        for container, code in pairs:
            start, end = times.get((container, code), (None, None))
            window = _narrowed(PackingWindow(container, start, end), level[code])
            windows[container].append(window)
            following[container] = window
        level = following
    return windows


def _event_times(
    reads: Reads, graph: CodeGraph, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[datetime | None, datetime | None]]:
    """(packed at, unpacked at) of each (container, code) pair."""
    ends = {
        pair: (graph.packing_position(*pair), graph.unpacking_position(*pair)) for pair in pairs
    }
    events = reads.events_at([p for both in ends.values() for p in both if p is not None])

    def time(position: tuple[int, int] | None) -> datetime | None:
        event = events.get(position) if position is not None else None
        return event.occurred_at if event is not None else None

    return {pair: (time(start), time(end)) for pair, (start, end) in ends.items()}


def _narrowed(window: PackingWindow, inner: PackingWindow | None) -> PackingWindow:
    """A pallet carries a lot only while the lot's case is on it *and* the lot in the case."""
    if inner is None:
        return window
    starts = [t for t in (window.start, inner.start) if t is not None]
    ends = [t for t in (window.end, inner.end) if t is not None]
    return PackingWindow(window.container, max(starts, default=None), min(ends, default=None))


def _carries(event: Event, frozen: set[str], windows: dict[str, list[PackingWindow]]) -> bool:
    codes = set(event.codes)
    if codes & frozen:
        return True
    return any(
        window.holds_at(event.occurred_at)
        for container in codes & windows.keys()
        for window in windows[container]
    )


def _reconcile(reads: Reads, events: list[Event], frozen: set[str]) -> dict[str, _Ledger]:
    books: dict[str, _Ledger] = {}

    def book(org: str, at: datetime) -> _Ledger:
        return books.setdefault(org, _Ledger(first_seen=at))

    voided = _voided_certificates(reads, events)
    received_from = {(e.actor, str(e.payload["from_org"])) for e in events if _is("Received", e)}
    for event in events:
        kind, org, at = event.event_type, event.actor, event.occurred_at
        if kind == "CertificateIssued":
            if (
                event.payload["issuer_type"] == "PRODUCER"
                and own_certificate_code(event) not in voided
                and set(goods_codes(event)) & frozen
            ):
                _add(book(org, at).held, event, book(org, at))
        elif kind in ("Received", "ImportDeclared"):
            _add(book(org, at).held, event, book(org, at))
        elif kind == "Transformed":
            _transformed(book(org, at), event, frozen)
        elif kind == "Destroyed":
            _add(book(org, at).destroyed, event)
            book(org, at).acted = True
        elif kind in ("Shipped", "Sold"):
            _hand_over(book(org, at), event, received_from)
        elif kind in ("Dispensed", "VaccineAdministered"):
            _add(book(org, at).sold, event)
            book(org, at).acted = True
    return books


def _is(kind: str, event: Event) -> bool:
    return event.event_type == kind


def _add(column: dict[str, Decimal], event: Event, ledger: _Ledger | None = None) -> None:
    if event.quantity is not None and event.unit:
        column[event.unit] += event.quantity
    elif ledger is not None:
        ledger.unquantified_in = True


def _transformed(ledger: _Ledger, event: Event, frozen: set[str]) -> None:
    for entry in event.payload["inputs"]:
        if entry["code"] in frozen:
            ledger.used[str(entry["unit"])] += Decimal(entry["quantity"])
            ledger.acted = True
    for entry in event.payload["outputs"]:
        if entry["code"] in frozen:
            ledger.held[str(entry["unit"])] += Decimal(entry["quantity"])


def _hand_over(ledger: _Ledger, event: Event, received_from: set[tuple[str, str]]) -> None:
    ledger.acted = True
    payload = event.payload
    recipient = payload.get("buyer") if event.event_type == "Sold" else payload["to_org"]
    if recipient is None:  # sold to consumers: only a recall reaches them
        _add(ledger.sold, event)
        return
    recipient = str(recipient)
    if event.disposition == "returned" or (event.actor, recipient) in received_from:
        _add(ledger.returned, event)
    elif (recipient, event.actor) in received_from:
        _add(ledger.passed_on, event)
    else:
        _add(ledger.unconfirmed, event)
        ledger.unconfirmed_to.add(recipient)


def _voided_certificates(reads: Reads, events: list[Event]) -> set[str]:
    codes = [
        code
        for e in events
        if e.event_type == "CertificateIssued" and (code := own_certificate_code(e)) is not None
    ]
    records = certificate_records(reads, codes)
    return {code for code, record in records.items() if record.voids}


def _recalls(reads: Reads, lineage: set[str]) -> tuple[list[Event], datetime | None]:
    found = reads.about(lineage, {RECALL_INITIATED, RECALL_CLOSED})
    recalls = [
        e
        for e in found
        if e.event_type == RECALL_INITIATED and set(e.payload["root_codes"]) & lineage
    ]
    ids = {str(e.payload["recall_id"]) for e in recalls}
    closings = [
        e.occurred_at
        for e in found
        if e.event_type == RECALL_CLOSED and str(e.payload["recall_id"]) in ids
    ]
    return recalls, min(closings, default=None)


def _state(
    reads: Reads,
    failed: Event,
    frozen: set[str],
    books: dict[str, _Ledger],
    events: list[Event],
    recalls: list[Event],
    recall_closed_at: datetime | None,
) -> DisposalState:
    recalled = bool(recalls)
    holders: list[HolderPosition] = []
    outstanding: list[str] = []
    for org, ledger in sorted(books.items(), key=lambda item: item[1].first_seen):
        name = reads.directory.name(org)
        who = f"{name} ({org})" if name else org
        remaining = ledger.remaining()
        outstanding += [f"{who} still holds {_text(q)} {u}" for u, q in remaining.items()]
        if ledger.unquantified_in and not ledger.acted and not ledger.held:
            outstanding.append(f"{who} received goods of unrecorded quantity")
        if not recalled:
            outstanding += [
                f"{who} sold {_text(q)} {u} to consumers: a recall is needed"
                for u, q in ledger.sold.items()
                if q > 0
            ]
            outstanding += [
                f"{who} shipped {_text(q)} {u} to {', '.join(sorted(ledger.unconfirmed_to))}, "
                "who recorded no receipt"
                for u, q in ledger.unconfirmed.items()
                if q > 0
            ]
        holders.append(_position(reads, org, ledger, remaining))
    if not books and not recalled:
        outstanding.append(
            "no organisation is recorded holding the goods: record their disposal or recall them"
        )
    if recall_closed_at is not None:
        closed, closed_at, reason = True, recall_closed_at, "recall_closed"
    elif not outstanding:
        closed, reason = True, "disposed"
        closed_at = max(
            [failed.occurred_at, *(e.occurred_at for e in events if _is_disposal(e))]
            + [r.occurred_at for r in recalls]
        )
    else:
        closed, closed_at, reason = False, None, None
    return DisposalState(
        codes=tuple(sorted(frozen)),
        holders=tuple(holders),
        outstanding=tuple(outstanding),
        recalls=tuple(str(r.payload["recall_id"]) for r in recalls),
        closed=closed,
        closed_at=closed_at,
        closed_reason=reason,
    )


def _is_disposal(event: Event) -> bool:
    return event.event_type in ("Destroyed", "Shipped", "Sold", "Transformed")


def _position(
    reads: Reads, org: str, ledger: _Ledger, remaining: dict[str, Decimal]
) -> HolderPosition:
    return HolderPosition(
        organisation=org,
        name=reads.directory.name(org),
        region=reads.directory.region(org),
        held=_amounts(ledger.held),
        passed_on=_amounts(ledger.passed_on),
        used=_amounts(ledger.used),
        destroyed=_amounts(ledger.destroyed),
        returned=_amounts(ledger.returned),
        sold_to_consumers=_amounts(ledger.sold),
        unconfirmed=_amounts(ledger.unconfirmed),
        remaining=_amounts(remaining),
    )


def _amounts(column: dict[str, Decimal]) -> tuple[Amount, ...]:
    return tuple(Amount(q, u) for u, q in sorted(column.items()) if q != 0)


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def amounts_text(amounts: Iterable[Amount]) -> str:
    return ", ".join(f"{_text(a.quantity)} {a.unit}" for a in amounts)
