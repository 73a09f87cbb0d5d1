"""Alerts of the food chain, each followed from the event that opened it to what closed it.

Four kinds (``docs/food-chain.md`` § Alerts):

- ``missing_certificate`` — goods received without a valid upstream certificate (进货查验),
  against the buyer; closed by a later compliant receipt of the goods, their destruction or
  their return to the supplier;
- ``inspection_failed`` — a failed inspection (批批检测) froze the goods; closed when every
  affected quantity is destroyed, returned or recalled (不合格核查处置, :mod:`._disposal`);
- ``meat_certificates_missing`` — meat left a slaughterhouse without both the 动物检疫合格证明
  (product form) and a passing 肉品品质检验; closed when both are recorded or the meat destroyed;
- ``temperature_excursion`` — a reading outside the allowed range; closed when every code was
  inspected and passed by a testing body, a regulator or a 集中监管仓, or destroyed, after the
  excursion.

The 浙冷链 kinds (``import_papers_failed``, ``positive_sample``, ``import_papers_incomplete``,
``uncoded_import``) are raised by :mod:`._cold_chain` (``docs/cold-chain.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from suyuan.codegraph import CodeGraph
from suyuan.events.model import Event
from suyuan.foodchain._disposal import HolderPosition, disposal_state
from suyuan.foodchain._feed import has_excursion
from suyuan.foodchain._reads import Reads, load_related, related_goods
from suyuan.foodchain._receipts import (
    ANIMAL_QUARANTINE,
    MEAT_QUALITY,
    ReceiptCheck,
    passing_meat_inspection,
    product_quarantine,
)
from suyuan.foodchain._regions import region_within
from suyuan.foodchain._rules import INSPECTOR_ROLES, independent_test

MISSING_CERTIFICATE = "missing_certificate"
INSPECTION_FAILED = "inspection_failed"
MEAT_CERTIFICATES_MISSING = "meat_certificates_missing"
TEMPERATURE_EXCURSION = "temperature_excursion"
ALERT_KINDS = (
    MISSING_CERTIFICATE,
    INSPECTION_FAILED,
    MEAT_CERTIFICATES_MISSING,
    TEMPERATURE_EXCURSION,
    "import_papers_failed",  # 浙冷链 (._cold_chain)
    "positive_sample",
    "import_papers_incomplete",
    "uncoded_import",
    # the vaccine and drug alerts (._vaccines, docs/vaccines.md)
    "vaccine_use_blocked",
    "vaccine_receipt_unchecked",
    "serious_adverse_event",
    "drug_resold",
    # a holder past a deadline of its recall (suyuan.recall.overdue_alerts, docs/recalls.md)
    "recall_overdue",
)
OPEN = "open"
CLOSED = "closed"
DESTROYED = "Destroyed"
INSPECTION_RECORDED = "InspectionRecorded"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: what opened it, against whom, and whether (and why) it is closed."""

    kind: str
    event_id: str
    """The event that opened it."""
    codes: tuple[str, ...]
    organisation: str
    """The organisation it is against (the buyer, the owner of the failed goods, the plant …)."""
    organisation_name: str | None
    region: str | None
    """GB/T 2260 region of that organisation (its registration; else where the event was)."""
    opened_at: datetime
    summary: str
    closed_at: datetime | None = None
    closed_reason: str | None = None
    """Why it closed, a word: certificate_presented, returned, disposed, recall_closed,
    certificates_recorded, passed_inspection, inspected_or_disposed."""
    outstanding: tuple[str, ...] = ()
    """What still keeps it open, in words."""
    holders: tuple[HolderPosition, ...] = ()
    """``inspection_failed``: every organisation holding the frozen goods, with quantities."""
    counterparty: str | None = None
    """``missing_certificate``: the supplier."""

    @property
    def alert_id(self) -> str:
        return f"{self.kind}:{self.event_id}"

    @property
    def status(self) -> str:
        return OPEN if self.closed_at is None else CLOSED

    def concerns(self, scope: str | None) -> bool:
        """Whether a regulator of region ``scope`` follows it: its region, or a holder's."""
        return region_within(self.region, scope) or any(
            region_within(h.region, scope) for h in self.holders
        )


