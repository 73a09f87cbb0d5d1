"""An issuer's own 合格证 over HTTP (docs/http-query.md § Certificates).

- ``GET /v1/certificates``: the caller organisation's certificates (a regulator names an
  ``issuer`` of its region), filtered, newest first, in cursor pages; ``?format=csv|xlsx``.
- ``GET /v1/certificates/{code}``: one of them, with its status, voids and replacement, and its
  scan, QR and label URLs. Another organisation's certificate is 404, as an unknown code is.

Reads live here, in the query service, beside the other reads of the ledger; issuing and
voiding stay writes of the capture API. Thin: ``suyuan.foodchain.list_certificates`` and
``find_certificate`` do the work.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from suyuan.auth import Principal, Role
from suyuan.codes import CodeKind, parse_trace_code
from suyuan.directory import Directory
from suyuan.errors import CodeError, InvalidInputError
from suyuan.exports import Cell, Table
from suyuan.foodchain import (
    CERTIFICATE_STATUSES,
    MAX_CERTIFICATE_PAGE,
    IssuedCertificate,
    certificate_links,
    find_certificate,
    goods_codes,
    list_certificates,
    region_within,
)
from suyuan_http import (
    EXPORT_RESPONSES,
    ApiError,
    FormatQuery,
    export_response,
    requested_format,
    require_role,
)

from ._deps import ContextDep, PrincipalDep
from ._models import ErrorOut
from ._routes_alerts import _monitor

router = APIRouter(tags=["certificates"])

_READERS = frozenset({Role.PRODUCER, Role.REGULATOR})
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {
        "model": ErrorOut,
        "description": "Neither a producer nor a regulator token; or an issuer outside the "
        "regulator's region.",
    },
}


class VoidOut(BaseModel):
    event_id: str
    voided_at: str = Field(description="RFC 3339: when it was voided (occurred_at).")
    reason: str
    replacement_code: str | None


class IssuedCertificateOut(BaseModel):
    code: str = Field(description="The certificate code (合格证编号).")
    event_id: str
    issuer: str = Field(description="USCC of the issuing organisation.")
    issuer_name: str | None
    issuer_type: str
    product_name: str
    category: str
    quantity: str | None
    unit: str | None
    origin: str
    issue_date: date
    issued_at: str = Field(description="RFC 3339: when it was recorded as issued.")
    contact: str = Field(description="联系方式 as printed on the certificate.")
    basis: str
    lot_codes: list[str]
    upstream_certificates: list[str]
    status: Literal["valid", "voided", "replaced"] = Field(
        description="valid; voided (no replacement named); replaced (voided and reissued)."
    )
    replacement_code: str | None
    replaces: list[str] = Field(description="Certificates voided with this one as replacement.")
    voids: list[VoidOut]
    scan_url: str = Field(description="What the QR code holds: the consumer scan page.")
    qr_svg_url: str
    qr_png_url: str
    label_url: str = Field(
        description="The printable label (SVG; the issuer's token adds 联系方式)."
    )


class CertificatesOut(BaseModel):
    issuer: str
    certificates: list[IssuedCertificateOut]
    count: int = Field(description="How many certificates match in all.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


@router.get(
    "/v1/certificates",
    response_model=CertificatesOut,
    responses={
        **_AUTH,
        **EXPORT_RESPONSES,
        422: {"model": ErrorOut, "description": "A bad query parameter."},
    },
    summary="My 合格证, newest first (producer token; a regulator names an issuer of its region)",
)
def get_certificates(
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
    issuer: Annotated[
        str | None,
        Query(max_length=18, description="USCC of the issuer (regulator tokens only)."),
    ] = None,
    product: Annotated[
        str | None, Query(max_length=100, description="A part of the product name.")
    ] = None,
    since: Annotated[date | None, Query(alias="from", description="Issued on or after.")] = None,
    until: Annotated[date | None, Query(alias="to", description="Issued on or before.")] = None,
    status: Annotated[
        Literal["valid", "voided", "replaced"] | None,
        Query(description=f"Only these ({', '.join(CERTIFICATE_STATUSES)})."),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CERTIFICATE_PAGE)] = 50,
    fmt: FormatQuery = None,
) -> CertificatesOut | Response:
    """A producer token lists its organisation's certificates (`issuer` may only name it); a
    regulator token those of the `issuer` it names, which must be registered within its
    region. `format=csv|xlsx`: the same page as a file, one row per certificate; the next
    page's cursor is in the `X-Next-Cursor` header."""
    export = requested_format(fmt)
    monitor = _monitor(request, context.store)
    reads = monitor.reads()
    owner = _issuer(caller, issuer, reads.directory)
    base_url = context.settings.public_base_url
    try:
        page = list_certificates(
            reads,
            monitor.events(["CertificateIssued"], actor=owner),
            product=product,
            since=since,
            until=until,
            status=status,
            cursor=cursor,
            limit=limit,
        )
    except InvalidInputError as err:
        field = {"since": "from"}.get(err.field, err.field)
        raise ApiError.from_input(err, field=field) from None
    shown = [_out(c, reads.directory, base_url) for c in page.certificates]
    if export != "json":
        response = export_response(certificates_table(shown), export, "certificates")
        if page.next_cursor is not None:
            response.headers["X-Next-Cursor"] = page.next_cursor
        return response
    return CertificatesOut(
        issuer=owner, certificates=shown, count=page.count, next_cursor=page.next_cursor
    )


