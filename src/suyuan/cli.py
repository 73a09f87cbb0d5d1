"""The ``suyuan`` command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="Suyuan (溯源): traceability event ledger.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Suyuan (溯源): traceability event ledger for food and vaccines."""


@app.command()
def version() -> None:
    """Print the version."""
    from suyuan import __version__

    typer.echo(__version__)
