"""The console's pages (``docs/console.md``): server-rendered HTML, no JavaScript, one
``/console`` for every role — what a page shows and the navigation follow the signed-in token's
role. The regulator's pages are here; the producer's (certificates, labels, notices) are in
:mod:`.producer`.

- ``GET /console`` — sign-in (a regulator, admin or producer API token); ``POST /console/signin``,
  ``POST /console/signout``;
- ``GET /console/recalls`` (list with filters and start form), ``POST /console/recalls``
  (start), ``GET /console/recalls/{id}`` (detail with the holders' accounts),
  ``POST /console/recalls/{id}/close`` (close);
- ``GET /console/alerts`` (queue, filters by kind, region, status);
- ``GET /console/coverage`` (rates by region with names, bar chart);
- ``GET /console/trace/{code}`` (timeline, verdict, code graph).

A signed-in browser carries an encrypted session cookie (:mod:`._session`); a script may send
``Authorization: Bearer`` instead. Every POST from a browser must repeat the session's CSRF
value. The pages below are for regulator and admin tokens; a producer gets a 403 page. The recalls,
alerts and coverage pages and a recall's holders table answer ``?format=csv|xlsx`` with the
same rows as the API's exports (the session cookie is limited to ``/console``, so the console
serves them itself). Thin: the work is in ``suyuan.recall``, ``suyuan.foodchain`` and
``suyuan.trace``; recalls go through the same functions as ``/v1/recalls``.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

import suyuan.recall as recall_clock
from suyuan.auth import AuthError, Principal, Role, authenticate
from suyuan.config import Settings
from suyuan.custody import CustodyError
from suyuan.directory import Directory
from suyuan.errors import CodeError, InvalidInputError
from suyuan.exports import ExportFormatError, export_format
from suyuan.foodchain import ALERT_KINDS, select, summarise
from suyuan.recall import (
    LEVELS,
    RecallRefusedError,
    custodial_recall_key,
    regulator_organisation,
    start_recall,
)
from suyuan.regions import region_name
from suyuan.transport import TransportError
from suyuan_http import ApiError, checked_token, export_response

from .._deps import FULL_VIEW_ROLES, QueryContext
from .._models import CloseIn
from .._routes_alerts import (
    _alert_out,
    _monitor,
    _scope,
    alerts_table,
    coverage_out,
    coverage_table,
    every_alert,
)
from .._routes_recalls import (
    _find,
    accounts_table,
    close_as,
    recall_out,
    recalls_page,
    recalls_table,
)
from ..scan import pick_language, word
from . import views
from ._session import Session, SessionSeal, csrf_matches, new_session
from .producer_words import PRODUCER_TEXTS, SHARED_KEYS
from .words import ALERT_KINDS as KIND_WORDS
from .words import METRIC_KEYS, TEXTS

log = logging.getLogger("suyuan.trace_query.console")

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
)
# No script, nothing remote; forms may only post back here.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 64 * 1024
MAX_ALERTS_SHOWN = 200
LangQuery = Annotated[str | None, Query()]
FormatParam = Annotated[str | None, Query(alias="format")]
FilterQuery = Annotated[str | None, Query(max_length=64)]
RECALLS_PER_PAGE = 50
#: Codes of the scope an export's JSON twin would list: none (the table counts them).
_NO_CODES = 0
_REGION = re.compile(r"[1-9][0-9]{5}")
_STATE_KEY = "console_state"
_state_lock = threading.Lock()


@dataclass
class ConsoleState:
    seal: SessionSeal
    directory: Directory
    settings: Settings


#: Who may sign in; each role's pages say which of these they take.
CONSOLE_ROLES = FULL_VIEW_ROLES | {Role.PRODUCER}
#: The navigation of each role: (page under /console, word).
NAV = {
    Role.REGULATOR: ("recalls", "alerts", "coverage"),
    Role.ADMIN: ("recalls", "alerts", "coverage"),
    Role.PRODUCER: ("certificates", "certificates/new", "notices"),
}


@dataclass(frozen=True)
class Caller:
    """Who is looking: the principal, the API token it came with (the console's writes of the
    capture API are made with it), and the session when it came by cookie."""

    principal: Principal
    session: Session | None
    token: str

    @property
    def csrf(self) -> str:
        return "" if self.session is None else self.session.csrf


def _state(request: Request) -> ConsoleState:
    state = getattr(request.app.state, _STATE_KEY, None)
    if state is None:
        with _state_lock:
            state = getattr(request.app.state, _STATE_KEY, None)
            if state is None:
                context = _context(request)
                settings = context.settings
                state = ConsoleState(SessionSeal(settings), Directory(context.store), settings)
                setattr(request.app.state, _STATE_KEY, state)
    assert isinstance(state, ConsoleState)
    return state


def _context(request: Request) -> QueryContext:
    context: QueryContext = request.app.state.context
    return context


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


# --- who is looking ---------------------------------------------------------------------------


def _caller(
    request: Request, lang: str, roles: frozenset[Role] = FULL_VIEW_ROLES
) -> Caller | Response:
    """The caller, or the page to answer instead: sign-in when there is no credential, 401 for
    a bad bearer token, 403 for a role not in ``roles`` (with the caller's own navigation)."""
    checked = checked_token(request)
    session = None
    token = _bearer(request)
    if checked is None:
        session = _state(request).seal.open(request)
        if session is None or session.token is None:
            return RedirectResponse(views.link(f"{_root(request)}/console", lang), 303)
        token = session.token
        checked = _authenticate(request, session.token)
        if isinstance(checked, AuthError):  # revoked since: sign in again (a new session)
            return _sign_in_page(request, lang, 401, TEXTS[lang]["bad_token"])
    if isinstance(checked, AuthError):
        return _message(request, lang, 401, "forbidden_title", "bad_token")
    if checked.role not in CONSOLE_ROLES:
        return _message(request, lang, 403, "forbidden_title", "forbidden_body")
    caller = Caller(checked, session, token)
    if checked.role not in roles:
        return _message(request, lang, 403, "forbidden_title", "wrong_role_body", caller)
    return caller


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def home(principal: Principal, lang: str, root: str = "") -> str:
    """The first page of ``principal``'s role."""
    page = "certificates" if principal.role is Role.PRODUCER else "recalls"
    return views.link(f"{root}/console/{page}", lang)


def _authenticate(request: Request, token: str) -> Principal | AuthError:
    engine = _context(request).engine
    if engine is None:
        return AuthError("unknown_token", "this service has no token database")
    try:
        return authenticate(engine, token)
    except AuthError as err:
        return err


def _page(
    request: Request,
    template: str,
    lang: str,
    caller: Caller | None,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    root = _root(request)
    principal = None if caller is None else caller.principal
    texts = page_texts(lang, principal)
    base = {
        "t": texts,
        "lang": lang,
        "csrf": "" if caller is None else caller.csrf,
        "signed_in": caller is not None and caller.session is not None,
        "who": None if principal is None else _who(request, principal, lang),
        "nav": [
            {
                "url": views.link(f"{root}/console/{name}", lang),
                "text": texts[f"nav_{name.replace('/', '_')}"],
            }
            for name in ([] if principal is None else NAV.get(principal.role, ()))
        ],
        "switch_url": _switch_url(request, lang),
        "root": root,
    }
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status, headers=PAGE_HEADERS
    )


def page_texts(lang: str, principal: Principal | None) -> dict[str, str]:
    """The words of a page: a producer's console has its own title and words besides."""
    if principal is not None and principal.role is Role.PRODUCER:
        return {**TEXTS[lang], **PRODUCER_TEXTS[lang]}
    shared = {k: PRODUCER_TEXTS[lang][k] for k in SHARED_KEYS}
    if principal is None:  # the sign-in page, for every role
        shared["site"] = PRODUCER_TEXTS[lang]["site_any"]
    return {**TEXTS[lang], **shared}


def _who(request: Request, principal: Principal, lang: str) -> str:
    texts = TEXTS[lang]
    if principal.role is Role.PRODUCER:
        return f"{PRODUCER_TEXTS[lang]['role_producer']} · {organisation_name(request, principal)}"
    role = texts["role_regulator"] if principal.role is Role.REGULATOR else texts["role_admin"]
    region = region_name(principal.region, lang) if principal.region else texts["all_regions"]
    return f"{role} · {region}"


def organisation_name(request: Request, principal: Principal) -> str:
    """The registered name of the caller's organisation (its USCC when not registered)."""
    uscc = principal.organisation or ""
    directory = _state(request).directory
    directory.refresh()
    registered = directory.get(uscc)
    return uscc if registered is None or not registered.name else registered.name


def _switch_url(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if lang == "zh":
        params.append(("lang", "en"))
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def _message(
    request: Request, lang: str, status: int, title: str, body: str, caller: Caller | None = None
) -> Response:
    texts = page_texts(lang, None if caller is None else caller.principal)
    context = {"title": texts[title], "body": texts[body], "status": status}
    return _page(request, "console_message.html", lang, caller, context, status)


def _sign_in_page(
    request: Request, lang: str, status: int = 200, problem: str | None = None
) -> Response:
    seal = _state(request).seal
    session = seal.open(request)
    if session is None or session.token is not None:
        session = new_session()
    caller_context = {"problem": problem, "form_csrf": session.csrf}
    response = _page(request, "console_signin.html", lang, None, caller_context, status)
    seal.store(request, response, session)
    return response


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form of a POST (first value of each field); ``None`` past the cap."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(
        received.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=50
    )
    return {name: values[0] for name, values in fields.items()}


def _csrf_refused(caller: Caller, form: dict[str, str]) -> bool:
    """A browser's POST needs the session's CSRF value; a bearer-token script needs none."""
    if caller.session is None:
        return False
    return not csrf_matches(caller.session, form.get("csrf"))


def _problem_page(
    request: Request, lang: str, caller: Caller, status: int, title: str, text: str
) -> Response:
    page = {"title": page_texts(lang, caller.principal)[title], "body": text, "status": status}
    return _page(request, "console_message.html", lang, caller, page, status)


def _export_asked(fmt: str | None) -> str | None:
    """``json`` for a page, ``csv``/``xlsx`` for a download, ``None`` for anything else."""
    try:
        return export_format(fmt)
    except ExportFormatError:
        return None


def _downloads(request: Request, lang: str) -> list[dict[str, str]]:
    """Links to this page's table as CSV and XLSX (the same query, ``format`` added)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    return [
        {
            "format": fmt,
            "text": fmt.upper(),
            "url": request.url.path + "?" + urlencode([*params, ("format", fmt)]),
        }
        for fmt in ("csv", "xlsx")
    ]


# --- sign-in and out --------------------------------------------------------------------------


@router.get("/console", response_class=HTMLResponse)
def console_home(request: Request, lang: LangQuery = None) -> Response:
    language = pick_language(lang)
    session = _state(request).seal.open(request)
    if checked_token(request) is not None or (session is not None and session.token):
        caller = _caller(request, language, CONSOLE_ROLES)
        if isinstance(caller, Response):
            return caller
        return RedirectResponse(home(caller.principal, language, _root(request)), 303)
    return _sign_in_page(request, language)


@router.post("/console/signin", response_class=HTMLResponse)
async def console_sign_in(request: Request, lang: LangQuery = None) -> Response:
    form = await _form(request) or {}
    language = pick_language(form.get("lang") or lang)
    seal = _state(request).seal
    if not csrf_matches(seal.open(request), form.get("csrf")):
        return _message(request, language, 403, "csrf_title", "csrf_body")
    token = form.get("token", "").strip()
    checked = await run_in_threadpool(_authenticate, request, token)
    if isinstance(checked, AuthError):
        return _sign_in_page(request, language, 401, TEXTS[language]["bad_token"])
    if checked.role not in CONSOLE_ROLES:
        return _message(request, language, 403, "forbidden_title", "forbidden_body")
    response = RedirectResponse(home(checked, language, _root(request)), 303)
    seal.store(request, response, new_session(token))  # a new CSRF value with the new session
    return response


@router.post("/console/signout", response_class=HTMLResponse)
async def console_sign_out(request: Request, lang: LangQuery = None) -> Response:
    form = await _form(request) or {}
    language = pick_language(form.get("lang") or lang)
    seal = _state(request).seal
    if not csrf_matches(seal.open(request), form.get("csrf")):
        return _message(request, language, 403, "csrf_title", "csrf_body")
    response = RedirectResponse(views.link(f"{_root(request)}/console", language), 303)
    seal.clear(response)
    return response


# --- recalls ----------------------------------------------------------------------------------


@router.get("/console/recalls", response_class=HTMLResponse)
def console_recalls(
    request: Request,
    lang: LangQuery = None,
    status: FilterQuery = None,
    region: FilterQuery = None,
    level: FilterQuery = None,
    cursor: FilterQuery = None,
    fmt: FormatParam = None,
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language)
    if isinstance(caller, Response):
        return caller
    export = _export_asked(fmt)
    if export is None:
        return _message(request, language, 422, "bad_filter", "bad_format", caller)
    filters = {"status": status or "", "region": region or "", "level": level or ""}
    return _recalls_page(request, language, caller, filters, cursor=cursor, export=export)


def _recalls_page(
    request: Request,
    lang: str,
    caller: Caller,
    filters: dict[str, str],
    *,
    cursor: str | None = None,
    export: str = "json",
    form: dict[str, str] | None = None,
    problems: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    """The list as ``GET /v1/recalls`` pages it (the same function), and the start form."""
    region = filters["region"] or None
    if region is not None and not _REGION.fullmatch(region):
        rule = TEXTS[lang]["region_hint"]
        return _problem_page(request, lang, caller, 422, "bad_filter", f"region: {rule}")
    try:
        page = recalls_page(
            _context(request),
            request,
            caller.principal,
            status=filters["status"] or None,
            region=region,
            level=filters["level"] or None,
            cursor=cursor or None,
            limit=RECALLS_PER_PAGE,
        )
    except ApiError as err:
        text = f"{err.field}: {err.rule}" if err.field else err.rule
        return _problem_page(request, lang, caller, err.status, "bad_filter", text)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, lang, 503, "unavailable_title", "unavailable_body", caller)
    now = recall_clock.current_time()
    if export != "json":
        rows = [recall_out(r, _NO_CODES, now) for r in page.recalls]
        return export_response(recalls_table(rows), export, "recalls")
    state = _state(request)
    state.directory.refresh()
    root = _root(request)
    next_url = None
    if page.next_cursor is not None:
        next_url = views.link(f"{root}/console/recalls", lang, **filters, cursor=page.next_cursor)
    texts = TEXTS[lang]
    context = {
        "recalls": views.recall_rows(page.recalls, state.directory, now, lang, root),
        "count": texts["count_text"].format(count=page.count),
        "next_url": next_url,
        "downloads": _downloads(request, lang),
        "chosen": filters,
        "statuses": [{"value": v, "text": texts[v]} for v in ("open", "closed")],
        "can_start": caller.principal.role is Role.REGULATOR,
        "levels": [{"value": v, "text": word(lang, "recall_level", v)} for v in LEVELS],
        "form": form or {"root_codes": "", "reason": "", "level": "LEVEL_2"},
        "problems": problems or [],
    }
    return _page(request, "console_recalls.html", lang, caller, context, status)


@router.post("/console/recalls", response_class=HTMLResponse)
async def console_start_recall(request: Request, lang: LangQuery = None) -> Response:
    form = await _form(request)
    language = pick_language((form or {}).get("lang") or lang)
    caller = await run_in_threadpool(_caller, request, language)
    if isinstance(caller, Response):
        return caller
    if form is None:
        return _message(request, language, 413, "start_failed", "too_large", caller)
    if _csrf_refused(caller, form):
        return _message(request, language, 403, "csrf_title", "csrf_body", caller)
    if caller.principal.role is not Role.REGULATOR:
        return _message(request, language, 403, "forbidden_title", "start_admin_note", caller)
    outcome = await run_in_threadpool(_start, request, caller.principal, form)
    if isinstance(outcome, str):
        url = views.recall_link(outcome, language, _root(request))
        return RedirectResponse(url, 303)
    status, problems = outcome
    no_filters = {"status": "", "region": "", "level": ""}
    return await run_in_threadpool(
        lambda: _recalls_page(
            request, language, caller, no_filters, form=form, problems=problems, status=status
        )
    )


def _start(
    request: Request, regulator: Principal, form: dict[str, str]
) -> str | tuple[int, list[dict[str, str]]]:
    """Start the recall of the form as ``POST /v1/recalls`` does: its id, or the status and
    every problem found."""
    codes = [c.strip() for c in form.get("root_codes", "").replace(",", "\n").splitlines()]
    codes = [c for c in codes if c]
    reason = form.get("reason", "").strip()
    level = form.get("level", "")
    problems = []
    if not codes:
        problems.append({"field": "root_codes", "rule": "at least one code"})
    if not reason:
        problems.append({"field": "reason", "rule": "must not be empty"})
    elif len(reason) > 2000:
        problems.append({"field": "reason", "rule": "at most 2000 characters"})
    if level not in LEVELS:
        problems.append({"field": "level", "rule": f"one of {', '.join(LEVELS)}"})
    if problems:
        return 422, problems
    context = _context(request)
    desk = context.recalls
    if (
        desk.roots is None
        or desk.transport is None
        or desk.custody_master is None
        or context.engine is None
    ):
        return 503, [{"field": "", "rule": f"recalls cannot be started: {desk.problem}"}]
    try:
        organisation = regulator_organisation(
            context.store, organisation=regulator.organisation, region=regulator.region
        )
        recall = start_recall(
            store=context.store,
            roots=desk.roots,
            transport=desk.transport,
            tracer=context.tracer,
            key=custodial_recall_key(context.engine, desk.custody_master, organisation),
            regulator=organisation,
            root_codes=codes,
            reason=reason,
            level=level,
        )
    except RecallRefusedError as err:
        return 409, [{"field": "", "rule": str(err)}]
    except InvalidInputError as err:
        return 422, [
            {"field": err.field.removeprefix("payload."), "rule": f"{err.rule}: {err.value}"}
        ]
    except (CustodyError, TransportError) as err:
        return 503, [{"field": "", "rule": f"the recall could not be recorded: {err}"}]
    context.ledger.sign_moved()
    return str(recall.recall_id)


@router.get("/console/recalls/{recall_id}", response_class=HTMLResponse)
def console_recall(
    request: Request, recall_id: str, lang: LangQuery = None, fmt: FormatParam = None
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language)
    if isinstance(caller, Response):
        return caller
    export = _export_asked(fmt)
    if export is None:
        return _message(request, language, 422, "bad_filter", "bad_format", caller)
    return _recall_page(request, language, caller, recall_id, export=export)


def _recall_page(
    request: Request,
    lang: str,
    caller: Caller,
    recall_id: str,
    *,
    export: str = "json",
    form: dict[str, str] | None = None,
    problems: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    """A recall as ``GET /v1/recalls/{id}`` finds it, its holders' accounts and the close form."""
    context = _context(request)
    try:
        recall = _find(context, request, recall_id)
    except ApiError as err:
        missing = "recall_not_found" if err.status == 404 else "bad_recall_id"
        return _message(request, lang, err.status, "not_found_title", missing, caller)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, lang, 503, "unavailable_title", "unavailable_body", caller)
    now = recall_clock.current_time()
    if export != "json":
        table = accounts_table(recall_out(recall, _NO_CODES, now))
        return export_response(table, export, f"recall-{recall.recall_id}")
    state = _state(request)
    state.directory.refresh()
    view = views.recall_view(recall, state.directory, now, lang, _root(request))
    page = {
        "recall": view,
        "downloads": _downloads(request, lang),
        "can_close": caller.principal.role is Role.REGULATOR,
        "close_form": {"summary": "", "override": "", "reason": "", **(form or {})},
        "problems": problems or [],
    }
    return _page(request, "console_recall.html", lang, caller, page, status)


