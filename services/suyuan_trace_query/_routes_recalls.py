"""Recalls over HTTP (design.md §8, docs/recalls.md): start, list, find, acknowledge, close.

Thin: ``suyuan.recall`` builds, signs (the caller organisation's custodial key) and records the
``RecallInitiated`` / ``RecallAcknowledged`` / ``RecallClosed`` events and computes scope,
accounts and deadlines; this module picks who may call what and maps errors to HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request, Response

import suyuan.recall as recall_clock
from suyuan.auth import Principal, Role
from suyuan.custody import CustodyError
from suyuan.errors import InvalidInputError
from suyuan.exports import Cell, Table, joined
from suyuan.recall import (
    LEVELS,
    MAX_PAGE,
    NOT_ACKNOWLEDGED,
    RECALL_INITIATED,
    HolderAccount,
    Recall,
    RecallClosedError,
    RecallNotFoundError,
    RecallPage,
    RecallRefusedError,
    acknowledge_recall,
    close_recall,
    custodial_recall_key,
    find_recall,
    list_recalls,
    regulator_organisation,
    start_recall,
)
from suyuan.regions import region_name
from suyuan.signing import SigningKey
from suyuan.trace import Holder
from suyuan.transport import TransportError
from suyuan_http import (
    EXPORT_RESPONSES,
    ApiError,
    FormatQuery,
    export_response,
    requested_format,
    require_role,
)

from ._deps import ContextDep, PrincipalDep, QueryContext, RecallDesk
from ._models import (
    AccountOut,
    AcknowledgementIn,
    CloseIn,
    ClosureOut,
    CodesOut,
    DeadlinesOut,
    ErrorOut,
    HolderOut,
    LedgerRef,
    ProgressOut,
    QuantityOut,
    RecallIn,
    RecallOut,
    RecallsOut,
)
from ._routes_alerts import RegionQuery, _monitor, _scope

router = APIRouter(tags=["recalls"])

DEFAULT_LISTED_CODES = 1000
MAX_LISTED_CODES = 100_000
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "The token's role may not do this."},
}
_WRITE: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorOut,
        "description": "The organisation cannot sign here (no custodial key, or one the trust "
        "chain does not know), or the recall is closed already.",
    },
    413: {"model": ErrorOut, "description": "A body over SUYUAN_MAX_JSON_BODY_BYTES."},
    503: {"model": ErrorOut, "description": "The ledger cannot take the event now."},
}
ListedQuery = Annotated[
    int,
    Query(ge=0, le=MAX_LISTED_CODES, description="Most codes of the scope to list."),
]
_MAKER_ROLES = frozenset({Role.REGULATOR, Role.PRODUCER})
_T = TypeVar("_T")


@router.post(
    "/v1/recalls",
    status_code=201,
    response_model=RecallOut,
    responses={
        **_AUTH,
        **_WRITE,
        422: {"model": ErrorOut, "description": "A root code is malformed or unknown."},
    },
    summary="Start a recall (regulator token: 责令召回; producer token: 主动召回 of its goods)",
)
def post_recall(
    body: RecallIn,
    caller: PrincipalDep,
    context: ContextDep,
    response: Response,
    listed: ListedQuery = DEFAULT_LISTED_CODES,
) -> RecallOut:
    """Records a RecallInitiated event signed with the caller organisation's custodial key,
    then answers with the scope: every code made from or packed with the root codes, and every
    organisation that held any of it, with quantities. Every code in scope then traces as
    `recalled`. A producer token recalls only goods its organisation first recorded (403
    otherwise)."""
    require_role(caller, _MAKER_ROLES, "a regulator or producer token")
    desk = _desk(context)
    own_goods = caller.role is Role.PRODUCER
    organisation = _organisation(context, caller)

    def start(key: SigningKey) -> Recall:
        return start_recall(
            store=context.store,
            roots=_roots(desk),
            transport=_transport(desk),
            tracer=context.tracer,
            key=key,
            regulator=organisation,
            root_codes=body.root_codes,
            reason=body.reason,
            level=body.level,
            own_goods=own_goods,
        )

    recall = _write(context, organisation, start)
    response.headers["Location"] = f"/v1/recalls/{recall.recall_id}"
    return recall_out(recall, listed)


@router.get(
    "/v1/recalls",
    response_model=RecallsOut,
    responses={
        **EXPORT_RESPONSES,
        **_AUTH,
        422: {"model": ErrorOut, "description": "A bad query parameter."},
    },
    summary="Recalls, newest first (regulator: its region; producer: its own 主动召回; admin)",
)
def get_recalls(
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
    status: Annotated[Literal["open", "closed"] | None, Query(description="Only these.")] = None,
    region: RegionQuery = None,
    level: Annotated[
        Literal["LEVEL_1", "LEVEL_2", "LEVEL_3"] | None,
        Query(description=f"Only this level ({', '.join(LEVELS)})."),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    listed: Annotated[int, Query(ge=0, le=MAX_LISTED_CODES)] = 100,
    fmt: FormatQuery = None,
) -> RecallsOut | Response:
    """A regulator sees the recalls whose scope reaches its region (a holder there, or the
    starter), narrowed by `region`; a producer the recalls its organisation started; an admin
    all. `cursor` pages through the same query. `format=csv|xlsx`: one row per recall of the
    page (the next page's cursor in `X-Next-Cursor`; docs/exports.md)."""
    export = requested_format(fmt)
    require_role(
        caller, frozenset({*_MAKER_ROLES, Role.ADMIN}), "a regulator, producer or admin token"
    )
    page = recalls_page(
        context,
        request,
        caller,
        status=status,
        region=region,
        level=level,
        cursor=cursor,
        limit=limit,
    )
    now = recall_clock.current_time()
    shown = [recall_out(r, listed, now) for r in page.recalls]
    if export != "json":
        response = export_response(recalls_table(shown), export, "recalls")
        if page.next_cursor is not None:
            response.headers["X-Next-Cursor"] = page.next_cursor
        return response
    return RecallsOut(recalls=shown, count=page.count, next_cursor=page.next_cursor)


def recalls_page(
    context: QueryContext,
    request: Request,
    caller: Principal,
    *,
    status: str | None = None,
    region: str | None = None,
    level: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> RecallPage:
    """The page of recalls ``caller`` may list (as ``GET /v1/recalls`` answers it).

    Raises:
        ApiError: 403 for a region outside a regulator token's; 422 for a bad status, level or
            cursor.
    """
    scope = _scope(caller, region)
    started_by = caller.organisation if caller.role is Role.PRODUCER else None
    recorded = _monitor(request, context.store).events([RECALL_INITIATED])
    try:
        return list_recalls(
            context.store,
            context.tracer,
            recorded,
            status=status,
            level=level,
            region=scope,
            started_by=started_by,
            cursor=cursor,
            limit=limit,
        )
    except InvalidInputError as err:
        raise ApiError.from_input(err) from None


@router.get(
    "/v1/recalls/{recall_id}",
    response_model=RecallOut,
    responses={
        **EXPORT_RESPONSES,
        **_AUTH,
        400: {"model": ErrorOut, "description": "The id is not a UUID."},
        404: {"model": ErrorOut, "description": "No recall has this id."},
    },
    summary="A recall's scope, accounts and deadlines (regulator, admin, or the producer that "
    "started it)",
)
def get_recall(
    recall_id: str,
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
    listed: ListedQuery = DEFAULT_LISTED_CODES,
    fmt: FormatQuery = None,
) -> RecallOut | Response:
    """`recall_id` is the recall's id (as POST /v1/recalls answered it) or the id of its
    RecallInitiated event. Progress counts RecallAcknowledged, Destroyed and RecallClosed
    events naming the recall and codes of its scope; `accounts` reconcile each holder.
    `format=csv|xlsx`: the holders' accounts, one row per holder (docs/exports.md)."""
    export = requested_format(fmt)
    require_role(caller, frozenset({*_MAKER_ROLES, Role.ADMIN}), "a regulator or admin token")
    recall = _find(context, request, recall_id)
    if caller.role is Role.PRODUCER and caller.organisation != recall.regulator:
        raise ApiError(
            403,
            "forbidden",
            "a producer token reads only the recalls its organisation started; a holder reads "
            "its notices (GET /v1/notices)",
            "recall_id",
            recall_id[:60],
        )
    body = recall_out(recall, listed)
    if export != "json":
        return export_response(accounts_table(body), export, f"recall-{recall.recall_id}")
    return body


@router.post(
    "/v1/recalls/{recall_id}/acknowledgements",
    status_code=201,
    response_model=AccountOut,
    responses={
        202: {"model": AccountOut, "description": "Queued (a Kafka transport): not shown yet."},
        **_AUTH,
        **_WRITE,
        404: {"model": ErrorOut, "description": "No recall has this id."},
        422: {
            "model": ErrorOut,
            "description": "A quantity or the unit is bad, or the organisation holds nothing "
            "in the recall's scope.",
        },
    },
    summary="A holder acknowledges a recall with its quantities (producer token)",
    response_description="The holder's account (201; 202 when queued over Kafka).",
)
def post_acknowledgement(
    recall_id: str,
    body: AcknowledgementIn,
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
    response: Response,
) -> AccountOut:
    """Records a RecallAcknowledged signed with the holder organisation's custodial key: what it
    has on hand, sold on, returned and destroyed, in one unit. A later acknowledgement replaces
    an earlier one. Answers with the holder's account: reconciled when received − sold on −
    destroyed − returned = on hand = 0. 202 instead of 201 when the event is queued (a Kafka
    transport): the account does not show it yet."""
    after, committed = acknowledge_as(context, request, caller, recall_id, body)
    if not committed:
        response.status_code = 202
    organisation = _organisation(context, caller)
    account = after.account(organisation)
    assert account is not None  # acknowledge_recall refused a non-holder
    return account_out(account, after, recall_clock.current_time())


def acknowledge_as(
    context: QueryContext,
    request: Request,
    caller: Principal,
    recall_id: str,
    body: AcknowledgementIn,
) -> tuple[Recall, bool]:
    """Acknowledge recall ``recall_id`` as the holder ``caller``
    (``POST /v1/recalls/{id}/acknowledgements``; the console's notice form too): the recall as
    it is now, and whether the RecallAcknowledged is in the ledger.

    Raises:
        ApiError: 403 (not a producer token, not a holder in custody), 404, 409 (closed, no
            custodial key), 422 (a bad quantity or unit; nothing held in scope), 503.
    """
    require_role(caller, frozenset({Role.PRODUCER}), "a producer (organisation) token")
    organisation = _organisation(context, caller)
    recall = _find(context, request, recall_id)
    desk = _desk(context)

    def acknowledge(key: SigningKey) -> tuple[Recall, bool]:
        return acknowledge_recall(
            store=context.store,
            roots=_roots(desk),
            transport=_transport(desk),
            tracer=context.tracer,
            key=key,
            recall=recall,
            holder=organisation,
            unit=body.unit,
            on_hand=body.on_hand,
            sold_on=body.sold_on,
            returned=body.returned,
            destroyed=body.destroyed,
            note=body.note,
        )

    return _write(context, organisation, acknowledge)


@router.post(
    "/v1/recalls/{recall_id}/close",
    response_model=RecallOut,
    responses={
        202: {"model": RecallOut, "description": "Queued (a Kafka transport): not shown yet."},
        **_AUTH,
        **_WRITE,
        404: {"model": ErrorOut, "description": "No recall has this id."},
        422: {
            "model": ErrorOut,
            "description": "Holders are not reconciled and no override, or an override "
            "without a reason.",
        },
    },
    summary="Close a recall (regulator; or the producer that started it, once reconciled)",
    response_description="The recall (200; 202 when queued over Kafka: still shown open).",
)
def post_close(
    recall_id: str,
    body: CloseIn,
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
    response: Response,
    listed: ListedQuery = DEFAULT_LISTED_CODES,
) -> RecallOut:
    """Only when every holder's account is reconciled; a regulator may close it before with
    `override: true` and a `reason` (recorded in the RecallClosed event). 202 when the event is
    queued (a Kafka transport): the answer shows the recall still open."""
    after, committed = close_as(context, request, caller, recall_id, body)
    if not committed:
        response.status_code = 202
    return recall_out(after, listed)


def close_as(
    context: QueryContext, request: Request, caller: Principal, recall_id: str, body: CloseIn
) -> tuple[Recall, bool]:
    """Close recall ``recall_id`` as ``caller`` (``POST /v1/recalls/{id}/close``; the console's
    close form too): the recall as it is now, and whether the RecallClosed is in the ledger.

    Raises:
        ApiError: 403 (role, override by a non-regulator, a recall outside the regulator's
            region), 404, 409 (closed already, no custodial key), 422 (not reconciled and no
            override, a reason without override or none with it), 503.
    """
    require_role(caller, _MAKER_ROLES, "a regulator or producer token")
    if body.override and caller.role is not Role.REGULATOR:
        raise ApiError(
            403, "forbidden", "only a regulator token closes a recall with an override", "override"
        )
    if body.override and body.reason is None:
        raise ApiError(422, "invalid_input", "required with override: true", "reason")
    if not body.override and body.reason is not None:
        raise ApiError(422, "invalid_input", "only with override: true", "reason")
    organisation = _organisation(context, caller)
    recall = _find(context, request, recall_id)
    if caller.role is Role.REGULATOR and not recall.reaches(caller.region):
        raise ApiError(
            403,
            "forbidden",
            f"recall {recall.recall_id} reaches no holder in this regulator token's region "
            f"{caller.region}",
            "recall_id",
            recall_id[:60],
        )
    desk = _desk(context)

    def close(key: SigningKey) -> tuple[Recall, bool]:
        return close_recall(
            store=context.store,
            roots=_roots(desk),
            transport=_transport(desk),
            tracer=context.tracer,
            key=key,
            recall=recall,
            closer=organisation,
            summary=body.summary,
            override_reason=body.reason if body.override else None,
        )

    return _write(context, organisation, close)


# --- helpers ------------------------------------------------------------------------------------


def _desk(context: QueryContext) -> RecallDesk:
    desk = context.recalls
    if desk.roots is None or desk.transport is None or desk.custody_master is None:
        raise ApiError(503, "recalls_unavailable", f"recalls cannot be recorded: {desk.problem}")
    if context.engine is None:
        raise ApiError(503, "recalls_unavailable", "this service has no custody database")
    return desk


def _roots(desk: RecallDesk) -> Any:
    assert desk.roots is not None  # _desk checked
    return desk.roots


def _transport(desk: RecallDesk) -> Any:
    assert desk.transport is not None  # _desk checked
    return desk.transport


def _organisation(context: QueryContext, caller: Principal) -> str:
    """The organisation the caller speaks for (a regulator token may name none: its region's)."""
    if caller.role is Role.PRODUCER:
        if caller.organisation is None:
            raise ApiError(403, "forbidden", "this producer token names no organisation")
        return caller.organisation
    try:
        return regulator_organisation(
            context.store, organisation=caller.organisation, region=caller.region
        )
    except RecallRefusedError as err:
        raise ApiError(409, err.reason, str(err)) from None


def _write(context: QueryContext, organisation: str, act: Callable[[SigningKey], _T]) -> _T:
    """Run ``act`` with ``organisation``'s custodial key; map what refuses it to HTTP."""
    desk = _desk(context)
    assert context.engine is not None and desk.custody_master is not None  # _desk checked
    try:
        result = act(custodial_recall_key(context.engine, desk.custody_master, organisation))
    except RecallClosedError as err:
        raise ApiError(409, err.reason, str(err), "recall_id") from None
    except RecallRefusedError as err:
        if err.reason in ("unauthorised", "not_in_custody"):
            raise ApiError(403, err.reason, str(err), _body_field(err.field)) from None
        raise ApiError(409, err.reason, str(err), _body_field(err.field)) from None
    except InvalidInputError as err:
        raise ApiError.from_input(err, rename=_body_field) from None
    except (CustodyError, TransportError) as err:
        raise ApiError(503, "unavailable", f"the event could not be recorded: {err}") from None
    # The writer signs what it appended: the event's receipt is available at once.
    context.ledger.sign_moved()
    return result


def _find(context: QueryContext, request: Request, recall_id: str) -> Recall:
    recorded = _monitor(request, context.store).events([RECALL_INITIATED])
    try:
        return find_recall(context.store, context.tracer, recall_id, recorded=recorded)
    except InvalidInputError as err:
        raise ApiError(400, err.reason, err.rule, err.field, err.value) from None
    except RecallNotFoundError as err:
        raise ApiError(404, err.reason, str(err), "recall_id", recall_id[:60]) from None


def _body_field(field: str | None) -> str | None:
    """The request body's name for a field of a recall event."""
    return None if field is None else field.removeprefix("payload.")


def recall_out(recall: Recall, listed: int, now: datetime | None = None) -> RecallOut:
    at = now or recall_clock.current_time()
    progress = recall.progress
    limits = recall.deadlines
    closure = progress.closure
    return RecallOut(
        recall_id=recall.recall_id,
        event_id=recall.event.event_id,
        status="closed" if progress.closed else "open",
        regulator=recall.regulator,
        root_codes=list(recall.root_codes),
        reason=recall.reason,
        level=recall.level,
        started_at=recall.event.occurred_at.isoformat(),
        ledger=None
        if recall.position is None
        else LedgerRef(
            shard=recall.position.shard,
            seq=recall.position.seq,
            recorded_at=recall.position.recorded_at.isoformat(),
        ),
        codes=CodesOut(
            count=len(recall.codes),
            listed=list(recall.codes[:listed]),
            truncated=len(recall.codes) > listed,
            complete=recall.complete,
        ),
        holders=[holder_out(h) for h in recall.holders],
        progress=ProgressOut(
            holders=len(recall.holders),
            acknowledged=len(progress.acknowledged_by),
            acknowledged_by=list(progress.acknowledged_by),
            outstanding=list(progress.outstanding),
            acknowledgements=progress.acknowledgements,
            disposals=progress.disposals,
            closed=progress.closed,
            reconciled=sum(1 for a in progress.accounts if a.reconciled),
            overdue=[a.organisation for a in recall.overdue(at)],
        ),
        initiative="ordered" if recall.ordered else "voluntary",
        deadlines=DeadlinesOut(
            acknowledge_by=limits.acknowledge_by.isoformat(),
            finish_by=limits.finish_by.isoformat(),
        ),
        accounts=[account_out(a, recall, at) for a in progress.accounts],
        closure=None
        if closure is None
        else ClosureOut(
            event_id=closure.event_id,
            closed_by=closure.actor,
            closed_at=closure.at.isoformat(),
            summary=closure.summary,
            override_reason=closure.override_reason,
        ),
    )


def account_out(account: HolderAccount, recall: Recall, now: datetime) -> AccountOut:
    ack = account.acknowledgement
    overdue = None if recall.progress.closed else account.overdue(now)
    return AccountOut(
        organisation=account.organisation,
        name=account.name,
        contact=account.contact,
        region=account.region,
        received=[QuantityOut(quantity=q, unit=u) for q, u in account.received],
        acknowledged=ack is not None,
        acknowledged_at=None if ack is None else ack.at.isoformat(),
        unit=None if ack is None else ack.unit,
        on_hand=_amount(None if ack is None else ack.on_hand),
        sold_on=_amount(None if ack is None else ack.sold_on),
        returned=_amount(None if ack is None else ack.returned),
        destroyed=_amount(None if ack is None else ack.destroyed),
        remaining=_amount(account.remaining),
        reconciled=account.reconciled,
        overdue=None
        if overdue is None
        else ("not_acknowledged" if overdue == NOT_ACKNOWLEDGED else "not_reconciled"),
        missing=list(account.missing),
    )


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def holder_out(holder: Holder) -> HolderOut:
    return HolderOut(
        organisation=holder.organisation,
        name=holder.name,
        quantities=[QuantityOut(quantity=q, unit=u) for q, u in holder.quantities],
    )


# --- exports (docs/exports.md) ------------------------------------------------------------------

RECALL_COLUMNS = (
    "recall_id",
    "event_id",
    "status",
    "initiative",
    "level",
    "reason",
    "started_by",
    "started_at",
    "acknowledge_by",
    "finish_by",
    "root_codes",
    "codes_in_scope",
    "holders",
    "acknowledged",
    "reconciled",
    "overdue",
    "overdue_holders",
    "closed_at",
    "closed_by",
    "closure_summary",
    "override_reason",
)
ACCOUNT_COLUMNS = (
    "organisation",
    "name",
    "contact",
    "region",
    "region_name",
    "received",
    "acknowledged",
    "acknowledged_at",
    "unit",
    "on_hand",
    "sold_on",
    "returned",
    "destroyed",
    "remaining",
    "reconciled",
    "overdue",
    "missing",
)


def recalls_table(recalls: list[RecallOut]) -> Table:
    """One row per recall: its deadlines, and counts of holders, acknowledged, reconciled and
    overdue (the overdue ones named)."""
    rows: list[tuple[Cell, ...]] = [
        (
            r.recall_id,
            r.event_id,
            r.status,
            r.initiative,
            r.level,
            r.reason,
            r.regulator,
            r.started_at,
            r.deadlines.acknowledge_by,
            r.deadlines.finish_by,
            joined(r.root_codes, " "),
            r.codes.count,
            r.progress.holders,
            r.progress.acknowledged,
            r.progress.reconciled,
            len(r.progress.overdue),
            joined(r.progress.overdue, " "),
            None if r.closure is None else r.closure.closed_at,
            None if r.closure is None else r.closure.closed_by,
            None if r.closure is None else r.closure.summary,
            None if r.closure is None else r.closure.override_reason,
        )
        for r in recalls
    ]
    return Table(RECALL_COLUMNS, rows, sheet="recalls")


def accounts_table(recall: RecallOut) -> Table:
    """One row per holder's account of ``recall``: received, the reported quantities (numbers
    in XLSX), remaining, reconciled, overdue and what is missing."""
    rows: list[tuple[Cell, ...]] = [
        (
            a.organisation,
            a.name,
            a.contact,
            a.region,
            region_name(a.region, "zh") if a.region else None,
            joined(f"{q.quantity} {q.unit}" for q in a.received),
            a.acknowledged,
            a.acknowledged_at,
            a.unit,
            _number(a.on_hand),
            _number(a.sold_on),
            _number(a.returned),
            _number(a.destroyed),
            _number(a.remaining),
            a.reconciled,
            a.overdue,
            joined(a.missing),
        )
        for a in recall.accounts
    ]
    return Table(ACCOUNT_COLUMNS, rows, sheet="holders")


def _number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
