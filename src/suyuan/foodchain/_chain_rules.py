"""The chains' rules that refuse an event in the write path (``docs/verdicts.md``).

:func:`check_chain_rules` runs, for every event after its authority check, the rules of the
chains that need the ledger and refuse rather than alert: the 合格证 rules
(:func:`check_certificate`) and the rules registered in :data:`WRITE_RULES` by event type. Rules
that record a fact and raise an alert instead (a receipt without papers, a dose given twice)
live with the alerts. One place, so HTTP, Kafka and the CLI judge alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from suyuan.events.model import Event
from suyuan.foodchain._cold_chain import check_supervised_release
from suyuan.foodchain._issuance import check_certificate
from suyuan.foodchain._reads import Reads
from suyuan.ledger import LedgerStore

#: A write rule: raises an ``InvalidInputError`` (field, value, rule) when ``event`` may not be
#: recorded; ``pending`` are the events accepted earlier in the same write.
WriteRule = Callable[[Event, Reads, Sequence[Event]], None]

#: The write rules of each event type, besides the 合格证 rules.
WRITE_RULES: Mapping[str, tuple[WriteRule, ...]] = {
    "Released": (check_supervised_release,),  # 浙冷链 四个不得
}


def check_chain_rules(
    event: Event,
    store: LedgerStore,
    *,
    pending: Sequence[Event] = (),
    reads: Reads | None = None,
) -> None:
    """Check ``event`` against the chains' rules that need the ledger.

    Call it after :func:`suyuan.authority.check_authority`. ``reads`` may carry index rows
    prefetched for a whole batch.

    Raises:
        EventValidationError: a rule is broken (``field`` is the event's path, ``rule`` why).
        MissingReferenceError: an event it rests on is not in the ledger (yet).
    """
    reads = reads or Reads(store)
    check_certificate(event, store, pending=pending, reads=reads)
    for rule in WRITE_RULES.get(event.event_type, ()):
        rule(event, reads, pending)
