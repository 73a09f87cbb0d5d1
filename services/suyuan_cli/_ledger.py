"""``suyuan ledger``, ``verify``, ``prove`` and ``verify-receipt`` (design.md §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from suyuan.config import get_settings
from suyuan.errors import InvalidInputError, KeyFileError, SuyuanError
from suyuan.ledger import (
    Auditor,
    EntryNotFoundError,
    Leaf,
    Ledger,
    LedgerError,
    SqlLedgerStore,
    default_jobs,
    initialise,
    leaf_from_receipt,
    ledger_verifier,
    load_or_create_ledger_key,
    root_keys,
)
from suyuan.runtime import tune_garbage_collector
from suyuan.signing import RootKey, load_verify_key
from suyuan.tlog import open_checkpoint
from suyuan_cli._common import (
    DbOption,
    LedgerKeyOption,
    QuorumOption,
    WitnessOption,
    console,
    fail,
    ledger_key_path,
    note_verifier,
    open_store,
    witness_verifier,
)

app = typer.Typer(help="Create and inspect a ledger.", no_args_is_help=True)


def _ledger(store: SqlLedgerStore, key: Path | None) -> Ledger:
    try:
        signer = load_or_create_ledger_key(ledger_key_path(key), get_settings().ledger_name)
    except KeyFileError as err:
        fail(str(err))
    try:
        recorded = ledger_verifier(store)
    except LedgerError as err:
        fail(str(err))
    if recorded.to_key() != signer.verifier.to_key():
        fail(f"{ledger_key_path(key)} is not the key this ledger was initialised with")
    return Ledger(store, signer)


@app.command("init")
def init(
    root_key: Annotated[Path, typer.Option(help="Regulator root public key (.pub).")],
    regulator: Annotated[str, typer.Option(help="USCC of the regulator owning the root key.")],
    db: DbOption = None,
    ledger_key: LedgerKeyOption = None,
) -> None:
    """Create the ledger schema and record its checkpoint key and regulator root key."""
    from suyuan.codes import validate_uscc

    try:
        root = RootKey(load_verify_key(root_key), validate_uscc(regulator, field="--regulator"))
        signer = load_or_create_ledger_key(ledger_key_path(ledger_key), get_settings().ledger_name)
    except (KeyFileError, InvalidInputError) as err:
        fail(str(err))
    store = open_store(db, create=True)
    try:
        initialise(store, signer.verifier, [root])
    except LedgerError as err:
        fail(str(err))
    console.print(f"ledger ready; checkpoint verifier key:\n{signer.verifier.to_key()}")


@app.command("checkpoint")
def checkpoint(db: DbOption = None, ledger_key: LedgerKeyOption = None) -> None:
    """Sign a checkpoint of every shard (after checking consistency with the previous one)."""
    store = open_store(db)
    ledger = _ledger(store, ledger_key)
    for shard in store.shard_ids():
        try:
            note = ledger.checkpoint(shard)
        except LedgerError as err:
            fail(str(err), code=1)
        console.print(note, end="", highlight=False)


@app.command("stats")
def stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Entries per shard, duplicates, rejections by reason."""
    store = open_store(db)
    heads = [store.head(shard) for shard in store.shard_ids()]
    report = {
        "entries": sum(h.size for h in heads),
        "shards": {
            str(h.shard): {
                "entries": h.size,
                "duplicates": h.duplicates,
                "consumer_offset": h.consumer_offset,
                "root": h.root.hex(),
            }
            for h in heads
        },
        "duplicates": sum(h.duplicates for h in heads),
        "rejections": store.rejection_counts(),
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    console.print(f"entries: {report['entries']}  duplicates: {report['duplicates']}")
    for h in heads:
        console.print(f"  shard {h.shard}: {h.size} entries, offset {h.consumer_offset}")
    for reason, count in sorted(store.rejection_counts().items()):
        console.print(f"  rejected ({reason}): {count}")


def verify(
    db: DbOption = None,
    ledger_pubkey: Annotated[
        str | None,
        typer.Option(help="Ledger verifier key (note key string or file); default: recorded."),
    ] = None,
    root_key: Annotated[
        Path | None, typer.Option(help="Regulator root public key; default: recorded.")
    ] = None,
    regulator: Annotated[str | None, typer.Option(help="USCC owning --root-key.")] = None,
    held: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint note you saved earlier (repeatable): the ledger must still "
            "contain its tree (catches a ledger cut back with its checkpoints).",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes checking ranges of the ledger at once; default: the CPUs available.",
        ),
    ] = None,
) -> None:
    """Audit the whole ledger: signatures, hash chain, Merkle trees, checkpoints.

    Exits 1 and names the first bad entry (shard and sequence number) and why.
    """
    store = open_store(db)
    try:
        verifier = note_verifier(ledger_pubkey) if ledger_pubkey else ledger_verifier(store)
        roots = (
            [RootKey(load_verify_key(root_key), regulator or "")] if root_key else root_keys(store)
        )
    except (SuyuanError, ValueError) as err:
        fail(str(err))
    if root_key and not regulator:
        fail("--root-key needs --regulator (the USCC that owns it)")
    held_checkpoints = []
    for path in held or ():
        try:
            held_checkpoints.append(open_checkpoint(path.read_text(), verifier))
        except OSError as err:
            fail(f"{path}: {err.strerror}")
        except (SuyuanError, ValueError) as err:
            fail(f"{path}: not a checkpoint signed by the ledger key ({err})")
    tune_garbage_collector()  # the parent checks small ledgers itself
    auditor = Auditor(
        store,
        verifier,
        roots,
        ledger_name=verifier.name,
        held_checkpoints=held_checkpoints,
        jobs=jobs or default_jobs(),
    )
    # Redrawn as ranges complete rather than by a refresh thread: a process running no other
    # thread can fork its worker processes, which start far faster than from a fork server.
    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
    ) as progress:
        task = progress.add_task("entries", total=auditor.total_entries())

        def checked(entries: int) -> None:
            progress.advance(task, entries)
            progress.refresh()

        try:
            report = auditor.run(checked)
        except LedgerError as err:
            fail(str(err))
    if report.ok:
        console.print(
            f"[green]OK[/]: {report.entries} entries in {len(report.shards)} shard(s), "
            f"{report.signatures} batch signature(s), {report.checkpoints} checkpoint(s) verified"
        )
        return
    first = report.findings[0]
    console.print(f"[bold red]FAILED[/]: first bad entry: {first}", highlight=False)
    for finding in report.findings[1:]:
        console.print(f"  also: {finding}", highlight=False)
    raise typer.Exit(1)


