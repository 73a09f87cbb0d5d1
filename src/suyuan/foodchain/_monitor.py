"""The regulator's watch over the food chain: alerts and coverage of one ledger, kept current.

:class:`FoodChainMonitor` holds the :class:`~._feed.EventFeed` (where the rules start from) and
the organisation directory between requests; everything else is read afresh through the
projections and point reads each time, so an alert closes as soon as its disposal is recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from suyuan.directory import Directory
from suyuan.events.model import Event
from suyuan.foodchain._alerts import (
    ALERT_KINDS,
    INSPECTION_FAILED,
    OPEN,
    Alert,
    inspection_failed_alerts,
    meat_alerts,
    missing_certificate_alerts,
    temperature_alerts,
)
from suyuan.foodchain._cold_chain import cold_chain_alerts
from suyuan.foodchain._coverage import (
    CoverageReport,
    Observation,
    certificate_observations,
    coding_observations,
    in_window,
    report,
    scan_observations,
    testing_observations,
)
from suyuan.foodchain._feed import FOLLOWED, EventFeed, EventRef
from suyuan.foodchain._reads import Reads
from suyuan.foodchain._receipts import check_receipts
from suyuan.foodchain._rules import SLAUGHTER_PROCESS, SLAUGHTERHOUSE_ROLE
from suyuan.foodchain._vaccines import vaccine_and_drug_alerts
from suyuan.ledger import LedgerStore


@dataclass(frozen=True, slots=True)
class StatusCount:
    key: str
    open: int
    closed: int


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """Open and closed alerts, by region and by kind; the 不合格核查处置率."""

    open: int
    closed: int
    by_region: tuple[StatusCount, ...]
    by_kind: tuple[StatusCount, ...]
    disposal_closed: int
    """Failed inspections followed to a recorded disposal of everything affected."""
    disposal_total: int

    @property
    def disposal_rate(self) -> float | None:
        """不合格核查处置率: closed failed-inspection cases over all of them."""
        return self.disposal_closed / self.disposal_total if self.disposal_total else None


def summarise(alerts: Iterable[Alert]) -> AlertSummary:
    """Counts of ``alerts`` by status, region (``unknown`` when none) and kind."""
    chosen = list(alerts)
    by_region: Counter[tuple[str, bool]] = Counter(
        (a.region or "unknown", a.status == OPEN) for a in chosen
    )
    by_kind: Counter[tuple[str, bool]] = Counter((a.kind, a.status == OPEN) for a in chosen)
    failed = [a for a in chosen if a.kind == INSPECTION_FAILED]
    regions = sorted({region for region, _ in by_region})
    return AlertSummary(
        open=sum(a.status == OPEN for a in chosen),
        closed=sum(a.status != OPEN for a in chosen),
        by_region=tuple(
            StatusCount(r, by_region[(r, True)], by_region[(r, False)]) for r in regions
        ),
        by_kind=tuple(StatusCount(k, by_kind[(k, True)], by_kind[(k, False)]) for k in ALERT_KINDS),
        disposal_closed=sum(a.status != OPEN for a in failed),
        disposal_total=len(failed),
    )


def select(
    alerts: Iterable[Alert],
    *,
    scope: str | None = None,
    organisation: str | None = None,
    status: str | None = None,
    kinds: Sequence[str] = (),
) -> list[Alert]:
    """The alerts a regulator of region ``scope`` follows, narrowed by the other filters."""
    return [
        a
        for a in alerts
        if a.concerns(scope)
        and (organisation is None or a.organisation == organisation)
        and (status is None or a.status == status)
        and (not kinds or a.kind in kinds)
    ]


class FoodChainMonitor:
    """Alerts and coverage metrics of one ledger. Thread-safe."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._feed = EventFeed(store)
        self._directory = Directory(store)

    def _reads(self) -> Reads:
        self._feed.refresh()
        self._directory.refresh()
        return Reads(self._store, self._directory)

    def alerts(self) -> list[Alert]:
        """Every alert, open and closed, newest first.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
        """
        reads = self._reads()
        feed = self._feed
        events = reads.at(_positions(feed.refs(ALERT_SOURCE_TYPES)))
        return alerts_of(reads, events, slaughterers=feed.slaughterers())

    def events(self, event_types: Sequence[str], *, actor: str | None = None) -> list[Event]:
        """Every followed event of ``event_types`` (:data:`FOLLOWED`), by time of occurrence;
        with ``actor`` only that organisation's (chosen before any event is read).

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
        """
        reads = self._reads()
        refs = self._feed.refs(event_types)
        return reads.at(_positions(r for r in refs if actor is None or r.actor == actor))

    def reads(self) -> Reads:
        """Fresh reads of the ledger (directory and feed caught up), for :func:`alerts_of`."""
        return self._reads()

    def coverage(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        period: str = "month",
        scope: str | None = None,
        organisation: str | None = None,
    ) -> CoverageReport:
        """Coverage metrics of the days ``since``–``until`` (inclusive), by org, region, period.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
        """
        reads = self._reads()

        def chosen(types: list[str]) -> list[tuple[int, int]]:
            refs = self._feed.refs(types)
            return _positions(r for r in refs if in_window(r.occurred_at.date(), since, until))

        receipts = reads.at(chosen(["Received"]))
        observations: list[Observation] = [
            *certificate_observations(reads, check_receipts(reads, receipts)),
            *coding_observations(reads, reads.at(chosen(["ImportDeclared"]))),
            *scan_observations(reads, reads.at(chosen(["Shipped", "Sold"])), receipts),
            *testing_observations(reads, reads.at(chosen(["CertificateIssued"]))),
        ]
        return report(
            reads,
            observations,
            since=since,
            until=until,
            period=period,
            scope=scope,
            organisation=organisation,
        )


