"""Trace a code backward to its origins and forward to every holder (design.md §7).

Computed from the ledger's indexed projections (``code_events``, ``code_edges``) and point reads
of the entries they name — never by scanning the ledger:

- **backward**: the containers the code was packed in, the inputs it was made from, the
  certificates that cover it and their upstream certificates, down to the farms; with every
  inspection, quarantine/meat-inspection certificate and import declaration found on the way;
- **custody**: the ordered hops (who, where, when, what) of the code and, while it was packed,
  of its containers; the temperature record and its excursions;
- **forward** (regulator view): every code made from it or packed with it and every
  organisation that held any of it, with quantities — the scope of a recall;
- **verdict** (:mod:`suyuan.verdict`): recalled › frozen › blocked › expired › attention ›
  replaced › ok, from the findings of every rule about the code, its certificates (a
  certificate shares the state of the goods it covers, and the goods their certificate's) and
  everything upstream — the same alert rules the regulator's list runs (``alerts_of``).

The public view leaves out personal data and counterparties' commercial details.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from suyuan.authority import INSPECTORS
from suyuan.codegraph import CodeGraph, Walk
from suyuan.codes import (
    CodeKind,
    TraceCode,
    gs1_lots,
    is_valid_certificate_code,
    parse_trace_code,
)
from suyuan.directory import Directory
from suyuan.events import decode_event
from suyuan.events.model import Event, thaw
from suyuan.foodchain import (
    INSPECTION_FAILED,
    MISSING_CERTIFICATE,
    PRIVATE_ALERT_KINDS,
    Alert,
    Reads,
    alerts_of,
    failure_binds,
    vouching_issuers,
)
from suyuan.ledger import (
    CERTIFIED_FROM,
    CONTAINS,
    TRANSFORMED,
    VOIDED_BY,
    CodeEdge,
    CodeEventRef,
    LedgerStore,
    StoredEntry,
)
from suyuan.verdict import DRUG, FOOD, RULES, VACCINE, Finding, Verdict, judge, verdict_json

#: Payload fields a public caller never sees (personal data, commercial details, trading
#: partners: docs/http-query.md "Public view").
PRIVATE_FIELDS = frozenset(
    {
        "to_org",
        "from_org",
        "released_to",
        "operator",
        "destination",
        "storage_unit",
        "contact",
        "waybill_no",
        "vehicle_plate",
        "carrier",
        "buyer",
        "receipt_no",
        "recipient_pseudonym",
        "insurance_settlement_no",
        "price",
        "customs_declaration_no",
        "report_no",
        "device_id",
        "lab_uscc",
        "supervised_by",
    }
)
#: Keys of an amount at any depth (a Transformed event's inputs and outputs): how much a
#: business handles is its own affair, so the public view shows no quantities. ``unit`` goes
#: only with a ``quantity`` (a test result's unit stays).
AMOUNT_FIELDS = frozenset({"quantity", "unit"})
#: Events the public never sees: reports about a person's health.
PRIVATE_EVENT_TYPES = frozenset({"AdverseEventReported"})
#: Events whose actor the public view names: the producer (certificate, import declaration, lot
#: release), the point of sale, and those who test, certify or recall. Whoever only held, moved
#: or stored the goods in between is a trading partner and stays unnamed.
NAMED_ACTOR_TYPES = frozenset(
    {
        "CertificateIssued",
        "CertificateVoided",
        "ImportDeclared",
        "VaccineLotReleased",
        "Sold",
        "Dispensed",
        "VaccineAdministered",
        "InspectionRecorded",
        "AnimalQuarantineCertified",
        "MeatQualityInspected",
        "RecallInitiated",
        "RecallClosed",
    }
)
CUSTODY_TYPES = frozenset(
    {
        "Shipped",
        "Received",
        "Stored",
        "Released",
        "Disinfected",
        "Sold",
        "Dispensed",
        "VaccineAdministered",
        "Destroyed",
        "Aggregated",
        "Disaggregated",
        "Transformed",
        "CertificateIssued",
        "ImportDeclared",
        "ColdChainCodesAssigned",
        "VaccineLotReleased",
    }
)
DOCUMENT_TYPES = frozenset({"AnimalQuarantineCertified", "MeatQualityInspected", "ImportDeclared"})
#: Events that make a code a vaccine (its lot release, a dose given).
VACCINE_TYPES = frozenset({"VaccineLotReleased", "VaccineAdministered"})
#: How many codes packed in a case or pallet are looked at to tell what kind of product it is.
CONTENTS_LOOKED_AT = 64
#: The most codes packed in a container whose state the container shares (docs/verdicts.md).
CONTENTS_SHARED = 10_000
HOLDING_PRIORITY = ("Received", "Stored", "Sold", "Dispensed", "VaccineAdministered")
HOLDING_TYPES = frozenset(HOLDING_PRIORITY)
CHINA_TIME = timezone(timedelta(hours=8))
#: Edges followed backward (where it came from) and forward (what came of it).
UPSTREAM_EDGES = frozenset({CONTAINS, TRANSFORMED, CERTIFIED_FROM})
DOWNSTREAM_EDGES = frozenset({CONTAINS, TRANSFORMED, CERTIFIED_FROM, VOIDED_BY})


@dataclass(frozen=True, slots=True)
class TracedEvent:
    """An event shown in a trace, with where it sits in the ledger."""

    event: Event
    shard: int
    seq: int
    recorded_at: datetime
    actor_name: str | None


@dataclass(frozen=True, slots=True)
class Holder:
    organisation: str
    name: str | None
    quantities: tuple[tuple[str, str], ...]
    """(quantity, unit) per unit, summed over what the organisation received/stored/sold."""


@dataclass(frozen=True, slots=True)
class TraceBudget:
    """The most one trace may read (docs/http-query.md "Trace budget"): codes walked each way,
    events read, and bytes of signed events read. Past any of them the trace is cut, nearest
    codes first, and says ``complete: false``."""

    codes: int
    events: int
    bytes: int


@dataclass(frozen=True, slots=True)
class RecallScope:
    """What a recall reaches: codes (roots included) and the organisations that held them."""

    codes: tuple[str, ...]
    """Every code in scope, the roots included, in code order."""
    holders: list[Holder]
    complete: bool
    """False when the walk stopped at :data:`MAX_CODES` codes: the scope is larger than shown."""
    events: list[CodeEventRef] = field(default_factory=list)
    """The events about the scope's codes of the types :meth:`Tracer.recall_scope` was asked
    for, by time."""


@dataclass
class Trace:
    code: str
    kind: str
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    product: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None
    certificates: list[TracedEvent] = field(default_factory=list)
    inspections: list[TracedEvent] = field(default_factory=list)
    self_tests: set[str] = field(default_factory=set)
    """Event ids of the inspections a holder recorded of its own goods (not a LAB or REGULATOR):
    shown as self-tests, never taken for an independent test (docs/authority.md)."""
    documents: list[TracedEvent] = field(default_factory=list)
    custody: list[TracedEvent] = field(default_factory=list)
    temperature: dict[str, Any] | None = None
    temperature_records: list[TracedEvent] = field(default_factory=list)
    """The TemperatureRecorded events ``temperature`` sums up (an EPCIS export lists them)."""
    upstream_codes: list[str] = field(default_factory=list)
    recalls: list[TracedEvent] = field(default_factory=list)
    voids: list[TracedEvent] = field(default_factory=list)
    """CertificateVoided events of this code; the payload names the replacement certificate."""
    alerts: list[Alert] = field(default_factory=list)
    """Open and closed alerts that the events of this trace opened (the regulator's alert rules,
    run over this trace's events)."""
    verdict: Verdict = field(default_factory=lambda: judge(()))
    forward_codes: list[str] | None = None
    holders: list[Holder] | None = None
    expires_on: date | None = None
    complete: bool = True
    """False when a walk stopped at :data:`MAX_CODES` / :data:`MAX_DEPTH`: there is more."""

    def public_names(self) -> frozenset[str]:
        """The organisations its public view names (:data:`NAMED_ACTOR_TYPES`)."""
        shown = [*self.certificates, *self.inspections, *self.documents, *self.custody]
        return public_names([*shown, *self.recalls, *self.voids])

    @property
    def found(self) -> bool:
        return bool(
            self.certificates or self.custody or self.inspections or self.documents or self.recalls
        )


class Tracer:
    """Builds traces from a :class:`LedgerStore`'s projections."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._directory = Directory(store)

    @property
    def directory(self) -> Directory:
        """The registered organisations the traces name (one trust follower)."""
        return self._directory

    # --- public -------------------------------------------------------------------------------

    def trace(
        self,
        code: str,
        *,
        full: bool = False,
        today: date | None = None,
        budget: TraceBudget | None = None,
    ) -> Trace:
        """The trace of ``code`` (any accepted spelling); ``full`` adds the forward trace.

        ``today`` (default: the current date in China) decides whether the goods are expired.
        With a ``budget`` the walks and reads stop at it, nearest codes first (``complete``
        false); without one only :data:`MAX_CODES` and :data:`MAX_DEPTH` bound them.

        Raises:
            CodeError: ``code`` is not a valid trace code (field ``code``).
        """
        parsed = parse_trace_code(code, field="code")
        with self._store.reading():  # one snapshot: never half of a concurrent write
            return self._trace(parsed, full=full, today=today, budget=budget)

    def _trace(
        self, parsed: TraceCode, *, full: bool, today: date | None, budget: TraceBudget | None
    ) -> Trace:
        canonical = parsed.value
        result = Trace(code=canonical, kind=str(parsed.kind))
        limit = None if budget is None else budget.codes
        # a case or pallet is what it holds: a recalled lot makes the case it sits in red
        contents = CodeGraph(self._store).contents(canonical, CONTENTS_SHARED)
        # a serialised unit is part of its GS1 lot: the lot's certificate, recall or freeze is
        # the unit's (and a case's, through what it holds; docs/codes.md "Lots and their units")
        lots = gs1_lots([canonical, *contents])
        start = list(
            dict.fromkeys([canonical, *lots, *self._certified_with([canonical, *lots]), *contents])
        )
        up = self._closure(
            start[:limit] if limit else start, upward=True, limit=limit, ordered=True
        )
        ancestors = up.codes
        events, events_cut = self._events(up.order, budget)
        self._classify(result, canonical, ancestors, self._store.edges_to([canonical]), events)
        result.complete = not up.cut and not events_cut
        findings = self._status(result, canonical, events, ancestors)
        findings += _expiry(result, events, today or datetime.now(CHINA_TIME).date())
        findings += self._alert_findings(result, events)
        if not result.complete:  # what was not read may hold a recall or a freeze
            findings.append(Finding("record_incomplete"))
        result.verdict = judge(findings, self._product_kind(parsed.kind, contents, events))
        result.status = result.verdict.state
        result.reasons = [_reason_text(f) for f in result.verdict.findings]
        if full:
            if limit is None:  # the whole forward trace: as a recall's scope, in one statement
                scope = self._scope([canonical], (), codes=True)
                forward, cut, result.holders = list(scope.codes), not scope.complete, scope.holders
            else:  # a lot's units first (by code), then what the walk reaches nearest first
                below, whole = CodeGraph(self._store).with_units([canonical], limit)
                down = self._closure(below, upward=False, limit=limit)
                forward, cut = sorted(down.codes), down.cut or not whole
                result.holders = self.holders(down.codes)
            result.complete = result.complete and not cut
            result.forward_codes = [c for c in forward if c != canonical]
        return result

    def recall_scope(self, roots: Sequence[str], *, events_of: Collection[str] = ()) -> RecallScope:
        """Every code reached forward from ``roots`` (incl. themselves) and who held them, and
        the events of the types ``events_of`` about those codes; ``complete`` is false when the
        walk was cut at :data:`MAX_CODES` codes.

        Raises:
            CodeError: a root is not a valid trace code (field ``root_codes``).
        """
        canonical = [parse_trace_code(c, field="root_codes").value for c in roots]
        with self._store.reading():
            return self._scope(canonical, events_of, codes=True)

    def scope_holders(self, roots: Sequence[str]) -> list[Holder]:
        """The holders of :meth:`recall_scope`, the scope's codes left in the database (the
        write path asks this of every recall acknowledgement).

        Raises:
            CodeError: a root is not a valid trace code (field ``root_codes``).
        """
        canonical = [parse_trace_code(c, field="root_codes").value for c in roots]
        with self._store.reading():
            return self._scope(canonical, (), codes=False).holders

    def _scope(self, roots: list[str], events_of: Collection[str], *, codes: bool) -> RecallScope:
        # One query walks down, up to the containers and reads the holding events (and those
        # asked for): the million codes of a large recall never pass through Python sets.
        # A lot's units are in its scope, even those no event links to it (docs/recalls.md).
        graph = CodeGraph(self._store)
        start, whole = graph.with_units(roots)
        found = graph.closure_events(
            start,
            kinds=DOWNSTREAM_EDGES,
            event_types=HOLDING_TYPES | frozenset(events_of),
            above_kinds=frozenset({CONTAINS}),
            above_types=HOLDING_TYPES,
            codes=codes,
        )
        if found is None:  # larger than MAX_CODES: the nearest codes, read as before
            walk = self._closure(start, upward=False)
            listed = sorted(walk.codes)
            asked = self._store.code_events_for(listed, events_of) if events_of else []
            return RecallScope(tuple(listed), self.holders(listed), whole and not walk.cut, asked)
        holding = [r for r in (*found.events, *found.above) if r.event_type in HOLDING_TYPES]
        asked = [r for r in found.events if r.event_type in events_of]
        return RecallScope(found.codes, self._holders_of(holding), whole and not found.cut, asked)

    def events_about(
        self,
        codes: Sequence[str],
        *,
        after: tuple[datetime, int, int] | None = None,
        limit: int | None = None,
    ) -> tuple[list[TracedEvent], bool]:
        """The events whose envelope names one of ``codes``, in (occurrence time, shard, seq)
        order: only those after ``after``, at most ``limit`` of them, and whether more follow (an
        EPCIS query's candidates, read a page at a time: docs/epcis.md "Query")."""
        refs = self._store.code_events_for(list(codes))
        keys = sorted({(r.occurred_at, r.shard, r.seq) for r in refs})
        if after is not None:
            keys = [key for key in keys if key > after]
        more = limit is not None and len(keys) > limit
        return self._load([(shard, seq) for _at, shard, seq in keys[:limit]]), more

    def holders(self, codes: Iterable[str]) -> list[Holder]:
        """Organisations that received, stored, sold or used any of ``codes``, with quantities.

        Goods travel packed: whoever held a case or pallet the codes were packed in held them
        too. An organisation's quantity is what it received; failing that, what it stored;
        failing that, what it sold, dispensed or administered — never the sum of several steps.
        """
        wanted = sorted(codes)  # once: the store reads its indexes in code order
        containers = self._closure(wanted, upward=True, kinds=frozenset({CONTAINS})).codes
        # two sorted runs: sorting them together takes linear time
        every = sorted([*wanted, *sorted(containers.difference(wanted))])
        return self._holders_of(self._store.code_events_for(every, HOLDING_TYPES))

    def _holders_of(self, refs: Iterable[CodeEventRef]) -> list[Holder]:
        """The holders the receiving, storing and selling events ``refs`` name (an event named
        by several refs counts once)."""
        per_org: dict[str, dict[str, dict[str, Decimal]]] = {}
        for traced in self._load(dict.fromkeys((r.shard, r.seq) for r in refs)):
            event = traced.event
            units = per_org.setdefault(event.actor, {}).setdefault(event.event_type, {})
            if event.quantity is not None and event.unit:
                units[event.unit] = units.get(event.unit, Decimal(0)) + event.quantity
        self._directory.refresh()
        holders = []
        for org, by_type in sorted(per_org.items()):
            chosen = next((by_type[t] for t in HOLDING_PRIORITY if by_type.get(t)), {})
            quantities = tuple((_decimal_text(q), unit) for unit, q in sorted(chosen.items()))
            holders.append(Holder(org, self._directory.name(org), quantities))
        return holders

    def _certified_with(self, codes: Sequence[str]) -> list[str]:
        """The codes that share the state of ``codes`` through a 合格证: the goods a certificate
        covers, or the certificates that cover a lot (docs/verdicts.md "Certificates and
        goods")."""
        asked = set(codes)
        refs = self._store.code_events_for(sorted(asked), {"CertificateIssued"})
        events = self._store.events_at((r.shard, r.seq) for r in refs)
        others: list[str] = []
        for event in events.values():
            certificate_asked = any(is_valid_certificate_code(c) for c in event.codes if c in asked)
            for other in event.codes:
                if other in asked:
                    continue
                if certificate_asked or is_valid_certificate_code(other):
                    others.append(other)
        return list(dict.fromkeys(others))

    def _product_kind(
        self, kind: CodeKind, contents: Sequence[str], events: list[TracedEvent]
    ) -> str:
        """The kind of product; a case or pallet is the kind of what it holds: a box of vaccine
        doses under recall is told "contact the clinic", not "do not eat"."""
        found = _product_kind(kind, events)
        if found != FOOD or kind is not CodeKind.GS1:
            return found
        contents = contents[:CONTENTS_LOOKED_AT]
        if not contents:
            return FOOD
        if self._store.code_events_for(sorted(contents), VACCINE_TYPES):
            return VACCINE
        drug = any(parse_trace_code(c).kind is CodeKind.DRUG for c in contents)
        return DRUG if drug else FOOD

    def _alert_findings(self, result: Trace, events: list[TracedEvent]) -> list[Finding]:
        """The regulator's alert rules run over this trace's events: each open alert of a kind
        with a verdict rule is a finding (a failed inspection is one already)."""
        result.alerts = alerts_of(Reads(self._store, self._directory), [t.event for t in events])
        # A buyer that did not record the certificate it was shown breaks 进货查验 (the alert
        # stays on the regulator's list), but the goods are not uncertified if a valid
        # certificate covers them: the verdict would then say something false about them.
        certified = _validly_certified(result, events)
        return [
            Finding(alert.kind, event_id=alert.event_id, at=alert.opened_at)
            for alert in result.alerts
            if alert.status == "open"
            and alert.kind in RULES
            and alert.kind != INSPECTION_FAILED
            and not (alert.kind == MISSING_CERTIFICATE and certified)
        ]

    # --- graph ----------------------------------------------------------------------------------

    def _closure(
        self,
        start: Sequence[str],
        *,
        upward: bool,
        kinds: frozenset[str] | None = None,
        limit: int | None = None,
        ordered: bool = False,
    ) -> Walk:
        if kinds is None:
            kinds = UPSTREAM_EDGES if upward else DOWNSTREAM_EDGES
        return CodeGraph(self._store).closure(
            start, upward=upward, kinds=kinds, limit=limit, ordered=ordered
        )

    def _events(
        self, codes: Sequence[str], budget: TraceBudget | None = None
    ) -> tuple[list[TracedEvent], bool]:
        """The events about ``codes`` and whether a ``budget`` left some out; within a budget
        the events of earlier codes (nearer the traced one) are read first."""
        refs = self._store.code_events_for(list(codes))
        if budget is None:
            return self._load(dict.fromkeys((r.shard, r.seq) for r in refs)), False
        rank = {code: n for n, code in enumerate(codes)}
        refs.sort(key=lambda r: rank.get(r.code, len(rank)))  # stable: in time within a code
        positions = list(dict.fromkeys((r.shard, r.seq) for r in refs))
        cut = len(positions) > budget.events
        positions = positions[: budget.events]
        entries = self._store.entries_at(positions)
        read = 0
        for n, position in enumerate(positions):
            entry = entries.get(position)
            read += 0 if entry is None else len(entry.leaf)
            if read > budget.bytes:
                positions, cut = positions[:n], True
                break
        return self._load(positions, entries), cut

    def _load(
        self,
        positions: Iterable[tuple[int, int]],
        entries: Mapping[tuple[int, int], StoredEntry] | None = None,
    ) -> list[TracedEvent]:
        wanted = list(positions)
        if entries is None:
            entries = self._store.entries_at(wanted)
        self._directory.refresh()
        traced: list[TracedEvent] = []
        for position in wanted:
            entry = entries.get(position)
            if entry is None:
                continue
            leaf = entry.read_leaf()
            event = decode_event(leaf.event)
            traced.append(
                TracedEvent(
                    event, leaf.shard, leaf.seq, leaf.recorded_at, self._directory.name(event.actor)
                )
            )
        traced.sort(key=lambda t: (t.event.occurred_at, t.shard, t.seq))
        return traced

    # --- reading the events ---------------------------------------------------------------------

    def _classify(
        self,
        result: Trace,
        code: str,
        ancestors: set[str],
        edges_up: list[CodeEdge],
        events: list[TracedEvent],
    ) -> None:
        packed = _packing_windows(code, edges_up, events)
        result.upstream_codes = sorted(ancestors - {code})
        for traced in events:
            kind = traced.event.event_type
            if kind == "CertificateIssued":
                result.certificates.append(traced)
            elif kind == "InspectionRecorded":
                result.inspections.append(traced)
                if not self._directory.has_role(traced.event.actor, INSPECTORS):
                    result.self_tests.add(traced.event.event_id)
            elif kind == "RecallInitiated":
                result.recalls.append(traced)
            if kind in DOCUMENT_TYPES:
                result.documents.append(traced)
            if kind in CUSTODY_TYPES and _in_custody_view(traced, code, ancestors, packed):
                result.custody.append(traced)
        result.product = _product(result.certificates, events)
        result.origin = _origin(result.certificates, events)
        result.temperature_records = [
            t for t in events if t.event.event_type == "TemperatureRecorded"
        ]
        result.temperature = _temperature(result.temperature_records)

    def _status(
        self, result: Trace, code: str, events: list[TracedEvent], ancestors: set[str]
    ) -> list[Finding]:
        """Findings of recalls, failed inspections and voided certificates."""
        findings: list[Finding] = []
        closed = {
            str(t.event.payload.get("recall_id"))
            for t in events
            if t.event.event_type == "RecallClosed"
        }
        for recall in result.recalls:
            roots = set(recall.event.payload.get("root_codes", ()))
            if not roots & ancestors:
                continue
            ended = str(recall.event.payload.get("recall_id")) in closed
            findings.append(
                Finding(
                    "recall_closed" if ended else "recall_open",
                    detail=str(recall.event.payload.get("reason", "")),
                    event_id=recall.event.event_id,
                    at=recall.event.occurred_at,
                )
            )
        vouching = _vouching(result)
        for failed in result.inspections:
            if not failed.event.payload.get("passed", True):
                hearsay = not failure_binds(failed.event, self._directory, vouching)
                findings.append(
                    Finding(
                        "self_test_failed" if hearsay else "inspection_failed",
                        detail=_failure_detail(failed.event),
                        event_id=failed.event.event_id,
                        at=failed.event.occurred_at,
                    )
                )
        result.voids = [
            t for t in events if t.event.event_type == "CertificateVoided" and code in t.event.codes
        ]
        findings.extend(_void_findings(result, code))
        return findings


def _validly_certified(result: Trace, events: list[TracedEvent]) -> bool:
    """Whether a certificate that is not void covers the traced goods or what they came from."""
    void = {
        c
        for t in events
        if t.event.event_type == "CertificateVoided"
        for c in t.event.codes
        if is_valid_certificate_code(c)
    }
    issued = {c for t in result.certificates for c in t.event.codes if is_valid_certificate_code(c)}
    return bool(issued - void)


def _vouching(result: Trace) -> set[str]:
    """Organisations that vouch for the goods: the issuers of their certificates (a buyer's
    certificate of a lot already certified vouches only for its share: ``vouching_issuers``)
    and the producer or importer at their origin."""
    found = vouching_issuers(t.event for t in result.certificates)
    if is_valid_certificate_code(result.code):  # a certificate's issuer vouches for what it covers
        found |= {t.event.actor for t in result.certificates if result.code in t.event.codes}
    if result.origin and result.origin.get("organisation"):
        found.add(str(result.origin["organisation"]))
    return found


def _void_findings(result: Trace, code: str) -> list[Finding]:
    """A voided certificate is ``replaced`` when reissued, else ``attention``; goods are
    ``attention`` only when every certificate covering them is void and none replaced it."""
    if is_valid_certificate_code(code):
        return [
            Finding(
                "certificate_replaced"
                if t.event.payload.get("replacement_code")
                else "certificate_voided",
                detail=str(t.event.payload.get("reason", "")),
                event_id=t.event.event_id,
                at=t.event.occurred_at,
            )
            for t in result.voids
        ]
    covering = {
        c
        for t in result.certificates
        if code in t.event.codes
        for c in t.event.codes
        if is_valid_certificate_code(c)
    }
    voided = {c for t in result.voids for c in t.event.codes if is_valid_certificate_code(c)}
    replaced = any(t.event.payload.get("replacement_code") for t in result.voids)
    if covering and covering <= voided and not replaced:
        last = result.voids[-1].event
        return [
            Finding(
                "certificate_voided",
                detail=str(last.payload.get("reason", "")),
                event_id=last.event_id,
                at=last.occurred_at,
            )
        ]
    return []


def _failure_detail(event: Event) -> str:
    """``NUCLEIC_ACID: 新冠病毒核酸 阳性`` — the kind and the failed items of an inspection."""
    payload = event.payload
    items = [
        f"{item.get('name', '')} {item.get('value', '')}"
        + (f" {item['unit']}" if item.get("unit") else "")
        + (f" ({_limit_text(str(item['limit']))})" if item.get("limit") else "")
        for item in payload.get("items", ())
        if not item.get("passed", True)
    ]
    kind = str(payload.get("kind", ""))
    return f"{kind}: {'; '.join(items)}" if items else kind


def _limit_text(limit: str) -> str:
    """``≤ 0.02`` for a bare number; a limit written with its own sign (``≤0.02``, ``<0.5``)
    or in words (``不得检出``) is shown as written."""
    return f"≤ {limit}" if limit.strip()[:1].isdigit() else limit


def _reason_text(finding: Finding, lang: str = "en") -> str:
    return finding.detail or (finding.rule.zh if lang == "zh" else finding.rule.en)


def _product_kind(kind: CodeKind, events: list[TracedEvent]) -> str:
    # A vaccine dose carries a 药品追溯码 too: its lot release says it is a vaccine.
    if any(t.event.event_type in VACCINE_TYPES for t in events):
        return VACCINE
    return DRUG if kind is CodeKind.DRUG else FOOD


def _expiry(result: Trace, events: list[TracedEvent], today: date) -> list[Finding]:
    """The expiry date of the goods (vaccine lot release, import shelf life) and, once it has
    passed, an ``expired`` finding."""
    expires = [d for d in (_expires_on(t.event.payload, t.event.event_type) for t in events) if d]
    if not expires:
        return []
    result.expires_on = min(expires)
    if result.expires_on < today:
        return [Finding("expired", detail=f"expired on {result.expires_on.isoformat()}")]
    return []


def _expires_on(payload: Mapping[str, Any], event_type: str) -> date | None:
    if event_type == "VaccineLotReleased":
        return _as_date(payload.get("expiry_date"))
    if event_type == "ImportDeclared":
        produced = _as_date(payload.get("production_date"))
        days = payload.get("shelf_life_days")
        if produced is not None and isinstance(days, int):
            try:
                return produced + timedelta(days=days)
            except OverflowError:  # an entry stored before shelf lives were bounded
                return None
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def public_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A payload without personal data, commercial details, trading partners or amounts
    (public view)."""
    return {k: _without_amounts(thaw(v)) for k, v in payload.items() if k not in PRIVATE_FIELDS}


def _without_amounts(value: Any) -> Any:
    if isinstance(value, dict):
        dropped = AMOUNT_FIELDS if "quantity" in value else frozenset()
        return {k: _without_amounts(v) for k, v in value.items() if k not in dropped}
    if isinstance(value, list):
        return [_without_amounts(v) for v in value]
    return value


def public_event_json(body: Mapping[str, Any]) -> dict[str, Any]:
    """The public view of one event in the JSON form of docs/events.md, seen on its own: no
    amounts, no private payload fields, and the actor named only for
    :data:`NAMED_ACTOR_TYPES` (an unnamed actor's place is its region only)."""
    public = dict(body)
    payload = body.get("payload") or {}
    public["payload"] = {
        k: _without_amounts(v) for k, v in payload.items() if k not in PRIVATE_FIELDS
    }
    public["quantity"] = public["unit"] = None
    if body.get("event_type") not in NAMED_ACTOR_TYPES:
        public["actor"] = None
        location = body.get("location")
        if isinstance(location, Mapping):
            public["location"] = {"region_code": location.get("region_code")}
    return public


def public_names(events: Iterable[TracedEvent]) -> frozenset[str]:
    """The organisations a public view of ``events`` names (see :data:`NAMED_ACTOR_TYPES`)."""
    return frozenset(t.event.actor for t in events if t.event.event_type in NAMED_ACTOR_TYPES)


def _packing_windows(
    code: str, edges_up: list[CodeEdge], events: list[TracedEvent]
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """When ``code`` sat in each direct container: from its Aggregated to its Disaggregated."""
    by_position = {(t.shard, t.seq): t.event.occurred_at for t in events}
    windows: dict[str, tuple[datetime | None, datetime | None]] = {}
    for edge in edges_up:
        if edge.kind == CONTAINS and edge.child == code:
            start = by_position.get((edge.shard, edge.seq))
            windows[edge.parent] = (start, windows.get(edge.parent, (None, None))[1])
    for traced in events:
        if traced.event.event_type == "Disaggregated" and code in traced.event.payload.get(
            "child_codes", ()
        ):
            parent = str(traced.event.payload["parent_code"])
            start, _ = windows.get(parent, (None, None))
            windows[parent] = (start, traced.event.occurred_at)
    return windows


def _in_custody_view(
    traced: TracedEvent,
    code: str,
    ancestors: set[str],
    packed: dict[str, tuple[datetime | None, datetime | None]],
) -> bool:
    codes = set(traced.event.codes)
    if code in codes:
        return True
    for container, (start, end) in packed.items():
        if container in codes:
            at = traced.event.occurred_at
            if (start is None or at >= start) and (end is None or at <= end):
                return True
    # events of inputs/upstream lots before the code existed: the path back to the farm
    return bool(codes & ancestors) and traced.event.event_type in (
        "Shipped",
        "Received",
        "Transformed",
        "CertificateIssued",
        "ImportDeclared",
        "ColdChainCodesAssigned",
    )


def _product(certificates: list[TracedEvent], events: list[TracedEvent]) -> dict[str, Any] | None:
    """What the code is: from its certificate, else from any event that names the product."""
    for traced in certificates:
        payload = traced.event.payload
        return {"name": payload.get("product_name"), "category": payload.get("category")}
    for traced in events:
        name = traced.event.payload.get("product_name") or traced.event.payload.get("species")
        if name:
            return {"name": name, "category": None}
    return None


def _origin(certificates: list[TracedEvent], events: list[TracedEvent]) -> dict[str, Any] | None:
    producers = [t for t in certificates if t.event.payload.get("issuer_type") == "PRODUCER"]
    first = producers[0] if producers else (certificates[0] if certificates else None)
    if first is not None:
        return {
            "organisation": first.event.actor,
            "name": first.actor_name,
            "place": first.event.payload.get("origin"),
            "region_code": first.event.payload.get("origin_region_code"),
        }
    for traced in events:
        if traced.event.event_type == "ImportDeclared":
            return {
                "organisation": traced.event.actor,
                "name": traced.actor_name,
                "place": None,
                "country": traced.event.payload.get("origin_country"),
            }
    return None


def _temperature(records: list[TracedEvent]) -> dict[str, Any] | None:
    readings: list[dict[str, Any]] = []
    excursions: list[dict[str, Any]] = []
    for traced in records:
        payload = traced.event.payload
        low, high = payload.get("min_celsius"), payload.get("max_celsius")
        for reading in payload.get("readings", ()):
            value = float(reading["celsius"])
            point = {"at": reading["at"], "celsius": value, "min": low, "max": high}
            readings.append(point)
            if (low is not None and value < low) or (high is not None and value > high):
                excursions.append(point)
    if not readings:
        return None
    values = [r["celsius"] for r in readings]
    return {"readings": readings, "min": min(values), "max": max(values), "excursions": excursions}


def traced_event_json(
    traced: TracedEvent, *, public: bool, names: frozenset[str] | None = None
) -> dict[str, Any]:
    """One event of a trace as JSON, with its ledger position.

    The public view has no amounts and names the actor only when it is in ``names`` (default:
    :func:`public_names` of this event alone); an unnamed actor's place is its region only.
    """
    event = traced.event
    payload = public_payload(event.payload) if public else thaw(event.payload)
    named = not public or event.actor in (public_names([traced]) if names is None else names)
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor if named else None,
        "actor_name": traced.actor_name if named else None,
        "location": None
        if event.location is None
        else {
            "region_code": event.location.region_code,
            "name": event.location.name if named else None,
            "address": event.location.address if named else None,
        },
        "codes": list(event.codes),
        "quantity": None if public or event.quantity is None else _decimal_text(event.quantity),
        "unit": None if public else event.unit,
        "payload": _jsonable(payload),
        "ledger": {
            "shard": traced.shard,
            "seq": traced.seq,
            "recorded_at": traced.recorded_at.isoformat(),
        },
    }


def trace_json(
    trace: Trace, *, public: bool, health_reports: bool = False, lang: str = "en"
) -> dict[str, Any]:
    """The trace as the JSON of ``GET /v1/trace/{code}`` (design.md §8); ``reasons``, the one
    member in one language, is in ``lang`` (zh or en; a finding's own detail as it was
    recorded).

    Reports about a person's health (:data:`PRIVATE_EVENT_TYPES`, :data:`PRIVATE_ALERT_KINDS`)
    are shown only with ``health_reports`` (a regulator's or admin's reading): a full view of
    goods an organisation held is not a right to read the health of those vaccinated with them.
    """

    names = trace.public_names() if public else None
    private = public or not health_reports

    def events(items: list[TracedEvent]) -> list[dict[str, Any]]:
        shown = [t for t in items if not private or t.event.event_type not in PRIVATE_EVENT_TYPES]
        return [traced_event_json(t, public=public, names=names) for t in shown]

    body: dict[str, Any] = {
        "code": trace.code,
        "kind": trace.kind,
        "status": trace.status,
        "reasons": [_reason_text(f, lang) for f in trace.verdict.findings],
        "product": trace.product,
        "origin": trace.origin,
        "certificates": events(trace.certificates),
        "inspections": [
            {
                **traced_event_json(t, public=public),
                "self_test": t.event.event_id in trace.self_tests,
            }
            for t in trace.inspections
        ],
        "documents": events(trace.documents),
        "custody": events(trace.custody),
        "temperature": trace.temperature,
        "recalls": events(trace.recalls),
        "voids": events(trace.voids),
        "verdict": verdict_json(trace.verdict),
        "alerts": [
            _alert_json(a, public=public)
            for a in trace.alerts
            if not (private and a.kind in PRIVATE_ALERT_KINDS)  # about a person's health
        ],
        "expires_on": trace.expires_on.isoformat() if trace.expires_on else None,
        "upstream_codes": trace.upstream_codes,
        "view": "public" if public else "full",
        "complete": trace.complete,
    }
    if not public and trace.holders is not None:
        body["forward"] = {
            "codes": trace.forward_codes,
            "holders": [
                {
                    "organisation": h.organisation,
                    "name": h.name,
                    "quantities": [{"quantity": q, "unit": u} for q, u in h.quantities],
                }
                for h in trace.holders
            ],
        }
    return body


def _alert_json(alert: Alert, *, public: bool) -> dict[str, Any]:
    """An alert of a trace; the public view says what kind and whether it is open, not against
    whom or why in detail (a supplier, a device)."""
    body: dict[str, Any] = {
        "kind": alert.kind,
        "status": alert.status,
        "opened_at": alert.opened_at.isoformat(),
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
    }
    if not public:
        body.update(
            alert_id=alert.alert_id,
            event_id=alert.event_id,
            organisation=alert.organisation,
            organisation_name=alert.organisation_name,
            summary=alert.summary,
            closed_reason=alert.closed_reason,
        )
    return body


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
