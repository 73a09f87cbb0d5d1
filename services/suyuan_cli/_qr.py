"""``suyuan verify-qr``: check a printed 合格证's signed QR with no network (docs/verification.md,
"Signed QR codes")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from suyuan.codes import code_from_scan_url
from suyuan.errors import SuyuanError
from suyuan.qrsign import qr_of_url, trust_of_key_list, verify_qr
from suyuan.signing import RootKey, load_verify_key
from suyuan_cli._common import console, fail


def verify_qr_command(
    url: Annotated[str, typer.Argument(help="The URL the QR code holds (zbarimg prints it).")],
    keys: Annotated[
        Path,
        typer.Option(help="The key list, saved from /.well-known/suyuan/keys.json."),
    ],
    root_key: Annotated[Path, typer.Option(help="The regulator root public key (PEM).")],
    regulator: Annotated[str, typer.Option(help="USCC owning --root-key.")],
) -> None:
    """Check a signed QR: its fields were signed by the issuer's registered, unrevoked key, as
    the key list proves under the root key. Exits 1 when the QR is not valid."""
    try:
        roots = [RootKey(load_verify_key(root_key), regulator)]
        data = json.loads(keys.read_text(encoding="utf-8"))
    except (SuyuanError, ValueError, OSError) as err:
        fail(str(err))
    try:
        trust = trust_of_key_list(data, roots)
    except SuyuanError as err:
        fail(f"{keys}: not a key list the root key signed: {err}")
    value = qr_of_url(url)
    if value is None:
        _invalid("the URL carries no signed QR value (cq=…): the label is not signed")
    try:
        claim = verify_qr(value, trust)
        code = code_from_scan_url(url).value
    except SuyuanError as err:
        _invalid(str(err))
    if code != claim.code:
        _invalid(f"the QR signs certificate {claim.code}, but the URL is of {code}")
    issuer = trust.organisation(claim.issuer)
    name = issuer.name if issuer else claim.issuer
    console.print(
        f"[green]VALID[/]: 合格证 {claim.code}: {claim.product} {claim.quantity} {claim.unit}, "
        f"issued {claim.issue_date} by {name} ({claim.issuer}), basis {claim.basis}; signed "
        f"with key {claim.key_id}",
        highlight=False,
    )


def _invalid(reason: str) -> NoReturn:
    console.print(f"[bold red]INVALID[/]: {reason}", highlight=False)
    raise typer.Exit(1)
