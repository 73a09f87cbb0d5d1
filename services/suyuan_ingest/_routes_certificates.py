"""Issuing and voiding 承诺达标合格证 over HTTP (design.md §4, §8; ``docs/food-chain.md``).

- ``POST /v1/certificates`` (producer token): the service draws the certificate code, checks the
  certificate (content rules and :func:`suyuan.foodchain.check_certificate`), signs it with the
  organisation's custodial key and records it; the answer holds the code, its scan URL, the URL
  of its QR image and of its printable label (both served by the query service).
- ``POST /v1/certificates/{code}/void`` (the issuer's producer token): void-and-reissue; the
  voided certificate stays visible with its reason and points to its replacement.

Thin: the rules live in ``suyuan.foodchain``; recording goes through the same capture path as
``POST /v1/events`` (custodial signing, transport, rejections).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from suyuan.codes import CodeKind, new_certificate_code, parse_trace_code, scan_url
from suyuan.config import get_settings
from suyuan.contacts import organisation_contact
from suyuan.errors import CodeError, InvalidInputError
from suyuan.events import event_to_json
from suyuan.events.model import Event
from suyuan.foodchain import (
    CertificateDraft,
    Reads,
    certificate_event,
    certificate_links,
    certificate_records,
    check_certificate,
    own_certificate_code,
    void_event,
)
from suyuan.ledger import Rejection
from suyuan.trace import CHINA_TIME
from suyuan.transport import EventStatus, TransportError
from suyuan_http import ApiError, ErrorOut

from ._deps import AppContext, ContextDep, ProducerDep

log = logging.getLogger("suyuan.ingest")

router = APIRouter(tags=["certificates"])

_MAX_EVENT_ID = 64
#: Rejection reasons of the signature checks: the organisation's key, not its input, is at fault.
_KEY_REASONS = frozenset({"unknown_key", "revoked_key", "wrong_signer", "bad_signature"})
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "Not a producer token (or not the issuer's)."},
    413: {"model": ErrorOut, "description": "A body over SUYUAN_MAX_JSON_BODY_BYTES."},
    429: {"model": ErrorOut, "description": "Too many requests from this organisation."},
}
_RECORDING: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorOut,
        "description": "No custodial key, or one the trust chain does not accept; or the "
        "event_id is another event's.",
    },
    503: {"model": ErrorOut, "description": "The ledger or custodial signing is unavailable."},
}

NO_CONTACT_RULE = (
    "give payload.contact, or set the organisation's 联系方式 once (PUT "
    "/v1/organisation/contact, `suyuan org contact`) and leave it out"
)

Category = Literal["VEGETABLES", "FRUIT", "TEA", "LIVESTOCK", "POULTRY", "EGGS", "AQUATIC"]
Basis = Literal["QUALITY_CONTROL", "SELF_TESTED", "COMMISSIONED_TESTED"]


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(description="GB/T 2260 code, 6 digits.")
    name: str
    address: str | None = None
    gln: str | None = None


class CertificatePayloadIn(BaseModel):
    """What is printed on the certificate (the payload of ``CertificateIssued``)."""

    model_config = ConfigDict(extra="forbid")

    issuer_type: Literal["PRODUCER", "PURCHASER"] = Field(
        "PRODUCER", description="生产者 (PRODUCER, the default) or 收购者 (PURCHASER)."
    )
    product_name: str = Field(description="产品名称, e.g. 小青菜.")
    category: Category
    origin: str = Field(description="产地.")
    origin_region_code: str | None = Field(None, description="GB/T 2260 code of the 产地.")
    issue_date: date | None = Field(
        None, description="开具日期; default: the day of occurred_at in China (UTC+8)."
    )
    contact: str | None = Field(
        None,
        description="联系方式: a telephone number; default: the organisation's own "
        "(PUT /v1/organisation/contact).",
    )
    commitment: str | None = Field(
        None,
        description="承诺声明. Leave it out for the fixed text of the issuer type (required "
        "wording for certificates issued from 2026-02-01).",
    )
    basis: Basis = Field(
        "QUALITY_CONTROL",
        description="质量安全控制符合要求 / 自行检测合格 / 委托检测合格. A test basis needs "
        "inspection_event_id: a passing inspection of this lot already in the ledger.",
    )
    inspection_event_id: str | None = None
    upstream_certificates: list[str] = Field(
        default_factory=list,
        description="Certificates of the lots a purchaser merged or split (at least one for "
        "a purchaser); each must be in the ledger and not void.",
    )


class CertificateIn(BaseModel):
    """A certificate to issue; the service adds the code, the event id (unless given) and time."""

    model_config = ConfigDict(extra="forbid")

    payload: CertificatePayloadIn
    quantity: str = Field(description='Decimal string, e.g. "500" (with unit).')
    unit: str = Field(description="e.g. kg, 箱, 头.")
    lot_codes: list[str] = Field(
        default_factory=list,
        description="Trace codes of the goods covered (GS1 lot/unit codes, SSCCs).",
    )
    location: LocationIn | None = None
    occurred_at: datetime | None = Field(None, description="RFC 3339 with offset; default: now.")
    event_id: str | None = Field(
        None, description="A UUID of your own to make retries safe; default: a new one."
    )


class CertificateOut(BaseModel):
    code: str = Field(description="The certificate code (合格证编号).")
    event_id: str
    status: Literal["accepted", "duplicate"] = Field(
        description="duplicate: this event_id was already issued; the stored certificate."
    )
    committed: bool = Field(description="True when it is in the ledger already (not queued).")
    scan_url: str = Field(description="What the QR code holds: the consumer scan page.")
    qr_svg_url: str
    qr_png_url: str
    label_url: str = Field(description="The printable 合格证 label (SVG).")
    event: dict[str, Any] = Field(description="The CertificateIssued event (JSON form).")


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="Why it is voided (作废原因).")
    replacement: str | None = Field(
        None, description="Code of the certificate issued in its place (issue it first)."
    )
    occurred_at: datetime | None = None
    event_id: str | None = None


class VoidOut(BaseModel):
    code: str
    event_id: str
    status: Literal["accepted", "duplicate"]
    committed: bool
    reason: str
    replacement_code: str | None
    scan_url: str
    replacement_scan_url: str | None


# --- issuing ------------------------------------------------------------------------------------


@router.post(
    "/v1/certificates",
    status_code=201,
    response_model=CertificateOut,
    responses={
        **_AUTH,
        **_RECORDING,
        200: {"model": CertificateOut, "description": "This event_id was issued before."},
        422: {
            "model": ErrorOut,
            "description": "A field is missing or breaks a rule (e.g. payload.commitment, "
            "payload.inspection_event_id, payload.upstream_certificates[0], lot_codes[1]).",
        },
    },
    summary="Issue a 承诺达标合格证 (producer token)",
)
def post_certificate(
    body: CertificateIn,
    producer: ProducerDep,
    context: ContextDep,
    request: Request,
    response: Response,
) -> CertificateOut:
    """Draws the certificate code, checks the certificate against the 2025 rules and the ledger,
    signs it with the organisation's custodial key and records it."""
    organisation = producer.organisation
    base_url = _base_url(request)
    if body.event_id is not None:
        earlier = _earlier(context, body.event_id, organisation, "CertificateIssued")
        if earlier is not None:
            response.status_code = 200
            return _certificate_out(earlier, "duplicate", True, base_url)
    source = f"http:{secrets.token_hex(6)} certificate"
    occurred_at = body.occurred_at or datetime.now().astimezone()
    try:
        contact = body.payload.contact or organisation_contact(context.engine, organisation)
        if contact is None:
            raise InvalidInputError("payload.contact", None, NO_CONTACT_RULE)
        event = certificate_event(
            _draft(body, contact, body.payload.issue_date or _china_day(occurred_at)),
            actor=organisation,
            code=new_certificate_code(),
            event_id=body.event_id,
            occurred_at=occurred_at,
        )
        check_certificate(event, context.store)
    except InvalidInputError as err:
        _record(context, organisation, source, err, body.event_id)
        raise ApiError.from_input(err, rename=_certificate_field) from None
    event, status, committed = _submit(context, organisation, event)
    response.headers["Location"] = certificate_links(base_url, _own_code(event)).scan_url
    return _certificate_out(event, status, committed, base_url)