@router.post("/console/recalls/{recall_id}/close", response_class=HTMLResponse)
async def console_close_recall(
    request: Request, recall_id: str, lang: LangQuery = None
) -> Response:
    form = await _form(request)
    language = pick_language((form or {}).get("lang") or lang)
    caller = await run_in_threadpool(_caller, request, language)
    if isinstance(caller, Response):
        return caller
    if form is None:
        return _message(request, language, 413, "close_failed", "too_large", caller)
    if _csrf_refused(caller, form):
        return _message(request, language, 403, "csrf_title", "csrf_body", caller)
    refused = await run_in_threadpool(_close, request, caller.principal, recall_id, form)
    if refused is None:
        return RedirectResponse(views.recall_link(recall_id, language, _root(request)), 303)
    status, problems = refused
    return await run_in_threadpool(
        lambda: _recall_page(
            request, language, caller, recall_id, form=form, problems=problems, status=status
        )
    )


def _close(
    request: Request, caller: Principal, recall_id: str, form: dict[str, str]
) -> tuple[int, list[dict[str, str]]] | None:
    """Close the recall as ``POST /v1/recalls/{id}/close`` does (the same body and function):
    ``None`` when closed, else the status and every problem found."""
    fields = {
        "summary": form.get("summary", "").strip(),
        "override": form.get("override") == "on",
        "reason": form.get("reason", "").strip() or None,
    }
    try:
        body = CloseIn.model_validate(fields)
    except ValidationError as err:
        return 422, [
            {"field": ".".join(str(p) for p in e["loc"]), "rule": e["msg"]} for e in err.errors()
        ]
    try:
        close_as(_context(request), request, caller, recall_id, body)
    except ApiError as err:
        return err.status, [{"field": err.field or "", "rule": err.rule}]
    return None


