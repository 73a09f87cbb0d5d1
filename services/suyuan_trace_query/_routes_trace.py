"""``GET /v1/trace/{code}``: a code's trace (design.md §7, §8). The work is in ``suyuan.trace``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from suyuan.auth import Principal, Role
from suyuan.epcis import MEDIA_TYPE as EPCIS_MEDIA_TYPE
from suyuan.epcis import kept_members, trace_document
from suyuan.errors import CodeError
from suyuan.fsma204 import fsma204_table
from suyuan.trace import Trace, TraceBudget, trace_json
from suyuan_http import (
    ApiError,
    FormatQuery,
    answer_language,
    export_response,
    requested_format,
)

from ._deps import FULL_VIEW_ROLES, ContextDep, PrincipalDep, QueryContext, sees_in_full
from ._models import ErrorOut, TraceOut

router = APIRouter(tags=["trace"])

CODE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Not a valid trace code; names the rule broken."},
}
TRACE_ERRORS: dict[int | str, dict[str, Any]] = {
    **CODE_ERRORS,
    401: {"model": ErrorOut, "description": "An unknown or revoked token."},
    404: {"model": ErrorOut, "description": "A valid code with no recorded events."},
    429: {"model": ErrorOut, "description": "Too many requests from this address."},
    503: {
        "model": ErrorOut,
        "description": "Too many public traces at once (busy, with Retry-After), or the "
        "ledger cannot be read.",
    },
}


FSMA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The sortable spreadsheet (Content-Disposition: attachment).",
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
    },
    **TRACE_ERRORS,
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {
        "model": ErrorOut,
        "description": "A producer token of an organisation that never held the goods.",
    },
    422: {"model": ErrorOut, "description": "`format` is not csv or xlsx."},
}


# Declared before the trace route: its `{code:path}` would take `…/fsma204` as part of a code.
@router.get(
    "/v1/trace/{code:path}/fsma204",
    response_class=Response,
    responses=FSMA_RESPONSES,
    summary="The FSMA 204 sortable spreadsheet of a lot: one row per critical tracking event",
)
def get_fsma204(
    code: str, principal: PrincipalDep, context: ContextDep, fmt: FormatQuery = None
) -> Response:
    """For producers that export to the US (docs/exports.md "FSMA 204"): the key data elements
    of each critical tracking event of the lot, from its full trace. `format` is `csv`
    (default) or `xlsx`. A regulator or admin token, or the token of an organisation that held
    the goods; without a token 401, another organisation's token 403."""
    export = "csv" if fmt is None else requested_format(fmt)
    if export == "json":
        raise ApiError(422, "invalid_input", "must be csv or xlsx", "format", "json")
    if principal.role is Role.PUBLIC:
        raise ApiError(
            401,
            "missing_token",
            "send a regulator token or your organisation's: `Authorization: Bearer sy_…`",
            "Authorization",
        )
    with context.tracing(principal) as budget:
        trace = _trace(context, code, full=True, budget=budget)
        if not sees_in_full(principal, _organisations_in(trace)):
            raise ApiError(
                403,
                "forbidden",
                "only a regulator or an organisation that held these goods",
                "Authorization",
            )
        return export_response(fsma204_table(trace), export, f"fsma204-{trace.code}")


TraceFormatQuery = Annotated[
    str | None,
    Query(
        alias="format",
        description="`json` (default) or `epcis`: the same trace as one GS1 EPCIS 2.0 "
        "JSON-LD document (`application/ld+json`, docs/epcis.md).",
    ),
]


@router.get(
    "/v1/trace/{code:path}",
    response_model=TraceOut,
    responses={
        **TRACE_ERRORS,
        200: {
            "description": "The trace; with `format=epcis` an EPCIS 2.0 EPCISDocument.",
            "content": {"application/json": {}, EPCIS_MEDIA_TYPE: {}},
        },
        422: {"model": ErrorOut, "description": "`format` is not json or epcis."},
    },
    summary="Trace a code backward to its origins and (full view) forward to every holder",
)
async def get_trace(
    code: str, principal: PrincipalDep, context: ContextDep, fmt: TraceFormatQuery = None
) -> Any:
    """`code` in any accepted spelling (GS1 text, element string, Digital Link, scan URL…); a
    `/` inside a GS1 lot is sent as `%2F`.

    Public callers get the consumer view: no personal data, no quantities, no trading partners,
    no forward trace. Every caller but a regulator or admin gets a trace cut at the trace budget
    (`complete: false` past it, docs/http-query.md). Regulator and admin tokens get the full
    view, with every code made from or packed with this one and every holder; a producer token
    gets it for goods its organisation held.

    `format=epcis` answers the same events in the same view as one EPCIS 2.0 document, each
    event with its ledger position and the address of its inclusion proof."""
    if fmt not in (None, "json", "epcis"):
        raise ApiError(422, "invalid_input", "must be json or epcis", "format", fmt)
    # One trip through the thread pool for the trace (it reads the database); a plain route
    # function would take a second one to check the answer against TraceOut.
    return await run_in_threadpool(_answer, context, code, principal, fmt)


def _answer(context: QueryContext, code: str, principal: Principal, fmt: str | None) -> Any:
    with context.tracing(principal) as budget:
        trace = _trace(context, code, full=principal.role is not Role.PUBLIC, budget=budget)
        public = not sees_in_full(principal, _organisations_in(trace))
        health_reports = principal.role in FULL_VIEW_ROLES
        if fmt == "epcis":
            document = trace_document(
                trace,
                public=public,
                base_url=context.settings.public_base_url,
                created=datetime.now(UTC),
                health_reports=health_reports,
                kept=lambda ids: kept_members(context.engine, ids),
            )
            return JSONResponse(document, media_type=EPCIS_MEDIA_TYPE)
        return trace_json(
            trace, public=public, health_reports=health_reports, lang=answer_language()
        )


def _trace(context: ContextDep, code: str, *, full: bool, budget: TraceBudget | None) -> Trace:
    try:
        trace = context.tracer.trace(code, full=full, budget=budget)
    except CodeError as err:
        raise ApiError(400, err.reason, err.rule, err.field, err.value) from None
    if not trace.found:
        raise ApiError(
            404, "not_found", f"no events recorded for code {trace.code}", "code", trace.code
        )
    return trace


def _organisations_in(trace: Trace) -> set[str]:
    """Every organisation that held the goods of the trace: its custody hops, the issuers of its
    certificates (issuing needs custody, docs/authority.md) and its holders. Views follow
    custody: a lab that tested the goods or an office that issued a document did not hold them."""
    found = {traced.event.actor for traced in [*trace.certificates, *trace.custody]}
    found.update(holder.organisation for holder in trace.holders or ())
    return found
