"""``suyuan keys``: Ed25519 signing keys (design.md §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suyuan.errors import KeyFileError

app = typer.Typer(help="Ed25519 signing keys (design.md §5).", no_args_is_help=True)


@app.command("new")
def keys_new(
    name: Annotated[str, typer.Argument(help="Base name of the key files (NAME.key, NAME.pub).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write to.")] = Path("."),
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Write a new Ed25519 key pair: NAME.key (private, 0600) and NAME.pub; print the key id."""
    from suyuan.signing import SigningKey, save_key_pair

    key = SigningKey.generate()
    try:
        private_path, public_path = save_key_pair(key, out, name, overwrite=overwrite)
    except KeyFileError as err:
        hint = "; use --overwrite to replace it" if "already exists" in str(err) else ""
        typer.echo(f"error: {err}{hint}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"key id:      {key.key_id}")
    typer.echo(f"private key: {private_path}")
    typer.echo(f"public key:  {public_path}")


@app.command("show")
def keys_show(
    path: Annotated[Path, typer.Argument(help="A .key or .pub file.")],
) -> None:
    """Print the key id and raw public key (hex) of a key file."""
    from suyuan.signing import load_signing_key, load_verify_key

    try:
        verify_key = (
            load_signing_key(path).verify_key if path.suffix == ".key" else load_verify_key(path)
        )
    except KeyFileError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"key id:     {verify_key.key_id}")
    typer.echo(f"public key: {verify_key.raw.hex()}")
