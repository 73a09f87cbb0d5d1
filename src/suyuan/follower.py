"""The one trust follower: the trust store kept in step with the ledger's trust events.

Every part that needs to know who is registered, with which roles and keys — the write path
(:class:`suyuan.intake.LedgerWriter`), the organisation directory of the tracer, the recalls and
the food-chain rules (:class:`suyuan.directory.Directory`) — follows the ledger's trust events
through a :class:`TrustFollower`, in trust order (``docs/ledger.md``, "Trust order"), so they
cannot disagree about an organisation. The audit replays them on its own, on purpose: it checks
what the writers decided.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from suyuan.ledger import TRUST_SHARD, LedgerStore
from suyuan.signing import RootKey, TrustStore


class TrustFollower:
    """A :class:`~suyuan.signing.TrustStore` that catches up with the ledger on :meth:`refresh`.

    Trust events are appended in trust order, so a refresh applies only the ones it has not
    seen; if the order it saw changed (a ledger replaced underneath), it replays them all. New
    trust events are only ever appended to :data:`~suyuan.ledger.TRUST_SHARD`: while that
    shard's head (size and chain head) is the one of the last refresh, nothing is read but the
    head — a trace refreshes once or twice, and a ledger of many registrations would otherwise
    read every trust position each time.
    """

    def __init__(self, store: LedgerStore, roots: Sequence[RootKey]) -> None:
        self._store = store
        self._roots = tuple(roots)
        self._lock = threading.Lock()
        self._positions: list[tuple[int, int]] = []
        #: The trust shard's (size, chain head) at the last refresh.
        self._seen_head: tuple[int, bytes] | None = None
        self.trust = TrustStore(self._roots)

    @property
    def size(self) -> int:
        """How many of the ledger's trust events the trust store holds."""
        return len(self._positions)

    def refresh(self) -> bool:
        """Apply trust events appended since the last refresh; whether there were any."""
        with self._lock:
            head = self._store.head(TRUST_SHARD)
            if (head.size, head.chain_head) == self._seen_head:
                return False
            positions = self._store.trust_positions()
            self._seen_head = (head.size, head.chain_head)
            seen = len(self._positions)
            if positions == self._positions:
                return False
            if positions[:seen] != self._positions:
                self.trust, seen = TrustStore(self._roots), 0
            fresh = positions[seen:]
            events = self._store.events_at(fresh)
            for position in fresh:
                self.trust.apply(events[position])
            self._positions = positions
            return True

    def reload(self) -> None:
        """Forget everything and replay the ledger's trust events (e.g. after trust events were
        applied speculatively and the ledger did not take them)."""
        with self._lock:
            self._positions = []
            self._seen_head = None
            self.trust = TrustStore(self._roots)
        self.refresh()


def load_trust(store: LedgerStore, roots: Sequence[RootKey]) -> TrustStore:
    """The trust store as of the ledger's trust events now."""
    follower = TrustFollower(store, roots)
    follower.refresh()
    return follower.trust


__all__ = ["TrustFollower", "load_trust"]
