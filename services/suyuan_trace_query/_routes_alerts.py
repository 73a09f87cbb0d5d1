"""Food-chain alerts and coverage metrics for regulators (design.md §8; ``docs/food-chain.md``).

- ``GET /v1/alerts``: alerts (missing certificate, failed inspection with every holder of the
  frozen goods, meat without its certificates, temperature excursion), open and closed, with
  counts by region and kind and the 不合格核查处置率;
- ``GET /v1/metrics/coverage``: certificate, testing (批批检测率), coding (赋码率) and scan
  (扫码率) rates by organisation, region and period.

A regulator token sees its region (and alerts whose goods reached it); an admin token sees all.
Thin: the work is in :class:`suyuan.foodchain.FoodChainMonitor`, kept in ``app.state``.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

import suyuan.recall as recall_clock
from suyuan.auth import Principal, Role
from suyuan.exports import Cell, Table, joined
from suyuan.foodchain import (
    ALERT_KINDS,
    METRICS,
    PERIODS,
    TARGETS,
    Alert,
    AlertSummary,
    Amount,
    CoverageReport,
    CoverageRow,
    FoodChainMonitor,
    HolderPosition,
    Rate,
    region_within,
    select,
    summarise,
)
from suyuan.recall import RECALL_INITIATED, overdue_alerts, recorded_recalls
from suyuan.verdict import RULES as VERDICT_RULES
from suyuan_http import (
    EXPORT_RESPONSES,
    ApiError,
    FormatQuery,
    export_response,
    requested_format,
)

from ._deps import ContextDep, OverseerDep, QueryContext
from ._models import ErrorOut, QuantityOut

router = APIRouter(tags=["food chain"])

MAX_ALERTS = 1000
_MONITOR_KEY = "foodchain_monitor"
_monitor_lock = threading.Lock()
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {
        "model": ErrorOut,
        "description": "Not a regulator or admin token, or a region outside the token's.",
    },
}
DEFINITIONS = {
    "certificate_rate": "入市合格证查验率: food receipts with a valid upstream certificate (or "
    "import documents / meat certificates) over food receipts; counted for the buyer.",
    "testing_rate": "批批检测率: certificates (not void) whose lot, or a lot they were certified "
    "from, was inspected, over certificates; counted for the issuer.",
    "coding_rate": "赋码率 (进赋码): packages declared at import that were given their 溯源码 "
    "before they left the first station, over declared packages; counted for the first station.",
    "scan_rate": "扫码率 (进出扫码): hand-overs to a registered organisation that it scanned in "
    "(recorded the receipt; counted for the receiver), and receipts from a registered supplier "
    "that it scanned out (recorded the shipment, sale or release; counted for the supplier), "
    "over both.",
}

RegionQuery = Annotated[
    str | None,
    Query(pattern=r"^[1-9][0-9]{5}$", description="GB/T 2260 code: this region (and below)."),
]
OrgQuery = Annotated[str | None, Query(alias="org", description="USCC: only this organisation.")]


# --- response bodies ----------------------------------------------------------------------------


class HolderPositionOut(BaseModel):
    organisation: str
    name: str | None
    region: str | None
    held: list[QuantityOut] = Field(description="Received, produced, made or declared.")
    passed_on: list[QuantityOut] = Field(description="To organisations that recorded it.")
    used: list[QuantityOut] = Field(description="Used as input of a transformation.")
    destroyed: list[QuantityOut]
    returned: list[QuantityOut]
    sold_to_consumers: list[QuantityOut]
    unconfirmed: list[QuantityOut] = Field(description="Shipped; receipt not recorded.")
    remaining: list[QuantityOut] = Field(description="Still held: destroy or return it.")


class AlertOut(BaseModel):
    alert_id: str = Field(description="`{kind}:{event_id}`: stable.")
    kind: Literal[
        "missing_certificate",
        "inspection_failed",
        "meat_certificates_missing",
        "temperature_excursion",
        "vaccine_use_blocked",
        "vaccine_receipt_unchecked",
        "serious_adverse_event",
        "drug_resold",
        "import_papers_failed",
        "positive_sample",
        "import_papers_incomplete",
        "uncoded_import",
        "recall_overdue",
    ]
    status: Literal["open", "closed"]
    codes: list[str]
    organisation: str = Field(description="USCC of the organisation it is against.")
    organisation_name: str | None
    region: str | None
    opened_at: str = Field(description="When the event that opened it happened.")
    event_id: str = Field(description="The event that opened it.")
    summary: str
    closed_at: str | None
    closed_reason: str | None = Field(
        description="certificate_presented, returned, disposed, recall_closed, "
        "certificates_recorded, passed_inspection, inspected_or_disposed, "
        "temperature_record_presented, classified, coded or papers_recorded."
    )
    outstanding: list[str] = Field(description="What still keeps it open.")
    counterparty: str | None = Field(
        description="missing_certificate, vaccine_receipt_unchecked, vaccine_use_blocked on a "
        "clinic's receipt: the supplier; drug_resold: who sold or dispensed it first; "
        "import_papers_incomplete and uncoded_import: the other side of the hand-over."
    )
    holders: list[HolderPositionOut] | None = Field(
        description="Every organisation holding or having held the goods, with quantities "
        "(inspection_failed, temperature_excursion and the cold-chain alerts)."
    )
    title: dict[str, str] | None = Field(
        None,
        description="What it means for the goods, by language (zh, en): the words of the "
        "verdict rule of this kind (docs/verdicts.md); null for a kind without one.",
    )


class StatusCountOut(BaseModel):
    key: str = Field(description="The region code (or `unknown`), or the alert kind.")
    open: int
    closed: int


class DisposalOut(BaseModel):
    closed: int = Field(description="Failed inspections followed to a recorded disposal.")
    total: int
    rate: float | None = Field(description="不合格核查处置率 (target 100%).")


class AlertSummaryOut(BaseModel):
    open: int
    closed: int
    by_region: list[StatusCountOut]
    by_kind: list[StatusCountOut]
    disposal: DisposalOut


class AlertsOut(BaseModel):
    alerts: list[AlertOut] = Field(description="Open first, newest first.")
    count: int = Field(description="How many matched (before `limit`).")
    truncated: bool = Field(description="True when more follow this page.")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last one."
    )
    summary: AlertSummaryOut = Field(
        description="Every alert the caller follows in the region/org asked, whatever their "
        "status and kind."
    )


class RateOut(BaseModel):
    numerator: int
    denominator: int
    rate: float | None
    target: float | None
    meets_target: bool | None


class CoverageRowOut(BaseModel):
    key: str = Field(description="USCC, region code or period, per list.")
    name: str | None = None
    region: str | None = None
    metrics: dict[str, RateOut]


class CoverageOut(BaseModel):
    since: date | None
    until: date | None
    period: str
    region: str | None
    organisation: str | None
    total: dict[str, RateOut]
    by_region: list[CoverageRowOut]
    by_org: list[CoverageRowOut]
    by_period: list[CoverageRowOut]
    definitions: dict[str, str]


# --- routes -------------------------------------------------------------------------------------


@router.get(
    "/v1/alerts",
    response_model=AlertsOut,
    responses={
        **EXPORT_RESPONSES,
        **_AUTH,
        422: {"model": ErrorOut, "description": "A bad query parameter."},
    },
    summary="Food-chain alerts, open and closed, with counts by region (regulator or admin)",
)
def get_alerts(
    caller: OverseerDep,
    context: ContextDep,
    request: Request,
    status: Annotated[Literal["open", "closed"] | None, Query(description="Only these.")] = None,
    kind: Annotated[list[str] | None, Query(description=f"Any of: {', '.join(ALERT_KINDS)}.")] = (
        None
    ),
    region: RegionQuery = None,
    organisation: OrgQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 200,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the page before.")
    ] = None,
    fmt: FormatQuery = None,
) -> AlertsOut | Response:
    """A failed inspection stays open until every affected quantity is destroyed, returned or
    recalled (不合格核查处置); its `holders` list every organisation holding the frozen goods.
    `format=csv|xlsx`: one row per alert, the same alerts (docs/exports.md); the next page's
    cursor is then in the `X-Next-Cursor` header."""
    export = requested_format(fmt)
    kinds = _kinds(kind)
    scope = _scope(caller, region)
    followed = select(every_alert(request, context), scope=scope, organisation=organisation)
    matching = select(followed, status=status, kinds=kinds)
    matching.sort(key=lambda a: a.status != "open")  # stable: newest first within each
    start = _page_start([a.alert_id for a in matching], cursor)
    page = matching[start : start + limit]
    shown = [_alert_out(a) for a in page]
    more = start + limit < len(matching)
    next_cursor = page[-1].alert_id if more and page else None
    if export != "json":
        response = export_response(alerts_table(shown), export, "alerts")
        if next_cursor is not None:
            response.headers["X-Next-Cursor"] = next_cursor
        return response
    return AlertsOut(
        alerts=shown,
        count=len(matching),
        truncated=more,
        next_cursor=next_cursor,
        summary=_summary_out(summarise(followed)),
    )


def _page_start(ids: list[str], cursor: str | None) -> int:
    """Where the page after ``cursor`` (the last alert id of the page before) starts.

    Raises:
        ApiError: 422 naming ``cursor`` when no alert of this query has that id (any more).
    """
    if cursor is None:
        return 0
    try:
        return ids.index(cursor) + 1
    except ValueError:
        raise ApiError(
            422,
            "invalid_input",
            "the next_cursor of a page of this same query (an alert that still matches it)",
            "cursor",
            cursor,
        ) from None


@router.get(
    "/v1/metrics/coverage",
    response_model=CoverageOut,
    responses={
        **EXPORT_RESPONSES,
        **_AUTH,
        422: {"model": ErrorOut, "description": "A bad query parameter."},
    },
    summary="Coverage: certificate, testing, coding and scan rates (regulator or admin)",
)
def get_coverage(
    caller: OverseerDep,
    context: ContextDep,
    request: Request,
    since: Annotated[date | None, Query(description="First day (inclusive).")] = None,
    until: Annotated[date | None, Query(description="Last day (inclusive).")] = None,
    period: Annotated[Literal["day", "week", "month", "year"], Query()] = "month",
    region: RegionQuery = None,
    organisation: OrgQuery = None,
    fmt: FormatQuery = None,
) -> CoverageOut | Response:
    """Each rate is numerator/denominator over the days asked; `definitions` says what each
    counts (see docs/food-chain.md). 赋码率 and 扫码率 have the provincial target 99.5%.
    `format=csv|xlsx`: one row per organisation, region and period, and the total."""
    export = requested_format(fmt)
    if since is not None and until is not None and since > until:
        raise ApiError(422, "invalid_input", "must not be after `until`", "since", str(since))
    assert period in PERIODS
    scope = _scope(caller, region)
    coverage = _monitor(request, context.store).coverage(
        since=since, until=until, period=period, scope=scope, organisation=organisation
    )
    body = coverage_out(
        coverage, since=since, until=until, period=period, scope=scope, organisation=organisation
    )
    if export != "json":
        return export_response(coverage_table(body), export, "coverage")
    return body


def every_alert(request: Request, context: QueryContext) -> list[Alert]:
    """The monitor's alerts and the recalls' overdue holders (``recall_overdue``), newest first
    within each: what ``GET /v1/alerts`` and the console's queue select from."""
    monitor = _monitor(request, context.store)
    recalls = recorded_recalls(context.store, context.tracer, monitor.events([RECALL_INITIATED]))
    return [*monitor.alerts(), *overdue_alerts(recalls, recall_clock.current_time())]