#: The event types alerts start from (each rule picks its own among them).
ALERT_SOURCE_TYPES = (
    "Received",
    "Shipped",
    "Sold",
    "InspectionRecorded",
    "TemperatureRecorded",
    "Dispensed",
    "VaccineAdministered",
    "AdverseEventReported",
    "ImportDeclared",
)


def alerts_of(
    reads: Reads, events: Sequence[Event], *, slaughterers: Iterable[str] = ()
) -> list[Alert]:
    """The alerts that ``events`` open, open and closed, newest first: every alert rule run over
    these events — the whole ledger's (:meth:`FoodChainMonitor.alerts`) or one trace's
    (``suyuan.trace``), so the regulator's list and a code's verdict never disagree.

    ``slaughterers`` are organisations known to slaughter (besides those registered as
    slaughterhouses): whatever they ship or sell is meat that needs its certificates.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
    """
    by_type: dict[str, list[Event]] = {}
    plants = set(slaughterers)
    for event in events:
        kind = event.event_type
        if kind == "Transformed" and event.payload.get("process") == SLAUGHTER_PROCESS:
            plants.add(event.actor)
        keep = FOLLOWED.get(kind)
        if keep is not None and keep(event):
            by_type.setdefault(kind, []).append(event)
    departures = [
        e
        for e in [*by_type.get("Shipped", ()), *by_type.get("Sold", ())]
        if e.actor in plants or reads.directory.has_role(e.actor, {SLAUGHTERHOUSE_ROLE})
    ]
    receipts = by_type.get("Received", [])
    alerts: list[Alert] = []
    # Each rule only when it has events to judge: a trace's events rarely hold every kind.
    if receipts:
        alerts += missing_certificate_alerts(reads, check_receipts(reads, receipts))
    if by_type.get("InspectionRecorded"):
        alerts += inspection_failed_alerts(reads, by_type["InspectionRecorded"])
    if departures:
        alerts += meat_alerts(reads, departures)
    if by_type.get("TemperatureRecorded"):
        alerts += temperature_alerts(reads, by_type["TemperatureRecorded"])
    alerts += cold_chain_alerts(reads, by_type)
    alerts += vaccine_and_drug_alerts(reads, by_type)  # reads nothing without its events
    alerts.sort(key=lambda a: (a.opened_at, a.event_id), reverse=True)
    return alerts


def _positions(refs: Iterable[EventRef]) -> list[tuple[int, int]]:
    return [ref.position for ref in refs]
