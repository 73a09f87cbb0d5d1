"""The HTTP capture API of the ingest service (design.md §5, §8; ``docs/http-ingest.md``).

- ``POST /v1/events`` (producer token): events in JSON, signed here with the organisation's
  custodial key, or a batch the client signed (``application/vnd.suyuan.batch+avro``); 202 with
  one result per event.
- ``GET /v1/rejections`` (producer token): that organisation's recent rejections.
- ``GET /healthz``, ``GET /metrics`` (Prometheus).

Routes are thin: the work is in ``_capture`` (framework-free) and the core. Every refusal is an
``application/problem+json`` :class:`~suyuan_http.ErrorOut` naming the field and the rule; no
stack trace ever leaves.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Header, Query, Response

from suyuan import __version__
from suyuan.auth import AuthError, Principal, authenticate
from suyuan.config import Settings, get_settings
from suyuan.custody import CustodyError, load_master_key
from suyuan.exports import Cell, Table
from suyuan.ledger import SqlLedgerStore, create_ledger_engine, root_keys
from suyuan.transport import (
    EmbeddedTransport,
    EventOutcome,
    EventStatus,
    SubmitResult,
    Transport,
)
from suyuan_http import (
    EXPORT_RESPONSES,
    MAX_PROBLEMS,
    ApiError,
    BodyLimit,
    ErrorOut,
    FormatQuery,
    Health,
    Limit,
    LimitPolicy,
    MetricsMiddleware,
    Problem,
    ProblemOut,
    RequestGuard,
    TokenBucketLimiter,
    export_response,
    install_error_handlers,
    new_app,
    requested_format,
    shorten_field,
)

from . import _routes_certificates, _routes_epcis, _routes_glns, _routes_organisation
from ._capture import BATCH_TYPE, JSON_TYPE, Capture, Custody
from ._deps import AppContext, BodyDep, ContextDep, ProducerDep
from ._http_metrics import CaptureMetrics
from ._models import EventResult, RejectionOut, RejectionsResponse, SubmitResponse

# The request bodies of issuing and voiding, public for clients that check a form first (the
# console's producer pages).
from ._routes_certificates import CertificateIn as CertificateIn
from ._routes_certificates import VoidIn as VoidIn

log = logging.getLogger("suyuan.ingest")

MAX_REJECTIONS = 500

router = APIRouter()

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "The token is not a producer token."},
    429: {"model": ErrorOut, "description": "Too many requests from this organisation."},
}
_SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    400: {"model": ErrorOut, "description": "Not UTF-8 JSON, or not a Suyuan batch."},
    409: {"model": ErrorOut, "description": "JSON sent, but no custodial key to sign it with."},
    413: {"model": ErrorOut, "description": "Body or event count over the limit."},
    415: {"model": ErrorOut, "description": "Neither JSON nor a signed Avro batch."},
    422: {
        "model": ErrorOut,
        "description": "Not an event or a list of events; a batch "
        "holding another organisation's events.",
    },
    503: {"model": ErrorOut, "description": "The ledger (or custodial signing) is unavailable."},
}
_EVENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One event or a list, in the JSON form of docs/events.md; or one "
        "client-signed batch (the bytes of `suyuan.events.encode_batch`).",
        "content": {
            JSON_TYPE: {
                "schema": {
                    "oneOf": [
                        {"type": "object", "title": "Event"},
                        {"type": "array", "items": {"type": "object", "title": "Event"}},
                    ]
                }
            },
            BATCH_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def create_app(
    settings: Settings | None = None,
    transport: Transport | None = None,
) -> FastAPI:
    """The capture API on the ledger at ``settings.database_url``.

    Without ``transport`` it appends in-process (:class:`~suyuan.transport.EmbeddedTransport`,
    shard 0). Custodial signing uses ``SUYUAN_CUSTODY_MASTER_KEY``, else the key file, which the
    embedded mode (no ``kafka_bootstrap``) makes on first use; without a master key JSON
    submissions answer 503 and client-signed batches still work.

    Raises:
        LedgerError: no ``transport`` given and the ledger is not initialised.
    """
    settings = settings or get_settings()
    engine = create_ledger_engine(settings.database_url)
    store = SqlLedgerStore(engine)
    if transport is None:
        transport = EmbeddedTransport(store, root_keys(store))
    metrics = CaptureMetrics()
    context = AppContext(
        engine=engine,
        store=store,
        capture=Capture(
            engine=engine,
            transport=transport,
            custody=_custody(settings, embedded=settings.kafka_bootstrap is None),
            max_events=settings.ingest_max_events,
        ),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = new_app(
        title="Suyuan ingest",
        version=__version__,
        summary="HTTP capture of traceability events into the Suyuan ledger.",
        lifespan=lifespan,
    )
    app.state.context = context
    app.state.settings = settings
    app.include_router(router)
    app.include_router(_routes_certificates.router)
    app.include_router(_routes_organisation.router)
    app.include_router(_routes_glns.router)
    app.include_router(_routes_epcis.router)
    _routes_epcis.create_jobs_table(engine)
    install_error_handlers(app, log)
    _install_guard(app, settings, engine)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _install_guard(app: FastAPI, settings: Settings, engine: sa.Engine) -> None:
    """Every POST authenticates before its body is read and is capped (413); requests are
    rate-limited per organisation (per address without a valid token)."""
    forms = settings.max_json_body_bytes
    bodies = [
        BodyLimit("POST", "/v1/events", settings.ingest_max_body_bytes),
        BodyLimit("POST", _routes_epcis.CAPTURE_PATH, settings.ingest_max_body_bytes),
        BodyLimit("POST", "/v1/certificates", forms),
        BodyLimit("POST", "/v1/certificates/{code}/void", forms),
        BodyLimit("PUT", "/v1/organisation/contact", forms),
        BodyLimit("PUT", _routes_glns.GLN_PATH, forms),
    ]
    limit = None
    if settings.ingest_rate_limit_per_second > 0:
        limiter = TokenBucketLimiter(
            settings.ingest_rate_limit_per_second, settings.ingest_rate_limit_burst
        )
        limit = organisation_limit(limiter)

    def check(token: str) -> Principal:
        return authenticate(engine, token)

    app.add_middleware(
        RequestGuard,
        authenticate=check,
        bodies=bodies,
        limit=limit,
        trusted_proxies=settings.trusted_proxies,
        unavailable=(sa.exc.SQLAlchemyError,),
    )


def organisation_limit(limiter: TokenBucketLimiter) -> LimitPolicy:
    """A producer token spends its organisation's bucket, wherever it calls from; anything
    else (no token, a bad one, another role) spends its address's."""

    def policy(checked: Principal | AuthError | None, client: str) -> Limit | None:
        if isinstance(checked, Principal) and checked.organisation is not None:
            return Limit(limiter, f"org:{checked.organisation}", "one organisation")
        return Limit(limiter, f"address:{client}", "one address")

    return policy


