"""The producer's pages of the console (``docs/console.md`` § Producer pages): phone first,
server-rendered, no JavaScript, Chinese with an English switch.

- ``GET /console/certificates`` — my 合格证 (search, dates, status; a badge of what a scan
  shows), ``GET /console/certificates/{code}`` — one, with its label, scan URL, "print N
  labels" and the void form; ``.../label.svg|pdf|png`` — its label with the 联系方式;
- ``GET /console/certificates/new`` (``?reissue=CODE``: void and reissue) and
  ``POST /console/certificates/new`` — issue; ``POST /console/certificates/{code}/void``;
- ``GET /console/notices`` — recalls and alerts about goods I hold;
  ``POST /console/notices/{recall_id}/acknowledge`` — the recall acknowledgement form.

One write path each: issuing and voiding are the capture API's (``POST /v1/certificates``,
``POST /v1/certificates/{code}/void``), so the page calls that API with the signed-in
organisation's own token (:class:`suyuan.client.IngestClient`, as ``suyuan cert`` does): the
same checks, custodial signature, transport, rejection record and rate limit. A recall is
acknowledged through the function ``POST /v1/recalls/{id}/acknowledgements`` runs, in this
service. Reads are the functions of ``GET /v1/certificates`` and ``GET /v1/notices``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from suyuan.auth import Principal, Role
from suyuan.client import ApiCallError, IngestClient
from suyuan.contacts import organisation_contact
from suyuan.errors import CodeError
from suyuan.foodchain import Reads
from suyuan.label_print import DEFAULT_SIZE, LABEL_SIZES, MAX_COPIES
from suyuan.notices import NoticeBoard
from suyuan.regions import region_name
from suyuan.verdict import CAUTION_STATES, DANGER_STATES
from suyuan_http import ApiError
from suyuan_ingest.api import CertificateIn, VoidIn

from .._models import AcknowledgementIn
from .._routes_alerts import _monitor
from .._routes_certificates import get_certificate, get_certificates
from .._routes_recalls import acknowledge_as
from ..scan import label_response, pick_language, word
from . import views
from .routes import MAX_FORM_BYTES, Caller, page_texts
from .routes import caller_of as _caller
from .routes import context_of as _context
from .routes import csrf_refused as _csrf_refused
from .routes import message as _message
from .routes import render as _page
from .routes import root_of as _root
from .routes import state_of as _state

log = logging.getLogger("suyuan.trace_query.console")

router = APIRouter(include_in_schema=False)
PRODUCER = frozenset({Role.PRODUCER})
LangQuery = Annotated[str | None, Query()]
FilterQuery = Annotated[str | None, Query(max_length=100)]
PER_PAGE = 20
#: Product names offered from the organisation's latest certificates.
RECENT_PRODUCTS = 12
CATEGORIES = ("VEGETABLES", "FRUIT", "TEA", "LIVESTOCK", "POULTRY", "EGGS", "AQUATIC")
BASES = ("QUALITY_CONTROL", "SELF_TESTED", "COMMISSIONED_TESTED")
TEST_BASES = frozenset({"SELF_TESTED", "COMMISSIONED_TESTED"})
#: Fields of the issue form, as the API names them (its errors point at these).
FORM_FIELDS = (
    "issuer_type",
    "product_name",
    "category",
    "quantity",
    "unit",
    "origin",
    "origin_region_code",
    "contact",
    "basis",
    "inspection_event_id",
    "lot_codes",
    "upstream_certificates",
    "void_reason",
)
#: What the form cannot leave blank (the API refuses these one at a time).
REQUIRED_FIELDS = ("product_name", "quantity", "unit", "origin")
_PASSING_TESTS_SHOWN = 20
_RECEIPTS_SHOWN = 30


# --- forms ------------------------------------------------------------------------------------


async def _fields(request: Request) -> dict[str, list[str]] | None:
    """The urlencoded form of a POST, every value of each field; ``None`` past the cap."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_FORM_BYTES:
            return None
    return parse_qs(
        received.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=200
    )


def _first(fields: dict[str, list[str]], name: str) -> str:
    return fields.get(name, [""])[0].strip()


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


async def _post_caller(
    request: Request, lang: str | None
) -> tuple[Caller, dict[str, list[str]], str] | Response:
    """The producer behind a POST, its form and language, or the page to answer instead."""
    fields = await _fields(request)
    language = pick_language(_first(fields or {}, "lang") or lang)
    caller = await run_in_threadpool(_caller, request, language, PRODUCER)
    if isinstance(caller, Response):
        return caller
    if fields is None:
        return _message(request, language, 413, "forbidden_title", "too_large", caller)
    flat = {name: values[0] for name, values in fields.items()}
    if _csrf_refused(caller, flat):
        return _message(request, language, 403, "csrf_title", "csrf_body", caller)
    return caller, fields, language


