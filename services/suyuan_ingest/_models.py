"""Response bodies of the capture API (published in its OpenAPI document).

The error and health bodies are :mod:`suyuan_http.models`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from suyuan_http import ProblemOut


class EventResult(BaseModel):
    """What became of one event of the request."""

    index: int | None = Field(
        description="Position of the event in the request (JSON) or in the signed batch (Avro)."
    )
    event_id: str | None = Field(description="The event's id, when it could be read.")
    status: Literal["accepted", "duplicate", "rejected"] = Field(
        description="accepted: in the ledger (or queued for it when `committed` is false); "
        "duplicate: the event id is already in the ledger; rejected: refused, see `reason`."
    )
    reason: str | None = Field(None, description="Machine-readable reason of a rejection.")
    field: str | None = Field(None, description="Path of the field that broke a rule.")
    rule: str | None = Field(None, description="The rule that was broken.")
    errors: list[ProblemOut] = Field(
        default_factory=list,
        description="A rejected event's problems: every one of a JSON event (the first is "
        "`reason`, `field`, `rule`), the first of an event of a client-signed batch.",
    )


class SubmitResponse(BaseModel):
    committed: bool = Field(
        description="True when accepted events are already in the ledger; false when they are "
        "queued for it (Kafka), in which case a later refusal shows in GET /v1/rejections."
    )
    results: list[EventResult]


class RejectionOut(BaseModel):
    time: datetime = Field(description="When the ledger refused it.")
    reason: str
    field: str | None
    rule: str
    source: str = Field(description="Where it came from, e.g. `http:1f2e3d4c5b6a body[2]`.")
    event_id: str | None


class RejectionsResponse(BaseModel):
    rejections: list[RejectionOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last one."
    )
