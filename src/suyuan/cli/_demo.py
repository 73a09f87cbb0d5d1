"""``suyuan demo``: the embedded default (SQLite, no broker) loaded with the demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suyuan.cli._common import DbOption, console, database_url, fail, open_store
from suyuan.config import get_settings
from suyuan.errors import KeyFileError
from suyuan.ledger import Auditor, Ledger, LedgerError, initialise, load_or_create_ledger_key


def demo(
    seed: Annotated[int, typer.Option(help="Seed of the deterministic demo data.")] = 2026,
    db: DbOption = None,
    ledger_key: Annotated[
        Path | None, typer.Option(help="Ledger key file (default: beside a SQLite database).")
    ] = None,
) -> None:
    """Load the demo chain into an embedded ledger, audit it, and print codes to look at."""
    from suyuan.codes import scan_url
    from suyuan.demo import build_demo
    from suyuan.intake import LedgerWriter, Message

    settings = get_settings()
    url = database_url(db)
    data = build_demo(seed)
    key_path = ledger_key or Path(settings.ledger_key_file)
    try:
        signer = load_or_create_ledger_key(key_path, settings.ledger_name)
    except KeyFileError as err:
        fail(str(err))
    store = open_store(url, create=True)
    try:
        initialise(store, signer.verifier, [data.scenario.root])
    except LedgerError as err:
        fail(f"{err}: the demo needs a ledger of its own (pass another --db)")
    writer = LedgerWriter(store, [data.scenario.root])
    accepted = duplicates = rejected = 0
    for number, message in enumerate(data.messages):
        result = writer.write(0, [Message(f"demo#{number}", message)])
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += len(result.rejections)
    ledger = Ledger(store, signer)
    ledger.checkpoint(0)
    report = Auditor(store, signer.verifier, [data.scenario.root], ledger_name=signer.name).run()

    console.print(f"[bold]Suyuan demo[/] — ledger {url}")
    console.print(
        f"{data.events} events sent: {accepted} appended, {duplicates} already in the ledger, "
        f"{rejected} rejected; audit: "
        + ("[green]OK[/]" if report.ok else f"[red]{report.findings[0]}[/]")
    )
    console.print("Codes to look at (the scan page is not served yet):")
    for label, code in data.codes.items():
        typer.echo(f"  {label:<22} {code}\n  {'':<22} {scan_url(settings.public_base_url, code)}")
    last_event = store.entry(0, store.head(0).size - 1).event_id
    typer.echo("Try:")
    typer.echo(f"  .venv/bin/suyuan ledger stats --db {url}")
    typer.echo(f"  .venv/bin/suyuan verify --db {url}")
    typer.echo(f"  .venv/bin/suyuan prove {last_event} --db {url} --out receipt.txt")
    typer.echo(
        f"  .venv/bin/suyuan verify-receipt receipt.txt --key {key_path.with_suffix('.pub')}"
    )
    if not report.ok:
        raise typer.Exit(1)
