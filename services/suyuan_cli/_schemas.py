"""``suyuan schemas``: the Avro wire format (design.md §4)."""

from __future__ import annotations

import typer

from suyuan_cli._common import console

app = typer.Typer(help="Avro schemas of the wire format.", no_args_is_help=True)


@app.command("snapshot")
def snapshot() -> None:
    """Freeze the current Event and SignedBatch schemas into schemas/history/ (by fingerprint).

    Run it after changing a schema, so data written with the new version keeps decoding forever.
    """
    from suyuan.events import snapshot_current_schemas

    written = snapshot_current_schemas()
    if not written:
        console.print("schemas/history/ already holds the current schemas")
    for path in written:
        console.print(f"wrote {path}")