# --- alerts and coverage ----------------------------------------------------------------------


@router.get("/console/alerts", response_class=HTMLResponse)
def console_alerts(
    request: Request,
    lang: LangQuery = None,
    kind: Annotated[str | None, Query()] = None,
    region: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    fmt: FormatParam = None,
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language)
    if isinstance(caller, Response):
        return caller
    export = _export_asked(fmt)
    if export is None:
        return _message(request, language, 422, "bad_filter", "bad_format", caller)
    kind = kind if kind in ALERT_KINDS else None
    status = status if status in ("open", "closed") else None
    try:
        scope = _scope(caller.principal, region or None)
    except ApiError:
        return _message(request, language, 403, "forbidden_title", "forbidden_body", caller)
    context = _context(request)
    try:
        followed = select(every_alert(request, context), scope=scope)
        matching = select(followed, status=status, kinds=[kind] if kind else [])
        matching.sort(key=lambda a: a.status != "open")
        shown = matching[:MAX_ALERTS_SHOWN]
        if export != "json":
            return export_response(alerts_table([_alert_out(a) for a in shown]), export, "alerts")
        products = views.product_names(context.store, [c for a in shown for c in a.codes])
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, language, 503, "unavailable_title", "unavailable_body", caller)
    summary = summarise(followed)
    regions = sorted({c.key for c in summary.by_region if c.key != "unknown"})
    context = {
        "alerts": views.alert_rows(shown, products, language, _root(request)),
        "count": len(matching),
        "more": max(0, len(matching) - MAX_ALERTS_SHOWN),
        "counts": TEXTS[language]["open_count"].format(open=summary.open, closed=summary.closed),
        "disposal": None
        if summary.disposal_rate is None
        else f"{summary.disposal_rate * 100:.1f}% ({summary.disposal_closed}/"
        f"{summary.disposal_total})",
        "kinds": [{"value": k, "text": KIND_WORDS[language][k]} for k in ALERT_KINDS],
        "regions": [{"value": r, "text": region_name(r, language)} for r in regions],
        "chosen": {"kind": kind or "", "region": region or "", "status": status or ""},
        "downloads": _downloads(request, language),
    }
    return _page(request, "console_alerts.html", language, caller, context)


