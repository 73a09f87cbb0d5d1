"""``suyuan witness``: make a witness key, and run a witness (docs/verification.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suyuan.errors import SuyuanError
from suyuan.tlog import Cosigner
from suyuan_cli._common import console, fail, note_verifier

app = typer.Typer(help="A witness: cosigns a ledger's checkpoints only when consistent.")

KeyFileOption = Annotated[
    Path, typer.Option("--key", help="The witness's private key file (from `witness new-key`).")
]


@app.command("new-key")
def new_key(
    name: Annotated[str, typer.Argument(help="The witness's name, e.g. witness.zj-ca.example/1")],
    key: KeyFileOption,
) -> None:
    """Make a witness key: the private key in --key (mode 600), the public one beside it
    (.pub), which logs and clients configure to trust this witness."""
    if key.exists():
        fail(f"{key} exists; a witness keeps its key")
    try:
        cosigner = Cosigner.generate(name)
    except SuyuanError as err:
        fail(str(err))
    key.parent.mkdir(parents=True, exist_ok=True)
    key.touch(mode=0o600)
    key.write_text(cosigner.to_key() + "\n")
    key.with_suffix(".pub").write_text(cosigner.verifier.to_key() + "\n")
    console.print(cosigner.verifier.to_key(), highlight=False)


@app.command("serve")
def serve(
    key: KeyFileOption,
    ledger_pubkey: Annotated[
        list[str],
        typer.Option(
            "--ledger-pubkey",
            help="A ledger verifier key (string or file) whose shards' checkpoints to cosign "
            "(repeatable).",
        ),
    ],
    state: Annotated[
        Path, typer.Option(help="SQLite file keeping the latest checkpoint cosigned per log.")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8010,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) until Ctrl-C."""
    import uvicorn

    from suyuan.witness import Witness, WitnessState
    from suyuan_witness.app import create_app

    try:
        if key.stat().st_mode & 0o077:
            fail(f"{key}: a witness key must not be readable by group/others (chmod 600)")
        cosigner = Cosigner.from_key(key.read_text().strip())
        ledgers = [note_verifier(k) for k in ledger_pubkey]
    except (SuyuanError, ValueError, OSError) as err:
        fail(str(err))
    witness = Witness(cosigner, ledgers, WitnessState(state))
    names = ", ".join(ledger.name for ledger in ledgers)
    console.print(f"witness {cosigner.verifier.to_key()} on http://{host}:{port}, logs of {names}")
    uvicorn.run(create_app(witness), host=host, port=port, log_level="info")
