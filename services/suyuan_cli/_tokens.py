"""``suyuan token`` (API tokens) and ``suyuan custody`` (custodial signing keys), design.md §5, §8.

A token is printed once, alone on stdout (so scripts can capture it); it cannot be shown again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from suyuan.ledger import SqlLedgerStore, migrate
from suyuan_cli._common import DbOption, errors, fail, open_store

app = typer.Typer(help="API tokens of the HTTP services (design.md §8).", no_args_is_help=True)
custody_app = typer.Typer(
    help="Custodial signing keys: the service signs for an organisation (design.md §5).",
    no_args_is_help=True,
)


def _open(db: str | None) -> SqlLedgerStore:
    """The ledger at ``db`` with the newest schema (older ledgers lack the token tables)."""
    store = open_store(db)
    migrate(store.engine)
    return store


@app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="producer, regulator or admin.")],
    org: Annotated[
        str | None, typer.Option("--org", help="USCC of the organisation (producer tokens).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="GB/T 2260 region code (regulator tokens), e.g. 330100.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A note for operators.")] = None,
    db: DbOption = None,
) -> None:
    """Make an API token and print it once (only its SHA-256 is stored)."""
    from suyuan.auth import create_token
    from suyuan.errors import InvalidInputError

    store = _open(db)
    try:
        token = create_token(store.engine, role, organisation=org, region=region, label=label)
    except InvalidInputError as err:
        fail(str(err))
    finally:
        store.close()
    scope = org or region or "all"
    errors.print(f"{role} token for {scope} (shown once; keep it secret):", highlight=False)
    typer.echo(token)


@app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token to revoke (sy_…).")],
    db: DbOption = None,
) -> None:
    """Revoke a token for good."""
    from suyuan.auth import AuthError, revoke_token

    store = _open(db)
    try:
        principal = revoke_token(store.engine, token)
    except AuthError as err:
        fail(f"{err} ({err.reason})")
    finally:
        store.close()
    scope = principal.organisation or principal.region or "all"
    typer.echo(f"revoked a {principal.role.value} token for {scope}")


@custody_app.command("create")
def custody_create(
    org: Annotated[str, typer.Option("--org", help="USCC of the organisation.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Write the key's registration event (JSON line) here, not stdout."),
    ] = None,
    regulator: Annotated[
        str | None,
        typer.Option(help="USCC of the root key's regulator (default: the ledger's only one)."),
    ] = None,
    replace: Annotated[bool, typer.Option(help="Add a new key to replace the current one.")] = (
        False
    ),
    db: DbOption = None,
) -> None:
    """Make an organisation's custodial key (stored encrypted) and print its registration event.

    The event must be signed by the regulator's root key before the key can sign:
    `suyuan publish FILE --key ROOT.key --db URL` (or --bootstrap for Kafka).
    """
    from suyuan.codes import validate_uscc
    from suyuan.custody import (
        CustodyError,
        create_custodial_key,
        key_registration_event,
        load_master_key,
    )
    from suyuan.errors import InvalidInputError
    from suyuan.events import event_to_json
    from suyuan.ledger import LedgerError, root_keys

    store = _open(db)
    try:
        organisation = validate_uscc(org, field="--org")
        owner = regulator or _only_regulator([r.organisation for r in root_keys(store)])
        master = load_master_key(create=True)
        key = create_custodial_key(store.engine, master, organisation, replace=replace)
        event = key_registration_event(owner, organisation, key)
    except (CustodyError, InvalidInputError, LedgerError) as err:
        fail(str(err))
    finally:
        store.close()
    line = json.dumps(event_to_json(event), ensure_ascii=False)
    errors.print(f"custodial key {key.key_id} for {organisation}", highlight=False)
    if out is None:
        typer.echo(line)
    else:
        out.write_text(line + "\n", encoding="utf-8")
        errors.print(f"registration event written to {out}", highlight=False)


def _only_regulator(regulators: list[str]) -> str:
    if len(set(regulators)) != 1:
        fail("the ledger has several root keys: pass --regulator USCC")
    return regulators[0]