def _ingest(request: Request, caller: Caller) -> IngestClient | None:
    url = _state(request).settings.ingest_url
    return None if not url else IngestClient(url, caller.token)


def _problem(err: ApiCallError | ApiError) -> dict[str, str]:
    """An API refusal as the form shows it: next to the field it names."""
    field = (err.field or "").removeprefix("payload.")
    field = field.split("[", 1)[0]
    return {"field": field, "rule": err.rule, "status": str(err.status)}


def _shape_problems(err: ValidationError) -> list[dict[str, str]]:
    """Every field the API's request model refuses, at once."""
    problems = []
    for error in err.errors():
        location = [str(p) for p in error["loc"] if p != "payload"]
        problems.append({"field": location[0] if location else "", "rule": error["msg"]})
    return problems


# --- my certificates --------------------------------------------------------------------------


@router.get("/console/certificates", response_class=HTMLResponse)
def console_certificates(
    request: Request,
    lang: LangQuery = None,
    product: FilterQuery = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    status: FilterQuery = None,
    cursor: FilterQuery = None,
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language, PRODUCER)
    if isinstance(caller, Response):
        return caller
    chosen = {"product": product or "", "from": since or "", "to": until or ""}
    chosen["status"] = status if status in ("valid", "voided", "replaced") else ""
    texts = page_texts(language, caller.principal)
    try:
        listed = get_certificates(
            caller.principal,
            _context(request),
            request,
            product=product or None,
            since=_day(since, "from"),
            until=_day(until, "to"),
            status=chosen["status"] or None,  # type: ignore[arg-type]
            cursor=cursor or None,
            limit=PER_PAGE,
        )
    except ApiError as err:
        page = {"title": texts["bad_filter"], "body": f"{err.field}: {err.rule}", "status": 422}
        return _page(request, "console_message.html", language, caller, page, 422)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, language, 503, "unavailable_title", "unavailable_body", caller)
    assert not isinstance(listed, Response)  # no export asked
    root = _root(request)
    rows = [
        {
            "code": c.code,
            "url": _certificate_link(c.code, language, root),
            "product": c.product_name,
            "quantity": f"{c.quantity or ''} {c.unit or ''}".strip(),
            "issue_date": c.issue_date.isoformat(),
            "status": c.status,
            "status_text": texts[f"status_{c.status}"],
            "badge": _badge(request, caller.principal, c.code, language),
        }
        for c in listed.certificates
    ]
    next_url = None
    if listed.next_cursor is not None:
        next_url = views.link(
            f"{root}/console/certificates", language, **chosen, cursor=listed.next_cursor
        )
    context = {
        "rows": rows,
        "count": texts["count_text"].format(count=listed.count),
        "chosen": chosen,
        "statuses": [{"value": v, "text": texts[f"status_{v}"]} for v in _STATUSES],
        "next_url": next_url,
        "new_url": views.link(f"{root}/console/certificates/new", language),
    }
    return _page(request, "console_certificates.html", language, caller, context)


_STATUSES = ("valid", "voided", "replaced")


