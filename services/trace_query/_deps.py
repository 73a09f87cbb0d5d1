"""Typed dependencies of the query API: the app's context, the caller and what it may see.

``create_app`` builds one :class:`QueryContext`; routes take it and the caller's
:class:`~suyuan.auth.Principal` as dependencies. A presented token was already checked by the
request guard (which needs to know whether to limit); the result is reused here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from suyuan.auth import AuthError, Principal, Role, authenticate
from suyuan.config import Settings
from suyuan.ledger import Ledger, LedgerError, LedgerStore
from suyuan.signing import RootKey
from suyuan.tlog import Checkpoint, open_checkpoint
from suyuan.trace import TraceBudget, Tracer
from suyuan.transport import Transport
from suyuan_http import ApiError, HttpMetrics, bearer_principal, checked_token, require_role

FULL_VIEW_ROLES = frozenset({Role.REGULATOR, Role.ADMIN})


class LedgerAccess:
    """The ledger's checkpoints and proofs, or why they are unavailable (no ledger key).

    Signing is serialised in this process; another process that signs the same size first is
    not an error (its checkpoint is used).
    """

    def __init__(self, store: LedgerStore, ledger: Ledger | None, problem: str | None) -> None:
        self.store = store
        self.ledger = ledger
        self.problem = problem
        self._lock = threading.Lock()

    def require(self) -> Ledger:
        """The ledger. Raises: ApiError 503 ``proofs_unavailable``."""
        if self.ledger is None:
            raise ApiError(
                503,
                "proofs_unavailable",
                f"this service holds no ledger key, so it cannot sign checkpoints: {self.problem}",
            )
        return self.ledger

    def checkpoint(self, shard: int) -> tuple[str, Checkpoint]:
        """A signed checkpoint of the shard's current head (signed now if the head moved).

        Raises:
            ApiError: 503 when no ledger key is loaded or the stored tree is inconsistent.
        """
        ledger = self.require()
        with self._lock:
            try:
                note = ledger.checkpoint(shard)
            except LedgerError as err:
                note = self._signed_elsewhere(ledger, shard, err)
        return note, open_checkpoint(note, ledger.verifier, origin=ledger.origin(shard))

    def newest_note(self, shard: int) -> str:
        """The newest checkpoint note of the shard: signed now when the head moved and a ledger
        key is loaded; without a key, the newest one stored (clients verify it themselves).

        Raises:
            ApiError: 503 when there is no key and no stored checkpoint, or the tree is
                inconsistent.
        """
        if self.ledger is None:
            stored = self.store.checkpoints(shard)
            if stored:
                return stored[-1].note
        return self.checkpoint(shard)[0]

    def covering(self, shard: int, seq: int) -> tuple[str, Checkpoint]:
        """The newest checkpoint whose tree holds entry ``seq``, signing one when none does."""
        ledger = self.require()
        latest = ledger.latest_checkpoint(shard)
        if latest is not None and latest[1].size > seq:
            return latest
        return self.checkpoint(shard)

    @staticmethod
    def _signed_elsewhere(ledger: Ledger, shard: int, err: LedgerError) -> str:
        """Another process stored a checkpoint of the same size first: use it."""
        latest = ledger.latest_checkpoint(shard)
        if latest is not None and latest[1].size == ledger.store.head(shard).size:
            return latest[0]
        raise ApiError(503, "ledger_inconsistent", f"cannot sign a checkpoint: {err}") from err


class TraceSlots:
    """At most ``size`` budgeted traces (API, scan page, label) worked on at once.

    One more is refused at once rather than queued: 50 clients asking for an expensive code
    must not hold every worker thread while regulators and cheap codes wait behind them.
    """

    RETRY_AFTER = 1

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot while the block runs.

        Raises:
            ApiError: 503 ``busy`` (``Retry-After``) when every slot is taken.
        """
        if not self._free.acquire(blocking=False):
            raise ApiError(
                503,
                "busy",
                f"at most {self.size} public traces are worked on at once; retry after "
                f"{self.RETRY_AFTER} s",
                retry_after=self.RETRY_AFTER,
            )
        try:
            yield
        finally:
            self._free.release()


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


def get_context(request: Request) -> QueryContext:
    context: QueryContext = request.app.state.context
    return context


ContextDep = Annotated[QueryContext, Depends(get_context)]

_TOKEN_HELP = (
    "An API token (`sy_…`) from `suyuan token create`; without one the caller is "
    "public (consumer view, rate-limited)."
)


def _check_token(request: Request, token: str) -> Principal:
    """The caller behind ``token``; the request guard's check of it when it made one.

    Raises:
        AuthError: an unknown, malformed or revoked token, or no token database here.
    """
    checked = checked_token(request)
    if isinstance(checked, AuthError):
        raise checked
    if checked is not None:
        return checked
    engine = get_context(request).engine
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
