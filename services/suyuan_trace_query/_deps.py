"""Typed dependencies of the query API: the app's context, the caller and what it may see.

``create_app`` builds one :class:`QueryContext`; routes take it and the caller's
:class:`~suyuan.auth.Principal` as dependencies. A presented token was already checked by the
request guard (which needs to know whether to limit); the result is reused here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from suyuan.auth import AuthError, Principal, Role, authenticate
from suyuan.config import Settings
from suyuan.errors import SuyuanError
from suyuan.ledger import Ledger, LedgerError, LedgerStore
from suyuan.signing import RootKey
from suyuan.tlog import Checkpoint
from suyuan.trace import TraceBudget, Tracer
from suyuan.transport import Transport
from suyuan.witness import Witnessing
from suyuan_http import ApiError, HttpMetrics, bearer_principal, require_role

FULL_VIEW_ROLES = frozenset({Role.REGULATOR, Role.ADMIN})
log = logging.getLogger("suyuan.trace_query")


class LedgerAccess:
    """The ledger's signed checkpoints and proofs, or why they are unavailable (no ledger key).

    Readers are served only checkpoints already stored: a checkpoint is signed on a schedule
    (:meth:`sign_moved`, from the app's lifespan) and after this service appends (a recall),
    never because a client asked. Signing is serialised in this process; another process that
    signs the same size first is not an error (its checkpoint is used).
    """

    def __init__(
        self,
        store: LedgerStore,
        ledger: Ledger | None,
        problem: str | None,
        *,
        interval: float = 5.0,
        witnessing: Witnessing | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.problem = problem
        self.interval = interval
        self.witnessing = witnessing
        self._lock = threading.Lock()
        self._asked_again: dict[int, float] = {}

    @property
    def retry_after(self) -> int:
        """Seconds until the next scheduled signing, at most (for ``Retry-After``)."""
        return max(1, math.ceil(self.interval))

    def require(self) -> Ledger:
        """The ledger. Raises: ApiError 503 ``proofs_unavailable``."""
        if self.ledger is None:
            raise ApiError(
                503,
                "proofs_unavailable",
                f"this service holds no ledger key, so it cannot sign checkpoints: {self.problem}",
            )
        return self.ledger

    def sign_moved(self) -> int:
        """Sign a checkpoint of every shard whose head moved since its last one; how many were
        signed. Without a ledger key, nothing. A shard that cannot be signed (its stored tree
        is inconsistent) is logged and left for the auditor; the others are still signed."""
        if self.ledger is None:
            return 0
        signed = 0
        with self._lock:
            cosign = self.witnessing.cosign if self.witnessing else None
            for shard in self.store.shard_ids():
                before = self.ledger.latest_checkpoint(shard)
                try:
                    note = self.ledger.checkpoint(shard, cosign=cosign)
                except LedgerError as err:
                    if not self._signed_elsewhere(self.ledger, shard):
                        log.error("shard %d: no checkpoint signed: %s", shard, err)
                    continue
                moved = before is None or before[0] != note
                signed += moved
                if not moved:
                    self._ask_witnesses_again(shard)
        return signed

    def _ask_witnesses_again(self, shard: int) -> None:
        """An unchanged head: witnesses missing from its checkpoint (down when it was signed)
        are asked again, at most once a minute per shard."""
        now = time.monotonic()
        if self.witnessing is None or now - self._asked_again.get(shard, -60.0) < 60.0:
            return
        self._asked_again[shard] = now
        try:
            self.witnessing.cosign_newest(shard)
        except SuyuanError as err:
            log.error("shard %d: cosignatures not stored: %s", shard, err)

    def newest_note(self, shard: int) -> str:
        """The newest stored checkpoint note of the shard.

        Raises:
            ApiError: 503 ``no_checkpoint`` (with ``Retry-After``) before the first is signed.
        """
        stored = self.store.latest_checkpoint(shard)
        if stored is None:
            raise ApiError(
                503,
                "no_checkpoint",
                f"no checkpoint of shard {shard} is signed yet; one is signed every "
                f"{self.interval:g} s",
                retry_after=self.retry_after,
            )
        return stored.note

    def covering(self, shard: int, seq: int) -> tuple[str, Checkpoint] | None:
        """The newest stored checkpoint whose tree holds entry ``seq``; ``None`` until the
        next scheduled one covers it.

        Raises:
            ApiError: 503 when no ledger key is loaded.
        """
        latest = self.require().latest_checkpoint(shard)
        if latest is not None and latest[1].size > seq:
            return latest
        return None

    def require_covering(self, shard: int, seq: int) -> tuple[str, Checkpoint]:
        """:meth:`covering`, or why not.

        Raises:
            ApiError: 503 when no ledger key is loaded, or ``not_yet_checkpointed`` (with
                ``Retry-After``) when no checkpoint covers the entry yet.
        """
        found = self.covering(shard, seq)
        if found is None:
            raise ApiError(
                503,
                "not_yet_checkpointed",
                f"entry {seq} of shard {shard} is not in a signed checkpoint yet; one is "
                f"signed every {self.interval:g} s",
                retry_after=self.retry_after,
            )
        return found

    @staticmethod
    def _signed_elsewhere(ledger: Ledger, shard: int) -> bool:
        """Whether another process stored a checkpoint of the current size first."""
        latest = ledger.latest_checkpoint(shard)
        return latest is not None and latest[1].size == ledger.store.head(shard).size


class TraceSlots:
    """At most ``size`` budgeted traces (API, scan page, label) in a service process at once, of
    which at most ``running`` are worked on; the others wait for a turn, first come first
    served.

    One past ``size`` is refused at once rather than queued: 50 clients asking for an expensive
    code must not hold every worker thread while regulators and cheap codes wait behind them.

    Why only ``running`` at once: a trace holds Python's interpreter lock for most of its time
    and lets go of it at each database call, and threads past one or two only hand the lock back
    and forth. One process serving eight clients answered 1.28 times as many public traces with
    two running as with all eight on SQLite, at 0.69 times the CPU per trace
    (docs/http-query.md, "Traces at once"). Regulator and admin traces take no slot and no turn:
    they are few, and some are long (a recall's lot), so no public trace waits behind them.
    """

    RETRY_AFTER = 1

    def __init__(self, size: int, running: int) -> None:
        self.size = size
        self.running = running
        self._taken = 0
        self._count = threading.Lock()
        self._turns = threading.Semaphore(running)

    @property
    def taken(self) -> int:
        """Slots taken now, by traces worked on or waiting for a turn."""
        return self._taken

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot while the block runs, and start the block in its turn.

        Raises:
            ApiError: 503 ``busy`` (``Retry-After``) when every slot is taken.
        """
        with self._count:
            full = self._taken >= self.size
            if not full:
                self._taken += 1
        if full:
            raise ApiError(
                503,
                "busy",
                f"at most {self.size} public traces are worked on at once; retry after "
                f"{self.RETRY_AFTER} s",
                retry_after=self.RETRY_AFTER,
            )
        try:
            with self._turns:
                yield
        finally:
            with self._count:
                self._taken -= 1


@dataclass(frozen=True)
class RecallDesk:
    """What starting a recall needs, or why it cannot be started here."""

    roots: tuple[RootKey, ...] | None
    transport: Transport | None
    custody_master: bytes | None
    problem: str | None = None


@dataclass(frozen=True)
class QueryContext:
    """Everything a request needs, made once by ``create_app``."""

    settings: Settings
    store: LedgerStore
    engine: Engine | None
    """The database holding tokens and custodial keys (``None``: a store without one)."""
    tracer: Tracer
    ledger: LedgerAccess
    recalls: RecallDesk
    metrics: HttpMetrics
    trace_budget: TraceBudget
    """What one trace may read, for every caller but a regulator or admin."""
    public_traces: TraceSlots

    def budget_for(self, principal: Principal) -> TraceBudget | None:
        """The trace budget of ``principal``: none for regulators and admins (they are
        accountable, and a recall needs every code)."""
        return None if principal.role in FULL_VIEW_ROLES else self.trace_budget

    @contextmanager
    def tracing(self, principal: Principal) -> Iterator[TraceBudget | None]:
        """Run a trace for ``principal``: its budget, in a slot when it has one.

        Raises:
            ApiError: 503 ``busy`` when every slot for budgeted traces is taken.
        """
        budget = self.budget_for(principal)
        if budget is None:
            yield None
            return
        with self.public_traces.slot():
            yield budget


async def get_context(request: Request) -> QueryContext:
    # async: no trip through the thread pool for a lookup
    return context_of(request)


def context_of(request: Request) -> QueryContext:
    """The query service's context (``app.state.context``)."""
    context: QueryContext = request.app.state.context
    return context


ContextDep = Annotated[QueryContext, Depends(get_context)]

_TOKEN_HELP = (
    "An API token (`sy_…`) from `suyuan token create`; without one the caller is "
    "public (consumer view, rate-limited)."
)


def _check_token(request: Request, token: str) -> Principal:
    """The caller behind ``token``, when the request guard did not check it
    (:func:`~suyuan_http.bearer_principal` takes the guard's check first).

    Raises:
        AuthError: an unknown, malformed or revoked token, or no token database here.
    """
    engine = context_of(request).engine
    if engine is None:
        raise AuthError("unknown_token", "this service has no token database")
    return authenticate(engine, token)


PrincipalDep = Annotated[
    Principal, Depends(bearer_principal(_check_token, description=_TOKEN_HELP))
]


def require_regulator(principal: PrincipalDep) -> Principal:
    """A regulator token: it speaks for a regulator's organisation."""
    return require_role(principal, frozenset({Role.REGULATOR}), "a regulator token")


def require_overseer(principal: PrincipalDep) -> Principal:
    """A regulator or admin token."""
    return require_role(principal, FULL_VIEW_ROLES, "a regulator or admin token")


RegulatorDep = Annotated[Principal, Depends(require_regulator)]
OverseerDep = Annotated[Principal, Depends(require_overseer)]


def sees_in_full(principal: Principal, organisations: set[str]) -> bool:
    """Regulators and admins see everything; a producer sees in full what it took part in."""
    if principal.role in FULL_VIEW_ROLES:
        return True
    return principal.role is Role.PRODUCER and principal.organisation in organisations