def _party(reads: Reads, org: str, event: Event) -> tuple[str | None, str | None]:
    return reads.directory.name(org), reads.directory.region(org, event)


# --- missing certificate ------------------------------------------------------------------------


def missing_certificate_alerts(reads: Reads, checks: Sequence[ReceiptCheck]) -> list[Alert]:
    """One alert per receipt without a valid certificate (or other proof) for food."""
    failing = [c for c in checks if not c.compliant]
    follow_ups = reads.about((code for c in failing for code in c.related), {DESTROYED, "Shipped"})
    alerts: list[Alert] = []
    for check in failing:
        receipt = check.receipt
        name, region = _party(reads, check.buyer, receipt)
        closed_at, reason = _receipt_closure(check, checks, follow_ups)
        alerts.append(
            Alert(
                kind=MISSING_CERTIFICATE,
                event_id=receipt.event_id,
                codes=receipt.codes,
                organisation=check.buyer,
                organisation_name=name,
                region=region,
                opened_at=receipt.occurred_at,
                summary=f"{check.describe()}; supplier {check.supplier}",
                closed_at=closed_at,
                closed_reason=reason,
                outstanding=() if closed_at else ("present a valid 合格证, or return or destroy",),
                counterparty=check.supplier,
            )
        )
    return alerts


def _receipt_closure(
    check: ReceiptCheck, checks: Sequence[ReceiptCheck], follow_ups: list[Event]
) -> tuple[datetime | None, str | None]:
    opened = check.receipt.occurred_at
    for other in checks:  # by time: the first that closes it
        later = other.receipt.occurred_at > opened
        if (
            later
            and other.compliant
            and other.buyer == check.buyer
            and other.related & set(check.receipt.codes)
        ):
            return other.receipt.occurred_at, "certificate_presented"
    for event in follow_ups:
        if event.actor != check.buyer or event.occurred_at < opened:
            continue
        if not set(event.codes) & check.related:
            continue
        if event.event_type == DESTROYED:
            return event.occurred_at, "disposed"
        if event.payload.get("to_org") == check.supplier:
            return event.occurred_at, "returned"
    return None, None


# --- failed inspection --------------------------------------------------------------------------


def inspection_failed_alerts(reads: Reads, failures: Iterable[Event]) -> list[Alert]:
    """One alert per failed inspection, with every holder of the frozen goods."""
    alerts: list[Alert] = []
    for failed in failures:
        state = disposal_state(reads, failed)
        owner = failed.actor
        if reads.directory.has_role(owner, INSPECTOR_ROLES) and state.holders:
            owner = state.holders[0].organisation  # the source of the sampled goods
        name, region = _party(reads, owner, failed)
        alerts.append(
            Alert(
                kind=INSPECTION_FAILED,
                event_id=failed.event_id,
                codes=state.codes,
                organisation=owner,
                organisation_name=name,
                region=region,
                opened_at=failed.occurred_at,
                summary=_failure_summary(failed),
                closed_at=state.closed_at,
                closed_reason=state.closed_reason,
                outstanding=() if state.closed else state.outstanding,
                holders=state.holders,
            )
        )
    return alerts


def _failure_summary(failed: Event) -> str:
    payload = failed.payload
    items = [
        f"{item['name']} {item['value']}{' ' + item['unit'] if item.get('unit') else ''}"
        + (f" (limit {item['limit']})" if item.get("limit") else "")
        for item in payload["items"]
        if not item["passed"]
    ]
    return f"{payload['kind']} inspection failed: {'; '.join(items)}"


# --- meat leaving a slaughterhouse --------------------------------------------------------------


