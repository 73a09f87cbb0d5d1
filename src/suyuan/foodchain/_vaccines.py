"""Alerts of 浙苗链 (vaccines, 疫苗管理法 2019) and of 药品追溯码 (drugs): ``docs/vaccines.md``.

A dose given, a vaccine received and a drug sold are facts: they are recorded and raise alerts
(the roles and custody that are refused are :mod:`suyuan.authority`'s). Five rules:

- ``vaccine_use_blocked`` — a dose administered that must not have been (no 批签发, recalled,
  frozen, expired on the day, an open temperature excursion, not supplied through a CDC, the
  code already administered), against the clinic; and vaccine stock a clinic holds that it must
  not use (not supplied through a CDC, an open excursion), opened by the clinic's receipt;
- ``vaccine_receipt_unchecked`` — a CDC or clinic received vaccine without a temperature record
  of the transport;
- ``serious_adverse_event`` — a serious AEFI, for regulators only (:data:`PRIVATE_ALERT_KINDS`:
  never in a public view, never a verdict);
- ``drug_resold`` — a 药品追溯码 sold or dispensed to a consumer a second time (回流药).

Every rule reads the goods' history through the projections, so the alert an event opens is
the same whether the rules run over the whole ledger or over one trace's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from suyuan.authority import CDC, CLINIC, CUSTODY_EVENT_TYPES
from suyuan.codegraph import PACKING_KINDS, CodeGraph
from suyuan.events.model import Event
from suyuan.foodchain._alerts import (
    DESTROYED,
    Alert,
    _party,
    inspection_failed_alerts,
    temperature_alerts,
)
from suyuan.foodchain._feed import drug_to_consumer, has_excursion
from suyuan.foodchain._reads import Reads, load_related, related_goods

VACCINE_USE_BLOCKED = "vaccine_use_blocked"
VACCINE_RECEIPT_UNCHECKED = "vaccine_receipt_unchecked"
SERIOUS_ADVERSE_EVENT = "serious_adverse_event"
DRUG_RESOLD = "drug_resold"
#: Alerts only regulators see: about a person's health, so never in a public trace or verdict.
PRIVATE_ALERT_KINDS = frozenset({SERIOUS_ADVERSE_EVENT})

#: 有效期至 is a calendar day in China: a dose given on that day is still in date.
CHINA_TIME = timezone(timedelta(hours=8))
RECEIVERS = frozenset({CDC, CLINIC})
PENDING = "PENDING"


def vaccine_and_drug_alerts(reads: Reads, by_type: Mapping[str, Sequence[Event]]) -> list[Alert]:
    """The alerts of the vaccine and drug rules that the followed events ``by_type`` open.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
    """
    receipts = [
        r for r in by_type.get("Received", ()) if reads.directory.has_role(r.actor, RECEIVERS)
    ]
    administered = list(by_type.get("VaccineAdministered", ()))
    sales = [
        e for kind in ("Sold", "Dispensed") for e in by_type.get(kind, ()) if drug_to_consumer(e)
    ]
    reports = by_type.get("AdverseEventReported", ())
    if not (administered or receipts or sales or reports):  # a food trace: nothing to read
        return []
    history = _History.read(reads, [*administered, *receipts, *sales])
    return [
        *(a for e in administered if (a := _administration_alert(reads, history, e))),
        *(a for r in receipts if (a := _stock_alert(reads, history, r))),
        *(a for r in receipts if (a := _receipt_alert(reads, history, r))),
        *serious_adverse_event_alerts(reads, reports),
        *(a for e in sales if (a := _resale_alert(reads, history, e))),
    ]


# --- the goods' history -------------------------------------------------------------------------


@dataclass
class _History:
    """Every event about the goods of some events (their codes, contents and containers), read
    at once, with the freezes and temperature excursions among them followed to their close."""

    graph: CodeGraph
    by_code: dict[str, list[Event]]
    freezes: dict[str, Alert]
    excursions: dict[str, Alert]

    @classmethod
    def read(cls, reads: Reads, subjects: Sequence[Event]) -> _History:
        graph = reads.graph()
        load_related(graph, (code for e in subjects for code in e.codes))
        codes = {code for e in subjects for code in related_goods(graph, e.codes)}
        events = reads.about(codes)
        by_code: dict[str, list[Event]] = {}
        for event in events:
            for code in event.codes:
                if code in codes:
                    by_code.setdefault(code, []).append(event)
        failed = [
            e
            for e in events
            if e.event_type == "InspectionRecorded" and not e.payload.get("passed", True)
        ]
        heat = [e for e in events if e.event_type == "TemperatureRecorded" and has_excursion(e)]
        return cls(
            graph,
            by_code,
            {a.event_id: a for a in inspection_failed_alerts(reads, failed)},
            {a.event_id: a for a in temperature_alerts(reads, heat)},
        )

    def related(self, event: Event) -> set[str]:
        return related_goods(self.graph, event.codes)

    def of(self, codes: Iterable[str], *types: str) -> list[Event]:
        """Events about ``codes`` (of ``types`` if given), by time, each once."""
        found = {
            e.event_id: e
            for code in codes
            for e in self.by_code.get(code, ())
            if not types or e.event_type in types
        }
        return sorted(found.values(), key=_order)


def _order(event: Event) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)


def _china_day(at: datetime) -> date:
    return at.astimezone(CHINA_TIME).date()


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _is_vaccine(history: _History, codes: set[str]) -> bool:
    return bool(history.of(codes, "VaccineLotReleased"))


def _open_at(alert: Alert, at: datetime) -> bool:
    return alert.opened_at <= at and (alert.closed_at is None or alert.closed_at > at)


def _through_cdc(reads: Reads, history: _History, codes: set[str], before: datetime) -> bool:
    """Whether a CDC held the goods (or a container of them) before ``before``: 疫苗管理法
    第35条, the maker supplies the CDC and the CDC supplies the clinics."""
    return any(
        e.occurred_at <= before and reads.directory.has_role(e.actor, {CDC})
        for e in history.of(codes, *CUSTODY_EVENT_TYPES)
    )


def _excursion_text(alert: Alert) -> str:
    return f"open temperature excursion since {alert.opened_at.isoformat()} ({alert.summary})"


# --- vaccine administered -----------------------------------------------------------------------


def _administration_alert(reads: Reads, history: _History, shot: Event) -> Alert | None:
    """``vaccine_use_blocked`` when the dose should not have been given, naming every reason.
    It never closes: the dose was given, and the person vaccinated is followed up."""
    reasons = administration_problems(reads, history, shot)
    if not reasons:
        return None
    name, region = _party(reads, shot.actor, shot)
    return Alert(
        kind=VACCINE_USE_BLOCKED,
        event_id=shot.event_id,
        codes=shot.codes,
        organisation=shot.actor,
        organisation_name=name,
        region=region,
        opened_at=shot.occurred_at,
        summary="dose administered although " + "; ".join(reasons),
        outstanding=("follow up the person vaccinated and report to the CDC",),
    )


def administration_problems(reads: Reads, history: _History, shot: Event) -> list[str]:
    """Why the dose of ``shot`` must not have been administered when it was (empty: nothing)."""
    at = shot.occurred_at
    codes = history.related(shot)
    before = [e for e in history.of(codes) if _order(e) < _order(shot)]
    reasons: list[str] = []
    releases = [e for e in before if e.event_type == "VaccineLotReleased"]
    if not releases:
        reasons.append("no lot release (批签发) of it was recorded")
    reasons += _open_recalls(before, codes)
    reasons += [
        f"frozen: {alert.summary}"
        for e in before
        if (alert := history.freezes.get(e.event_id)) is not None and _open_at(alert, at)
    ]
    expiry = min((_as_date(e.payload["expiry_date"]) for e in releases), default=None)
    if expiry is not None and expiry < _china_day(at):
        reasons.append(f"it expired on {expiry.isoformat()}")
    reasons += [
        _excursion_text(alert)
        for e in before
        if (alert := history.excursions.get(e.event_id)) is not None and _open_at(alert, at)
    ]
    if not _through_cdc(reads, history, codes, at):
        reasons.append("it did not come through a CDC (疫苗管理法 第35条)")
    reasons += [
        f"this dose code was already administered on {e.occurred_at.isoformat()}"
        f" by {reads.directory.name(e.actor) or e.actor}"
        for e in before
        if e.event_type == "VaccineAdministered" and set(e.codes) & set(shot.codes)
    ]
    return reasons


def _open_recalls(before: list[Event], codes: set[str]) -> list[str]:
    closed = {str(e.payload.get("recall_id")) for e in before if e.event_type == "RecallClosed"}
    return [
        f"it was under recall ({e.payload.get('reason', '')})"
        for e in before
        if e.event_type == "RecallInitiated"
        and set(e.payload.get("root_codes", ())) & codes
        and str(e.payload.get("recall_id")) not in closed
    ]


# --- vaccine stock at a clinic ------------------------------------------------------------------


def _stock_alert(reads: Reads, history: _History, receipt: Event) -> Alert | None:
    """``vaccine_use_blocked`` on vaccine a clinic received and must not use: not supplied
    through a CDC (closed by destroying or returning it), or with a temperature excursion open
    while the clinic held it (closed when the excursion is, or by disposal)."""
    if not reads.directory.has_role(receipt.actor, {CLINIC}):
        return None
    codes = history.related(receipt)
    if not _is_vaccine(history, codes):
        return None
    at = receipt.occurred_at
    through_cdc = _through_cdc(reads, history, codes, at)
    heat = [
        alert
        for e in history.of(codes, "TemperatureRecorded")
        if (alert := history.excursions.get(e.event_id)) is not None
        and (alert.closed_at is None or alert.closed_at > at)
    ]
    if through_cdc and not heat:
        return None
    reasons = [] if through_cdc else ["it did not come through a CDC (疫苗管理法 第35条)"]
    reasons += [_excursion_text(a) for a in heat if a.closed_at is None]
    closed_at, reason = _disposal(history, receipt, codes)
    if closed_at is None and not reasons:  # every excursion since closed (inspected, destroyed)
        last = max(heat, key=lambda a: a.closed_at or a.opened_at)
        closed_at, reason = last.closed_at, last.closed_reason
    name, region = _party(reads, receipt.actor, receipt)
    return Alert(
        kind=VACCINE_USE_BLOCKED,
        event_id=receipt.event_id,
        codes=receipt.codes,
        organisation=receipt.actor,
        organisation_name=name,
        region=region,
        opened_at=at if not through_cdc else max(at, min(a.opened_at for a in heat)),
        summary="vaccine held by the clinic must not be used: "
        + ("; ".join(reasons) or "a temperature excursion (since closed)"),
        closed_at=closed_at,
        closed_reason=reason,
        outstanding=()
        if closed_at
        else ("do not administer: return it, destroy it, or inspect it after the excursion",),
        counterparty=str(receipt.payload.get("from_org")),
    )


def _disposal(
    history: _History, receipt: Event, codes: set[str]
) -> tuple[datetime | None, str | None]:
    """The receiver destroyed the goods or shipped them back to the sender after the receipt."""
    sender = receipt.payload.get("from_org")
    for event in history.of(codes, DESTROYED, "Shipped"):
        if event.actor != receipt.actor or _order(event) <= _order(receipt):
            continue
        if not _covers(history.graph, event, receipt):
            continue
        if event.event_type == DESTROYED:
            return event.occurred_at, "disposed"
        if event.payload.get("to_org") == sender:
            return event.occurred_at, "returned"
    return None, None


def _covers(graph: CodeGraph, event: Event, receipt: Event) -> bool:
    """Whether ``event`` is about every code of ``receipt`` (itself or a container of it)."""
    return all(graph.above([code], PACKING_KINDS) & set(event.codes) for code in receipt.codes)


# --- vaccine received ---------------------------------------------------------------------------


def _receipt_alert(reads: Reads, history: _History, receipt: Event) -> Alert | None:
    """``vaccine_receipt_unchecked``: a CDC or clinic received vaccine without a temperature
    record of the transport (a reading taken between the shipment to it and the receipt,
    recorded by the time of the receipt). Closed by a late record, or by destroying or
    returning the goods."""
    codes = history.related(receipt)
    if not _is_vaccine(history, codes):
        return None
    start = _shipped_at(history, receipt, codes)
    covering = [
        e
        for e in history.of(codes, "TemperatureRecorded")
        if _has_reading_between(e, start, receipt.occurred_at)
    ]
    if any(_order(e) <= _order(receipt) for e in covering):
        return None
    closed_at, reason = _disposal(history, receipt, codes)
    if covering and (closed_at is None or covering[0].occurred_at < closed_at):
        closed_at, reason = covering[0].occurred_at, "temperature_record_presented"
    name, region = _party(reads, receipt.actor, receipt)
    sender = str(receipt.payload.get("from_org"))
    return Alert(
        kind=VACCINE_RECEIPT_UNCHECKED,
        event_id=receipt.event_id,
        codes=receipt.codes,
        organisation=receipt.actor,
        organisation_name=name,
        region=region,
        opened_at=receipt.occurred_at,
        summary="vaccine received without a temperature record of the transport"
        + ("" if start is None else f" shipped at {start.isoformat()}")
        + f"; sender {sender}",
        closed_at=closed_at,
        closed_reason=reason,
        outstanding=()
        if closed_at
        else ("obtain the transport temperature record, or return the vaccine",),
        counterparty=sender,
    )


def _shipped_at(history: _History, receipt: Event, codes: set[str]) -> datetime | None:
    """When the goods were last shipped to the receiver before the receipt (``None``: never)."""
    shipments = [
        e
        for e in history.of(codes, "Shipped")
        if e.payload.get("to_org") == receipt.actor and _order(e) < _order(receipt)
    ]
    return shipments[-1].occurred_at if shipments else None


def _has_reading_between(record: Event, start: datetime | None, end: datetime) -> bool:
    for reading in record.payload.get("readings", ()):
        at = reading["at"]
        at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        if (start is None or at >= start) and at <= end:
            return True
    return False


# --- serious adverse events ---------------------------------------------------------------------


def serious_adverse_event_alerts(reads: Reads, reports: Iterable[Event]) -> list[Alert]:
    """``serious_adverse_event`` for each serious AEFI report; closed when a later report of
    the same case (same administration, or same codes and person) classifies it."""
    serious = [r for r in reports if r.payload.get("serious") is True]
    later = reads.about((code for r in serious for code in r.codes), {"AdverseEventReported"})
    alerts: list[Alert] = []
    for report in serious:
        payload = report.payload
        follow_up = next(
            (
                e
                for e in later
                if _order(e) > _order(report)
                and e.payload.get("classification") != PENDING
                and _same_case(e, report)
            ),
            None,
        )
        name, region = _party(reads, report.actor, report)
        alerts.append(
            Alert(
                kind=SERIOUS_ADVERSE_EVENT,
                event_id=report.event_id,
                codes=report.codes,
                organisation=report.actor,
                organisation_name=name,
                region=region,
                opened_at=report.occurred_at,
                summary=f"serious AEFI reported, classification {payload['classification']}"
                + (f", report {payload['report_no']}" if payload.get("report_no") else ""),
                closed_at=None if follow_up is None else follow_up.occurred_at,
                closed_reason=None if follow_up is None else "classified",
                outstanding=()
                if follow_up
                else ("investigate and record the classification (调查诊断)",),
            )
        )
    return alerts


def _same_case(one: Event, other: Event) -> bool:
    given = other.payload.get("administered_event_id")
    if given is not None and one.payload.get("administered_event_id") == given:
        return True
    person = other.payload.get("recipient_pseudonym")
    return one.payload.get("recipient_pseudonym") == person and bool(
        set(one.codes) & set(other.codes)
    )


# --- drugs sold twice ---------------------------------------------------------------------------


def _resale_alert(reads: Reads, history: _History, sale: Event) -> Alert | None:
    """``drug_resold`` (回流药): the unit was sold or dispensed to a consumer before. It stays
    open: the unit is suspect for good."""
    codes = history.related(sale)
    earlier = [
        e
        for e in history.of(codes, "Sold", "Dispensed")
        if drug_to_consumer(e) and _order(e) < _order(sale)
    ]
    if not earlier:
        return None
    first = earlier[0]
    name, region = _party(reads, sale.actor, sale)
    first_name = reads.directory.name(first.actor) or first.actor
    return Alert(
        kind=DRUG_RESOLD,
        event_id=sale.event_id,
        codes=sale.codes,
        organisation=sale.actor,
        organisation_name=name,
        region=region,
        opened_at=sale.occurred_at,
        summary=f"drug code {sale.event_type.lower()} again: first "
        f"{first.event_type.lower()} on {first.occurred_at.isoformat()} by {first_name}",
        outstanding=("find where the unit came from (回流药) and report it",),
        counterparty=first.actor,
    )