def prove(
    event_id: Annotated[str, typer.Argument(help="The event's id.")],
    db: DbOption = None,
    ledger_key: LedgerKeyOption = None,
    out: Annotated[Path | None, typer.Option(help="Write the receipt here.")] = None,
) -> None:
    """Print a C2SP tlog-proof receipt that the event is in a signed checkpoint."""
    store = open_store(db)
    ledger = _ledger(store, ledger_key)
    try:
        receipt = ledger.receipt(event_id)
    except EntryNotFoundError as err:
        fail(str(err), code=1)
    if out is None:
        typer.echo(receipt, nl=False)
    else:
        out.write_text(receipt)
        console.print(f"wrote {out}")


def verify_receipt_command(
    file: Annotated[Path, typer.Argument(help="A receipt written by `suyuan prove`.")],
    key: Annotated[str, typer.Option(help="Ledger verifier key (note key string or file).")],
    witness: WitnessOption = None,
    quorum: QuorumOption = None,
) -> None:
    """Check a receipt offline: the ledger key signed its checkpoint and the entry is in it;
    with --witness, that enough of those witnesses cosigned the checkpoint (no split view)."""
    from suyuan.events import decode_event
    from suyuan.tlog import Receipt, open_witnessed_checkpoint, verify_receipt

    try:
        witnesses = [witness_verifier(w) for w in witness or ()]
    except (SuyuanError, ValueError, OSError) as err:
        fail(f"--witness: {err}")
    required = len(witnesses) if quorum is None else quorum
    if required > len(witnesses):
        fail(f"--quorum {required} needs at least {required} --witness keys")
    try:
        text = file.read_text()
        verifier = note_verifier(key)
        receipt = Receipt.parse(text)
        leaf_bytes = leaf_from_receipt(receipt)
        leaf = Leaf.from_bytes(leaf_bytes)
        origin = f"{verifier.name}/shard/{leaf.shard}"
        verified = verify_receipt(text, verifier, leaf_data=leaf_bytes, origin=origin)
        if witnesses:
            open_witnessed_checkpoint(
                receipt.checkpoint, verifier, witnesses, required, origin=origin
            )
        event = decode_event(leaf.event)
    except OSError as err:
        fail(f"{file}: {err.strerror}")
    except (SuyuanError, ValueError) as err:
        console.print(f"[bold red]INVALID[/]: {err}", highlight=False)
        raise typer.Exit(1) from err
    if verified.receipt.index != leaf.seq:
        console.print(f"[bold red]INVALID[/]: leaf says seq {leaf.seq}, proof index differs")
        raise typer.Exit(1)
    console.print(
        f"[green]VALID[/]: event {event.event_id} ({event.event_type} by {event.actor}) is entry "
        f"{leaf.seq} of {verified.checkpoint.origin}, in the signed checkpoint of size "
        f"{verified.checkpoint.size}"
        + (f", cosigned by {required} of {len(witnesses)} witnesses" if witnesses else "")
        + f"; recorded {leaf.recorded_at.isoformat()}",
        highlight=False,
    )
