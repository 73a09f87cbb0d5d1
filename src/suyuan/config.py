"""Settings, read from the environment (prefix ``SUYUAN_``) and validated at start-up."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of Suyuan, with the embedded default (SQLite, no broker) as the default."""

    model_config = SettingsConfigDict(env_prefix="SUYUAN_", env_file=".env", extra="ignore")

    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Base of the scan URLs printed in QR codes."
    )
    database_url: str = Field("sqlite:///var/suyuan.sqlite", description="SQLAlchemy URL.")
    ledger_key_file: str = Field(
        "var/ledger.key", description="Ledger checkpoint signing key (signed-note key line)."
    )
    ledger_name: str = Field(
        "suyuan.local/ledger", description="Ledger name: key name and checkpoint origin prefix."
    )
    kafka_bootstrap: str | None = Field(None, description="host:port; unset = embedded mode.")
    events_topic: str = "suyuan.events.v1"
    trust_topic: str = Field(
        "suyuan.trust.v1",
        description="One-partition topic of the trust events (organisations, keys, revocations).",
    )
    trust_wait_ms: int = Field(
        200,
        ge=10,
        le=60_000,
        description="First back-off of a worker whose events wait for the trust topic "
        "(doubles up to 5 s while the ledger is behind it).",
    )
    max_message_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Larger messages are rejected as oversized."
    )
    dead_letter_topic: str = "suyuan.events.dlq"
    # Tansu completes a group join only after the rebalance timeout (design §9): keep these short.
    kafka_max_poll_interval_ms: int = Field(300_000, ge=1_000)
    kafka_session_timeout_ms: int = Field(45_000, ge=1_000)
    kafka_heartbeat_interval_ms: int = Field(3_000, ge=100)
    # Messages per poll: one poll is checked and appended in one transaction and must finish
    # well within the poll interval (a message may hold hundreds of events).
    kafka_max_poll_records: int = Field(50, ge=1, le=5_000)

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_base_url must start with http:// or https://")
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (validated once)."""
    return Settings()
