"""The EPCIS 2.0 query interface (REST binding): ``GET /epcis/events`` and
``GET /epcis/epcs/{epc}/events`` (docs/epcis.md "Query"). The work is in ``suyuan.epcis``.

A caller sees each event in the view it would see in the trace of the codes it names: the public
view without a token, the full view for regulators and admins, and for a producer the full view
only when its organisation held the goods of every code named (as ``GET /v1/trace/{code}``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from suyuan.auth import Principal, Role
from suyuan.epcis import (
    CONTEXT,
    MEDIA_TYPE,
    EventQuery,
    QueryParameterError,
    epcis_event,
    kept_members,
    page_token,
    parse_event_query,
)
from suyuan.trace import PRIVATE_EVENT_TYPES
from suyuan_http import ApiError

from ._deps import FULL_VIEW_ROLES, ContextDep, PrincipalDep, QueryContext, sees_in_full
from ._models import ErrorOut
from ._routes_trace import _organisations_in

router = APIRouter(tags=["epcis"])

# Declared so that the schema lists them; the values are read from the request, all at once.
Values = Annotated[list[str] | None, Query()]

# Candidates read at a time: a page is filled from as few reads as its filters allow.
_CHUNK = 200

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'An EPCISQueryDocument; a `Link: <…>; rel="next"` header when there is '
        "a next page.",
        "content": {MEDIA_TYPE: {}},
    },
    401: {"model": ErrorOut, "description": "An unknown or revoked token."},
    422: {
        "model": ErrorOut,
        "description": "A query parameter breaks a rule or is not supported (every problem is "
        "listed in `detail`).",
    },
    429: {"model": ErrorOut, "description": "Too many requests from this address."},
}


@router.get(
    "/epcis/events",
    response_class=JSONResponse,
    responses=_RESPONSES,
    summary="EPCIS 2.0 event query: the events about the codes named (MATCH_epc, MATCH_anyEPC)",
)
def query_events(
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    MATCH_epc: Values = None,  # noqa: N803 - the binding's names
    MATCH_anyEPC: Values = None,  # noqa: N803
    EQ_bizStep: Values = None,  # noqa: N803
    EQ_bizLocation: Values = None,  # noqa: N803
    GE_eventTime: Values = None,  # noqa: N803
    LT_eventTime: Values = None,  # noqa: N803
    perPage: Values = None,  # noqa: N803
    nextPageToken: Values = None,  # noqa: N803
) -> JSONResponse:
    """Parameters: `MATCH_epc`, `MATCH_anyEPC` (at least one; GS1 Digital Link URIs or
    `urn:suyuan:cert:…`/`urn:suyuan:drug:…`), `EQ_bizStep`, `EQ_bizLocation`, `GE_eventTime`,
    `LT_eventTime`, `perPage` (1-1000, default 100), `nextPageToken`. Repeat a parameter or
    separate its values with `|`."""
    return _answer(request, principal, context, _params(request))


@router.get(
    "/epcis/epcs/{epc:path}/events",
    response_class=JSONResponse,
    responses=_RESPONSES,
    summary="EPCIS 2.0: the events about one code (as MATCH_anyEPC)",
)
def epc_events(
    request: Request,
    epc: str,
    principal: PrincipalDep,
    context: ContextDep,
    MATCH_epc: Values = None,  # noqa: N803 - the binding's names
    MATCH_anyEPC: Values = None,  # noqa: N803
    EQ_bizStep: Values = None,  # noqa: N803
    EQ_bizLocation: Values = None,  # noqa: N803
    GE_eventTime: Values = None,  # noqa: N803
    LT_eventTime: Values = None,  # noqa: N803
    perPage: Values = None,  # noqa: N803
    nextPageToken: Values = None,  # noqa: N803
) -> JSONResponse:
    """`epc` percent-encoded as one path segment (its `/` as `%2F`); the other parameters as
    for `/epcis/events`."""
    del epc  # read from the raw path: a Digital Link's own %2F must survive
    params = _params(request)
    params["MATCH_anyEPC"] = [*params.get("MATCH_anyEPC", []), _raw_epc(request)]
    return _answer(request, principal, context, params)


def _params(request: Request) -> dict[str, list[str]]:
    return {name: request.query_params.getlist(name) for name in request.query_params}


def _raw_epc(request: Request) -> str:
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    segment = raw.split("?", 1)[0].split("/epcis/epcs/", 1)[-1].removesuffix("/events")
    return unquote(segment)


def _answer(
    request: Request, principal: Principal, context: QueryContext, params: dict[str, list[str]]
) -> JSONResponse:
    try:
        query = parse_event_query(params)
    except QueryParameterError as err:
        raise ApiError.from_input(err) from None  # every problem, in `errors` and `detail`
    public = not _sees_in_full(principal, context, query)
    private = public or principal.role not in FULL_VIEW_ROLES
    page, following = _read(context, principal, query, public=public, private=private)
    headers = {}
    if following is not None:
        token = page_token(query, following)
        asked = {k: v for k, v in params.items() if k != "nextPageToken"}
        asked["nextPageToken"] = [token]
        headers["Link"] = f'<{request.url.path}?{urlencode(asked, doseq=True)}>; rel="next"'
    document = {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(),
        "suyuan:view": "public" if public else "full",
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": page},
            }
        },
    }
    return JSONResponse(document, media_type=MEDIA_TYPE, headers=headers)


def _sees_in_full(principal: Principal, context: QueryContext, query: EventQuery) -> bool:
    """As the trace decides it: a producer sees in full only the goods its organisation held,
    for every code it names."""
    if principal.role is Role.PUBLIC:
        return False
    if principal.role in FULL_VIEW_ROLES:
        return True
    with context.tracing(principal) as budget:
        for code in query.codes:
            trace = context.tracer.trace(code.value, full=True, budget=budget)
            if not sees_in_full(principal, _organisations_in(trace)):
                return False
    return True


def _read(
    context: QueryContext,
    principal: Principal,
    query: EventQuery,
    *,
    public: bool,
    private: bool,
) -> tuple[list[dict[str, Any]], tuple[datetime, int, int] | None]:
    """One page of matching events, and where the next page starts (``None``: no more).

    Candidates are read in chunks through the code index, after the page token's event. A caller
    with a trace budget reads at most the budget's events per request: past it the page may hold
    fewer events than asked, and the next one resumes where this one stopped."""
    codes = [c.value for c in query.codes]
    base_url = context.settings.public_base_url
    page: list[dict[str, Any]] = []
    last = query.after
    examined = 0
    with context.tracing(principal) as budget:
        while True:
            limit = _CHUNK if budget is None else max(1, min(_CHUNK, budget.events - examined))
            chunk, more = context.tracer.events_about(codes, after=last, limit=limit)
            kept = {} if public else kept_members(context.engine, (t.event.event_id for t in chunk))
            for traced in chunk:
                if len(page) == query.per_page:
                    return page, last  # a full page and at least one more candidate
                last = (traced.event.occurred_at, traced.shard, traced.seq)
                examined += 1
                if private and traced.event.event_type in PRIVATE_EVENT_TYPES:
                    continue
                event = epcis_event(
                    traced, public=public, base_url=base_url, kept=kept.get(traced.event.event_id)
                )
                if query.matches(event):
                    page.append(event)
            if not more:
                return page, None
            if budget is not None and examined >= budget.events:
                return page, last
