"""Shared pieces of the CLI: options, opening a ledger, printing errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from suyuan.config import get_settings
from suyuan.ledger import SqlLedgerStore, create_ledger_engine, migrate
from suyuan.tlog import NoteVerifier, WitnessVerifier

console = Console()
errors = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Ledger database URL (default: SUYUAN_DATABASE_URL)."),
]
LedgerKeyOption = Annotated[
    Path | None,
    typer.Option("--ledger-key", help="Ledger signing key file (default: SUYUAN_LEDGER_KEY_FILE)."),
]


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def database_url(db: str | None) -> str:
    return db or get_settings().database_url


def ledger_key_path(path: Path | None) -> Path:
    return path or Path(get_settings().ledger_key_file)


def open_store(db: str | None, *, create: bool = False) -> SqlLedgerStore:
    """Open the ledger at ``db``; with ``create`` make the database and schema if missing."""
    url = database_url(db)
    sqlite_path = _sqlite_path(url)
    if sqlite_path is not None:
        if create:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        elif not sqlite_path.exists():
            fail(f"no ledger at {url} (create one with `suyuan ledger init`)")
    engine = create_ledger_engine(url)
    if create:
        migrate(engine)
    elif not _has_schema(engine):
        fail(f"{url} holds no Suyuan ledger (create one with `suyuan ledger init`)")
    return SqlLedgerStore(engine)


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :])
    return None


def _has_schema(engine: object) -> bool:
    import sqlalchemy as sa

    assert isinstance(engine, sa.Engine)
    return sa.inspect(engine).has_table("ledger_entries")


def note_verifier(key: str) -> NoteVerifier:
    """A note verifier from its key string, or from a file holding one.

    Raises:
        ValueError: not a verifier key string; OSError: the file cannot be read.
    """
    return NoteVerifier.from_key(_key_text(key))


def witness_verifier(key: str) -> WitnessVerifier:
    """A witness's public key from its key string, or from a file holding one.

    Raises:
        ValueError: not a witness key string; OSError: the file cannot be read.
    """
    return WitnessVerifier.from_key(_key_text(key))


def _key_text(key: str) -> str:
    """A key string as given, or read from the file it names (a key string always has a '+')."""
    path = Path(key)
    return path.read_text().strip() if "+" not in key and path.exists() else key.strip()


WitnessOption = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="A witness's public key (string or file) whose cosignature counts (repeatable).",
    ),
]
QuorumOption = Annotated[
    int | None,
    typer.Option(min=1, help="Cosignatures of the --witness keys required (default: all of them)."),
]
