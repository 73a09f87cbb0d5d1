"""Rate limit of anonymous and producer callers, per client address (token bucket, in memory;
settings ``SUYUAN_QUERY_RATE_LIMIT_*`` of :class:`suyuan.config.Settings`).

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

from suyuan.auth import AuthError, Principal, Role
from suyuan_http.guard import AUTH_STATE_KEY, Limit, LimitPolicy, TokenBucketLimiter

__all__ = [
    "AUTH_STATE_KEY",
    "UNLIMITED_ROLES",
    "TokenBucketLimiter",
    "address_limit",
]

UNLIMITED_ROLES = frozenset({Role.REGULATOR, Role.ADMIN})


def address_limit(limiter: TokenBucketLimiter) -> LimitPolicy:
    """Every caller but a regulator or admin spends a token of its address's bucket."""

    def policy(checked: Principal | AuthError | None, client: str) -> Limit | None:
        if isinstance(checked, Principal) and checked.role in UNLIMITED_ROLES:
            return None
        return Limit(limiter, client, "one address")

    return policy