def _draft(body: CertificateIn, contact: str, issue_date: date) -> CertificateDraft:
    payload = body.payload
    return CertificateDraft(
        issuer_type=payload.issuer_type,
        product_name=payload.product_name,
        category=payload.category,
        quantity=body.quantity,
        unit=body.unit,
        origin=payload.origin,
        issue_date=issue_date,
        contact=contact,
        basis=payload.basis,
        commitment=payload.commitment,
        origin_region_code=payload.origin_region_code,
        inspection_event_id=payload.inspection_event_id,
        upstream_certificates=payload.upstream_certificates,
        lot_codes=body.lot_codes,
        location=None if body.location is None else body.location.model_dump(),
    )


def _china_day(at: datetime) -> date:
    """The date printed by default: the day in China (UTC+8) when it is issued, whatever
    zone the service runs in."""
    return at.astimezone(CHINA_TIME).date()


def _certificate_field(field: str) -> str:
    """The request's name for a field of the event: the lot codes follow the certificate code."""
    if field.startswith("codes[") and field != "codes[0]":
        index = int(field[len("codes[") : field.index("]")])
        return f"lot_codes[{index - 1}]" + field[field.index("]") + 1 :]
    return {"codes[0]": "code", "actor": "Authorization"}.get(field, field)


def _certificate_out(event: Event, status: str, committed: bool, base_url: str) -> CertificateOut:
    code = _own_code(event)
    links = certificate_links(base_url, code)
    return CertificateOut(
        code=code,
        event_id=event.event_id,
        status="duplicate" if status == "duplicate" else "accepted",
        committed=committed,
        scan_url=links.scan_url,
        qr_svg_url=links.qr_svg_url,
        qr_png_url=links.qr_png_url,
        label_url=links.label_url,
        event=event_to_json(event),
    )