def coverage_out(
    coverage: CoverageReport,
    *,
    since: date | None = None,
    until: date | None = None,
    period: str = "month",
    scope: str | None = None,
    organisation: str | None = None,
) -> CoverageOut:
    """``GET /v1/metrics/coverage``'s body for what the monitor counted."""
    return CoverageOut(
        since=since,
        until=until,
        period=period,
        region=scope,
        organisation=organisation,
        total=_rates_out(coverage.total),
        by_region=[_row_out(r) for r in coverage.by_region],
        by_org=[_row_out(r) for r in coverage.by_org],
        by_period=[_row_out(r) for r in coverage.by_period],
        definitions=DEFINITIONS,
    )


# --- exports (docs/exports.md) ------------------------------------------------------------------

ALERT_COLUMNS = (
    "alert_id",
    "kind",
    "title_zh",
    "status",
    "organisation",
    "organisation_name",
    "region",
    "opened_at",
    "event_id",
    "codes",
    "summary",
    "closed_at",
    "closed_reason",
    "outstanding",
    "counterparty",
    "holders",
)


def alerts_table(alerts: list[AlertOut]) -> Table:
    """One row per alert; lists joined with "; " and each holder as `name (USCC): remaining`."""
    rows: list[tuple[Cell, ...]] = [
        (
            a.alert_id,
            a.kind,
            None if a.title is None else a.title.get("zh"),
            a.status,
            a.organisation,
            a.organisation_name,
            a.region,
            a.opened_at,
            a.event_id,
            joined(a.codes, " "),
            a.summary,
            a.closed_at,
            a.closed_reason,
            joined(a.outstanding),
            a.counterparty,
            joined(_holder_text(h) for h in a.holders or ()),
        )
        for a in alerts
    ]
    return Table(ALERT_COLUMNS, rows, sheet="alerts")


