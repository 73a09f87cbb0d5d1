"""The ``suyuan`` command line (typer + rich). Commands are thin: the work lives in the core."""

from __future__ import annotations

import typer

from suyuan_cli import _certs, _dlq, _keys, _ledger, _org, _schemas, _serve, _tokens, _witness
from suyuan_cli._demo import demo
from suyuan_cli._ingest import ingest_worker, publish
from suyuan_cli._monitor import monitor
from suyuan_cli._qr import verify_qr_command
from suyuan_cli._serve_query import serve_query

app = typer.Typer(help="Suyuan (溯源): traceability event ledger.", no_args_is_help=True)
app.add_typer(_keys.app, name="keys")
app.add_typer(_schemas.app, name="schemas")
app.add_typer(_ledger.app, name="ledger")
app.add_typer(_tokens.app, name="token")
app.add_typer(_certs.app, name="cert")
app.add_typer(_org.app, name="org")
app.add_typer(_tokens.custody_app, name="custody")
app.add_typer(_dlq.app, name="dlq")
app.add_typer(_witness.app, name="witness")
app.command("serve-ingest")(_serve.serve_ingest)
app.command("serve-query")(serve_query)
app.command("verify")(_ledger.verify)
app.command("prove")(_ledger.prove)
app.command("verify-receipt")(_ledger.verify_receipt_command)
app.command("demo")(demo)
app.command("ingest-worker")(ingest_worker)
app.command("publish")(publish)
app.command("monitor")(monitor)
app.command("verify-qr")(verify_qr_command)


@app.callback()
def main() -> None:
    """Suyuan (溯源): traceability event ledger for food and vaccines."""


@app.command()
def version() -> None:
    """Print the version."""
    from suyuan import __version__

    typer.echo(__version__)