def meat_alerts(reads: Reads, departures: Sequence[Event]) -> list[Alert]:
    """One alert per departure of meat from a plant without both of its certificates."""
    graph = reads.graph()
    load_related(graph, (code for d in departures for code in d.codes))
    related = [related_goods(graph, d.codes) for d in departures]
    documents = reads.about(
        (code for codes in related for code in codes),
        {ANIMAL_QUARANTINE, MEAT_QUALITY, DESTROYED},
    )
    alerts: list[Alert] = []
    for departure, codes in zip(departures, related, strict=True):
        mine = [d for d in documents if codes & set(d.codes)]
        before = [d for d in mine if d.occurred_at <= departure.occurred_at]
        missing = _missing_meat_certificates(before)
        if not missing:
            continue
        name, region = _party(reads, departure.actor, departure)
        closed_at, reason = _meat_closure(departure, mine)
        alerts.append(
            Alert(
                kind=MEAT_CERTIFICATES_MISSING,
                event_id=departure.event_id,
                codes=departure.codes,
                organisation=departure.actor,
                organisation_name=name,
                region=region,
                opened_at=departure.occurred_at,
                summary="meat left the plant without " + " and ".join(missing),
                closed_at=closed_at,
                closed_reason=reason,
                outstanding=() if closed_at else tuple(f"record the {m}" for m in missing),
            )
        )
    return alerts


def _missing_meat_certificates(documents: list[Event]) -> list[str]:
    missing = []
    if product_quarantine(documents) is None:
        missing.append("动物检疫合格证明 (product form 产品A/B)")
    if passing_meat_inspection(documents) is None:
        missing.append("肉品品质检验合格证 (a passing meat quality inspection)")
    return missing


def _meat_closure(departure: Event, documents: list[Event]) -> tuple[datetime | None, str | None]:
    quarantine, inspection = product_quarantine(documents), passing_meat_inspection(documents)
    if quarantine is not None and inspection is not None:
        return max(quarantine.occurred_at, inspection.occurred_at), "certificates_recorded"
    destroyed = [
        d for d in documents if d.event_type == DESTROYED and d.occurred_at >= departure.occurred_at
    ]
    if destroyed:
        return destroyed[0].occurred_at, "disposed"
    return None, None


# --- temperature --------------------------------------------------------------------------------


def temperature_alerts(reads: Reads, records: Sequence[Event]) -> list[Alert]:
    """One alert per temperature record with a reading outside its allowed range."""
    excursions = [r for r in records if has_excursion(r)]
    graph = reads.graph()
    load_related(graph, (code for r in excursions for code in r.codes))
    follow_ups = reads.about(
        (c for r in excursions for c in related_goods(graph, r.codes)),
        {INSPECTION_RECORDED, DESTROYED},
    )
    alerts: list[Alert] = []
    for record in excursions:
        opened = _first_excursion(record)
        name, region = _party(reads, record.actor, record)
        covering = [
            f
            for f in follow_ups
            if f.occurred_at >= opened
            and (
                f.event_type == DESTROYED
                or (f.payload.get("passed") is True and independent_test(f, reads.directory))
            )
        ]
        closed_at, reason = _temperature_closure(graph, record, covering)
        payload = record.payload
        alerts.append(
            Alert(
                kind=TEMPERATURE_EXCURSION,
                event_id=record.event_id,
                codes=record.codes,
                organisation=record.actor,
                organisation_name=name,
                region=region,
                opened_at=opened,
                summary=(
                    f"device {payload['device_id']}: readings outside "
                    f"{payload['min_celsius']}…{payload['max_celsius']} °C"
                ),
                closed_at=closed_at,
                closed_reason=reason,
                outstanding=() if closed_at else ("inspect the goods, or destroy them",),
                # Whoever holds or held the goods: the regulators of every region they went to.
                holders=disposal_state(reads, record).holders,
            )
        )
    return alerts


def _first_excursion(record: Event) -> datetime:
    low, high = record.payload["min_celsius"], record.payload["max_celsius"]
    for reading in record.payload["readings"]:
        value = float(reading["celsius"])
        if value < low or value > high:
            at = reading["at"]
            return at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return record.occurred_at


def _temperature_closure(
    graph: CodeGraph, record: Event, covering: list[Event]
) -> tuple[datetime | None, str | None]:
    used: list[Event] = []
    for code in record.codes:
        related = related_goods(graph, [code])
        first = next((f for f in covering if related & set(f.codes)), None)
        if first is None:
            return None, None
        used.append(first)
    kinds = {f.event_type for f in used}
    reason = (
        "passed_inspection"
        if kinds == {INSPECTION_RECORDED}
        else "disposed"
        if kinds == {DESTROYED}
        else "inspected_or_disposed"
    )
    return max(f.occurred_at for f in used), reason
