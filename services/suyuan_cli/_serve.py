"""``suyuan serve-ingest``: the HTTP capture API on an embedded ledger (design.md §8, §9)."""

from __future__ import annotations

from typing import Annotated

import typer

from suyuan.config import get_settings
from suyuan.ledger import LedgerError, migrate
from suyuan_cli._common import DbOption, console, database_url, fail, open_store


def serve_ingest(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8001,
) -> None:
    """Serve POST /v1/events, GET /v1/rejections, /healthz and /metrics until Ctrl-C.

    With SUYUAN_KAFKA_BOOTSTRAP set, signed batches are published to the events topic for the
    ingest workers; otherwise they are appended at once (embedded transport). Producers need a
    token (`suyuan token create --role producer --org USCC`); JSON events are signed with the
    organisation's custodial key (`suyuan custody create`).
    """
    import uvicorn

    from suyuan_ingest.api import create_app

    url = database_url(db)
    store = open_store(url)
    migrate(store.engine)  # ledgers made before the token tables existed
    store.close()
    settings = get_settings().model_copy(update={"database_url": url})
    transport = None
    if settings.kafka_bootstrap:
        from suyuan_ingest.kafka_transport import KafkaTransport

        transport = KafkaTransport.from_settings(settings, open_store(url))
    try:
        app = create_app(settings, transport)
    except LedgerError as err:
        fail(str(err))
    mode = f"Kafka {settings.kafka_bootstrap}" if transport else "embedded"
    console.print(f"ingest API on http://{host}:{port} (OpenAPI at /docs), {mode}, ledger {url}")
    uvicorn.run(app, host=host, port=port, log_level="info")
