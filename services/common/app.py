"""The FastAPI application both services start from: its API docs served by itself."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

#: Where the Swagger UI and ReDoc scripts and styles are served (``/docs``, ``/redoc`` use them).
DOCS_ASSETS = "/static-docs"


def new_app(
    *,
    title: str,
    version: str,
    summary: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """A FastAPI application whose ``/docs`` and ``/redoc`` pages load their assets from this
    service, not from a CDN: they work on a network without internet access."""
    app: FastAPI = FastAPIOffline(
        title=title,
        version=version,
        summary=summary,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        favicon_url=f"{DOCS_ASSETS}/favicon.png",
    )
    return app


__all__ = ["DOCS_ASSETS", "new_app"]