def _custody(settings: Settings, *, embedded: bool) -> Custody:
    try:
        return Custody(load_master_key(settings, create=embedded))
    except CustodyError as err:
        log.warning("custodial signing disabled: %s", err)
        return Custody(None, str(err))


# --- routes ----------------------------------------------------------------------------------


@router.post(
    "/v1/events",
    status_code=202,
    response_model=SubmitResponse,
    responses=_SUBMIT_ERRORS,
    openapi_extra=_EVENTS_BODY,
    summary="Submit events (JSON, signed with the custodial key) or a client-signed batch",
)
def post_events(
    producer: ProducerDep,
    body: BodyDep,
    context: ContextDep,
    content_type: Annotated[str, Header()] = "",
) -> SubmitResponse:
    """One result per event, in request order: `accepted`, `duplicate` or `rejected` (with the
    reason, field and rule). Rejected events are also listed by GET /v1/rejections."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    result = context.capture.submit(producer.organisation, media_type, body)
    context.metrics.count_events(result)
    return _submit_response(result)


@router.get(
    "/v1/rejections",
    response_model=RejectionsResponse,
    responses={
        **EXPORT_RESPONSES,
        **_AUTH_ERRORS,
        422: {"model": ErrorOut, "description": "A bad query parameter."},
    },
    summary="Recent rejections of the token's organisation, newest first",
)
def get_rejections(
    producer: ProducerDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=MAX_REJECTIONS, description="How many.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=20, description="`next_cursor` of the page before.")
    ] = None,
    fmt: FormatQuery = None,
) -> RejectionsResponse | Response:
    """`format=csv|xlsx`: the same rejections, one row each (docs/exports.md); the next page's
    cursor is then in the `X-Next-Cursor` header."""
    export = requested_format(fmt)
    before = _rejection_cursor(cursor)
    # One more than asked: whether there is a next page, without counting them all.
    stored = context.store.rejections(actor=producer.organisation, limit=limit + 1, before=before)
    next_cursor = str(stored[limit - 1].id) if len(stored) > limit else None
    stored = stored[:limit]
    body = RejectionsResponse(
        rejections=[
            RejectionOut(
                time=item.rejected_at,
                reason=item.rejection.reason,
                field=item.rejection.field,
                rule=item.rejection.rule,
                source=item.rejection.source,
                event_id=item.rejection.event_id,
            )
            for item in stored
        ],
        next_cursor=next_cursor,
    )
    if export != "json":
        response = export_response(rejections_table(body), export, "rejections")
        if next_cursor is not None:
            response.headers["X-Next-Cursor"] = next_cursor
        return response
    return body


def _rejection_cursor(cursor: str | None) -> int | None:
    """The rejection id a cursor stands for.

    Raises:
        ApiError: 422 naming ``cursor`` when it is not one this service gave.
    """
    if cursor is None:
        return None
    if not cursor.isascii() or not cursor.isdigit():
        raise ApiError(
            422, "invalid_input", "the next_cursor of a page of rejections", "cursor", cursor
        )
    return int(cursor)


REJECTION_COLUMNS = ("time", "reason", "field", "rule", "source", "event_id")


def rejections_table(body: RejectionsResponse) -> Table:
    """One row per rejection, columns as the JSON's fields."""
    rows: list[tuple[Cell, ...]] = [
        (r.time, r.reason, r.field, r.rule, r.source, r.event_id) for r in body.rejections
    ]
    return Table(REJECTION_COLUMNS, rows, sheet="rejections")


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer."}},
)
def healthz(context: ContextDep, response: Response) -> Health:
    try:
        with context.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as err:
        log.error("health check failed: %s", err)
        response.status_code = 503
        return Health(status="unavailable")
    return Health(status="ok")


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def metrics(context: ContextDep) -> Response:
    content, media_type = context.metrics.exposition()
    return Response(content=content, media_type=media_type)


def _submit_response(result: SubmitResult) -> SubmitResponse:
    return SubmitResponse(
        committed=result.committed,
        results=[
            EventResult(
                index=outcome.index,
                event_id=outcome.event_id,
                status=outcome.status.value,
                reason=outcome.reason,
                field=shorten_field(outcome.field),
                rule=outcome.rule,
                errors=_problems_out(outcome),
            )
            for outcome in result.outcomes
        ],
    )


def _problems_out(outcome: EventOutcome) -> list[ProblemOut]:
    """Every problem of a rejected event (the one it was rejected for, when only that is known)."""
    if outcome.status is not EventStatus.REJECTED:
        return []
    problems = [Problem(p.reason, p.rule, p.field, p.value) for p in outcome.problems]
    if not problems and outcome.reason is not None:
        problems = [Problem(outcome.reason, outcome.rule or "", outcome.field)]
    return [ProblemOut.model_validate(p.as_dict()) for p in problems[:MAX_PROBLEMS]]
