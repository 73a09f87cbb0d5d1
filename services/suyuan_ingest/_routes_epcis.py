"""EPCIS 2.0 capture (REST binding) in the ingest service (docs/epcis.md "Capture").

- ``POST /epcis/capture`` (producer token): an ``EPCISDocument`` (``application/ld+json`` or
  ``application/json``). Each event becomes one of ours (:func:`suyuan.epcis.map_event`) and
  goes the one way JSON events enter the ledger (:meth:`Capture.submit_events`: custodial
  signature, authority and chain rules); each other one is refused naming what has no mapping.
  Places and parties named by GLN are read in the registry (``suyuan.places``); the members a
  captured event's export would not give as sent are kept (``suyuan.epcis.keep_members``).
  202 with the capture job, ``Location: /epcis/capture/{id}``.
- ``GET /epcis/capture/{id}`` (the same organisation's token): the job: per event its CBV event
  hash, our event id, and whether it was captured, was already in the ledger, or why refused.

Jobs are kept in the table ``epcis_capture_jobs`` of the ledger's database, made on start (it is
the service's own bookkeeping, not part of the ledger, so outside the ledger's migrations).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from suyuan.directory import Directory
from suyuan.epcis import (
    CaptureDocumentError,
    MappedEvent,
    glns_named,
    keep_members,
    map_event,
    read_capture_document,
)
from suyuan.places import gln_entries
from suyuan.transport import SubmitResult
from suyuan_http import ApiError, ErrorOut, Problem

from ._capture import JSON_TYPE, parse_json
from ._deps import AppContext, BodyDep, ContextDep, ProducerDep

LD_JSON_TYPE = "application/ld+json"
CAPTURE_PATH = "/epcis/capture"

jobs_metadata = sa.MetaData()
capture_jobs = sa.Table(
    "epcis_capture_jobs",
    jobs_metadata,
    sa.Column("capture_id", sa.String(32), primary_key=True),
    sa.Column("organisation", sa.String(18), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("job", sa.Text, nullable=False),
)


def refuse_query(request: Request) -> None:
    """These routes take no query parameter: one sent is refused, never silently ignored.

    Raises:
        ApiError: 422 ``unknown_query_parameter`` naming each.
    """
    if request.query_params:
        raise ApiError.of_problems(
            422,
            (
                Problem("unknown_query_parameter", "this route takes no query parameter", name)
                for name in dict.fromkeys(request.query_params.keys())
            ),
        )


router = APIRouter(dependencies=[Depends(refuse_query)])


class CaptureProblem(BaseModel):
    reason: str = Field(description="`unsupported_feature`, or the event contract's reason.")
    field: str | None = Field(description="The member, e.g. `epcisBody.eventList[0].ilmd`.")
    value: str | None
    rule: str


class CapturedEventOut(BaseModel):
    index: int = Field(description="Position of the event in `epcisBody.eventList`.")
    event_hash: str | None = Field(
        alias="eventHash", description="The GS1 CBV 2.0 event hash (docs/epcis.md)."
    )
    event_id: str | None = Field(alias="eventID", description="Our id, derived from the hash.")
    status: str = Field(description="`captured`, `duplicate` or `refused`.")
    problems: list[CaptureProblem] = Field(description="Why refused: every reason.")


class CaptureJobOut(BaseModel):
    """The job of one capture (EPCIS names its members in camelCase)."""

    capture_id: str = Field(alias="captureID")
    committed: bool = Field(
        description="False when captured events are queued for the ledger (Kafka): a later "
        "refusal then shows in GET /v1/rejections."
    )
    captured: int
    duplicates: int
    refused: int
    events: list[CapturedEventOut]


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Not UTF-8 JSON."},
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "The token is not a producer token."},
    409: {"model": ErrorOut, "description": "No custodial key to sign the events with."},
    413: {"model": ErrorOut, "description": "Body or event count over the limit."},
    415: {"model": ErrorOut, "description": "Neither application/ld+json nor application/json."},
    422: {
        "model": ErrorOut,
        "description": "Not an EPCIS 2.0 document we take (every problem listed), e.g. a "
        "remote JSON-LD context other than the standard ones.",
    },
    503: {"model": ErrorOut, "description": "The ledger (or custodial signing) is unavailable."},
}


def create_jobs_table(engine: sa.Engine) -> None:
    """Make the capture jobs' table when the database has none yet.

    Raises:
        sqlalchemy.exc.DBAPIError: the table is missing and cannot be made.
    """
    try:
        jobs_metadata.create_all(engine, checkfirst=True)
    except sa.exc.DBAPIError:
        # Two services starting at once both found no table; one made it.
        if not sa.inspect(engine).has_table(capture_jobs.name):
            raise


@router.post(
    CAPTURE_PATH,
    status_code=202,
    response_model=CaptureJobOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "An EPCIS 2.0 EPCISDocument (JSON-LD).",
            "content": {LD_JSON_TYPE: {"schema": {"type": "object"}}},
        }
    },
    summary="Capture an EPCIS 2.0 document (each event captured or refused with the reason)",
)
def post_capture(
    request: Request,
    producer: ProducerDep,
    body: BodyDep,
    context: ContextDep,
    content_type: Annotated[str, Header()] = "",
) -> JSONResponse:
    """The capture job: one entry per event of the document, in its order."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in (LD_JSON_TYPE, JSON_TYPE):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"must be {LD_JSON_TYPE} or {JSON_TYPE}",
            field="Content-Type",
            value=media_type or None,
        )
    try:
        document = read_capture_document(parse_json(body))
    except CaptureDocumentError as err:
        raise ApiError.from_input(err) from None
    if len(document.events) > context.capture.max_events:
        raise ApiError(
            413,
            "too_many_events",
            f"at most {context.capture.max_events} events per document",
            field="epcisBody.eventList",
            value=str(len(document.events)),
        )
    organisation = producer.organisation
    name = _directory(request, context).name(organisation)
    registry = gln_entries(context.engine, glns_named(document.events))
    mapped = [
        map_event(
            item,
            index=index,
            organisation=organisation,
            prefixes=document.prefixes,
            organisation_name=name,
            registry=registry,
        )
        for index, item in enumerate(document.events)
    ]
    good = [m for m in mapped if m.event is not None]
    capture_id = secrets.token_hex(16)
    result = None
    if good:
        result = context.capture.submit_events(
            organisation,
            [m.event for m in good],
            f"epcis:{capture_id[:12]}",
            indices=[m.index for m in good],
        )
        context.metrics.count_events(result)
        _keep(context, good, result)
    job = _job(capture_id, mapped, result)
    with context.engine.begin() as conn:
        conn.execute(
            capture_jobs.insert().values(
                capture_id=capture_id,
                organisation=organisation,
                created_at=int(time.time() * 1000),
                job=json.dumps(job, ensure_ascii=False),
            )
        )
    return JSONResponse(job, status_code=202, headers={"Location": f"{CAPTURE_PATH}/{capture_id}"})


