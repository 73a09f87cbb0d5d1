"""The scan page's routes: what a person sees after scanning the QR code on packaging.

Design §1 (consumers), §7 (trace), §8 (``GET /c/{code}``); user documentation in
``docs/scan-page.md``.

- ``GET /c/{code}`` — server-rendered HTML, mobile first, Chinese first (``?lang=en`` for
  English), no JavaScript: status banner (recalled / frozen / voided in red, ok in green), the
  product and its origin, its 承诺达标合格证, test results, documents, the custody timeline, the
  temperature record as an inline SVG chart, and a "recorded on the ledger" badge per event
  linking to its proof receipt.
- ``GET /c/{code}/label.svg`` — the printable 合格证 label of a certificate code; with the
  issuer's producer token it prints the 联系方式, as the paper certificate does;
  ``label.pdf`` (``?size=60x40&copies=N``: one label per page) and ``label.png``
  (``?size=&dpi=``) are the same label for label printers (``docs/labels.md``).

Only the public view is shown: payloads go through :func:`suyuan.trace.public_payload`, and the
page names no recipient, waybill, receipt, contact, price, quantity or trading partner. The trace
is the budgeted public one (a note says when it is partial); when too many are being worked on
the page answers 503 at once. A malformed code gets a friendly 400
page saying what is wrong, an unknown one a friendly 404 page; Jinja2 autoescapes every value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from suyuan.auth import Principal, Role
from suyuan.codes import scan_url
from suyuan.custody import CustodyError, load_custodial_key
from suyuan.errors import CodeError, RevokedKeyError, SignatureError, WrongSignerError
from suyuan.label import (
    CertificateLabel,
    certificate_label,
    label_svg,
)
from suyuan.label_print import (
    DEFAULT_DPI,
    DEFAULT_SIZE,
    LABEL_SIZES,
    MAX_COPIES,
    PNG_DPI,
    LabelFontError,
    label_pdf,
    label_png,
)
from suyuan.qrsign import (
    MAX_QR_LENGTH,
    QR_PARAMETER,
    QrClaim,
    QrError,
    claim_of,
    verify_qr,
)
from suyuan.signing import SigningKey
from suyuan.trace import Trace
from suyuan_http import ApiError, checked_token

from .._deps import QueryContext
from .view import scan_view, void_reason
from .words import TEXTS, pick_language

log = logging.getLogger("suyuan.trace_query.scan")

router = APIRouter(tags=["scan page"])
# Autoescape every template (not only by file name) and fail loudly on a misspelt variable.
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
)

SVG_TYPE = "image/svg+xml"
# Nothing remote: plain HTML with inline CSS and inline SVG, and one script of this service
# that checks the page's proofs (the page works without it).
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "script-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A recall can start at any minute: never show a stale page.
    "Cache-Control": "no-cache",
}

QrQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_QR_LENGTH,
        description="A certificate's signed QR value (docs/verification.md, signed QR codes).",
    ),
]
LangQuery = Annotated[
    str | None,
    Query(description="`en` for English; anything else (or nothing) shows Chinese (zh-CN)."),
]

# --- routes --------------------------------------------------------------------------------------


_LABEL_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"content": {"text/html": {}}, "description": "Not a certificate code."},
    404: {"content": {"text/html": {}}, "description": "No certificate under this code."},
    503: {
        "content": {"text/html": {}},
        "description": "Too busy (Retry-After) or unavailable (also: no CJK font for PDF/PNG).",
    },
}
_PRINT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_LABEL_ERRORS,
    422: {"content": {"text/html": {}}, "description": "An unknown size, copies or dpi."},
}
SizeQuery = Annotated[
    str | None,
    Query(description=f"Label size in mm: {', '.join(LABEL_SIZES)} (default {DEFAULT_SIZE})."),
]


@router.get(
    "/c/{code:path}/label.svg",
    response_class=Response,
    responses={
        200: {"content": {SVG_TYPE: {}}, "description": "The printable 合格证 label (SVG)."},
        **_LABEL_ERRORS,
    },
    summary="Printable 承诺达标合格证 label of a certificate code",
)
def certificate_label_svg(request: Request, code: str, lang: LangQuery = None) -> Response:
    return label_response(request, code, pick_language(lang), _token_principal(request), "svg")


@router.get(
    "/c/{code:path}/label.pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}},
            "description": "The 合格证 label as a PDF, one label per page, the CJK font embedded.",
        },
        **_PRINT_ERRORS,
    },
    summary="Printable 合格证 label as PDF (label sizes; N copies)",
)
def certificate_label_pdf(
    request: Request,
    code: str,
    lang: LangQuery = None,
    size: SizeQuery = None,
    copies: Annotated[
        str | None, Query(description=f"Labels (pages), 1 to {MAX_COPIES}; default 1.")
    ] = None,
) -> Response:
    principal = _token_principal(request)
    return label_response(request, code, pick_language(lang), principal, "pdf", size, copies)


@router.get(
    "/c/{code:path}/label.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The 合格证 label as a PNG."},
        **_PRINT_ERRORS,
    },
    summary="Printable 合格证 label as PNG (label sizes, printer resolutions)",
)
def certificate_label_png(
    request: Request,
    code: str,
    lang: LangQuery = None,
    size: SizeQuery = None,
    dpi: Annotated[
        str | None,
        Query(description=f"Dots per inch: {', '.join(str(d) for d in PNG_DPI)}; default 300."),
    ] = None,
) -> Response:
    principal = _token_principal(request)
    return label_response(request, code, pick_language(lang), principal, "png", size, dpi)


def label_response(
    request: Request,
    code: str,
    language: str,
    principal: Principal | None,
    extension: str,
    size: str | None = None,
    count: str | None = None,
) -> Response:
    """The label of ``code`` as ``svg``, ``pdf`` (``count`` copies) or ``png`` (``count`` dpi)
    for ``principal`` (the issuer's prints the 联系方式), or the page saying why not. The label
    routes and the console's both answer with it."""
    found = _printable(request, code, language, principal)
    if isinstance(found, Response):
        return found
    label, own = found
    headers = _label_headers(label.code, own, extension)
    if extension == "svg":
        return Response(label_svg(label), media_type=SVG_TYPE, headers=headers)
    try:
        if extension == "pdf":
            pdf = label_pdf(label, size, _count(count, "copies", 1))
            return Response(pdf, media_type="application/pdf", headers=headers)
        png = label_png(label, size, _count(count, "dpi", DEFAULT_DPI))
        return Response(png, media_type="image/png", headers=headers)
    except ValueError as err:
        return _option_page(request, language, str(err), size, count)
    except LabelFontError as err:
        return _no_font_page(request, language, err)


def _token_principal(request: Request) -> Principal | None:
    caller = checked_token(request)
    return caller if isinstance(caller, Principal) else None


def _printable(
    request: Request, code: str, language: str, principal: Principal | None
) -> tuple[CertificateLabel, bool] | Response:
    """The label of ``code`` and whether its issuer asks (then it prints the 联系方式), or the
    page to answer instead."""
    try:
        trace = _public_trace(request, code)
        base_url = request.app.state.context.settings.public_base_url
        voided = void_reason(trace)
        own = _issuer_asks(principal, trace)
        label = certificate_label(
            trace,
            scan_url(base_url, trace.code),
            void_reason=voided,
            include_contact=own,
            qr_key=qr_signing_key(request),
        )
    except CodeError as err:
        return _bad_code_page(request, language, err)
    except SQLAlchemyError:
        return _unavailable_page(request, language)
    except ApiError as err:
        return _busy_page(request, language, err)
    if label is None:
        return _message_page(request, language, 404, "no_label_title", "no_label_body", code)
    return label, own


def _label_headers(code: str, own: bool, extension: str) -> dict[str, str]:
    return {
        **_PAGE_HEADERS,
        "Content-Disposition": f'inline; filename="hegezheng-{code}.{extension}"',
        # the issuer's label names its 联系方式: never from a shared cache
        **({"Cache-Control": "private, no-store"} if own else {}),
        "Vary": "Authorization",
    }


def _count(text: str | None, name: str, default: int) -> int:
    """A whole number query value.

    Raises:
        ValueError: not one.
    """
    if text is None:
        return default
    if not text.strip().isdigit():
        raise ValueError(f"{name} must be a whole number")
    return int(text)


def _option_page(request: Request, language: str, rule: str, *received: str | None) -> Response:
    context = {
        **_base_context(language),
        "status": 422,
        "title": TEXTS[language]["bad_label_option_title"],
        "body": TEXTS[language]["bad_label_option_body"],
        "rule": rule,
        "received": " ".join(r for r in received if r is not None),
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=422, headers=_PAGE_HEADERS
    )


def _no_font_page(request: Request, language: str, err: LabelFontError) -> Response:
    log.error("printable label: %s", err)
    context = {
        **_base_context(language),
        "status": 503,
        "title": TEXTS[language]["unavailable_title"],
        "body": TEXTS[language]["unavailable_body"],
        "rule": str(err),
        "received": "",
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=503, headers=_PAGE_HEADERS
    )


@router.get(
    "/c/{code:path}",
    response_class=HTMLResponse,
    responses={
        400: {"content": {"text/html": {}}, "description": "Malformed code: what is wrong."},
        404: {"content": {"text/html": {}}, "description": "Well-formed code, not in the ledger."},
        503: {
            "content": {"text/html": {}},
            "description": "Too busy (Retry-After) or unavailable.",
        },
    },
    summary="Consumer scan page (HTML; zh-CN, `?lang=en` for English)",
)
def scan_page(request: Request, code: str, lang: LangQuery = None, cq: QrQuery = None) -> Response:
    language = pick_language(lang)
    try:
        trace = _public_trace(request, code)
    except CodeError as err:
        return _bad_code_page(request, language, err)
    except SQLAlchemyError:
        return _unavailable_page(request, language)
    except ApiError as err:
        return _busy_page(request, language, err)
    if not trace.found:
        return _message_page(request, language, 404, "not_found_title", "not_found_body", code)
    context = {
        **_base_context(language),
        **scan_view(trace, language, _root(request)),
        "browser_check": _browser_check(request, language),
        "qr_check": None if cq is None else _qr_check(request, trace, cq, language),
    }
    return templates.TemplateResponse(request, "scan.html", context, headers=_PAGE_HEADERS)


def qr_signing_key(request: Request) -> Callable[[str], SigningKey | None]:
    """The issuer's custodial key, when this service holds it, to sign a label's QR."""
    context: QueryContext = request.app.state.context
    engine, master = context.engine, context.recalls.custody_master

    def key_of(organisation: str) -> SigningKey | None:
        if engine is None or master is None:
            return None
        try:
            return load_custodial_key(engine, master, organisation)
        except (CustodyError, SQLAlchemyError):
            return None  # its own key, elsewhere: the QR is printed unsigned

    return key_of


def _qr_check(request: Request, trace: Trace, value: str, lang: str) -> dict[str, Any]:
    """What the page says of a signed QR (docs/verification.md, "Signed QR codes"): valid only
    when the signature holds under a registered, unrevoked key of the issuer it names, and the
    fields it signed are the ledger's certificate under this very code."""
    words = TEXTS[lang]
    context: QueryContext = request.app.state.context
    trust = context.tracer.directory.trust()
    try:
        if trust is None:
            raise QrError(QR_PARAMETER, value, "the ledger has no trust chain yet")
        claim = verify_qr(value, trust)
    except QrError as err:
        return {"ok": False, "text": words["qr_malformed"], "detail": err.rule}
    except SignatureError as err:
        key = {RevokedKeyError: "qr_revoked", WrongSignerError: "qr_wrong_key"}.get(
            type(err), "qr_bad_signature"
        )
        return {"ok": False, "text": words[key], "detail": err.rule}
    issued = next(
        (
            t
            for t in trace.certificates
            if t.event.event_type == "CertificateIssued" and claim.code in t.event.codes
        ),
        None,
    )
    if claim.code != trace.code or issued is None:
        return {"ok": False, "text": words["qr_other_code"].format(code=claim.code), "detail": ""}
    event = issued.event
    ledger = claim_of(
        claim.code, event.payload, event.actor, event.quantity, event.unit, claim.key_id
    )
    if ledger != claim:
        return {"ok": False, "text": words["qr_differs"], "detail": _differences(claim, ledger)}
    name = issued.actor_name or event.actor
    return {"ok": True, "text": words["qr_valid"].format(org=name), "detail": ""}


def _differences(printed: QrClaim, ledger: QrClaim) -> str:
    names = {
        "product": "p",
        "quantity": "q",
        "unit": "u",
        "issuer": "o",
        "issue_date": "d",
        "basis": "b",
    }
    return ", ".join(
        f"{field}: {getattr(printed, field)} ≠ {getattr(ledger, field)}"
        for field in names
        if getattr(printed, field) != getattr(ledger, field)
    )


_SCRIPT = (Path(__file__).resolve().parents[1] / "static" / "scan-check.js").read_bytes()


@router.get("/static/scan-check.js", include_in_schema=False)
def scan_check_script() -> Response:
    """The scan page's own proof check (docs/verification.md)."""
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(_SCRIPT, media_type="text/javascript", headers=headers)


def _browser_check(request: Request, language: str) -> dict[str, str] | None:
    """What the page's script needs: the ledger key it checks the checkpoints against, and
    its words; ``None`` (no check offered) when this service holds no ledger key."""
    context: QueryContext = request.app.state.context
    ledger = context.ledger.ledger
    if ledger is None:
        return None
    words = {
        key.removeprefix("check_"): text
        for key, text in TEXTS[language].items()
        if key.startswith("check_")
    }
    witnessing = context.ledger.witnessing
    witnesses = [w.to_key() for w in witnessing.verifiers] if witnessing else []
    return {
        "ledger_key": ledger.verifier.to_key(),
        "witnesses": json.dumps(witnesses),
        "quorum": str(len(witnesses)),
        "words": json.dumps(words, ensure_ascii=False),
        "root": _root(request),
    }


def _issuer_asks(caller: Principal | None, trace: Trace) -> bool:
    """Whether the caller is the certificate's issuer (its producer token): its label prints the
    联系方式 the paper certificate carries; anyone else's leaves it out (docs/scan-page.md)."""
    if caller is None or caller.role is not Role.PRODUCER:
        return False
    return any(
        t.event.event_type == "CertificateIssued"
        and trace.code in t.event.codes
        and t.event.actor == caller.organisation
        for t in trace.certificates
    )


def _public_trace(request: Request, code: str) -> Trace:
    """The trace of ``code`` within the public budget, in one of the public slots.

    Raises:
        CodeError: not a valid code.
        ApiError: 503 ``busy`` when every slot is taken.
    """
    context: QueryContext = request.app.state.context
    with context.public_traces.slot():
        return context.tracer.trace(code, budget=context.trace_budget)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _base_context(language: str) -> dict[str, Any]:
    return {"t": TEXTS[language], "lang": language}


def _bad_code_page(request: Request, language: str, err: CodeError) -> Response:
    context = {
        **_base_context(language),
        "status": 400,
        "title": TEXTS[language]["bad_code_title"],
        "body": TEXTS[language]["bad_code_body"],
        "rule": err.rule,
        "received": err.value,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=400, headers=_PAGE_HEADERS
    )


def _message_page(
    request: Request, language: str, status: int, title: str, body: str, code: str
) -> Response:
    context = {
        **_base_context(language),
        "status": status,
        "title": TEXTS[language][title],
        "body": TEXTS[language][body],
        "code": code,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status, headers=_PAGE_HEADERS
    )


def _busy_page(request: Request, language: str, err: ApiError) -> Response:
    """503 at once, with ``Retry-After``, when too many public traces are being worked on."""
    context = {
        **_base_context(language),
        "status": err.status,
        "title": TEXTS[language]["busy_title"],
        "body": TEXTS[language]["busy_body"],
    }
    headers = {**_PAGE_HEADERS, "Retry-After": str(err.retry_after or 1)}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=err.status, headers=headers
    )


def _unavailable_page(request: Request, language: str) -> Response:
    log.exception("scan page: the ledger could not be read")
    context = {
        **_base_context(language),
        "status": 503,
        "title": TEXTS[language]["unavailable_title"],
        "body": TEXTS[language]["unavailable_body"],
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=503, headers=_PAGE_HEADERS
    )
