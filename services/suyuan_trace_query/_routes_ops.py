"""Operations: ``GET /healthz`` (the database answers) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Response

from ._deps import ContextDep
from ._models import HealthOut

log = logging.getLogger("suyuan.trace_query")

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database does not answer."}},
)
def healthz(context: ContextDep, response: Response) -> HealthOut:
    proofs = context.ledger.ledger is not None
    try:
        context.store.shard_ids()
    except sa.exc.SQLAlchemyError as err:
        log.error("health check failed: %s", err)
        response.status_code = 503
        return HealthOut(status="unavailable", proofs=proofs)
    return HealthOut(status="ok", proofs=proofs)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def metrics(context: ContextDep) -> Response:
    content, media_type = context.metrics.exposition()
    return Response(content=content, media_type=media_type)
