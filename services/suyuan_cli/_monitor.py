"""``suyuan monitor``: follow a ledger's tiled logs over HTTP and raise the alarm on a fork, a
rollback or an entry whose signature does not verify (``suyuan.monitor``, docs/ledger.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from suyuan.errors import SuyuanError
from suyuan.ledger import TRUST_SHARD
from suyuan.monitor import Fetch, FetchError, LogMonitor
from suyuan.signing import RootKey, load_verify_key
from suyuan_cli._common import (
    QuorumOption,
    WitnessOption,
    console,
    errors,
    fail,
    note_verifier,
    witness_verifier,
)


def monitor(
    url: Annotated[
        str, typer.Argument(help="The query service's base URL, e.g. https://trace.example.cn")
    ],
    ledger_pubkey: Annotated[
        str,
        typer.Option(
            "--ledger-pubkey",
            help="The ledger's verifier key (note key string, or a file holding it).",
        ),
    ],
    shard: Annotated[
        list[int] | None, typer.Option("--shard", help="A shard to follow (repeatable; default 0).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SUYUAN_MONITOR_TOKEN",
            help="A regulator or admin token: read the entry bundles too (each entry hashed "
            "against its tile; with --root-key, its signature checked).",
        ),
    ] = None,
    root_key: Annotated[
        Path | None, typer.Option(help="Regulator root public key: check entries' signatures.")
    ] = None,
    regulator: Annotated[str | None, typer.Option(help="USCC owning --root-key.")] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="File keeping the verified trees between runs (made if missing)."),
    ] = None,
    witness: WitnessOption = None,
    quorum: QuorumOption = None,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 30.0,
    once: Annotated[
        bool, typer.Option("--once", help="Poll once; exit 1 on an alarm, 3 if unreachable.")
    ] = False,
) -> None:
    """Follow a ledger's shards as any mirror can (C2SP tlog-tiles) and report, each poll,
    any fork (two histories), rollback, bad checkpoint signature or bad entry."""
    if quorum is not None and quorum > len(witness or ()):
        fail(f"--quorum {quorum} needs at least {quorum} --witness keys")
    if root_key and not regulator:
        fail("--root-key needs --regulator (the USCC that owns it)")
    if root_key and not token:
        fail("--root-key needs --token: signatures are checked on the entry bundles")
    try:
        witnesses = [witness_verifier(w) for w in witness or ()]
        verifier = note_verifier(ledger_pubkey)
        roots = [RootKey(load_verify_key(root_key), regulator or "")] if root_key else []
    except (SuyuanError, ValueError, OSError) as err:
        fail(str(err))
    shards = list(shard or [0])
    if roots:
        shards.append(TRUST_SHARD)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url.rstrip("/") + "/", headers=headers, timeout=30) as client:
        watcher = LogMonitor(
            _fetcher(client),
            verifier,
            shards,
            roots=roots,
            entries=token is not None,
            state=state.read_text() if state and state.exists() else None,
            witnesses=witnesses,
            quorum=len(witnesses) if quorum is None else quorum,
        )
        while True:
            findings = watcher.poll()
            if state is not None:
                state.write_text(watcher.state_json())
            alarms = [f for f in findings if f.problem != "unreachable"]
            for finding in findings:
                colour = "yellow" if finding.problem == "unreachable" else "bold red"
                errors.print(f"[{colour}]{finding.problem}[/]: {finding}", highlight=False)
            if not findings:
                sizes = ", ".join(f"shard {s}: {n}" for s, n in watcher.sizes.items())
                console.print(f"[green]OK[/]: {sizes}", highlight=False)
            if once:
                raise typer.Exit(1 if alarms else 3 if findings else 0)
            time.sleep(interval)


def _fetcher(client: httpx.Client) -> Fetch:
    def fetch(path: str) -> bytes:
        try:
            answer = client.get(path)
        except httpx.HTTPError as err:
            raise FetchError(f"{path}: {err}") from None
        if answer.status_code != 200:
            raise FetchError(f"{path}: HTTP {answer.status_code} {answer.text[:200]}")
        return answer.content

    return fetch
