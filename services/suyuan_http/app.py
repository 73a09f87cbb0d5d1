"""The FastAPI application both services start from: its API docs served by itself, the
conventions of docs/http-query.md and docs/http-ingest.md applied to every route — errors as
problem details, unknown query parameters refused, ``Accept-Language`` read."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from .errors import PROBLEM_JSON
from .language import LanguageMiddleware
from .models import ErrorOut
from .query import API_PREFIX, refuse_unknown_query

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
    service, not from a CDN: they work on a network without internet access.

    Every route added to it refuses unknown query parameters under ``/v1/``
    (:func:`~suyuan_http.query.refuse_unknown_query`); ``Accept-Language`` is read for
    :func:`~suyuan_http.language.answer_language`; the OpenAPI document describes every error
    answer as ``application/problem+json`` :class:`~suyuan_http.ErrorOut`."""
    app: FastAPI = FastAPIOffline(
        title=title,
        version=version,
        summary=summary,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        favicon_url=f"{DOCS_ASSETS}/favicon.png",
        dependencies=[Depends(refuse_unknown_query)],
    )
    app.add_middleware(LanguageMiddleware)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the error handlers send: every 4xx/5xx answer is
    ``application/problem+json`` of the :class:`ErrorOut` shape (FastAPI's own 422 schema,
    ``HTTPValidationError``, is not what is sent)."""

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _problem_responses(generate())  # FastAPI keeps it as app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_responses(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ErrorOut.__name__, ErrorOut.model_json_schema(ref_template=_REF))
    for name, schema in ErrorOut.model_json_schema(ref_template=_REF).get("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas[ErrorOut.__name__].pop("$defs", None)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] not in ("4", "5"):
                    continue
                content = response.setdefault("content", {})
                schema = content.get("application/json", {}).get("schema")
                ref = "" if schema is None else str(schema.get("$ref", ""))
                if ref.endswith("/HTTPValidationError"):
                    schema = None  # the validation handler answers problem details everywhere
                elif not path.startswith(API_PREFIX) or not (
                    schema is None or ref.endswith("/ErrorOut")
                ):
                    continue  # a page's HTML error, or another body on purpose (a health 503)
                content.pop("application/json", None)
                content[PROBLEM_JSON] = {
                    "schema": schema or {"$ref": _REF.format(model=ErrorOut.__name__)}
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _referenced(document, unused):
            schemas.pop(unused, None)


_REF = "#/components/schemas/{model}"


def _referenced(document: dict[str, Any], name: str) -> bool:
    return f'"#/components/schemas/{name}"' in json.dumps(document)


__all__ = ["DOCS_ASSETS", "new_app"]
