"""Regulator recalls over HTTP (design §8): ``POST /v1/recalls``, ``GET /v1/recalls/{id}``.

Thin: ``suyuan.recall`` builds, signs (the regulator's custodial key) and records the
``RecallInitiated`` event and computes scope and progress; this module maps its errors to HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from suyuan.custody import CustodyError
from suyuan.errors import InvalidInputError
from suyuan.recall import (
    Recall,
    RecallNotFoundError,
    RecallRefusedError,
    custodial_recall_key,
    find_recall,
    regulator_organisation,
    start_recall,
)
from suyuan.trace import Holder
from suyuan.transport import TransportError
from suyuan_http import ApiError

from ._deps import ContextDep, OverseerDep, QueryContext, RegulatorDep
from ._models import (
    CodesOut,
    ErrorOut,
    HolderOut,
    LedgerRef,
    ProgressOut,
    QuantityOut,
    RecallIn,
    RecallOut,
)

router = APIRouter(tags=["recalls"])

DEFAULT_LISTED_CODES = 1000
MAX_LISTED_CODES = 100_000
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "The token's role may not do this."},
}
ListedQuery = Annotated[
    int,
    Query(ge=0, le=MAX_LISTED_CODES, description="Most codes of the scope to list."),
]


@router.post(
    "/v1/recalls",
    status_code=201,
    response_model=RecallOut,
    responses={
        **_AUTH,
        409: {
            "model": ErrorOut,
            "description": "The regulator cannot sign here: no custodial key, or a key the "
            "trust chain does not know; or not a registered regulator.",
        },
        413: {"model": ErrorOut, "description": "A body over SUYUAN_MAX_JSON_BODY_BYTES."},
        422: {"model": ErrorOut, "description": "A root code is malformed or unknown."},
        503: {"model": ErrorOut, "description": "The ledger cannot take the event now."},
    },
    summary="Start a recall (regulator token)",
)
def post_recall(
    body: RecallIn,
    regulator: RegulatorDep,
    context: ContextDep,
    response: Response,
    listed: ListedQuery = DEFAULT_LISTED_CODES,
) -> RecallOut:
    """Records a RecallInitiated event signed with the regulator organisation's custodial key,
    then answers with the scope: every code made from or packed with the root codes, and every
    organisation that held any of it, with quantities. Every code in scope then traces as
    `recalled`."""
    desk = context.recalls
    if desk.roots is None or desk.transport is None or desk.custody_master is None:
        raise ApiError(503, "recalls_unavailable", f"recalls cannot be started: {desk.problem}")
    if context.engine is None:
        raise ApiError(503, "recalls_unavailable", "this service has no custody database")
    try:
        organisation = regulator_organisation(
            context.store, organisation=regulator.organisation, region=regulator.region
        )
        recall = start_recall(
            store=context.store,
            roots=desk.roots,
            transport=desk.transport,
            tracer=context.tracer,
            key=custodial_recall_key(context.engine, desk.custody_master, organisation),
            regulator=organisation,
            root_codes=body.root_codes,
            reason=body.reason,
            level=body.level,
        )
    except RecallRefusedError as err:
        raise ApiError(409, err.reason, str(err)) from None
    except InvalidInputError as err:
        raise ApiError(422, err.reason, err.rule, _body_field(err.field), err.value) from None
    except (CustodyError, TransportError) as err:
        raise ApiError(503, "unavailable", f"the recall could not be recorded: {err}") from None
    # The writer signs what it appended: the recall's receipt is available at once.
    context.ledger.sign_moved()
    response.headers["Location"] = f"/v1/recalls/{recall.recall_id}"
    return recall_out(recall, listed)


@router.get(
    "/v1/recalls/{recall_id}",
    response_model=RecallOut,
    responses={
        **_AUTH,
        400: {"model": ErrorOut, "description": "The id is not a UUID."},
        404: {"model": ErrorOut, "description": "No recall has this id."},
    },
    summary="A recall's scope now and its progress (regulator or admin token)",
)
def get_recall(
    recall_id: str,
    _caller: OverseerDep,
    context: ContextDep,
    listed: ListedQuery = DEFAULT_LISTED_CODES,
) -> RecallOut:
    """`recall_id` is the id POST /v1/recalls answered with (the id of the RecallInitiated
    event). Progress counts RecallAcknowledged, Destroyed and RecallClosed events naming the
    recall and codes of its scope."""
    return recall_out(_find(context, recall_id), listed)


def _find(context: QueryContext, recall_id: str) -> Recall:
    try:
        return find_recall(context.store, context.tracer, recall_id)
    except InvalidInputError as err:
        raise ApiError(400, err.reason, err.rule, err.field, err.value) from None
    except RecallNotFoundError as err:
        raise ApiError(404, err.reason, str(err), "recall_id", recall_id[:60]) from None


def _body_field(field: str) -> str:
    """The request body's name for a field of the RecallInitiated event."""
    return field.removeprefix("payload.")


def recall_out(recall: Recall, listed: int) -> RecallOut:
    progress = recall.progress
    return RecallOut(
        recall_id=recall.recall_id,
        event_id=recall.event.event_id,
        status="closed" if progress.closed else "open",
        regulator=recall.regulator,
        root_codes=list(recall.root_codes),
        reason=recall.reason,
        level=recall.level,
        started_at=recall.event.occurred_at.isoformat(),
        ledger=None
        if recall.position is None
        else LedgerRef(
            shard=recall.position.shard,
            seq=recall.position.seq,
            recorded_at=recall.position.recorded_at.isoformat(),
        ),
        codes=CodesOut(
            count=len(recall.codes),
            listed=list(recall.codes[:listed]),
            truncated=len(recall.codes) > listed,
            complete=recall.complete,
        ),
        holders=[holder_out(h) for h in recall.holders],
        progress=ProgressOut(
            holders=len(recall.holders),
            acknowledged=len(progress.acknowledged_by),
            acknowledged_by=list(progress.acknowledged_by),
            outstanding=list(progress.outstanding),
            acknowledgements=progress.acknowledgements,
            disposals=progress.disposals,
            closed=progress.closed,
        ),
    )


def holder_out(holder: Holder) -> HolderOut:
    return HolderOut(
        organisation=holder.organisation,
        name=holder.name,
        quantities=[QuantityOut(quantity=q, unit=u) for q, u in holder.quantities],
    )
