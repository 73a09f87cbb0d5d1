"""Notices to holders over HTTP: ``GET /v1/notices`` (docs/http-query.md "Notices").

An organisation, with its own producer token, reads the alerts and recalls about goods it holds
or held. Thin: the work is in :class:`suyuan.notices.NoticeBoard`, over the app's food-chain
monitor (the one ``GET /v1/alerts`` keeps).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from suyuan.auth import Principal, Role
from suyuan.errors import InvalidInputError
from suyuan.exports import Cell, Table, joined
from suyuan.notices import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    STATUSES,
    Notice,
    NoticeBoard,
    notice_kinds,
)
from suyuan_http import (
    EXPORT_RESPONSES,
    ApiError,
    FormatQuery,
    export_response,
    requested_format,
)

from ._deps import ContextDep, PrincipalDep
from ._models import ErrorOut, NoticeOut, NoticesOut, QuantityOut
from ._routes_alerts import _monitor

router = APIRouter(tags=["notices"])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {
        "model": ErrorOut,
        "description": "Not an organisation's (producer) token: regulators and admins read "
        "GET /v1/alerts and GET /v1/recalls/{recall_id}.",
    },
}


@router.get(
    "/v1/notices",
    response_model=NoticesOut,
    responses={
        **EXPORT_RESPONSES,
        **_AUTH,
        422: {"model": ErrorOut, "description": "A bad query parameter."},
    },
    summary="Alerts and recalls about goods your organisation holds or held (producer token)",
)
def get_notices(
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
    status: Annotated[str | None, Query(description=f"One of: {', '.join(STATUSES)}.")] = None,
    kind: Annotated[
        list[str] | None, Query(description=f"Any of: {', '.join(notice_kinds())}.")
    ] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the page before.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    fmt: FormatQuery = None,
) -> NoticesOut | Response:
    """Newest first. An alert against another organisation is shown without whom it is against,
    its summary or anyone else's quantities; an alert kind no public verdict shows (a serious
    adverse event report) is never a notice. `format=csv|xlsx`: the same page, one row per
    notice; the next page's cursor is in the `X-Next-Cursor` header."""
    export = requested_format(fmt)
    organisation = _organisation(caller)
    board = NoticeBoard(context.store, context.tracer, _monitor(request, context.store))
    try:
        with context.tracing(caller) as budget:
            page = board.page(
                organisation,
                status=status,
                kinds=kind or (),
                cursor=cursor,
                limit=limit,
                budget=budget,
            )
    except InvalidInputError as err:
        raise ApiError(422, err.reason, err.rule, err.field, err.value) from None
    shown = [_notice_out(n) for n in page.notices]
    if export != "json":
        response = export_response(notices_table(shown), export, "notices")
        if page.next_cursor is not None:
            response.headers["X-Next-Cursor"] = page.next_cursor
        return response
    return NoticesOut(
        organisation=organisation,
        notices=shown,
        count=page.count,
        next_cursor=page.next_cursor,
    )


NOTICE_COLUMNS = (
    "notice_id",
    "kind",
    "status",
    "relation",
    "at",
    "event_id",
    "codes",
    "rule",
    "state",
    "product",
    "title_zh",
    "title_en",
    "advice_zh",
    "advice_en",
    "closed_at",
    "closed_reason",
    "summary",
    "outstanding",
    "quantities",
    "recall_id",
    "reason",
    "level",
    "issued_by",
    "issued_by_name",
    "acknowledged",
)


def notices_table(notices: list[NoticeOut]) -> Table:
    """One row per notice (docs/exports.md); quantities as `100 kg; 5 箱`."""
    rows: list[tuple[Cell, ...]] = [
        (
            n.notice_id,
            n.kind,
            n.status,
            n.relation,
            n.at,
            n.event_id,
            joined(n.codes, " "),
            n.rule,
            n.state,
            n.product,
            n.title.get("zh"),
            n.title.get("en"),
            None if n.advice is None else n.advice.get("zh"),
            None if n.advice is None else n.advice.get("en"),
            n.closed_at,
            n.closed_reason,
            n.summary,
            joined(n.outstanding),
            joined(f"{q.quantity} {q.unit}" for q in n.quantities),
            n.recall_id,
            n.reason,
            n.level,
            n.issued_by,
            n.issued_by_name,
            n.acknowledged,
        )
        for n in notices
    ]
    return Table(NOTICE_COLUMNS, rows, sheet="notices")


def _organisation(caller: Principal) -> str:
    """The organisation a producer token speaks for.

    Raises:
        ApiError: 401 without a token; 403 for a regulator or admin token (they follow alerts
            by region at /v1/alerts).
    """
    if caller.role is Role.PUBLIC:
        raise ApiError(
            401,
            "missing_token",
            "send your organisation's token: `Authorization: Bearer sy_…`",
            "Authorization",
        )
    if caller.role is not Role.PRODUCER or caller.organisation is None:
        raise ApiError(
            403,
            "forbidden",
            f"notices are for an organisation's own (producer) token; a {caller.role.value} "
            "token reads GET /v1/alerts and GET /v1/recalls/{recall_id}",
            "Authorization",
        )
    return caller.organisation


def _notice_out(notice: Notice) -> NoticeOut:
    return NoticeOut(
        notice_id=notice.notice_id,
        kind=notice.kind,
        status="open" if notice.status == "open" else "closed",
        relation=notice.relation,
        at=notice.at.isoformat(),
        event_id=notice.event_id,
        codes=list(notice.codes),
        rule=notice.rule,
        state=notice.state,
        product=notice.product,
        title={lang: notice.words(lang) for lang in ("zh", "en")},
        advice=None
        if notice.status != "open"
        else {lang: notice.advice(lang) or "" for lang in ("zh", "en")},
        closed_at=None if notice.closed_at is None else notice.closed_at.isoformat(),
        closed_reason=notice.closed_reason,
        summary=notice.summary,
        outstanding=list(notice.outstanding),
        quantities=[QuantityOut(quantity=q, unit=u) for q, u in notice.quantities],
        recall_id=notice.recall_id,
        reason=notice.reason,
        level=notice.level,
        issued_by=notice.issued_by,
        issued_by_name=notice.issued_by_name,
        acknowledged=notice.acknowledged,
        due_by=None if notice.due_by is None else notice.due_by.isoformat(),
    )
