"""``suyuan serve-query``: the trace query service on a ledger (design.md §8, §9)."""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from suyuan.config import get_settings
from suyuan.ledger import migrate
from suyuan_cli._common import DbOption, console, database_url, open_store

if TYPE_CHECKING:
    import uvicorn


def serve_query(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Addresses of load balancers whose X-Forwarded-For names the client (the rate "
            "limit is per client address); comma-separated, or * for any."
        ),
    ] = "127.0.0.1",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Processes serving the port (the service keeps no state between requests: "
            "one per core). Each has its own per-address rate limit and public-trace slots.",
        ),
    ] = 1,
) -> None:
    """Serve traces, the scan page, QR images, ledger proofs and recalls until Ctrl-C.

    Public callers need no token and are rate-limited per address. With SUYUAN_KAFKA_BOOTSTRAP
    set, recalls are published to the events topic for the ingest workers; otherwise they are
    appended at once (embedded, shard 0). Regulators use a token
    (`suyuan token create --role regulator --region 330100`); to start recalls their
    organisation needs a custodial key registered in the trust chain. Proofs need the ledger key
    (SUYUAN_LEDGER_KEY_FILE).
    """
    import uvicorn

    from suyuan_trace_query.app import create_app, recall_transport

    url = database_url(db)
    store = open_store(url)
    migrate(store.engine)  # ledgers made before the token tables existed
    if workers > 1:
        store.close()
        _serve_workers(url, host, port, forwarded_allow_ips, workers)
        return
    settings = get_settings().model_copy(update={"database_url": url})
    app = create_app(settings, store=store, transport=recall_transport(settings, store))
    mode = _recalls_mode(settings.kafka_bootstrap)
    console.print(f"trace query on http://{host}:{port} (OpenAPI at /docs), {mode}, ledger {url}")
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        store.close()


def _serve_workers(url: str, host: str, port: int, forwarded_allow_ips: str, workers: int) -> None:
    """``workers`` processes on one port, each making the app from the environment."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["SUYUAN_DATABASE_URL"] = url  # read by each worker process's settings
    mode = _recalls_mode(get_settings().kafka_bootstrap)
    console.print(
        f"trace query on http://{host}:{port} (OpenAPI at /docs), {workers} processes, {mode}, "
        f"ledger {url}"
    )
    config = uvicorn.Config(
        "suyuan_trace_query.app:create_served_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    # What uvicorn.run does for several workers, with a listener marked as TCP.
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[tcp_listener(config)]).run()


def tcp_listener(config: uvicorn.Config) -> socket.socket:
    """The socket uvicorn binds for ``config``, marked as TCP (``IPPROTO_TCP``).

    Connections accepted from a listener inherit its protocol number, and asyncio turns
    Nagle's algorithm off (``TCP_NODELAY``) only on sockets marked TCP; uvicorn binds its
    listener unmarked on the path several workers take (uvicorn issue 3149), and every request
    after the first on a keep-alive connection then waited ~40 ms for the client's delayed ACK
    (measured: 44 ms for ``/healthz`` with ``--workers 2``, 1.5 ms with one)."""
    bound = config.bind_socket()
    return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


def _recalls_mode(kafka_bootstrap: str | None) -> str:
    return f"recalls via Kafka {kafka_bootstrap}" if kafka_bootstrap else "embedded"
