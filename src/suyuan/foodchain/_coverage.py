"""Coverage metrics (design.md §1, §8 ``GET /v1/metrics/coverage``; docs/food-chain.md § Coverage).

Each metric is a share of *observations*, each attributed to the organisation whose duty it is,
that organisation's region and the day it happened (local date of ``occurred_at``):

- ``certificate_rate`` (入市合格证查验率): food receipts that came with a valid upstream
  certificate or another proof (per receipt; the buyer);
- ``testing_rate`` (批批检测率): certified lots with an inspection of the lot, or of a lot it was
  certified from (per non-void certificate; the issuer);
- ``coding_rate`` (赋码率, 浙冷链 进赋码): packages declared at import that were given their
  溯源码 (``ColdChainCodesAssigned``) before they left the first station (per declared code;
  the first station — the first organisation after the importer to hold them);
- ``scan_rate`` (扫码率, 进出扫码): every hand-over scanned on both sides — a shipment or
  wholesale sale to a registered organisation that it scanned in (recorded the receipt; the
  receiver), and a receipt whose goods the registered supplier scanned out (recorded the
  shipment, sale or release; the supplier).

``docs/cold-chain.md`` gives the definitions with their source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from suyuan.codegraph import PACKING_KINDS
from suyuan.events.model import Event
from suyuan.foodchain._certificates import certificate_records, goods_codes, own_certificate_code
from suyuan.foodchain._reads import Reads, load_related, related_goods
from suyuan.foodchain._receipts import ReceiptCheck
from suyuan.foodchain._regions import region_within
from suyuan.foodchain._rules import CODING_TARGET, SCAN_TARGET
from suyuan.ledger import CodeEventRef

CERTIFICATE_RATE = "certificate_rate"
TESTING_RATE = "testing_rate"
CODING_RATE = "coding_rate"
SCAN_RATE = "scan_rate"
METRICS = (CERTIFICATE_RATE, TESTING_RATE, CODING_RATE, SCAN_RATE)
TARGETS: Mapping[str, float] = {CODING_RATE: CODING_TARGET, SCAN_RATE: SCAN_TARGET}
PERIODS = ("day", "week", "month", "year")
CODES_ASSIGNED = "ColdChainCodesAssigned"
#: Scanning goods out: handing them to someone else (出扫码).
SCANS_OUT = frozenset({"Shipped", "Sold", "Released"})
#: Events that show an organisation holding the goods (the first station's 进扫码 among them).
CUSTODY = frozenset({"Received", "Stored", "Disinfected", CODES_ASSIGNED, "Released", "Shipped"})
#: How many certificate generations back a lot's test may lie (purchaser of a purchaser …).
MAX_CERTIFICATE_GENERATIONS = 8


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing a metric counts: whose duty, where, when, and whether it was done."""

    metric: str
    organisation: str
    region: str | None
    day: date
    hit: bool


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """The metrics of one organisation, region or period."""

    key: str
    rates: Mapping[str, Rate]
    name: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class CoverageReport:
    since: date | None
    until: date | None
    period: str
    total: Mapping[str, Rate]
    by_region: tuple[CoverageRow, ...]
    by_org: tuple[CoverageRow, ...]
    by_period: tuple[CoverageRow, ...]