# --- voiding ------------------------------------------------------------------------------------


@router.post(
    "/v1/certificates/{code}/void",
    status_code=201,
    response_model=VoidOut,
    responses={
        **_AUTH,
        **_RECORDING,
        200: {"model": VoidOut, "description": "This event_id voided the certificate before."},
        400: {"model": ErrorOut, "description": "The code is not a certificate code."},
        404: {"model": ErrorOut, "description": "No certificate has this code."},
        422: {"model": ErrorOut, "description": "reason or replacement breaks a rule."},
    },
    summary="Void a 合格证 (作废), pointing to its replacement (the issuer's producer token)",
)
def post_void(
    code: Annotated[str, Path(description="The certificate code to void.")],
    body: VoidIn,
    producer: ProducerDep,
    context: ContextDep,
    request: Request,
    response: Response,
) -> VoidOut:
    """Records a CertificateVoided event: the certificate stays visible, marked void with its
    reason and a link to its replacement. Issue the replacement first (POST /v1/certificates)."""
    organisation = producer.organisation
    base_url = _base_url(request)
    canonical = _path_certificate_code(code)
    if body.event_id is not None:
        earlier = _earlier(context, body.event_id, organisation, "CertificateVoided")
        if earlier is not None and canonical in earlier.codes:
            response.status_code = 200
            return _void_out(earlier, "duplicate", True, base_url)
    _check_voidable(context, organisation, canonical, body.replacement)
    source = f"http:{secrets.token_hex(6)} void"
    try:
        event = void_event(
            canonical,
            actor=organisation,
            reason=body.reason,
            replacement=body.replacement,
            event_id=body.event_id,
            occurred_at=body.occurred_at,
        )
        check_certificate(event, context.store)
    except InvalidInputError as err:
        _record(context, organisation, source, err, body.event_id)
        raise ApiError.from_input(err, rename=_void_field) from None
    event, status, committed = _submit(context, organisation, event)
    return _void_out(event, status, committed, base_url)


def _path_certificate_code(code: str) -> str:
    try:
        parsed = parse_trace_code(code, field="code")
    except CodeError as err:
        raise ApiError(400, err.reason, err.rule, "code", err.value) from None
    if parsed.kind is not CodeKind.CERTIFICATE:
        raise ApiError(
            400,
            CodeError.reason,
            f"must be a 合格证 certificate code (got a {parsed.kind} code)",
            "code",
            code[:60],
        )
    return parsed.value