def _day(text: str | None, name: str) -> date | None:
    """Raises: ApiError 422 for a date that is not YYYY-MM-DD."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "invalid_input", "a date as YYYY-MM-DD", name, text) from None


def _certificate_link(code: str, lang: str, root: str, **params: str | None) -> str:
    return views.link(f"{root}/console/certificates/{quote(code, safe='')}", lang, **params)


def _badge(request: Request, principal: Principal, code: str, lang: str) -> dict[str, str]:
    """What a scan of ``code`` shows first (its verdict, ``suyuan.verdict``) as a badge."""
    context = _context(request)
    try:
        with context.tracing(principal) as budget:
            verdict = context.tracer.trace(code, budget=budget).verdict
    except (ApiError, CodeError, SQLAlchemyError):
        return {"text": "—", "level": "unknown"}
    if verdict.state in DANGER_STATES:
        level = "danger"
    elif verdict.state in CAUTION_STATES:
        level = "caution"
    else:
        level = "ok"
    return {"text": verdict.title(lang), "level": level}


# --- one certificate --------------------------------------------------------------------------


@router.get("/console/certificates/new", response_class=HTMLResponse)
def console_new_certificate(
    request: Request, lang: LangQuery = None, reissue: FilterQuery = None
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language, PRODUCER)
    if isinstance(caller, Response):
        return caller
    form = _defaults(request, caller)
    latest = get_certificates(caller.principal, _context(request), request, limit=1)
    assert not isinstance(latest, Response)
    if latest.certificates:  # the 产地 written last time says more than the region's name
        form["origin"] = latest.certificates[0].origin
    if reissue:
        found = _own_certificate(request, caller, reissue, language)
        if isinstance(found, Response):
            return found
        form = _reissue_form(form, found)
    return _issue_page(request, language, caller, form)


def _defaults(request: Request, caller: Caller) -> dict[str, Any]:
    """The issue form filled from the organisation's registration and its latest certificate."""
    uscc = caller.principal.organisation or ""
    directory = _state(request).directory
    directory.refresh()
    registered = directory.get(uscc)
    region = None if registered is None else registered.region
    engine = _context(request).engine
    contact = None if engine is None else organisation_contact(engine, uscc)
    form: dict[str, Any] = {name: "" for name in FORM_FIELDS}
    form.update(
        issuer_type="PRODUCER",
        basis="QUALITY_CONTROL",
        category="VEGETABLES",
        unit="kg",
        upstream_certificates=[],
        origin=region_name(region, "zh") if region else "",
        origin_region_code=region or "",
        contact=contact or "",
        replaces="",
    )
    return form


def _reissue_form(form: dict[str, Any], certificate: Any) -> dict[str, Any]:
    return {
        **form,
        "issuer_type": certificate.issuer_type,
        "product_name": certificate.product_name,
        "category": certificate.category,
        "quantity": certificate.quantity or "",
        "unit": certificate.unit or "",
        "origin": certificate.origin,
        "contact": certificate.contact,
        "basis": certificate.basis,
        "lot_codes": "\n".join(certificate.lot_codes),
        "upstream_certificates": list(certificate.upstream_certificates),
        "replaces": certificate.code,
    }


def _own_certificate(request: Request, caller: Caller, code: str, lang: str) -> Any:
    """The caller's certificate ``code`` as ``GET /v1/certificates/{code}`` shows it, or the
    page to answer instead (404 for another organisation's, as the API)."""
    try:
        return get_certificate(code, caller.principal, _context(request), request)
    except ApiError as err:
        texts = page_texts(lang, caller.principal)
        page = {"title": texts["not_found_title"], "body": err.rule, "status": err.status}
        return _page(request, "console_message.html", lang, caller, page, err.status)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, lang, 503, "unavailable_title", "unavailable_body", caller)


def _issue_page(
    request: Request,
    lang: str,
    caller: Caller,
    form: dict[str, Any],
    problems: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    problems = problems or []
    context = _context(request)
    organisation = caller.principal.organisation or ""
    try:
        recent = get_certificates(caller.principal, context, request, limit=50)
        assert not isinstance(recent, Response)
        products = list(dict.fromkeys(c.product_name for c in recent.certificates))
        tests = _passing_tests(request, _lines(str(form.get("lot_codes", ""))))
        received = _received_certificates(request, organisation, lang)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, lang, 503, "unavailable_title", "unavailable_body", caller)
    texts = page_texts(lang, caller.principal)
    page = {
        "form": form,
        "problems": problems,
        "by_field": {p["field"]: p["rule"] for p in problems if p.get("field")},
        "general": [p for p in problems if p.get("field") not in FORM_FIELDS],
        "products": products[:RECENT_PRODUCTS],
        "categories": [{"value": v, "text": word(lang, "category", v)} for v in CATEGORIES],
        "bases": [{"value": v, "text": word(lang, "basis", v)} for v in BASES],
        "issuer_types": [
            {"value": v, "text": texts[f"issuer_{v}"]} for v in ("PRODUCER", "PURCHASER")
        ],
        "tests": tests,
        "looked_for_tests": bool(form.get("lot_codes")),
        "received": received,
        "ingest_missing": _state(request).settings.ingest_url is None,
        "reissue_help": texts["reissue_help"].format(code=form.get("replaces", "")),
    }
    return _page(request, "console_issue.html", lang, caller, page, status)


