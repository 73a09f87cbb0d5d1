"""``suyuan org``: an organisation's 联系方式 (docs/food-chain.md) and its GLNs (docs/epcis.md).

Over HTTP with a token (``--url``/``--token`` or ``SUYUAN_URL``/``SUYUAN_TOKEN``): the
organisation's producer token for ``show``, ``contact`` and ``glns``, an admin token for
``gln``. Or locally by an operator on the database (``--org USCC --db URL``). The contact is
what certificates issued without ``--contact`` print; a GLN names one of the organisation's
places, or the organisation itself, in EPCIS documents it captures.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from suyuan.errors import InvalidInputError
from suyuan_cli._certs import EXIT_REFUSED, TokenOption, UrlOption, http_target, over_http
from suyuan_cli._common import DbOption, fail, open_store

app = typer.Typer(
    help="An organisation: its 联系方式 (contact telephone) and its GLNs (places, itself).",
    no_args_is_help=True,
)

OrgOption = Annotated[
    str | None,
    typer.Option("--org", help="Local mode: the organisation's USCC (with --db)."),
]


@app.command("show")
def org_show(
    org: OrgOption = None,
    db: DbOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Print the organisation (as registered) and its 联系方式 as JSON."""
    if org is None:
        answer = over_http(http_target(url, token), lambda client: client.organisation())
        _print(answer)
        return
    _print(_local(org, db, None))


@app.command("contact")
def org_contact(
    contact: Annotated[str, typer.Argument(help="联系方式: a telephone number.")],
    org: OrgOption = None,
    db: DbOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Set the 联系方式 that certificates issued without --contact print from now on."""
    if org is None:
        answer = over_http(http_target(url, token), lambda client: client.set_contact(contact))
        _print(answer)
        return
    _print(_local(org, db, contact))


@app.command("glns")
def org_glns(
    org: OrgOption = None,
    db: DbOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Print the GLNs registered to the organisation as JSON."""
    if org is None:
        _print(over_http(http_target(url, token), lambda client: client.glns()))
        return
    from suyuan.places import organisation_glns

    store = open_store(db)
    try:
        _print({"glns": [_gln_json(e) for e in organisation_glns(store.engine, org)]})
    finally:
        store.close()


@app.command("gln")
def org_gln(
    uscc: Annotated[str, typer.Argument(help="The organisation's USCC (统一社会信用代码).")],
    gln: Annotated[str, typer.Argument(help="The 13-digit GLN GS1 assigned to it.")],
    kind: Annotated[
        str, typer.Option("--kind", help="place (one of its sites) or party (itself).")
    ] = "place",
    region_code: Annotated[
        str | None, typer.Option("--region-code", help="A place's GB/T 2260 region code.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A place's name.")] = None,
    address: Annotated[str | None, typer.Option("--address", help="A place's address.")] = None,
    db: DbOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Register a GLN of an organisation (an admin's or operator's task: GS1 assigns GLNs, and
    one is one organisation's only). Over HTTP with an admin token, or locally with --db."""
    body = {"kind": kind, "region_code": region_code, "name": name, "address": address}
    if db is None:
        _print(
            over_http(http_target(url, token), lambda client: client.register_gln(uscc, gln, body))
        )
        return
    _print(_local_gln(uscc, gln, body, db))


def _local_gln(uscc: str, gln: str, body: dict[str, Any], db: str) -> dict[str, Any]:
    from suyuan.directory import Directory
    from suyuan.places import GlnEntry, GlnKind, register_gln

    try:
        entry_kind = GlnKind(body["kind"])
    except ValueError:
        fail(f"--kind: must be one of {', '.join(k.value for k in GlnKind)}", EXIT_REFUSED)
    store = open_store(db)
    try:
        if Directory(store).get(uscc) is None:
            fail(f"uscc: no organisation {uscc} is registered in the ledger", EXIT_REFUSED)
        try:
            entry = register_gln(
                store.engine,
                GlnEntry(
                    gln,
                    entry_kind,
                    uscc,
                    body["region_code"],
                    body["name"],
                    body["address"],
                ),
            )
        except InvalidInputError as err:
            lines = (f"{p.field}: {p.rule} ({p.reason})" for p in err.problems())
            fail("; ".join(lines), EXIT_REFUSED)
        return _gln_json(entry)
    finally:
        store.close()


def _gln_json(entry: Any) -> dict[str, Any]:
    return {
        "gln": entry.gln,
        "kind": entry.kind.value,
        "organisation": entry.organisation,
        "region_code": entry.region_code,
        "name": entry.name,
        "address": entry.address,
    }


def _local(org: str, db: str | None, contact: str | None) -> dict[str, Any]:
    from suyuan.contacts import organisation_contact, set_organisation_contact
    from suyuan.directory import Directory

    store = open_store(db)
    try:
        if contact is not None:
            try:
                set_organisation_contact(store.engine, org, contact)
            except InvalidInputError as err:
                fail(f"{err.field}: {err.rule} ({err.reason})", EXIT_REFUSED)
        registered = Directory(store).get(org)
        return {
            "uscc": org,
            "name": None if registered is None else registered.name,
            "roles": [] if registered is None else sorted(registered.roles),
            "region_code": None if registered is None else registered.region,
            "contact": organisation_contact(store.engine, org),
        }
    finally:
        store.close()


def _print(answer: dict[str, Any]) -> None:
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
