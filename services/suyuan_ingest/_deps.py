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


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def _check_token(request: Request, token: str) -> Principal:
    """The caller behind ``token``, when the request guard did not check it (it always does
    here: :func:`~suyuan_http.bearer_principal` takes its check first).

    Raises:
        AuthError: an unknown, malformed or revoked token.
    """
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


async def read_body(request: Request) -> bytes:
    """The request body: :class:`~suyuan_http.RequestGuard` already refused it (413) past the
    route's cap and held what it let through, so this never reads an unbounded stream."""
    return await request.body()


BodyDep = Annotated[bytes, Depends(read_body)]