@router.get("/console/coverage", response_class=HTMLResponse)
def console_coverage(
    request: Request,
    lang: LangQuery = None,
    region: Annotated[str | None, Query()] = None,
    fmt: FormatParam = None,
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language)
    if isinstance(caller, Response):
        return caller
    export = _export_asked(fmt)
    if export is None:
        return _message(request, language, 422, "bad_filter", "bad_format", caller)
    try:
        scope = _scope(caller.principal, region or None)
    except ApiError:
        return _message(request, language, 403, "forbidden_title", "forbidden_body", caller)
    try:
        coverage = _monitor(request, _context(request).store).coverage(scope=scope)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, language, 503, "unavailable_title", "unavailable_body", caller)
    if export != "json":
        table = coverage_table(coverage_out(coverage, scope=scope))
        return export_response(table, export, "coverage")
    rows = views.coverage_rows(coverage.by_region, language)
    context = {
        "rows": rows,
        "chart": views.coverage_chart(rows, language),
        "metrics": [TEXTS[language][m] for m in METRIC_KEYS],
        "scope": region_name(scope, language) if scope else TEXTS[language]["all_regions"],
        "downloads": _downloads(request, language),
    }
    return _page(request, "console_coverage.html", language, caller, context)


# --- trace ------------------------------------------------------------------------------------