@router.get(
    "/v1/certificates/{code}",
    response_model=IssuedCertificateOut,
    responses={
        **_AUTH,
        400: {"model": ErrorOut, "description": "Not a certificate code."},
        404: {
            "model": ErrorOut,
            "description": "No certificate of the caller's (or, for a regulator, of its "
            "region's issuers) has this code; another organisation's is not revealed.",
        },
    },
    summary="One of my 合格证: status, voids, replacement, scan and label URLs",
)
def get_certificate(
    code: Annotated[str, Path(description="The certificate code.")],
    caller: PrincipalDep,
    context: ContextDep,
    request: Request,
) -> IssuedCertificateOut:
    """The certificate as its issuer sees it (with 联系方式 and quantity, which the public
    trace leaves out). A producer sees only its organisation's, a regulator those of issuers
    registered within its region: anything else answers 404, exactly like an unknown code."""
    require_role(caller, _READERS, "a producer or regulator token")
    canonical = _certificate_code(code)
    reads = _monitor(request, context.store).reads()
    found = find_certificate(reads, canonical)
    if found is None or not _may_see(caller, found.issue.actor, reads.directory):
        raise ApiError(
            404, "not_found", f"none of your certificates has code {canonical}", "code", canonical
        )
    return _out(found, reads.directory, context.settings.public_base_url)


def certificates_table(certificates: list[IssuedCertificateOut]) -> Table:
    """The rows of ``GET /v1/certificates?format=csv|xlsx``."""
    columns = (
        "code",
        "issue_date",
        "product_name",
        "category",
        "quantity",
        "unit",
        "origin",
        "basis",
        "status",
        "replacement_code",
        "lot_codes",
        "issued_at",
        "scan_url",
    )
    rows: list[list[Cell]] = [
        [
            c.code,
            c.issue_date,
            c.product_name,
            c.category,
            c.quantity,
            c.unit,
            c.origin,
            c.basis,
            c.status,
            c.replacement_code,
            " ".join(c.lot_codes),
            c.issued_at,
            c.scan_url,
        ]
        for c in certificates
    ]
    return Table(columns, rows, sheet="certificates")


def _issuer(caller: Principal, issuer: str | None, directory: Directory) -> str:
    """Whose certificates ``caller`` lists: its own (producer) or ``issuer`` (regulator)."""
    require_role(caller, _READERS, "a producer or regulator token")
    if caller.role is Role.PRODUCER:
        own = caller.organisation or ""
        if issuer is not None and issuer != own:
            raise ApiError(
                403,
                "forbidden",
                "a producer token lists only its own organisation's certificates",
                "issuer",
                issuer,
            )
        return own
    if issuer is None:
        raise ApiError(
            422, "invalid_input", "a regulator token names the issuer (a USCC)", "issuer"
        )
    if not _may_see(caller, issuer, directory):
        raise ApiError(
            403,
            "forbidden",
            f"issuer {issuer} is not registered within this regulator token's region "
            f"{caller.region}",
            "issuer",
            issuer,
        )
    return issuer


def _may_see(caller: Principal, issuer: str, directory: Directory) -> bool:
    if caller.role is Role.PRODUCER:
        return caller.organisation == issuer
    region = directory.region(issuer)
    return region is not None and caller.region is not None and region_within(region, caller.region)


def _certificate_code(code: str) -> str:
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


def _out(
    certificate: IssuedCertificate, directory: Directory, base_url: str
) -> IssuedCertificateOut:
    issue = certificate.issue
    payload = issue.payload
    links = certificate_links(base_url, certificate.code)
    return IssuedCertificateOut(
        code=certificate.code,
        event_id=issue.event_id,
        issuer=issue.actor,
        issuer_name=directory.name(issue.actor),
        issuer_type=str(payload.get("issuer_type", "")),
        product_name=str(payload.get("product_name", "")),
        category=str(payload.get("category", "")),
        quantity=certificate.quantity,
        unit=issue.unit,
        origin=str(payload.get("origin", "")),
        issue_date=certificate.issue_date,
        issued_at=certificate.issued_at.isoformat(),
        contact=str(payload.get("contact", "")),
        basis=str(payload.get("basis", "")),
        lot_codes=list(goods_codes(issue)),
        upstream_certificates=[str(c) for c in payload.get("upstream_certificates", ())],
        status=_status(certificate.status),
        replacement_code=certificate.replacement_code,
        replaces=list(certificate.replaces),
        voids=[
            VoidOut(
                event_id=v.event_id,
                voided_at=v.occurred_at.isoformat(),
                reason=str(v.payload.get("reason", "")),
                replacement_code=(
                    None
                    if v.payload.get("replacement_code") is None
                    else str(v.payload["replacement_code"])
                ),
            )
            for v in certificate.voids
        ],
        scan_url=links.scan_url,
        qr_svg_url=links.qr_svg_url,
        qr_png_url=links.qr_png_url,
        label_url=links.label_url,
    )


def _status(value: str) -> Literal["valid", "voided", "replaced"]:
    if value == "voided":
        return "voided"
    if value == "replaced":
        return "replaced"
    return "valid"
