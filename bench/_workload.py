"""The benchmark workload: deterministic, signed, realistic event streams (design.md §4, §5, §10).

Four farms certify lots of produce, pack each lot's serialised units into two cases and ship
the cases to a wholesale market. One lot makes four events — ``CertificateIssued``, two
``Aggregated`` (six units into a case) and one ``Shipped`` (both cases) — so the mix is 25 %
certificates, 50 % aggregations, 25 % shipments, with the code and edge projections that
come with them. Everything is made by :class:`suyuan.scenario.Scenario` before any clock
starts, so generation never counts as ledger time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from suyuan.codes import clear_code_cache
from suyuan.events import decode_batch, decode_event
from suyuan.ledger import Submission
from suyuan.scenario import LotMaker, Organisation, Scenario
from suyuan.signing import RootKey, batch_proofs

BATCH_SIZE = 500
#: The workload's lots are numbered after this many: the kept trace ledger's bulk (made with the
#: same scenario and seed, bench/_trace.py) numbers its lots from 1, and the Kafka benchmarks
#: append this workload onto that ledger.
LOTS_BEFORE = 50_000_000


@dataclass(frozen=True, slots=True)
class Stream:
    """Signed messages ready to write, and what they hold."""

    messages: tuple[bytes, ...]
    event_ids: tuple[str, ...]
    event_types: Counter[str]
    event_bytes: int
    """Sum of the encoded sizes of the events (without the batch envelope)."""

    @property
    def events(self) -> int:
        return len(self.event_ids)

    @property
    def message_bytes(self) -> int:
        return sum(len(m) for m in self.messages)


@dataclass
class Workload:
    """A regulator, its trust message, and the signed streams the benchmarks write."""

    scenario: Scenario
    farms: list[Organisation]
    market: Organisation
    trust_message: bytes
    batched: Stream
    """Messages of :data:`BATCH_SIZE` events under one batch signature."""
    per_event: Stream
    """Messages of one event each, each with its own signature."""
    _submissions: list[Submission] | None = field(default=None, repr=False)

    @property
    def root(self) -> RootKey:
        return self.scenario.root

    def submissions(self) -> list[Submission]:
        """The batched stream as checked :class:`Submission` values (for the bare store path)."""
        if self._submissions is None:
            self._submissions = [sub for m in self.batched.messages for sub in _submissions(m)]
        return self._submissions


def cold_code_cache() -> None:
    """Forget the parsed trace codes that validation remembers (a process-wide LRU cache).

    The same events are written in every run; without this, runs after the first (and every
    benchmark after the first) would find all their codes parsed, which a stream of new codes
    never does. Codes repeated inside the stream (a case packed, then shipped) still hit.
    """
    clear_code_cache()


def build_workload(events: int, per_event_events: int, seed: int = 10) -> Workload:
    """Sign ``events`` events in batches and ``per_event_events`` events one by one."""
    s = Scenario(seed)
    farms = s.lot_farms(4)
    market = s.wholesale_market()
    trust = s.sign_as_root(s.registration(*farms, market))
    # Event ids and certificate codes unlike the trace ledger's, whose bulk comes from the
    # same scenario.
    s.rng.seed(f"{seed}-workload")
    lots = LotMaker(s, market, lots_before=LOTS_BEFORE)
    batched = _stream(s, farms, lots, events, BATCH_SIZE)
    per_event = _stream(s, farms, lots, per_event_events, 1)
    return Workload(s, farms, market, trust, batched, per_event)


def _stream(
    s: Scenario, farms: list[Organisation], lots: LotMaker, total: int, per_message: int
) -> Stream:
    messages: list[bytes] = []
    ids: list[str] = []
    kinds: Counter[str] = Counter()
    size = 0
    # One farm signs a run of BATCH_SIZE events (its own lots), whatever the message size.
    for start in range(0, total, BATCH_SIZE):
        farm = farms[(start // BATCH_SIZE) % len(farms)]
        events = lots.events(farm, min(BATCH_SIZE, total - start))
        for first in range(0, len(events), per_message):
            part = events[first : first + per_message]
            message = s.sign(farm, part)
            messages.append(message)
            size += sum(len(e) for e in decode_batch(message).events)
        ids.extend(e.event_id for e in events)
        kinds.update(e.event_type for e in events)
    return Stream(tuple(messages), tuple(ids), kinds, size)


def _submissions(message: bytes) -> list[Submission]:
    batch = decode_batch(message)
    return [
        Submission(
            event=decode_event(data),
            event_bytes=data,
            key_id=batch.key_id,
            signature=batch.signature,
            batch_size=proof.count,
            batch_index=index,
            batch_path=proof.audit_path,
        )
        for index, (data, proof) in enumerate(zip(batch.events, batch_proofs(batch), strict=True))
    ]
