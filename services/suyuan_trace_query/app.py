"""The trace query service (design.md §7, §8; ``docs/http-query.md``).

- ``GET /v1/trace/{code}`` — a code's trace: consumer view for the public, full view (forward
  trace, holders) for regulators, admins and producers that took part;
- ``GET /v1/events/{event_id}``, ``GET /v1/ledger/checkpoint``, ``/v1/ledger/proof/{event_id}``,
  ``/v1/ledger/consistency`` — the verifiable ledger;
- ``GET /v1/codes/{code}/qr.svg`` and ``qr.png`` — QR images of scan URLs;
- ``POST /v1/recalls``, ``GET /v1/recalls/{id}`` — regulator recalls;
- ``GET /epcis/events``, ``GET /epcis/epcs/{epc}/events`` — the EPCIS 2.0 event query;
- ``GET /c/{code}`` and the printable label (``suyuan_trace_query.scan``);
- ``GET /01/{gtin}/10/{lot}/21/{serial}``, ``GET /00/{sscc}`` — GS1 Digital Links on our host: the
  scan page, or the code's linkset (``_routes_digital_link``);
- ``GET /healthz``, ``GET /metrics``.

Routes are thin: the work is in ``suyuan.trace``, ``suyuan.ledger`` and ``suyuan.recall``.
Callers without a regulator or admin token are rate-limited per address. Every refusal is an
``application/problem+json`` :class:`~._models.ErrorOut` naming the field and the rule; no stack
trace ever leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from suyuan import __version__
from suyuan.auth import Principal, authenticate
from suyuan.config import Settings, get_settings
from suyuan.custody import CustodyError, load_master_key
from suyuan.errors import KeyFileError, SuyuanError
from suyuan.ledger import (
    Ledger,
    LedgerError,
    LedgerStore,
    SqlLedgerStore,
    create_ledger_engine,
    ledger_verifier,
    load_or_create_ledger_key,
    root_keys,
)
from suyuan.trace import TraceBudget, Tracer
from suyuan.transport import EmbeddedTransport, Transport
from suyuan.witness import WitnessEndpoint, Witnessing, http_post
from suyuan_http import (
    ApiError,
    Authenticator,
    BodyLimit,
    HttpMetrics,
    MetricsMiddleware,
    RequestGuard,
    error_response,
    install_error_handlers,
    new_app,
)

from . import (
    _routes_alerts,
    _routes_certificates,
    _routes_codes,
    _routes_epcis,
    _routes_ledger,
    _routes_notices,
    _routes_ops,
    _routes_recalls,
    _routes_trace,
)
from ._deps import LedgerAccess, QueryContext, RecallDesk, TraceSlots
from ._ratelimit import TokenBucketLimiter, address_limit
from ._routes_digital_link import router as digital_link_router
from .console import router as console_router
from .scan import router as scan_router

log = logging.getLogger("suyuan.trace_query")


def create_app(
    settings: Settings | None = None,
    *,
    store: LedgerStore | None = None,
    transport: Transport | None = None,
) -> FastAPI:
    """The query service on ``store`` (default: the ledger at ``settings.database_url``).

    ``app.state.context`` (:class:`QueryContext`) holds everything: settings, store, tracer and
    the ledger access (whose ``ledger`` is ``None`` when the ledger key file
    ``settings.ledger_key_file`` is missing, unreadable or not this ledger's key: proof
    endpoints then answer 503). Recalls are recorded through ``transport`` (default: appended
    in-process to shard 0) and signed with custodial keys opened by the custody master key
    (``settings``; never made here). A store given by the caller is not closed.
    """
    settings = settings or get_settings()
    owns_store = store is None
    if store is None:
        store = SqlLedgerStore(create_ledger_engine(settings.database_url))
    engine = store.engine if isinstance(store, SqlLedgerStore) else None
    ledger, ledger_problem = _load_ledger(store, settings)
    metrics = HttpMetrics()
    context = QueryContext(
        settings=settings,
        store=store,
        engine=engine,
        tracer=Tracer(store),
        ledger=LedgerAccess(
            store,
            ledger,
            ledger_problem,
            interval=settings.checkpoint_interval_seconds,
            witnessing=_witnessing(ledger, settings),
        ),
        recalls=_recall_desk(store, transport, settings),
        metrics=metrics,
        trace_budget=TraceBudget(
            codes=settings.trace_budget_codes,
            events=settings.trace_budget_events,
            bytes=settings.trace_budget_bytes,
        ),
        public_traces=TraceSlots(settings.public_trace_concurrency, settings.public_trace_threads),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await _sign_moved(context.ledger)  # before the first request: readers find one
        signer = asyncio.create_task(_sign_on_schedule(context.ledger))
        try:
            yield
        finally:
            signer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await signer
            if owns_store:
                context.store.close()

    app = new_app(
        title="Suyuan trace query",
        version=__version__,
        summary="Trace any code from farm to table; verify the ledger; regulator recalls.",
        lifespan=lifespan,
    )
    # The one place every route and page finds what it needs (typed: QueryContext).
    app.state.context = context
    for module in (
        _routes_trace,
        _routes_ledger,
        _routes_codes,
        _routes_epcis,
        _routes_recalls,
        _routes_alerts,
        _routes_certificates,
        _routes_notices,
        _routes_ops,
    ):
        app.include_router(module.router)
    # Pages last: their paths are the widest (/c/…, /01/…, /console/…).
    for router in (scan_router, digital_link_router, console_router):
        app.include_router(router)
    _install_error_handlers(app)
    _install_guard(app, settings, engine, metrics)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def create_served_app() -> FastAPI:
    """The service as ``suyuan serve-query`` runs it, from the environment alone: the factory
    each worker process calls when several serve one port (``--workers``). With
    ``SUYUAN_KAFKA_BOOTSTRAP`` set, recalls are published to the events topic for the ingest
    workers, which own the shards; otherwise they are appended here (embedded)."""
    settings = get_settings()
    store = SqlLedgerStore(create_ledger_engine(settings.database_url))
    return create_app(settings, store=store, transport=recall_transport(settings, store))


def recall_transport(settings: Settings, store: LedgerStore) -> Transport | None:
    """Where a served query service records recalls: with ``SUYUAN_KAFKA_BOOTSTRAP`` the events
    topic (the ingest workers own the shards), else ``None`` — appended here, embedded."""
    if not settings.kafka_bootstrap:
        return None
    from suyuan_ingest.kafka_transport import KafkaTransport

    return KafkaTransport.from_settings(settings, store)


async def _sign_on_schedule(ledger: LedgerAccess) -> None:
    """Sign checkpoints of moved shards every ``ledger.interval`` seconds, so that no reader
    ever makes the service sign (a cost anyone could impose by polling)."""
    if ledger.ledger is None:
        return
    while True:
        await asyncio.sleep(ledger.interval)
        await _sign_moved(ledger)


async def _sign_moved(ledger: LedgerAccess) -> None:
    try:
        await run_in_threadpool(ledger.sign_moved)
    except (sa.exc.SQLAlchemyError, LedgerError) as err:
        log.error("scheduled checkpoint signing failed: %s", err)


def _load_ledger(store: LedgerStore, settings: Settings) -> tuple[Ledger | None, str | None]:
    """The ledger with its signing key, or why not: the key file is never created here."""
    path = Path(settings.ledger_key_file)
    if not path.is_file():
        return None, f"no ledger key file at {path} (SUYUAN_LEDGER_KEY_FILE)"
    try:
        signer = load_or_create_ledger_key(path, settings.ledger_name)
    except (KeyFileError, OSError) as err:
        log.warning("ledger proofs disabled: %s", err)
        return None, str(err)
    try:
        recorded = ledger_verifier(store)
    except LedgerError:
        recorded = None  # not initialised yet: nothing signed with another key
    except sa.exc.SQLAlchemyError as err:
        return None, f"the ledger database cannot be read ({err.__class__.__name__})"
    if recorded is not None and recorded != signer.verifier:
        problem = f"{path} is not the key this ledger was initialised with"
        log.warning("ledger proofs disabled: %s", problem)
        return None, problem
    return Ledger(store, signer), None


def _recall_desk(store: LedgerStore, transport: Transport | None, settings: Settings) -> RecallDesk:
    try:
        roots = tuple(root_keys(store))
    except (LedgerError, sa.exc.SQLAlchemyError) as err:
        return RecallDesk(None, None, None, f"the ledger is not initialised ({err})")
    try:
        master: bytes | None = load_master_key(settings)
        problem = None
    except CustodyError as err:
        log.warning("recalls disabled: %s", err)
        master, problem = None, str(err)
    return RecallDesk(roots, transport or EmbeddedTransport(store, roots), master, problem)


def _install_guard(
    app: FastAPI,
    settings: Settings,
    engine: sa.Engine | None,
    metrics: HttpMetrics,
) -> None:
    """Token check, per-address rate limit and the recall form's body cap, before any route."""
    limit = None
    if settings.query_rate_limit_per_second > 0:
        limiter = TokenBucketLimiter(
            settings.query_rate_limit_per_second,
            settings.query_rate_limit_burst,
            max_clients=settings.query_rate_limit_clients,
        )
        limit = address_limit(limiter)
    limited = Counter(
        "suyuan_http_rate_limited",
        "Requests refused with 429 (too many from one address)",
        registry=metrics.registry,
    )
    check: Authenticator | None = None
    if engine is not None:
        token_engine = engine

        def check(token: str) -> Principal:
            return authenticate(token_engine, token)

    app.add_middleware(
        RequestGuard,
        authenticate=check,
        bodies=[BodyLimit("POST", "/v1/recalls", settings.max_json_body_bytes)],
        limit=limit,
        trusted_proxies=settings.trusted_proxies,
        on_limited=limited.inc,
        unavailable=(sa.exc.SQLAlchemyError,),
    )


# --- errors ------------------------------------------------------------------------------------


def _install_error_handlers(app: FastAPI) -> None:
    """The shared handlers, with ``detail`` in every body; a database or ledger that cannot
    answer is a 503, not a 500."""
    install_error_handlers(app, log)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(LedgerError, _ledger_error)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    error = ApiError(503, "unavailable", "the ledger database is unavailable")
    return error_response(error, instance=request.url.path)


async def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("ledger error on %s %s: %s", request.method, request.url.path, exc)
    error = ApiError(503, "ledger_unavailable", f"the ledger cannot answer: {exc}")
    return error_response(error, instance=request.url.path)


def _witnessing(ledger: Ledger | None, settings: Settings) -> Witnessing | None:
    """The witnesses asked to cosign each checkpoint (``SUYUAN_WITNESSES``).

    Raises:
        ValueError: an entry is not ``<URL> <witness key>`` (the service does not start).
    """
    if ledger is None or not settings.witnesses:
        return None
    try:
        endpoints = [WitnessEndpoint.parse(entry) for entry in settings.witnesses]
    except SuyuanError as err:
        raise ValueError(f"SUYUAN_WITNESSES: {err}") from None
    return Witnessing(ledger, endpoints, http_post())