def _holder_text(holder: HolderPositionOut) -> str:
    held = joined((f"{q.quantity} {q.unit}" for q in holder.held), " + ") or "0"
    left = joined((f"{q.quantity} {q.unit}" for q in holder.remaining), " + ") or "0"
    who = holder.name or holder.organisation
    return f"{who} ({holder.organisation}): held {held}, remaining {left}"


def coverage_table(coverage: CoverageOut) -> Table:
    """One row per organisation, region and period (column `list` says which), then `total`;
    per metric its numerator, denominator and rate."""
    columns = ["list", "key", "name", "region"]
    for metric in METRICS:
        columns += [f"{metric}_numerator", f"{metric}_denominator", f"{metric}_rate"]
    rows: list[tuple[Cell, ...]] = []
    listed = [
        *(("organisation", r) for r in coverage.by_org),
        *(("region", r) for r in coverage.by_region),
        *(("period", r) for r in coverage.by_period),
        ("total", CoverageRowOut(key="total", metrics=coverage.total)),
    ]
    for name, row in listed:
        cells: list[Cell] = [name, row.key, row.name, row.region]
        for metric in METRICS:
            rate = row.metrics[metric]
            cells += [rate.numerator, rate.denominator, rate.rate]
        rows.append(tuple(cells))
    return Table(tuple(columns), rows, sheet="coverage")


