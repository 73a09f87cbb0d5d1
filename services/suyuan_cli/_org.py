"""``suyuan org show`` and ``suyuan org contact``: an organisation's 联系方式 (docs/food-chain.md).

Over HTTP with the organisation's producer token (``--url``/``--token`` or ``SUYUAN_URL``/
``SUYUAN_TOKEN``), or locally by an operator on the database (``--org USCC --db URL``). The
contact is what certificates issued without ``--contact`` print.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from suyuan.errors import InvalidInputError
from suyuan_cli._certs import EXIT_REFUSED, TokenOption, UrlOption, http_target, over_http
from suyuan_cli._common import DbOption, fail, open_store

app = typer.Typer(help="Your organisation: its 联系方式 (contact telephone).", no_args_is_help=True)

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
