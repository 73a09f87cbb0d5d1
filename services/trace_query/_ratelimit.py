"""Rate limit of anonymous and producer callers, per client address (token bucket, in memory).

The query service is public: a consumer's phone needs no token. Each client address gets a
bucket of ``burst`` requests refilled at ``rate`` per second; an empty bucket answers 429 with
``Retry-After``. Regulator and admin tokens are never limited (they are accountable, and a
recall must not wait). A presented token is checked before the limit so that a regulator behind
the same address as a noisy client still gets through; a bad token is charged like no token.

The client address is the ASGI ``client``: behind a load balancer run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so that it is the caller's, not the balancer's. The
state is per process, so with N replicas a client may get up to N times the rate.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from suyuan.auth import AuthError, Principal, Role

#: Paths never limited: probes and scrapers must see the service even while it is busy.
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})
UNLIMITED_ROLES = frozenset({Role.REGULATOR, Role.ADMIN})
#: Where the middleware leaves the outcome of checking a presented token (``request.state``).
AUTH_STATE_KEY = "token_check"

Authenticator = Callable[[str], Principal]


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


class TokenBucketLimiter:
    """One token bucket per key. Thread-safe; memory bounded by ``max_clients``."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 if there was one, else seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            # A forgotten client starts again with a full bucket: the cost of bounded memory.
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """Pure ASGI middleware: checks a presented token once, then limits unless it is elevated."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: TokenBucketLimiter | None,
        authenticate: Authenticator | None,
        on_limited: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.authenticate = authenticate
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        checked = await self._check_token(scope)
        if checked is not None:
            scope.setdefault("state", {})[AUTH_STATE_KEY] = checked
        elevated = isinstance(checked, Principal) and checked.role in UNLIMITED_ROLES
        if self.limiter is not None and not elevated:
            wait = self.limiter.take(_client_address(scope))
            if wait > 0:
                if self.on_limited is not None:
                    self.on_limited()
                await _too_many_requests(send, wait, self.limiter)
                return
        await self.app(scope, receive, send)

    async def _check_token(self, scope: Scope) -> Principal | AuthError | None:
        token = bearer_token(scope)
        if token is None or self.authenticate is None:
            return None
        try:
            return await run_in_threadpool(self.authenticate, token)
        except AuthError as err:
            return err


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any (other schemes: none)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _too_many_requests(send: Send, wait: float, limiter: TokenBucketLimiter) -> None:
    retry_after = max(1, math.ceil(wait))
    rule = (
        f"at most {limiter.rate:g} requests per second from one address (bursts of "
        f"{limiter.burst}); retry after {retry_after} s, or use a token"
    )
    body = json.dumps(
        {"reason": "rate_limited", "field": None, "rule": rule, "value": None, "detail": rule}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
