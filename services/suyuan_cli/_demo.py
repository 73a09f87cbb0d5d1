"""``suyuan demo``: the embedded default (SQLite, no broker) loaded with the demo province.

CLI contract (scripts depend on it)::

    suyuan demo [--seed S] [--events N] [--db URL] [--bootstrap HOST:PORT]
                [--host H] [--port P] [--no-serve] [--summary FILE]
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from suyuan.config import get_settings
from suyuan.errors import KeyFileError
from suyuan.ledger import (
    Auditor,
    Ledger,
    LedgerError,
    SqlLedgerStore,
    initialise,
    load_or_create_ledger_key,
)
from suyuan.scenario import bulk_messages
from suyuan.tlog import NoteSigner
from suyuan.verdict import Verdict
from suyuan_cli._common import DbOption, console, database_url, fail, open_store
from suyuan_demo import DemoData, build_demo


def demo(
    seed: Annotated[int, typer.Option(help="Seed of the deterministic demo data.")] = 2026,
    events: Annotated[
        int, typer.Option(min=0, help="Scale up to this many events in all (bulk farm lots).")
    ] = 0,
    db: DbOption = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Send the events through Kafka (for a running ingest-worker)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface the APIs listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Trace query port; the ingest API takes the next one.")
    ] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Exit after loading.")] = False,
    summary: Annotated[
        Path | None, typer.Option(help="Write the demo codes, URLs and tokens as JSON here.")
    ] = None,
) -> None:
    """Load the demo province into a ledger, audit it, print codes to scan, serve both APIs."""
    settings = get_settings()
    url = database_url(db)
    base_url = settings.public_base_url
    if not no_serve and "SUYUAN_PUBLIC_BASE_URL" not in os.environ:
        base_url = f"http://{host}:{port}"
    data = build_demo(seed)
    try:
        signer = load_or_create_ledger_key(Path(settings.ledger_key_file), settings.ledger_name)
    except KeyFileError as err:
        fail(str(err))
    store = open_store(url, create=True)
    try:
        initialise(store, signer.verifier, [data.scenario.root])
    except LedgerError as err:
        fail(f"{err}: the demo needs a ledger of its own (pass another --db)")
    extra = _custody_and_trust(store, data)
    counts = _load(store, data, extra, events, bootstrap)
    tokens = _tokens(store, data)
    report = _checkpoint_and_audit(store, signer, data, bootstrap)
    # Through Kafka the events may not all be in the ledger yet: no verdicts then.
    verdicts = _verdicts(store, data) if bootstrap is None else {}
    ingest_url = f"http://{host}:{port + 1}"
    _print(url, base_url, data, counts, report, tokens, verdicts)
    typer.echo(
        f"First certificate: SUYUAN_URL={ingest_url} SUYUAN_TOKEN={tokens['producer']} "
        "suyuan cert issue --product 小青菜 --category vegetables --quantity 500 "
        "--origin 浙江省杭州市临安区"
    )
    if summary is not None:
        _write_summary(summary, data, base_url, counts, tokens, verdicts, ingest_url)
    if report is not None and not report:
        raise typer.Exit(1)
    if not no_serve:
        _serve(url, host, port, base_url)


def _custody_and_trust(store: SqlLedgerStore, data: DemoData) -> list[bytes]:
    """Custodial keys for the demo farm and the regulator, registered by the root key, so the
    HTTP APIs can sign for them (JSON events, recalls)."""
    from suyuan.custody import (
        create_custodial_key,
        custodial_key_id,
        key_registration_event,
        load_master_key,
    )

    master = load_master_key(create=True)
    s = data.scenario
    registrations = []
    for org in (data.orgs["farm"], data.orgs["regulator"]):
        if custodial_key_id(store.engine, org.uscc) is None:
            key = create_custodial_key(store.engine, master, org.uscc)
            registrations.append(key_registration_event(s.regulator_uscc, org.uscc, key))
    return [s.sign_as_root(registrations)] if registrations else []


def _load(
    store: SqlLedgerStore,
    data: DemoData,
    extra: list[bytes],
    events: int,
    bootstrap: str | None,
) -> dict[str, int]:
    bulk_target = max(0, events - data.events)
    messages = [(_count(m), m) for m in (*data.messages, *extra)]
    bulk = bulk_messages(data.scenario, [data.orgs["farm"]], data.orgs["market"], bulk_target)
    total = sum(n for n, _ in messages) + bulk_target
    counts = {"sent": 0, "appended": 0, "duplicates": 0, "rejected": 0}
    with Progress(
        TextColumn("loading demo events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("events", total=total)
        if bootstrap:
            _send_kafka(
                store, bootstrap, [*messages, *bulk], counts, lambda n: progress.advance(task, n)
            )
        else:
            _append(store, data, [*messages, *bulk], counts, lambda n: progress.advance(task, n))
    return counts


def _count(message: bytes) -> int:
    from suyuan.events import decode_batch

    return len(decode_batch(message).events)


def _append(
    store: SqlLedgerStore,
    data: DemoData,
    messages: Any,
    counts: dict[str, int],
    advance: Any,
) -> None:
    from suyuan.intake import LedgerWriter, Message, shard_for

    writer = LedgerWriter(store, [data.scenario.root])
    for number, (count, message) in enumerate(messages):
        result = writer.write(shard_for(message), [Message(f"demo#{number}", message)])
        counts["sent"] += count
        counts["appended"] += result.accepted
        counts["duplicates"] += result.duplicates
        counts["rejected"] += len(result.rejections)
        advance(count)


def _send_kafka(
    store: SqlLedgerStore, bootstrap: str, messages: Any, counts: dict[str, int], advance: Any
) -> None:
    from suyuan.events import decode_batch, decode_event
    from suyuan.transport import TransportError
    from suyuan_ingest.kafka_transport import KafkaTransport

    transport = KafkaTransport.from_settings(get_settings(), store, bootstrap=bootstrap)
    try:
        for number, (count, message) in enumerate(messages):
            actor = decode_event(decode_batch(message).events[0]).actor
            # Each message is acknowledged before the next is sent: a key registered on the
            # trust topic is then "produced before" the events it signs (docs/ledger.md).
            try:
                transport.submit([message], key=actor, source=f"demo#{number}")
            except TransportError as err:
                fail(f"{err} ({counts['sent']} events were sent before)")
            counts["sent"] += count
            advance(count)
    finally:
        transport.close()


DEMO_FARM_CONTACT = "0571-63781234"


def _tokens(store: SqlLedgerStore, data: DemoData) -> dict[str, str]:
    from suyuan.auth import create_token
    from suyuan.contacts import set_organisation_contact

    farm, regulator = data.orgs["farm"], data.orgs["regulator"]
    # The farm's 联系方式, so a certificate issued with the demo's producer token needs none.
    set_organisation_contact(store.engine, farm.uscc, DEMO_FARM_CONTACT)
    return {
        "regulator": create_token(
            store.engine, "regulator", region=regulator.region_code, label="demo regulator"
        ),
        "producer": create_token(
            store.engine, "producer", organisation=farm.uscc, label="demo farm"
        ),
        "producer_organisation": farm.uscc,
    }


def _checkpoint_and_audit(
    store: SqlLedgerStore, signer: NoteSigner, data: DemoData, bootstrap: str | None
) -> bool | None:
    """Sign checkpoints and audit; ``None`` when the events went to Kafka (not yet appended)."""
    if bootstrap:
        return None
    ledger = Ledger(store, signer)
    for shard in store.shard_ids():
        ledger.checkpoint(shard)
    report = Auditor(store, signer.verifier, [data.scenario.root], ledger_name=signer.name).run()
    if not report.ok:
        console.print(f"[red]audit failed: {report.findings[0]}[/]")
    return report.ok


def _verdicts(store: SqlLedgerStore, data: DemoData) -> dict[str, Verdict]:
    """The verdict of each demo code (docs/verdicts.md): one case of each rule."""
    from suyuan.trace import Tracer

    tracer = Tracer(store)
    return {label: tracer.trace(code).verdict for label, code in data.codes.items()}


def _print(
    url: str,
    base_url: str,
    data: DemoData,
    counts: dict[str, int],
    audit: bool | None,
    tokens: dict[str, str],
    verdicts: dict[str, Verdict],
) -> None:
    from suyuan.codes import scan_url

    console.print(f"[bold]Suyuan demo[/] — ledger {url}")
    audited = {None: "sent to Kafka", True: "[green]audit OK[/]", False: "[red]audit FAILED[/]"}
    console.print(
        f"{counts['sent']} events: {counts['appended']} appended, {counts['duplicates']} "
        f"already in the ledger, {counts['rejected']} rejected; {audited[audit]}"
    )
    typer.echo("Scan pages (open on a phone or in a browser):")
    width = max(len(label) for label in data.codes)
    for label, code in data.codes.items():
        verdict = verdicts.get(label)
        state = f"{verdict.state:<9} " if verdict else ""
        typer.echo(f"  {label:<{width}} {state}{scan_url(base_url, code)}")
    typer.echo(f"Regulator token: {tokens['regulator']}")
    typer.echo(f"Producer token ({tokens['producer_organisation']}): {tokens['producer']}")


def _write_summary(
    path: Path,
    data: DemoData,
    base_url: str,
    counts: dict[str, int],
    tokens: dict[str, str],
    verdicts: dict[str, Verdict],
    ingest_url: str,
) -> None:
    from suyuan.codes import scan_url

    def verdict_of(label: str) -> dict[str, Any] | None:
        verdict = verdicts.get(label)
        if verdict is None:
            return None
        return {"state": verdict.state, "rules": [f.rule_id for f in verdict.findings]}

    body = {
        "codes": {
            label: {
                "code": code,
                "scan_url": scan_url(base_url, code),
                "verdict": verdict_of(label),
            }
            for label, code in data.codes.items()
        },
        "events_sent": counts["sent"],
        "events_appended": counts["appended"],
        "regulator_token": tokens["regulator"],
        "producer_token": tokens["producer"],
        "producer_organisation": tokens["producer_organisation"],
        "public_base_url": base_url,
        "ingest_url": ingest_url,
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console.print(f"summary written to {path}")


def _serve(url: str, host: str, port: int, base_url: str) -> None:
    """Both APIs in this process: trace query on ``port``, ingest on ``port + 1``."""
    import uvicorn

    from suyuan_ingest.api import create_app as create_ingest_app
    from suyuan_trace_query.app import create_app as create_query_app

    settings = get_settings().model_copy(
        update={"database_url": url, "public_base_url": base_url, "kafka_bootstrap": None}
    )
    # The console's producer pages issue through this process's ingest API.
    loopback = "127.0.0.1" if host in ("0.0.0.0", "") else host
    os.environ.setdefault("SUYUAN_INGEST_URL", f"http://{loopback}:{port + 1}")
    query = uvicorn.Server(
        uvicorn.Config(create_query_app(settings), host=host, port=port, log_level="warning")
    )
    ingest = uvicorn.Server(
        uvicorn.Config(create_ingest_app(settings), host=host, port=port + 1, log_level="warning")
    )
    thread = threading.Thread(target=ingest.run, daemon=True)
    thread.start()
    console.print(
        f"serving the trace query API and scan pages on {base_url} (OpenAPI: {base_url}/docs) "
        f"and the ingest API on http://{host}:{port + 1}; Ctrl-C stops"
    )
    console.print(
        f"console (producer or regulator token): {base_url}/console — a producer issues and "
        "prints its 合格证 there"
    )
    query.run()
    ingest.should_exit = True
    thread.join(5)
