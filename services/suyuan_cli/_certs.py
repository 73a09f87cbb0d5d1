"""``suyuan cert issue`` and ``suyuan cert void``: 承诺达标合格证 from the shell (design.md §4).

Two ways, the same options:

- **over HTTP** (``--url``/``SUYUAN_URL`` and ``--token``/``SUYUAN_TOKEN``): the capture API
  checks, signs (the organisation's custodial key) and records it — ``POST /v1/certificates``;
- **local** (``--key`` and ``--db``): signed with the producer's own key file and appended to an
  embedded ledger, after the same checks (``suyuan.foodchain``); the key's organisation, as the
  trust chain registered it, is the issuer.

``issue`` prints the new certificate code alone on stdout (``--json``: the code, the event and
its links), the links on stderr. Without ``--contact`` the organisation's own 联系方式 is printed
(``suyuan org contact``). Exit status: 2 when a rule refuses it (the field and rule are shown),
3 when the token is refused, 4 when the service cannot be reached or cannot answer now.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from suyuan.config import get_settings
from suyuan.errors import InvalidInputError, KeyFileError
from suyuan.events.model import Event
from suyuan.ledger import LedgerError, SqlLedgerStore
from suyuan_cli._common import DbOption, errors, fail, open_store

if TYPE_CHECKING:
    from suyuan.client import IngestClient
    from suyuan.signing import SigningKey

app = typer.Typer(
    help="承诺达标合格证: issue and void certificates (design.md §4).", no_args_is_help=True
)

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key", help="Local mode: the issuer's signing key (.key), registered in the ledger."
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The ingest API, e.g. http://127.0.0.1:8001 (or SUYUAN_URL)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help="The organisation's producer token sy_… (or SUYUAN_TOKEN)."),
]
_T = TypeVar("_T")
#: Exit statuses of a refused call (docs/food-chain.md § From the command line).
EXIT_REFUSED = 2
EXIT_TOKEN = 3
EXIT_UNAVAILABLE = 4
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", help="Base of scan URLs (default: SUYUAN_PUBLIC_BASE_URL)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command("issue")
def cert_issue(
    product: Annotated[str, typer.Option(help="产品名称, e.g. 小青菜.")],
    category: Annotated[
        str, typer.Option(help="VEGETABLES, FRUIT, TEA, LIVESTOCK, POULTRY, EGGS or AQUATIC.")
    ],
    quantity: Annotated[str, typer.Option(help="数量, a decimal, e.g. 500.")],
    origin: Annotated[str, typer.Option(help="产地.")],
    contact: Annotated[
        str | None,
        typer.Option(help="联系方式: a telephone number (default: the organisation's own)."),
    ] = None,
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
    url: UrlOption = None,
    token: TokenOption = None,
    key: KeyOption = None,
    label: Annotated[
        Path | None,
        typer.Option(
            "--label", help="Over HTTP: save the printable label (SVG, with 联系方式) here."
        ),
    ] = None,
) -> None:
    """Issue a certificate: over HTTP with --url and --token, or signed with --key and
    appended to the ledger at --db."""
    from suyuan.codes import new_certificate_code
    from suyuan.contacts import organisation_contact
    from suyuan.foodchain import CertificateDraft, certificate_event

    day = _date(issue_date)
    target = remote(key, url, token)
    if target is not None:
        body = {
            "payload": {
                "issuer_type": issuer_type.upper(),
                "product_name": product,
                "category": category.upper(),
                "origin": origin,
                "origin_region_code": origin_region,
                "issue_date": None if day is None else day.isoformat(),
                "contact": contact,
                "commitment": commitment,
                "basis": basis.upper(),
                "inspection_event_id": inspection,
                "upstream_certificates": upstream or [],
            },
            "quantity": quantity,
            "unit": unit,
            "lot_codes": lot or [],
        }
        answer = over_http(target, lambda client: client.issue(body))
        if label is not None:
            drawing = over_http(target, lambda client: client.label(answer["label_url"]))
            label.write_bytes(drawing)
        _report_answer(answer, as_json, "issued")
        return
    if label is not None:
        fail("--label: the label is fetched from the service; use --url and --token")
    assert key is not None
    store = open_store(db)
    try:
        signer, organisation = _signer(store, key)
        printed = contact or organisation_contact(store.engine, organisation)
        if printed is None:
            fail(
                "--contact: give the 联系方式, or set the organisation's once with "
                "`suyuan org contact`",
                EXIT_REFUSED,
            )
        draft = CertificateDraft(
            issuer_type=issuer_type.upper(),
            product_name=product,
            category=category.upper(),
            quantity=quantity,
            unit=unit,
            origin=origin,
            issue_date=day or date.today(),
            contact=printed,
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
    reason: Annotated[str, typer.Option(help="作废原因.")],
    replacement: Annotated[
        str | None, typer.Option(help="Code of the certificate issued in its place.")
    ] = None,
    base_url: BaseUrlOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    key: KeyOption = None,
) -> None:
    """Void a certificate (it stays visible, marked void, pointing to its replacement)."""
    from suyuan.foodchain import void_event

    target = remote(key, url, token)
    if target is not None:
        body = {"reason": reason, "replacement": replacement}
        answer = over_http(target, lambda client: client.void(code, body))
        _report_answer(answer, as_json, "voided")
        return
    assert key is not None
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


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--issue-date: must be a date YYYY-MM-DD (got {text!r})")


def _refused(err: InvalidInputError) -> NoReturn:
    fail(f"{err.field}: {err.rule} ({err.reason})")


def remote(key: Path | None, url: str | None, token: str | None) -> tuple[str, str] | None:
    """The ingest API and token to call, or ``None`` for the local mode (``--key``)."""
    if key is not None:
        if url is not None or token is not None:
            fail("give either --key (local) or --url and --token (over HTTP), not both")
        return None
    return http_target(url, token)


def http_target(url: str | None, token: str | None) -> tuple[str, str]:
    """The ingest API and token to call: the options, else ``SUYUAN_URL``/``SUYUAN_TOKEN``."""
    settings = get_settings()
    url = url or settings.url
    if token is None and settings.token is not None:
        token = settings.token.get_secret_value()
    if not url:
        fail("give --url and --token (or SUYUAN_URL and SUYUAN_TOKEN), or --key and --db")
    if not url.startswith(("http://", "https://")):
        fail(f"--url: must start with http:// or https:// (got {url!r})")
    if not token:
        fail("--token: give the organisation's producer token (or SUYUAN_TOKEN)")
    return url, token


def over_http(remote: tuple[str, str], call: Callable[[IngestClient], _T]) -> _T:
    """``call`` on the ingest API; a refusal exits showing the service's field and rule."""
    from suyuan.client import ApiCallError, IngestClient

    try:
        with IngestClient(*remote) as client:
            return call(client)
    except ApiCallError as err:
        fail(str(err), exit_status(err.status))


def exit_status(status: int) -> int:
    """The exit status of a call the service answered with HTTP ``status`` (0: no answer)."""
    if status in (401, 403):
        return EXIT_TOKEN
    if status == 0 or status == 429 or status >= 500:
        return EXIT_UNAVAILABLE
    return EXIT_REFUSED


def _report_answer(answer: dict[str, Any], as_json: bool, done: str) -> None:
    """Print the service's answer as :func:`_report` prints a local result."""
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    code = str(answer["code"])
    errors.print(f"合格证 {code} {done} (event {answer['event_id']})", highlight=False)
    errors.print(f"scan page: {answer['scan_url']}", highlight=False)
    if "label_url" in answer:
        errors.print(f"QR image:  {answer['qr_svg_url']}", highlight=False)
        errors.print(f"label:     {answer['label_url']}", highlight=False)
    typer.echo(code)


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