@router.get("/console/trace", response_class=HTMLResponse)
def console_trace_form(
    request: Request, lang: LangQuery = None, code: Annotated[str | None, Query()] = None
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language)
    if isinstance(caller, Response):
        return caller
    if code and code.strip():
        return RedirectResponse(views.trace_link(code.strip(), language, _root(request)), 303)
    return _page(request, "console_trace.html", language, caller, {"trace": None})


@router.get("/console/trace/{code:path}", response_class=HTMLResponse)
def console_trace(request: Request, code: str, lang: LangQuery = None) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language)
    if isinstance(caller, Response):
        return caller
    context = _context(request)
    state = _state(request)
    try:
        trace = context.tracer.trace(code, full=True)
    except CodeError as err:
        page = {"title": TEXTS[language]["bad_code"], "body": err.rule, "status": 400}
        return _page(request, "console_message.html", language, caller, page, 400)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, language, 503, "unavailable_title", "unavailable_body", caller)
    if not trace.found:
        return _message(request, language, 404, "not_found_title", "code_not_found", caller)
    view = views.trace_view(trace, state.directory, language, _root(request))
    return _page(request, "console_trace.html", language, caller, {"trace": view})


# --- what the producer pages (.producer) share with these -------------------------------------

caller_of = _caller
state_of = _state
context_of = _context
root_of = _root
render = _page
message = _message
csrf_refused = _csrf_refused
