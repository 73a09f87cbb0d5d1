"""``suyuan cert issue`` and ``suyuan cert void``: 承诺达标合格证 from the shell (design.md §4).

Signed with the producer's own key file and appended to an embedded ledger (``--db``), after the
same checks as ``POST /v1/certificates`` (``suyuan.foodchain``). The key's organisation, as the
trust chain registered it, is the issuer. ``issue`` prints the new certificate code alone on
stdout (``--json``: the code, the event and its links), the links on stderr.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from suyuan.cli._common import DbOption, errors, fail, open_store
from suyuan.config import get_settings
from suyuan.errors import InvalidInputError, KeyFileError
from suyuan.events.model import Event
from suyuan.ledger import LedgerError, SqlLedgerStore

if TYPE_CHECKING:
    from suyuan.signing import SigningKey

app = typer.Typer(
    help="承诺达标合格证: issue and void certificates (design.md §4).", no_args_is_help=True
)

KeyOption = Annotated[
    Path, typer.Option("--key", help="The issuer's signing key (.key), registered in the ledger.")
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", help="Base of scan URLs (default: SUYUAN_PUBLIC_BASE_URL)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command("issue")
def cert_issue(
    key: KeyOption,
    product: Annotated[str, typer.Option(help="产品名称, e.g. 小青菜.")],
    category: Annotated[
        str, typer.Option(help="VEGETABLES, FRUIT, TEA, LIVESTOCK, POULTRY, EGGS or AQUATIC.")
    ],
    quantity: Annotated[str, typer.Option(help="数量, a decimal, e.g. 500.")],
    origin: Annotated[str, typer.Option(help="产地.")],
    contact: Annotated[str, typer.Option(help="联系方式: a telephone number.")],
    unit: Annotated[str, typer.Option(help="Unit of the quantity.")] = "kg",
    issuer_type: Annotated[
        str, typer.Option("--issuer-type", help="producer (生产者) or purchaser (收购者).")
    ] = "producer",
    issue_date: Annotated[
        str | None, typer.Option("--issue-date", help="开具日期 YYYY-MM-DD (default: today).")
    ] = None,
    basis: Annotated[
        str, typer.Option(help="QUALITY_CONTROL, SELF_TESTED or COMMISSIONED_TESTED.")
    ] = "QUALITY_CONTROL",
    inspection: Annotated[
        str | None,
        typer.Option(help="event_id of the passing inspection a test basis rests on."),
    ] = None,
    upstream: Annotated[
        list[str] | None,
        typer.Option(help="Certificate code of a lot merged or split (purchasers; repeat)."),
    ] = None,
    lot: Annotated[
        list[str] | None, typer.Option(help="Trace code of the goods covered (repeat).")
    ] = None,
    origin_region: Annotated[
        str | None, typer.Option("--origin-region", help="GB/T 2260 code of the 产地.")
    ] = None,
    commitment: Annotated[
        str | None,
        typer.Option(help="承诺声明 (default: the fixed text of the issuer type, 2025 rules)."),
    ] = None,
    base_url: BaseUrlOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Issue a certificate: check it, sign it with --key and append it to the ledger."""
    from suyuan.codes import new_certificate_code
    from suyuan.foodchain import CertificateDraft, certificate_event

    store = open_store(db)
    try:
        signer, organisation = _signer(store, key)
        draft = CertificateDraft(
            issuer_type=issuer_type.upper(),
            product_name=product,
            category=category.upper(),
            quantity=quantity,
            unit=unit,
            origin=origin,
            issue_date=_date(issue_date),
            contact=contact,
            basis=basis.upper(),
            commitment=commitment,
            origin_region_code=origin_region,
            inspection_event_id=inspection,
            upstream_certificates=upstream or [],
            lot_codes=lot or [],
        )
        event = certificate_event(draft, actor=organisation, code=new_certificate_code())
        _record(store, signer, organisation, event)
    except InvalidInputError as err:
        _refused(err)
    finally:
        store.close()
    _report(event, base_url, as_json, "issued")


@app.command("void")
def cert_void(
    code: Annotated[str, typer.Argument(help="The certificate code to void.")],
    key: KeyOption,
    reason: Annotated[str, typer.Option(help="作废原因.")],
    replacement: Annotated[
        str | None, typer.Option(help="Code of the certificate issued in its place.")
    ] = None,
    base_url: BaseUrlOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Void a certificate (it stays visible, marked void, pointing to its replacement)."""
    from suyuan.foodchain import void_event

    store = open_store(db)
    try:
        signer, organisation = _signer(store, key)
        event = void_event(code, actor=organisation, reason=reason, replacement=replacement)
        _record(store, signer, organisation, event)
    except InvalidInputError as err:
        _refused(err)
    finally:
        store.close()
    _report(event, base_url, as_json, "voided")


def _signer(store: SqlLedgerStore, path: Path) -> tuple[SigningKey, str]:
    """The key of ``path`` and the organisation the trust chain registered it for."""
    from suyuan.follower import load_trust
    from suyuan.ledger import root_keys
    from suyuan.signing import load_signing_key

    try:
        signer = load_signing_key(path)
        trust = load_trust(store, root_keys(store))
    except (KeyFileError, LedgerError) as err:
        fail(str(err))
    return signer, trust.organisation_of(signer.key_id)


def _record(store: SqlLedgerStore, signer: SigningKey, organisation: str, event: Event) -> None:
    """Check ``event`` against the ledger, sign it and append it (through the one write path).

    Raises:
        InvalidInputError: a rule is broken, or the ledger refused the event.
    """
    from suyuan.events import encode_batch, encode_event
    from suyuan.foodchain import check_certificate
    from suyuan.ledger import root_keys
    from suyuan.signing import sign_batch
    from suyuan.transport import EmbeddedTransport, EventStatus

    check_certificate(event, store)
    message = encode_batch(sign_batch(signer, [encode_event(event)]))
    transport = EmbeddedTransport(store, root_keys(store))
    outcome = transport.submit([message], key=organisation, source="cli:cert").outcomes[0]
    if outcome.status is EventStatus.REJECTED:
        refused = InvalidInputError(outcome.field or "event", event.event_id, outcome.rule or "")
        refused.reason = outcome.reason or "rejected"
        raise refused


def _date(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--issue-date: must be a date YYYY-MM-DD (got {text!r})")


def _refused(err: InvalidInputError) -> NoReturn:
    fail(f"{err.field}: {err.rule} ({err.reason})")


def _report(event: Event, base_url: str | None, as_json: bool, done: str) -> None:
    from suyuan.events import event_to_json
    from suyuan.foodchain import certificate_links, own_certificate_code

    code = own_certificate_code(event) or ""
    links = certificate_links(base_url or get_settings().public_base_url, code)
    if as_json:
        body = {
            "code": code,
            "event_id": event.event_id,
            "scan_url": links.scan_url,
            "qr_svg_url": links.qr_svg_url,
            "qr_png_url": links.qr_png_url,
            "label_url": links.label_url,
            "event": event_to_json(event),
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    errors.print(f"合格证 {code} {done} (event {event.event_id})", highlight=False)
    errors.print(f"scan page: {links.scan_url}", highlight=False)
    errors.print(f"QR image:  {links.qr_svg_url}", highlight=False)
    errors.print(f"label:     {links.label_url}", highlight=False)
    typer.echo(code)