@router.get(
    f"{CAPTURE_PATH}/{{capture_id}}",
    response_model=CaptureJobOut,
    responses={
        401: _ERRORS[401],
        403: _ERRORS[403],
        404: {"model": ErrorOut, "description": "No such capture job of this organisation."},
    },
    summary="A capture job: what was captured, what refused and why",
)
def get_capture(
    producer: ProducerDep,
    context: ContextDep,
    capture_id: Annotated[str, Path(max_length=64, description="The id the capture answered.")],
) -> JSONResponse:
    with context.engine.connect() as conn:
        row = conn.execute(
            sa.select(capture_jobs.c.job).where(
                capture_jobs.c.capture_id == capture_id,
                capture_jobs.c.organisation == producer.organisation,
            )
        ).first()
    if row is None:
        raise ApiError(404, "not_found", "no such capture job of this organisation", "capture_id")
    return JSONResponse(json.loads(row.job))


def _directory(request: Request, context: AppContext) -> Directory:
    """The app's directory of registered organisations (made on first use)."""
    directory: Directory | None = getattr(request.app.state, "epcis_directory", None)
    if directory is None:
        directory = Directory(context.store)
        request.app.state.epcis_directory = directory
    directory.refresh()
    return directory


def _keep(context: AppContext, good: list[MappedEvent], result: SubmitResult) -> None:
    """Keep, for each event the ledger took (or queued), the members its export would not give
    as sent. A repeat (``duplicate``) keeps what its first capture kept."""
    taken = {o.index for o in result.outcomes if o.status.value == "accepted"}
    for item in good:
        if item.kept is not None and item.event is not None and item.index in taken:
            keep_members(context.engine, item.event["event_id"], item.kept)


def _job(capture_id: str, mapped: list[MappedEvent], result: SubmitResult | None) -> dict[str, Any]:
    """The job as answered and kept: per event its status (``captured``, ``duplicate``,
    ``refused``) with the reasons of a refusal. Outcomes are numbered by ``eventList`` index."""
    outcomes = {}
    if result is not None:
        outcomes = {o.index: o for o in result.outcomes if o.index is not None}
    events = []
    for item in mapped:
        entry: dict[str, Any] = {
            "index": item.index,
            "eventHash": item.event_hash,
            "eventID": None,
            "status": "refused",
            "problems": [p.as_dict() | {"reason": p.reason} for p in item.problems],
        }
        if item.event is not None:
            entry["eventID"] = item.event["event_id"]
            outcome = outcomes.get(item.index)
            if outcome is None or outcome.status.value == "rejected":
                entry["problems"] = [
                    {
                        "reason": outcome.reason if outcome else "not_captured",
                        "field": outcome.field if outcome else None,
                        "value": None,
                        "rule": outcome.rule if outcome else "no outcome",
                    }
                ]
            else:
                entry["status"] = (
                    "captured" if outcome.status.value == "accepted" else outcome.status.value
                )
        events.append(entry)
    return {
        "captureID": capture_id,
        "committed": result.committed if result is not None else True,
        "captured": sum(e["status"] == "captured" for e in events),
        "duplicates": sum(e["status"] == "duplicate" for e in events),
        "refused": sum(e["status"] == "refused" for e in events),
        "events": events,
    }