# --- helpers ------------------------------------------------------------------------------------


def _monitor(request: Request, store: Any) -> FoodChainMonitor:
    """The app's monitor (made on first use): it keeps its place in the ledger between calls."""
    monitor = getattr(request.app.state, _MONITOR_KEY, None)
    if monitor is None:
        with _monitor_lock:
            monitor = getattr(request.app.state, _MONITOR_KEY, None)
            if monitor is None:
                monitor = FoodChainMonitor(store)
                setattr(request.app.state, _MONITOR_KEY, monitor)
    assert isinstance(monitor, FoodChainMonitor)
    return monitor


def _scope(caller: Principal, region: str | None) -> str | None:
    """The region the answer covers: the one asked, within the regulator's own."""
    if caller.role is not Role.REGULATOR:
        return region
    if region is None:
        return caller.region
    if not region_within(region, caller.region):
        raise ApiError(
            403,
            "forbidden",
            f"region {region} is outside this regulator token's region {caller.region}",
            "region",
            region,
        )
    return region


def _kinds(kind: list[str] | None) -> list[str]:
    for value in kind or []:
        if value not in ALERT_KINDS:
            raise ApiError(
                422,
                "invalid_input",
                f"must be one of: {', '.join(ALERT_KINDS)}",
                "kind",
                value[:60],
            )
    return kind or []


def _alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        alert_id=alert.alert_id,
        kind=alert.kind,
        status="open" if alert.status == "open" else "closed",
        codes=list(alert.codes),
        organisation=alert.organisation,
        organisation_name=alert.organisation_name,
        region=alert.region,
        opened_at=alert.opened_at.isoformat(),
        event_id=alert.event_id,
        summary=alert.summary,
        closed_at=None if alert.closed_at is None else alert.closed_at.isoformat(),
        closed_reason=alert.closed_reason,
        outstanding=list(alert.outstanding),
        counterparty=alert.counterparty,
        holders=[_holder_out(h) for h in alert.holders] if alert.holders else None,
        title=_title(alert.kind),
    )


def _title(kind: str) -> dict[str, str] | None:
    rule = VERDICT_RULES.get(kind)
    return None if rule is None else {"zh": rule.zh, "en": rule.en}


def _holder_out(holder: HolderPosition) -> HolderPositionOut:
    return HolderPositionOut(
        organisation=holder.organisation,
        name=holder.name,
        region=holder.region,
        held=_amounts(holder.held),
        passed_on=_amounts(holder.passed_on),
        used=_amounts(holder.used),
        destroyed=_amounts(holder.destroyed),
        returned=_amounts(holder.returned),
        sold_to_consumers=_amounts(holder.sold_to_consumers),
        unconfirmed=_amounts(holder.unconfirmed),
        remaining=_amounts(holder.remaining),
    )


def _amounts(amounts: tuple[Amount, ...]) -> list[QuantityOut]:
    return [QuantityOut(quantity=_decimal_text(a.quantity), unit=a.unit) for a in amounts]


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _summary_out(summary: AlertSummary) -> AlertSummaryOut:
    return AlertSummaryOut(
        open=summary.open,
        closed=summary.closed,
        by_region=[
            StatusCountOut(key=c.key, open=c.open, closed=c.closed) for c in summary.by_region
        ],
        by_kind=[StatusCountOut(key=c.key, open=c.open, closed=c.closed) for c in summary.by_kind],
        disposal=DisposalOut(
            closed=summary.disposal_closed,
            total=summary.disposal_total,
            rate=summary.disposal_rate,
        ),
    )


def _rates_out(rates: dict[str, Rate] | Any) -> dict[str, RateOut]:
    out: dict[str, RateOut] = {}
    for metric in METRICS:
        rate: Rate = rates[metric]
        target = TARGETS.get(metric)
        value = rate.value
        out[metric] = RateOut(
            numerator=rate.numerator,
            denominator=rate.denominator,
            rate=value,
            target=target,
            meets_target=None if target is None or value is None else value >= target,
        )
    return out


def _row_out(row: CoverageRow) -> CoverageRowOut:
    return CoverageRowOut(
        key=row.key, name=row.name, region=row.region, metrics=_rates_out(row.rates)
    )
