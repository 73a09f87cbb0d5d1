"""Response bodies both HTTP services publish in their OpenAPI documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProblemOut(BaseModel):
    """One problem of a refused request."""

    reason: str = Field(description="Machine-readable, e.g. invalid_event, invalid_input.")
    field: str | None = Field(description="The field, header or part of the request at fault.")
    rule: str = Field(description="The rule that was broken, in words.")
    value: str | None = Field(None, description="The offending value, shortened.")


class ErrorOut(BaseModel):
    """A request refused as a whole (4xx), or a service that cannot take it now (503): RFC 9457
    problem details (``application/problem+json``). ``reason``, ``field``, ``rule`` and
    ``value`` are the first problem's; ``errors`` lists every problem of the request."""

    type: str = Field(
        description="urn:suyuan:problem:{reason}: names the kind of problem (not a link)."
    )
    title: str = Field(description="The kind of problem in words, e.g. 'Invalid event'.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong: the rule, or every problem in one line.")
    instance: str | None = Field(description="The path of the request refused.")
    reason: str = Field(
        description="Machine-readable, e.g. invalid_json, invalid_code, missing_token, not_found."
    )
    field: str | None = Field(description="The field, header or part of the request at fault.")
    rule: str = Field(description="The rule that was broken, in words.")
    value: str | None = Field(None, description="The offending value, shortened.")
    errors: list[ProblemOut] = Field(
        description="Every problem of the request (at most 100), the first one first."
    )


# ``GET /healthz``: whether the service's database answers. No docstring: it would become the
# schema's description in both OpenAPI documents.
class Health(BaseModel):
    status: Literal["ok", "unavailable"]
