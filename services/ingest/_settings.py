"""Settings of the capture API, from the environment (prefix ``SUYUAN_``).

Kept apart from :class:`suyuan.config.Settings` until they join it.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suyuan.events import MAX_BATCH_BYTES


class IngestApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUYUAN_", env_file=".env", extra="ignore")

    ingest_max_body_bytes: int = Field(
        MAX_BATCH_BYTES, ge=1024, description="Largest request body of POST /v1/events (413)."
    )
    ingest_max_events: int = Field(
        1000, ge=1, description="Most events in one JSON request (signed as one batch)."
    )