def _passing_tests(request: Request, lots: list[str]) -> list[dict[str, str]]:
    """Passing inspections of these lots: the choices for a test basis."""
    if not lots:
        return []
    reads = Reads(_context(request).store)
    try:
        found = reads.about(lots, {"InspectionRecorded"})
    except CodeError:
        return []
    passing = [e for e in found if e.payload.get("passed")]
    passing.sort(key=lambda e: e.occurred_at, reverse=True)
    return [
        {
            "event_id": e.event_id,
            "text": f"{views.china_time(e.occurred_at)} · {e.payload.get('agency') or e.actor}"
            f" · {' '.join(e.codes)}",
        }
        for e in passing[:_PASSING_TESTS_SHOWN]
    ]


def _received_certificates(request: Request, organisation: str, lang: str) -> list[dict[str, str]]:
    """Certificates that came with the lots this organisation received: a purchaser's
    upstream choices, newest first."""
    receipts = _monitor(request, _context(request).store).events(["Received"], actor=organisation)
    directory = _state(request).directory
    choices: dict[str, dict[str, str]] = {}
    for receipt in sorted(receipts, key=lambda e: e.occurred_at, reverse=True):
        sender = str(receipt.payload.get("from_org") or "")
        registered = directory.get(sender)
        name = sender if registered is None else registered.name
        for code in receipt.payload.get("upstream_certificates") or ():
            text = f"{code} · {' '.join(receipt.codes)} · {name} · "
            choices.setdefault(str(code), {"code": str(code), "text": text + _day_of(receipt)})
        if len(choices) >= _RECEIPTS_SHOWN:
            break
    return list(choices.values())


def _day_of(event: Any) -> str:
    return views.china_time(event.occurred_at)[:10]


@router.post("/console/certificates/new", response_class=HTMLResponse)
async def console_issue(request: Request, lang: LangQuery = None) -> Response:
    posted = await _post_caller(request, lang)
    if isinstance(posted, Response):
        return posted
    caller, fields, language = posted
    form: dict[str, Any] = {name: _first(fields, name) for name in FORM_FIELDS}
    form["lot_codes"] = "\n".join(_lines(_first(fields, "lot_codes")))
    form["upstream_certificates"] = [v for v in fields.get("upstream_certificates", []) if v]
    form["replaces"] = _first(fields, "replaces")
    if _first(fields, "action") == "find":  # the test picker: show this lot's tests
        return await run_in_threadpool(_issue_page, request, language, caller, form)
    outcome = await run_in_threadpool(_issue, request, caller, form, language)
    if isinstance(outcome, str):
        url = _certificate_link(outcome, language, _root(request), issued="1")
        return RedirectResponse(url, 303)
    status, problems = outcome
    return await run_in_threadpool(_issue_page, request, language, caller, form, problems, status)


def request_body(form: dict[str, Any]) -> dict[str, Any]:
    """The issue form as the body of ``POST /v1/certificates`` (empty fields left out)."""
    payload: dict[str, Any] = {
        "issuer_type": form["issuer_type"] or "PRODUCER",
        "product_name": form["product_name"],
        "category": form["category"],
        "origin": form["origin"],
        "basis": form["basis"] or "QUALITY_CONTROL",
    }
    for optional in ("origin_region_code", "contact", "inspection_event_id"):
        if form[optional]:
            payload[optional] = form[optional]
    if form["upstream_certificates"]:
        payload["upstream_certificates"] = form["upstream_certificates"]
    body: dict[str, Any] = {"payload": payload, "quantity": form["quantity"], "unit": form["unit"]}
    lots = _lines(form["lot_codes"])
    if lots:
        body["lot_codes"] = lots
    return body


def _issue(
    request: Request, caller: Caller, form: dict[str, Any], lang: str
) -> str | tuple[int, list[dict[str, str]]]:
    """Issue the form's certificate through the capture API (and void the one it replaces):
    its code, or the status and the problems found."""
    body = request_body(form)
    problems: list[dict[str, str]] = []
    try:  # the API's own request model: every shape problem at once, before the call
        CertificateIn.model_validate(body)
    except ValidationError as err:
        problems = _shape_problems(err)
    for name in REQUIRED_FIELDS:  # blank fields, every one at once; the API checks the rest
        if not form[name] and not any(p["field"] == name for p in problems):
            problems.append({"field": name, "rule": "required (必填)"})
    replaces = form.get("replaces") or ""
    if replaces and not form["void_reason"]:
        problems.append({"field": "void_reason", "rule": "required to void the old certificate"})
    if problems:
        return 422, problems
    client = _ingest(request, caller)
    if client is None:
        return 503, [{"field": "", "rule": page_texts(lang, caller.principal)["ingest_missing"]}]
    with client:
        try:
            code = str(client.issue(body)["code"])
        except ApiCallError as err:
            return (err.status or 503), [_problem(err)]
        if replaces:
            try:
                client.void(replaces, {"reason": form["void_reason"], "replacement": code})
            except ApiCallError as err:
                log.warning("console: %s issued but %s not voided: %s", code, replaces, err)
                return code
    return code