def period_key(day: date, period: str) -> str:
    """``2026-05-06`` (day), ``2026-W19`` (ISO week), ``2026-05`` (month) or ``2026`` (year)."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return str(day.year)


# --- observations -------------------------------------------------------------------------------


def certificate_observations(reads: Reads, checks: Sequence[ReceiptCheck]) -> list[Observation]:
    """One per food receipt: did a valid certificate (or other proof) come with it."""
    return [
        _observe(reads, CERTIFICATE_RATE, c.buyer, c.receipt, c.compliant) for c in checks if c.food
    ]


def coding_observations(reads: Reads, declarations: Sequence[Event]) -> list[Observation]:
    """赋码率 (进赋码): one per package declared at import — was it coded (a
    ``ColdChainCodesAssigned`` naming it) before the first station handed it on. The first
    station is the first organisation other than the importer to record holding it (the
    importer itself when nobody else did)."""
    packages = [(d, code) for d in declarations for code in d.codes]
    refs = reads.store.code_events_for(list(dict.fromkeys(code for _d, code in packages)))
    by_code: dict[str, list[CodeEventRef]] = defaultdict(list)
    for ref in refs:
        by_code[ref.code].append(ref)
    observations = []
    for declaration, code in packages:
        mine = sorted(by_code[code], key=lambda r: r.occurred_at)
        others = [r for r in mine if r.actor != declaration.actor and r.event_type in CUSTODY]
        station = others[0].actor if others else declaration.actor
        left = next(
            (r.occurred_at for r in mine if r.actor == station and r.event_type in SCANS_OUT), None
        )
        coded = any(
            r.event_type == CODES_ASSIGNED and (left is None or r.occurred_at <= left) for r in mine
        )
        observations.append(_observe(reads, CODING_RATE, station, declaration, coded))
    return observations


def scan_observations(
    reads: Reads, hand_overs: Sequence[Event], receipts: Sequence[Event] = ()
) -> list[Observation]:
    """扫码率 (进出扫码): one per hand-over to a registered organisation — did it scan the goods
    in (record receiving them) — and one per receipt from a registered supplier — had the
    supplier scanned them out (recorded shipping, selling or releasing them) by then."""
    return [*_scans_in(reads, hand_overs), *_scans_out(reads, receipts)]


def _scans_in(reads: Reads, hand_overs: Sequence[Event]) -> list[Observation]:
    registered = [(h, _recipient(h)) for h in hand_overs]
    registered = [(h, r) for h, r in registered if reads.directory.get(r) is not None]
    graph = reads.graph()
    graph.load_down((code for h, _r in registered for code in h.codes), PACKING_KINDS)
    goods = [graph.below(h.codes, PACKING_KINDS) for h, _r in registered]
    refs = reads.store.code_events_for([code for codes in goods for code in codes])
    receivers: dict[str, set[str]] = defaultdict(set)
    for ref in refs:
        if ref.event_type == "Received":
            receivers[ref.code].add(ref.actor)
    return [
        _observe(
            reads,
            SCAN_RATE,
            recipient,
            hand_over,
            any(recipient in receivers[code] for code in codes),
        )
        for (hand_over, recipient), codes in zip(registered, goods, strict=True)
    ]


def _scans_out(reads: Reads, receipts: Sequence[Event]) -> list[Observation]:
    registered = [r for r in receipts if reads.directory.get(_supplier(r)) is not None]
    graph = reads.graph()
    load_related(graph, (code for r in registered for code in r.codes))
    goods = [related_goods(graph, r.codes) for r in registered]
    refs = reads.store.code_events_for(list({code for codes in goods for code in codes}))
    scanned_out: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for ref in refs:
        if ref.event_type in SCANS_OUT:
            scanned_out[ref.code].append((ref.actor, ref.occurred_at))
    return [
        _observe(
            reads,
            SCAN_RATE,
            _supplier(receipt),
            receipt,
            any(
                actor == _supplier(receipt) and at <= receipt.occurred_at
                for code in codes
                for actor, at in scanned_out[code]
            ),
        )
        for receipt, codes in zip(registered, goods, strict=True)
    ]


def _supplier(receipt: Event) -> str:
    return str(receipt.payload["from_org"])


def _recipient(hand_over: Event) -> str:
    payload = hand_over.payload
    return str(payload["buyer"] if hand_over.event_type == "Sold" else payload["to_org"])


def testing_observations(reads: Reads, certificates: Sequence[Event]) -> list[Observation]:
    """One per certificate not voided: was its lot (or a lot it came from) inspected."""
    in_scope = {code: c for c in certificates if (code := own_certificate_code(c)) is not None}
    voided = {code for code, r in certificate_records(reads, in_scope).items() if r.voids}
    known = dict(in_scope)
    _load_upstream(reads, known)
    inspected = _inspected_codes(reads, known.values())
    memo: dict[str, bool] = {}

    def tested(code: str, depth: int = 0) -> bool:
        if code not in memo:
            event = known.get(code)
            if event is None:
                memo[code] = False
            else:
                upstream = [str(u) for u in event.payload["upstream_certificates"]]
                memo[code] = _tested_itself(event, inspected) or (
                    depth < MAX_CERTIFICATE_GENERATIONS
                    and any(tested(u, depth + 1) for u in upstream)
                )
        return memo[code]

    return [
        _observe(reads, TESTING_RATE, c.actor, c, tested(code))
        for code, c in in_scope.items()
        if code not in voided
    ]


def _load_upstream(reads: Reads, known: dict[str, Event]) -> None:
    """Add the certificates the known ones were issued from, generation by generation."""
    looked_up = set(known)
    for _ in range(MAX_CERTIFICATE_GENERATIONS):
        missing = {
            str(u) for c in known.values() for u in c.payload["upstream_certificates"]
        } - looked_up
        if not missing:
            return
        looked_up |= missing
        for code, record in certificate_records(reads, missing).items():
            if record.issue is not None:
                known[code] = record.issue


def _inspected_codes(reads: Reads, certificates: Iterable[Event]) -> set[str]:
    lots = [code for c in certificates for code in c.codes]
    graph = reads.graph()
    graph.load_down(lots, PACKING_KINDS)
    refs = reads.store.code_events_for(list(graph.below(lots, PACKING_KINDS)))
    inspected = {r.code for r in refs if r.event_type == "InspectionRecorded"}
    # a lot counts as inspected when a code packed in it was
    for lot in lots:
        if graph.below([lot], PACKING_KINDS) & inspected:
            inspected.add(lot)
    return inspected


def _tested_itself(certificate: Event, inspected: set[str]) -> bool:
    if certificate.payload.get("inspection_event_id"):
        return True
    return bool(set(certificate.codes) & inspected) or bool(
        set(goods_codes(certificate)) & inspected
    )


def _observe(reads: Reads, metric: str, org: str, event: Event, hit: bool) -> Observation:
    return Observation(
        metric, org, reads.directory.region(org, event), event.occurred_at.date(), hit
    )


# --- aggregation --------------------------------------------------------------------------------


def in_window(day: date, since: date | None, until: date | None) -> bool:
    return (since is None or day >= since) and (until is None or day <= until)


def report(
    reads: Reads,
    observations: Iterable[Observation],
    *,
    since: date | None,
    until: date | None,
    period: str,
    scope: str | None = None,
    organisation: str | None = None,
) -> CoverageReport:
    """The metrics of the observations in the window, region ``scope`` and ``organisation``."""
    chosen = [
        o
        for o in observations
        if in_window(o.day, since, until)
        and region_within(o.region, scope)
        and (organisation is None or o.organisation == organisation)
    ]
    return CoverageReport(
        since=since,
        until=until,
        period=period,
        total=_rates(chosen),
        by_region=_rows(chosen, lambda o: o.region or "unknown"),
        by_org=tuple(
            CoverageRow(
                row.key,
                row.rates,
                name=reads.directory.name(row.key),
                region=reads.directory.region(row.key),
            )
            for row in _rows(chosen, lambda o: o.organisation)
        ),
        by_period=_rows(chosen, lambda o: period_key(o.day, period)),
    )


def _rows(
    observations: list[Observation], key: Callable[[Observation], str]
) -> tuple[CoverageRow, ...]:
    groups: dict[str, list[Observation]] = defaultdict(list)
    for observation in observations:
        groups[key(observation)].append(observation)
    return tuple(CoverageRow(k, _rates(groups[k])) for k in sorted(groups))


def _rates(observations: list[Observation]) -> dict[str, Rate]:
    rates: dict[str, Rate] = {}
    for metric in METRICS:
        mine = [o for o in observations if o.metric == metric]
        rates[metric] = Rate(sum(o.hit for o in mine), len(mine))
    return rates
