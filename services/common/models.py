"""Response bodies both HTTP services publish in their OpenAPI documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """A request refused as a whole (4xx, or 503 when the service cannot take it now)."""

    reason: str = Field(
        description="Machine-readable, e.g. invalid_json, invalid_code, missing_token, not_found."
    )
    field: str | None = Field(description="The field, header or part of the request at fault.")
    rule: str = Field(description="The rule that was broken, in words.")
    value: str | None = Field(None, description="The offending value, shortened.")


# ``GET /healthz``: whether the service's database answers. No docstring: it would become the
# schema's description in both OpenAPI documents.
class Health(BaseModel):
    status: Literal["ok", "unavailable"]