def _check_voidable(
    context: AppContext, organisation: str, code: str, replacement: str | None
) -> None:
    """404 for an unknown certificate, 403 for another issuer's, 409 when already void; 422
    when the replacement is not issued yet."""
    codes = [code]
    canonical_replacement = None
    if replacement is not None:
        try:
            canonical_replacement = parse_trace_code(replacement, field="replacement").value
        except CodeError as err:
            raise ApiError(422, err.reason, err.rule, "replacement", err.value) from None
        codes.append(canonical_replacement)
    records = certificate_records(Reads(context.store), codes)
    record = records[code]
    if record.issue is None:
        raise ApiError(
            404, "not_found", f"no certificate with code {code} was issued", "code", code
        )
    if record.issue.actor != organisation:
        raise ApiError(
            403,
            "forbidden",
            f"only the issuer ({record.issue.actor}) may void certificate {code}",
            "Authorization",
        )
    if record.voids:
        raise ApiError(
            409,
            "already_voided",
            f"certificate {code} was already voided (event {record.voids[0].event_id})",
            "code",
            code,
        )
    if canonical_replacement is not None and records[canonical_replacement].issue is None:
        raise ApiError(
            422,
            "invalid_event",
            "no certificate with this code was issued: issue the replacement first "
            "(POST /v1/certificates)",
            "replacement",
            canonical_replacement,
        )


def _void_field(field: str) -> str:
    return {
        "payload.reason": "reason",
        "payload.replacement_code": "replacement",
        "codes[0]": "code",
        "actor": "Authorization",
    }.get(field, field)


def _void_out(event: Event, status: str, committed: bool, base_url: str) -> VoidOut:
    code = _own_code(event)
    replacement = event.payload.get("replacement_code")
    return VoidOut(
        code=code,
        event_id=event.event_id,
        status="duplicate" if status == "duplicate" else "accepted",
        committed=committed,
        reason=str(event.payload["reason"]),
        replacement_code=None if replacement is None else str(replacement),
        scan_url=scan_url(base_url, code),
        replacement_scan_url=None if replacement is None else scan_url(base_url, str(replacement)),
    )


# --- shared -------------------------------------------------------------------------------------


def _base_url(request: Request) -> str:
    """Where the query service answers scans (the base of scan URLs)."""
    settings = getattr(request.app.state, "settings", None) or get_settings()
    return str(settings.public_base_url).rstrip("/")


def _own_code(event: Event) -> str:
    return own_certificate_code(event) or ""


def _earlier(
    context: AppContext, event_id: str, organisation: str, event_type: str
) -> Event | None:
    """The stored event with ``event_id`` (a retry), or ``None``; 409 when it is another one."""
    event = Reads(context.store).by_id(event_id)
    if event is None:
        return None
    if event.event_type != event_type or event.actor != organisation:
        raise ApiError(
            409,
            "event_id_taken",
            f"event_id {event_id} is already another event of the ledger",
            "event_id",
            event_id,
        )
    return event


def _submit(context: AppContext, organisation: str, event: Event) -> tuple[Event, str, bool]:
    """Sign with the custodial key and record, as ``POST /v1/events`` does: the event as stored
    (another request with the same ``event_id`` may have been first), its status, committed."""
    result = context.capture.submit_event(organisation, event)
    context.metrics.count_events(result)
    outcome = result.outcomes[0]
    if outcome.status is EventStatus.REJECTED:
        status = 409 if outcome.reason in _KEY_REASONS else 422
        raise ApiError(
            status, outcome.reason or "rejected", outcome.rule or "refused", outcome.field
        )
    if outcome.status is EventStatus.DUPLICATE:
        stored = Reads(context.store).by_id(event.event_id)
        if stored is None or stored.actor != organisation or stored.event_type != event.event_type:
            raise ApiError(
                409,
                "event_id_taken",
                f"event_id {event.event_id} is already another event of the ledger",
                "event_id",
                event.event_id,
            )
        return stored, outcome.status.value, result.committed
    return event, outcome.status.value, result.committed


def _record(
    context: AppContext,
    organisation: str,
    source: str,
    err: InvalidInputError,
    event_id: str | None,
) -> None:
    """Keep the refusal where GET /v1/rejections shows it (nothing is lost, design.md §6)."""
    rejection = Rejection(
        source=source,
        reason=err.reason,
        rule=err.rule,
        field=err.field,
        event_id=event_id if event_id is not None and len(event_id) <= _MAX_EVENT_ID else None,
        actor=organisation,
    )
    try:
        context.capture.transport.reject([rejection])
    except TransportError as failure:
        log.error("could not record a refused certificate: %s", failure)
