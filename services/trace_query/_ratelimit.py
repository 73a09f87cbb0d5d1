"""Rate limit of anonymous and producer callers, per client address (token bucket, in memory).

The query service is public: a consumer's phone needs no token. Each client address gets a
bucket of ``burst`` requests refilled at ``rate`` per second; an empty bucket answers 429 with
``Retry-After``. Regulator and admin tokens are never limited (they are accountable, and a
recall must not wait). A presented token is checked before the limit so that a regulator behind
the same address as a noisy client still gets through; a bad token is charged like no token.

The client address is the one :func:`suyuan_http.guard.client_address` finds:
``X-Forwarded-For`` counts only from the proxies in ``SUYUAN_TRUSTED_PROXIES``. The state is
per process, so with N replicas a client may get up to N times the rate.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suyuan.auth import AuthError, Principal, Role
from suyuan_http.guard import AUTH_STATE_KEY, Limit, LimitPolicy, TokenBucketLimiter

__all__ = [
    "AUTH_STATE_KEY",
    "UNLIMITED_ROLES",
    "RateLimitSettings",
    "TokenBucketLimiter",
    "address_limit",
]

UNLIMITED_ROLES = frozenset({Role.REGULATOR, Role.ADMIN})


class RateLimitSettings(BaseSettings):
    """Limits of the query service (environment, prefix ``SUYUAN_``)."""

    model_config = SettingsConfigDict(env_prefix="SUYUAN_", env_file=".env", extra="ignore")

    query_rate_limit_per_second: float = Field(
        20.0, ge=0, description="Requests per second per client address; 0 turns the limit off."
    )
    query_rate_limit_burst: int = Field(
        100, ge=1, description="Requests a client address may make at once after a pause."
    )
    query_rate_limit_clients: int = Field(
        100_000, ge=1, description="Client addresses remembered (least recently seen go first)."
    )


def address_limit(limiter: TokenBucketLimiter) -> LimitPolicy:
    """Every caller but a regulator or admin spends a token of its address's bucket."""

    def policy(checked: Principal | AuthError | None, client: str) -> Limit | None:
        if isinstance(checked, Principal) and checked.role in UNLIMITED_ROLES:
            return None
        return Limit(limiter, client, "one address")

    return policy
