"""Typed dependencies of the capture API: the app's context, the caller, the request body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from suyuan.auth import Principal, Role, authenticate
from suyuan.ledger import SqlLedgerStore
from suyuan_http import ApiError, bearer_principal, require_role

from ._capture import Capture
from ._http_metrics import CaptureMetrics


@dataclass(frozen=True)
class AppContext:
    """Everything a request needs, made once by ``create_app``."""

    engine: Engine
    store: SqlLedgerStore
    capture: Capture
    metrics: CaptureMetrics
    max_body_bytes: int


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def _check_token(request: Request, token: str) -> Principal:
    return authenticate(get_context(request).engine, token)


PrincipalDep = Annotated[Principal, Depends(bearer_principal(_check_token))]


@dataclass(frozen=True, slots=True)
class Producer:
    """A caller holding a producer token: speaks for one organisation."""

    organisation: str


def require_producer(principal: PrincipalDep) -> Producer:
    """The producer behind the token (401 without a token, 403 with another role's)."""
    require_role(principal, frozenset({Role.PRODUCER}), "a producer token")
    if principal.organisation is None:  # create_token never makes one; a hand-edited row
        raise ApiError(403, "forbidden", "the producer token names no organisation")
    return Producer(principal.organisation)


ProducerDep = Annotated[Producer, Depends(require_producer)]


async def read_body(request: Request, context: ContextDep) -> bytes:
    """The request body, refused with 413 as soon as it exceeds the limit."""
    limit = context.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the body must be at most {limit} bytes", field="body")


BodyDep = Annotated[bytes, Depends(read_body)]
