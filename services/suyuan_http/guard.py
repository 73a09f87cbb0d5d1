"""What every request passes before a route sees it: the caller, the client address, the rate
limit and the body cap (docs/http-query.md, docs/http-ingest.md "Limits").

:class:`RequestGuard` is pure ASGI middleware, so it can refuse a request before anything reads
its body: a route that takes a body (:class:`BodyLimit`) answers 401 to a missing or bad token
*without reading a byte of it*, and 413 as soon as the body passes the route's cap (at once
when ``Content-Length`` says so). Only then is the body — at most the cap, held in memory —
handed to the app. A presented token is checked once here; routes reuse the outcome
(:func:`checked_token`).

The client address is the ASGI ``client``; ``X-Forwarded-For`` is believed only when that
address is one of the trusted proxies (:func:`client_address`).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suyuan.auth import AuthError, Principal

from .errors import PROBLEM_JSON, ApiError, problem_bytes

log = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Authenticator = Callable[[str], Principal]
#: Where the guard leaves the outcome of checking a presented token (``request.state``).
AUTH_STATE_KEY = "token_check"
#: Where the guard leaves the client address it used (``request.state``).
CLIENT_STATE_KEY = "client_address"
#: Paths never limited: probes and scrapers must see the service even while it is busy.
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})
#: Declared bodies larger than this are refused on routes that take none (they are never read).
NO_BODY_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """A route that reads a body: ``method`` on the route template ``path`` (as declared,
    e.g. ``/v1/certificates/{code}/void``), at most ``max_bytes``, and only from a caller with
    a valid token."""

    method: str
    path: str
    max_bytes: int
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", compile_path(self.path)[0])

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self._regex.match(path) is not None


@dataclass(frozen=True, slots=True)
class Limit:
    """Which bucket of which limiter a request spends, and how to word the refusal."""

    limiter: TokenBucketLimiter
    key: str
    per: str
    """What the bucket belongs to, e.g. ``"one address"``, ``"one organisation"``."""


#: Chooses the rate limit of a request from its checked token (``None``: none presented) and
#: its client address; ``None``: not limited.
LimitPolicy = Callable[[Principal | AuthError | None, str], Limit | None]


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


class RequestGuard:
    """Pure ASGI middleware: token check, 401 before a body, rate limit, body cap."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Authenticator | None,
        bodies: Sequence[BodyLimit] = (),
        limit: LimitPolicy | None = None,
        trusted_proxies: Sequence[IpNetwork] = (),
        on_limited: Callable[[], None] | None = None,
        detail: bool = False,
        unavailable: tuple[type[Exception], ...] = (),
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        #: What ``authenticate`` raises when the token database cannot answer: a 503, as the
        #: routes answer the same failure, never a 500.
        self.unavailable = unavailable
        self.bodies = tuple(bodies)
        self.limit = limit
        self.trusted_proxies = tuple(trusted_proxies)
        self.on_limited = on_limited
        self.detail = detail  # every refusal has a detail now; kept for callers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        client = client_address(scope, self.trusted_proxies)
        state[CLIENT_STATE_KEY] = client
        try:
            checked = await self._check_token(scope)
        except self.unavailable as err:
            log.error("token check failed: the database cannot answer (%s)", type(err).__name__)
            await self._json(
                send, scope, 503, "unavailable", "the ledger database is unavailable", None, {}
            )
            return
        if checked is not None:
            state[AUTH_STATE_KEY] = checked
        body = next((b for b in self.bodies if b.matches(scope["method"], scope["path"])), None)
        if body is not None:
            scope["route"] = _Template(body.path)  # a refusal is counted under its route
        if body is not None and not isinstance(checked, Principal):
            await self._refuse_unauthenticated(send, scope, checked)
            return
        if self.limit is not None and (limit := self.limit(checked, client)) is not None:
            wait = limit.limiter.take(limit.key)
            if wait > 0:
                if self.on_limited is not None:
                    self.on_limited()
                await self._too_many_requests(send, scope, wait, limit)
                return
        cap = NO_BODY_CAP if body is None else body.max_bytes
        if _declared_length(scope) > cap:
            await self._too_large(send, scope, cap)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        received = await _read_at_most(receive, cap)
        if received is None:
            await self._too_large(send, scope, cap)
            return
        await self.app(scope, _replay(received, receive), send)

    async def _check_token(self, scope: Scope) -> Principal | AuthError | None:
        token = bearer_token(scope)
        if token is None:
            return None
        if self.authenticate is None:
            return AuthError("unknown_token", "this service has no token database")
        try:
            return await run_in_threadpool(self.authenticate, token)
        except AuthError as err:
            return err

    async def _refuse_unauthenticated(
        self, send: Send, scope: Scope, checked: AuthError | None
    ) -> None:
        if checked is None:
            reason, rule = "missing_token", "send a token first: `Authorization: Bearer sy_…`"
        else:
            reason, rule = checked.reason, str(checked)
        await self._json(
            send, scope, 401, reason, rule, "Authorization", {"www-authenticate": "Bearer"}
        )

    async def _too_many_requests(self, send: Send, scope: Scope, wait: float, limit: Limit) -> None:
        retry_after = max(1, math.ceil(wait))
        rule = (
            f"at most {limit.limiter.rate:g} requests per second from {limit.per} (bursts of "
            f"{limit.limiter.burst}); retry after {retry_after} s"
        )
        await self._json(
            send, scope, 429, "rate_limited", rule, None, {"retry-after": str(retry_after)}
        )

    async def _too_large(self, send: Send, scope: Scope, cap: int) -> None:
        rule = f"the body must be at most {cap} bytes"
        await self._json(send, scope, 413, "too_large", rule, "body", {"connection": "close"})

    async def _json(
        self,
        send: Send,
        scope: Scope,
        status: int,
        reason: str,
        rule: str,
        field: str | None,
        headers: dict[str, str],
    ) -> None:
        data = problem_bytes(ApiError(status, reason, rule, field), scope.get("path"))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(data)).encode()),
                    *((k.encode(), v.encode("latin-1")) for k, v in headers.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def checked_token(request: Request) -> Principal | AuthError | None:
    """What :class:`RequestGuard` made of the request's token (``None``: it did not check one)."""
    checked: Principal | AuthError | None = getattr(request.state, AUTH_STATE_KEY, None)
    return checked


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any (other schemes: none)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def client_address(scope: Scope, trusted: Sequence[IpNetwork] = ()) -> str:
    """The caller's address: the ASGI client, or — only when that is a trusted proxy — the
    nearest address of ``X-Forwarded-For`` that is not itself a trusted proxy.

    Anyone can write ``X-Forwarded-For``; only the proxies in front of the service append to it
    honestly, so the list is read from the right and stops at the first untrusted hop.
    """
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in bytes(value).decode("latin-1").split(","))
    address = peer
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # not an address: whatever is left of it cannot be believed
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address


def _is_trusted(address: str, trusted: Sequence[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


@dataclass(frozen=True, slots=True)
class _Template:
    """Stands for the route in ``scope["route"]`` until the router sets the real one."""

    path: str


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = bytes(value).decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                return 0
            # Longer than any real body: int() of over 4,300 digits would raise ValueError.
            return int(text) if len(text) <= 18 else 10**18
    return 0


async def _read_at_most(receive: Receive, cap: int) -> list[Message] | None:
    """The body's messages, or ``None`` as soon as they pass ``cap`` bytes (the rest unread)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            messages.append(message)  # a disconnect: the app sees it
            return messages
        size += len(message.get("body", b""))
        if size > cap:
            return None
        messages.append(message)
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
