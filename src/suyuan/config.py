"""Settings, read from the environment (prefix ``SUYUAN_``) and validated at start-up.

One object for every part: the core, both services, the console and the CLI read their knobs
from :class:`Settings` (a test passes its own).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from suyuan.events import MAX_BATCH_BYTES

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    reference_wait_ms: int = Field(
        30_000,
        ge=0,
        le=600_000,
        description="How long a worker holds back an event that refers to events not in the "
        "ledger (a certificate, an inspection) while other partitions may still bring them.",
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
    # Tansu joins a group only after the rebalance timeout (design.md §9): keep these short.
    kafka_max_poll_interval_ms: int = Field(300_000, ge=1_000)
    kafka_session_timeout_ms: int = Field(45_000, ge=1_000)
    kafka_heartbeat_interval_ms: int = Field(3_000, ge=100)
    # Records per poll() call. With a backlog a worker takes several polls' records into one
    # write (up to 2 MiB, sized to a tenth of the poll interval; docs/runbook.md).
    kafka_max_poll_records: int = Field(50, ge=1, le=5_000)

    # --- cost bounds of the HTTP services (docs/http-query.md, docs/http-ingest.md) ---
    # The budget of one trace for callers without a regulator or admin token: a producer could
    # otherwise make every anonymous scan of its code walk and send 40,000 inputs.
    trace_budget_codes: int = Field(
        1_000, ge=1, description="Most codes one budgeted trace walks (backward, and forward)."
    )
    trace_budget_events: int = Field(
        2_000, ge=1, description="Most events one budgeted trace reads and shows."
    )
    trace_budget_bytes: int = Field(
        512 * 1024, ge=1024, description="Most signed-event bytes one budgeted trace reads."
    )
    public_trace_concurrency: int = Field(
        4, ge=1, description="Budgeted traces (API, scan page, label) worked on at once; more: 503."
    )
    public_trace_threads: int = Field(
        2,
        ge=1,
        description="Of those, how many run at once; the others wait their turn (more threads "
        "only contend for Python's interpreter lock).",
    )
    trusted_proxies: Annotated[tuple[IpNetwork, ...], NoDecode] = Field(
        (),
        description="Comma-separated addresses or CIDRs whose X-Forwarded-For is believed.",
    )
    max_json_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest body of the JSON forms: recall, certificate, void."
    )
    ingest_rate_limit_per_second: float = Field(
        10.0, ge=0, description="Ingest requests per second per organisation; 0 turns it off."
    )
    ingest_rate_limit_burst: int = Field(
        50, ge=1, description="Ingest requests an organisation may make at once after a pause."
    )
    # --- client commands (``suyuan cert`` and ``suyuan org`` over HTTP) ---
    url: str | None = Field(
        None, description="The ingest API the client commands call (SUYUAN_URL)."
    )
    token: SecretStr | None = Field(
        None, description="The API token the client commands send (SUYUAN_TOKEN)."
    )
    checkpoint_interval_seconds: float = Field(
        5.0, gt=0, description="How often the query service signs a checkpoint of moved shards."
    )
    witnesses: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Witnesses asked to cosign each checkpoint (docs/verification.md): "
        "comma-separated '<URL> <witness key>' pairs.",
    )
    # --- custodial keys (suyuan.custody) ---
    custody_master_key: SecretStr | None = Field(
        None, description="Custody master key: 32 random bytes, standard base64."
    )
    custody_key_file: Path = Field(
        Path("var/custody.key"),
        description="Master key file used when SUYUAN_CUSTODY_MASTER_KEY is unset.",
    )
    # --- the capture API (docs/http-ingest.md) ---
    ingest_max_body_bytes: int = Field(
        MAX_BATCH_BYTES, ge=1024, description="Largest request body of POST /v1/events (413)."
    )
    ingest_max_events: int = Field(
        1000, ge=1, description="Most events in one JSON request (signed as one batch)."
    )
    # --- the query service's rate limit (docs/http-query.md) ---
    query_rate_limit_per_second: float = Field(
        20.0, ge=0, description="Requests per second per client address; 0 turns the limit off."
    )
    query_rate_limit_burst: int = Field(
        100, ge=1, description="Requests a client address may make at once after a pause."
    )
    query_rate_limit_clients: int = Field(
        100_000, ge=1, description="Client addresses remembered (least recently seen go first)."
    )
    # --- the console (docs/console.md) ---
    console_secret: SecretStr | None = Field(
        None,
        description="Secret the session cookies are sealed with (at least 32 characters). "
        "Unset: a random one per process, so sessions end when the service restarts and are "
        "not shared between replicas.",
    )
    console_session_hours: float = Field(8.0, gt=0, description="How long a sign-in lasts.")
    ingest_url: str | None = Field(
        None,
        description="Base URL of the capture (ingest) API as this service reaches it: the "
        "producer pages issue and void certificates through its POST /v1/certificates. Unset: "
        "they cannot issue here.",
    )

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_base_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("witnesses", mode="before")
    @classmethod
    def _witness_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, list | tuple):
            try:
                return tuple(ipaddress.ip_network(str(part), strict=False) for part in value)
            except ValueError as err:
                raise ValueError(f"trusted_proxies: {err}") from None
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (validated once)."""
    return Settings()