@router.get("/console/certificates/{code}", response_class=HTMLResponse)
def console_certificate(
    request: Request, code: str, lang: LangQuery = None, issued: FilterQuery = None
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language, PRODUCER)
    if isinstance(caller, Response):
        return caller
    return _certificate_page(request, language, caller, code, issued=bool(issued))


def _certificate_page(
    request: Request,
    lang: str,
    caller: Caller,
    code: str,
    *,
    issued: bool = False,
    void_form: dict[str, str] | None = None,
    problems: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    found = _own_certificate(request, caller, code, lang)
    if isinstance(found, Response):
        return found
    texts = page_texts(lang, caller.principal)
    root = _root(request)
    own = f"{root}/console/certificates/{quote(found.code, safe='')}"
    page = {
        "c": found,
        "issued": issued,
        "status_text": texts[f"status_{found.status}"],
        "badge": _badge(request, caller.principal, found.code, lang),
        "category_text": word(lang, "category", found.category),
        "basis_text": word(lang, "basis", found.basis),
        "label_svg": f"{own}/label.svg",
        "label_pdf": f"{own}/label.pdf",
        "label_png": f"{own}/label.png",
        "sizes": list(LABEL_SIZES),
        "default_size": DEFAULT_SIZE,
        "max_copies": MAX_COPIES,
        "void_url": f"{own}/void",
        "reissue_url": views.link(f"{root}/console/certificates/new", lang, reissue=found.code),
        "replacement_url": None
        if found.replacement_code is None
        else _certificate_link(found.replacement_code, lang, root),
        "replaces": [{"code": c, "url": _certificate_link(c, lang, root)} for c in found.replaces],
        "void_form": {"reason": "", "replacement": "", **(void_form or {})},
        "problems": problems or [],
        "replaced_text": ""
        if found.replacement_code is None
        else texts["replaced_by"].format(code=found.replacement_code),
    }
    return _page(request, "console_certificate.html", lang, caller, page, status)


@router.post("/console/certificates/{code}/void", response_class=HTMLResponse)
async def console_void(request: Request, code: str, lang: LangQuery = None) -> Response:
    posted = await _post_caller(request, lang)
    if isinstance(posted, Response):
        return posted
    caller, fields, language = posted
    void_form = {"reason": _first(fields, "reason"), "replacement": _first(fields, "replacement")}
    refused = await run_in_threadpool(_void, request, caller, code, void_form, language)
    if refused is None:
        return RedirectResponse(_certificate_link(code, language, _root(request)), 303)
    status, problems = refused
    return await run_in_threadpool(
        lambda: _certificate_page(
            request,
            language,
            caller,
            code,
            void_form=void_form,
            problems=problems,
            status=status,
        )
    )


def _void(
    request: Request, caller: Caller, code: str, form: dict[str, str], lang: str
) -> tuple[int, list[dict[str, str]]] | None:
    """Void through ``POST /v1/certificates/{code}/void``: ``None``, or the status and the
    problems found."""
    body: dict[str, Any] = {"reason": form["reason"]}
    if form["replacement"]:
        body["replacement"] = form["replacement"]
    try:
        VoidIn.model_validate(body)
    except ValidationError as err:
        return 422, _shape_problems(err)
    if not form["reason"]:
        return 422, [{"field": "reason", "rule": "must not be empty"}]
    client = _ingest(request, caller)
    if client is None:
        return 503, [{"field": "", "rule": page_texts(lang, caller.principal)["ingest_missing"]}]
    with client:
        try:
            client.void(code, body)
        except ApiCallError as err:
            return (err.status or 503), [_problem(err)]
    return None


@router.get("/console/certificates/{code}/label.{extension}", response_class=Response)
def console_label(
    request: Request,
    code: str,
    extension: str,
    lang: LangQuery = None,
    size: Annotated[str | None, Query(max_length=10)] = None,
    copies: Annotated[str | None, Query(max_length=10)] = None,
    dpi: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The label as ``/c/{code}/label.*`` draws it, for the signed-in issuer (the session
    cookie does not reach ``/c/``): it prints the 联系方式."""
    language = pick_language(lang)
    caller = _caller(request, language, PRODUCER)
    if isinstance(caller, Response):
        return caller
    if extension not in ("svg", "pdf", "png"):
        return _message(request, language, 404, "not_found_title", "code_not_found", caller)
    count = copies if extension == "pdf" else dpi
    return label_response(request, code, language, caller.principal, extension, size, count)


# --- notices ----------------------------------------------------------------------------------


@router.get("/console/notices", response_class=HTMLResponse)
def console_notices(
    request: Request, lang: LangQuery = None, acknowledged: FilterQuery = None
) -> Response:
    language = pick_language(lang)
    caller = _caller(request, language, PRODUCER)
    if isinstance(caller, Response):
        return caller
    return _notices_page(request, language, caller, done=acknowledged or "")


def _notices_page(
    request: Request,
    lang: str,
    caller: Caller,
    *,
    done: str = "",
    recall_id: str = "",
    form: dict[str, str] | None = None,
    problems: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    """The notices as ``GET /v1/notices`` reads them, each recall with its acknowledgement
    form."""
    context = _context(request)
    board = NoticeBoard(context.store, context.tracer, _monitor(request, context.store))
    organisation = caller.principal.organisation or ""
    try:
        with context.tracing(caller.principal) as budget:
            page = board.page(organisation, limit=50, budget=budget)
    except ApiError as err:
        return _message(request, lang, err.status, "unavailable_title", "unavailable_body", caller)
    except SQLAlchemyError:
        log.exception("console: the ledger could not be read")
        return _message(request, lang, 503, "unavailable_title", "unavailable_body", caller)
    root = _root(request)
    notices = []
    for notice in page.notices:
        mine = notice.recall_id is not None and notice.recall_id == recall_id
        unit = notice.quantities[0][1] if notice.quantities else ""
        notices.append(
            {
                "n": notice,
                "title": notice.words(lang),
                "level": word(lang, "recall_level", notice.level) if notice.level else None,
                "advice": notice.advice(lang) if notice.status == "open" else None,
                "at": views.china_time(notice.at),
                "due_by": None if notice.due_by is None else views.china_time(notice.due_by),
                "quantities": "、".join(f"{q} {u}" for q, u in notice.quantities),
                "ack_url": None
                if notice.recall_id is None
                else f"{root}/console/notices/{quote(notice.recall_id, safe='')}/acknowledge",
                "form": (form if mine and form else {})
                or {
                    "unit": unit,
                    **dict.fromkeys(("on_hand", "sold_on", "returned", "destroyed", "note"), ""),
                },
                "problems": problems if mine else [],
                "done": done and done == notice.recall_id,
            }
        )
    return _page(request, "console_notices.html", lang, caller, {"notices": notices}, status)


@router.post("/console/notices/{recall_id}/acknowledge", response_class=HTMLResponse)
async def console_acknowledge(request: Request, recall_id: str, lang: LangQuery = None) -> Response:
    posted = await _post_caller(request, lang)
    if isinstance(posted, Response):
        return posted
    caller, fields, language = posted
    names = ("unit", "on_hand", "sold_on", "returned", "destroyed", "note")
    form = {name: _first(fields, name) for name in names}
    refused = await run_in_threadpool(_acknowledge, request, caller, recall_id, form)
    if refused is None:
        url = views.link(f"{_root(request)}/console/notices", language, acknowledged=recall_id)
        return RedirectResponse(url, 303)
    status, problems = refused
    return await run_in_threadpool(
        lambda: _notices_page(
            request,
            language,
            caller,
            recall_id=recall_id,
            form=form,
            problems=problems,
            status=status,
        )
    )


def _acknowledge(
    request: Request, caller: Caller, recall_id: str, form: dict[str, str]
) -> tuple[int, list[dict[str, str]]] | None:
    """Acknowledge as ``POST /v1/recalls/{id}/acknowledgements`` does (the same body model and
    function): ``None``, or the status and every problem found."""
    fields: dict[str, Any] = {k: v for k, v in form.items() if k != "note"}
    fields = {k: (v if v or k == "unit" else "0") for k, v in fields.items()}
    fields["note"] = form["note"] or None
    try:
        body = AcknowledgementIn.model_validate(fields)
    except ValidationError as err:
        return 422, _shape_problems(err)
    try:
        acknowledge_as(_context(request), request, caller.principal, recall_id, body)
    except ApiError as err:
        return err.status, [{"field": err.field or "", "rule": err.rule}]
    return None
