"""浙冷链 三证一码: imported cold-chain food moves only with its three papers and its 溯源码.

``docs/cold-chain.md`` lists each rule with its source. In short:

- **四个不得**: imported cold-chain food is not released from the 集中监管仓, received, sold or
  shipped without all three papers of its ``ImportDeclared`` passed (检验检疫证明, 核酸检测证明,
  消毒证明) and its 溯源码 (a ``ColdChainCodesAssigned`` naming the goods). The warehouse's
  ``Released`` is a claim the ledger would vouch for: :func:`check_supervised_release` refuses it
  (a write rule). A receipt, sale or shipment already happened: it is recorded and raises
  ``import_papers_incomplete`` / ``uncoded_import`` against whoever recorded it
  (:func:`hand_over_alerts`).
- **A failed paper** freezes every code of the declaration and what was packed in or made from
  it: ``import_papers_failed``, closed like a failed inspection (不合格核查处置,
  :mod:`._disposal`).
- **A positive sample** (a failed ``NUCLEIC_ACID`` inspection) of any package freezes the whole
  declaration — one batch in one container — and what was packed in or made from it:
  ``positive_sample``, with every holder downstream (``Alert.holders``).

Every alert carries the holders of its goods, so the regulators of every region the goods went
to follow it (``Alert.concerns``). The same functions run over the whole ledger's events and
over one trace's: from a trace's ``ImportDeclared`` they look down for the positive samples of
sibling packages, so a sibling's verdict and the regulator's list name the same alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from suyuan.codegraph import PACKING_KINDS, CodeGraph
from suyuan.errors import EventValidationError, MissingReferenceError
from suyuan.events.model import Event
from suyuan.foodchain._alerts import Alert
from suyuan.foodchain._disposal import FORWARD_KINDS, DisposalState, disposal_state
from suyuan.foodchain._reads import Reads, load_related, related_goods
from suyuan.foodchain._receipts import IMPORT_DECLARED, IMPORT_DOCUMENTS
from suyuan.foodchain._rules import failure_binds

IMPORT_PAPERS_FAILED = "import_papers_failed"
POSITIVE_SAMPLE = "positive_sample"
IMPORT_PAPERS_INCOMPLETE = "import_papers_incomplete"
UNCODED_IMPORT = "uncoded_import"

CODES_ASSIGNED = "ColdChainCodesAssigned"
INSPECTION_RECORDED = "InspectionRecorded"
NUCLEIC_ACID = "NUCLEIC_ACID"
SUPERVISED_WAREHOUSE = "SUPERVISED_WAREHOUSE"
COLD_STORE = "COLD_STORE"
HAND_OVER_TYPES = ("Received", "Shipped", "Sold")
#: What each of the 三证 is called on paper.
PAPER_NAMES: Mapping[str, str] = {
    "quarantine_certificate": "检验检疫证明",
    "nucleic_acid_test": "核酸检测证明",
    "disinfection_certificate": "消毒证明",
}
_IMPORT_TYPES = frozenset({IMPORT_DECLARED, CODES_ASSIGNED})


def failed_papers(declaration: Event) -> list[str]:
    """The names of the 三证 of an ``ImportDeclared`` that state a failing result."""
    papers = declaration.payload
    return [PAPER_NAMES[name] for name in IMPORT_DOCUMENTS if not papers[name]["passed"]]


def is_positive_sample(event: Event) -> bool:
    """A failed ``NUCLEIC_ACID`` inspection: a sample tested positive."""
    return (
        event.event_type == INSPECTION_RECORDED
        and event.payload.get("kind") == NUCLEIC_ACID
        and not event.payload.get("passed", True)
    )


# --- what the ledger knows about some imported goods --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Import:
    """The declarations, code assignments and positive samples of some goods."""

    declarations: tuple[Event, ...]
    assignments: tuple[Event, ...]
    positives: tuple[Event, ...]

    @property
    def imported(self) -> bool:
        return bool(self.declarations or self.assignments)

    def declared_codes(self) -> set[str]:
        return {code for d in self.declarations for code in d.codes}

    def paper_problems(self, at: datetime) -> list[str]:
        """Why the goods lack all three passed papers at ``at`` (empty: they have them)."""
        if not self.declarations:
            return ["no ImportDeclared with the 三证 is recorded for these goods"]
        problems = [
            f"the {paper} of declaration {d.payload['batch_no']} failed"
            for d in self.declarations
            for paper in failed_papers(d)
        ]
        problems += [
            f"a sample of the declaration tested positive (event {p.event_id})"
            for p in self.positives
            if p.occurred_at <= at
        ]
        return problems

    def coded(self, codes: Iterable[str], related: set[str], at: datetime) -> bool:
        """Whether the goods carried their 溯源码 at ``at``: a ``ColdChainCodesAssigned`` named
        one of ``codes`` itself, or every declared package among the ``related`` goods."""
        assigned = {c for a in self.assignments if a.occurred_at <= at for c in a.codes}
        if set(codes) & assigned:
            return True
        declared = related & self.declared_codes()
        return declared <= assigned if declared else bool(related & assigned)


def _import_of(related: set[str], events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(e for e in events if related & set(e.codes))


class _Lookup:
    """Declarations, assignments and positive samples around many codes, in a few queries."""

    def __init__(
        self, reads: Reads, codes: Iterable[str], pending: Sequence[Event] | None = None
    ) -> None:
        """``pending``: the events accepted earlier in the write (the write rule); ``None`` on
        the read side, over the ledger alone."""
        self.reads = reads
        # In a write, goods packed or made earlier in it are related as if stored.
        self.graph = reads.graph(pending)
        pending = pending or ()
        seeds = list(dict.fromkeys(codes))
        load_related(self.graph, seeds)
        self.related = related_goods(self.graph, seeds)
        found = reads.about(self.related, _IMPORT_TYPES)
        if pending:
            found += reads.pending_of(pending, _IMPORT_TYPES)
        self.events = _unique(found)
        declarations = [e for e in self.events if e.event_type == IMPORT_DECLARED]
        self.positives = positives_below(reads, self.graph, declarations, pending)

    def of(self, codes: Iterable[str]) -> tuple[set[str], _Import]:
        related = related_goods(self.graph, codes)
        mine = _import_of(related, self.events)
        declarations = tuple(e for e in mine if e.event_type == IMPORT_DECLARED)
        declared = {code for d in declarations for code in d.codes}
        return related, _Import(
            declarations=declarations,
            assignments=tuple(e for e in mine if e.event_type == CODES_ASSIGNED),
            positives=tuple(p for p, scope in self.positives if scope & declared),
        )


def _unique(events: Iterable[Event]) -> list[Event]:
    by_id = {e.event_id: e for e in events}
    return sorted(by_id.values(), key=lambda e: (e.occurred_at, e.event_id))


def positives_below(
    reads: Reads,
    graph: CodeGraph,
    declarations: Sequence[Event],
    pending: Sequence[Event] = (),
) -> list[tuple[Event, set[str]]]:
    """The positive samples of the declared goods, what was packed in or made from them, or a
    container they were packed in; each with the declared codes it freezes."""
    declared = [code for d in declarations for code in d.codes]
    if not declared:
        return []
    graph.load_down(declared, FORWARD_KINDS)
    goods = graph.below(declared, FORWARD_KINDS)
    graph.load_up(goods, PACKING_KINDS)
    sampled = graph.above(goods, PACKING_KINDS)
    found = reads.about(sampled, {INSPECTION_RECORDED})
    if pending:
        found += [
            e
            for e in reads.pending_of(pending, {INSPECTION_RECORDED}, sampled)
            if set(e.codes) & sampled
        ]
    positives = [e for e in _unique(found) if is_positive_sample(e)]
    scoped = [(p, declaration_scope(reads, graph, p, pending)) for p in positives]
    return [(p, scope) for p, scope in scoped if _binds(reads, p, scope, declarations)]


def _binds(
    reads: Reads, sample: Event, scope: set[str], declarations: Sequence[Event] = ()
) -> bool:
    """Whether a positive ``sample`` freezes its declaration (:func:`failure_binds`): a testing
    body's, a regulator's, a 集中监管仓's or the importer's own — not any trader's word."""
    importers = {d.actor for d in declarations if scope & set(d.codes)}
    if not importers:
        importers = {d.actor for d in reads.about(scope, {IMPORT_DECLARED})}
    return failure_binds(sample, reads.directory, importers)


def declaration_scope(
    reads: Reads, graph: CodeGraph, sample: Event, pending: Sequence[Event] = ()
) -> set[str]:
    """Every code of the declarations the sampled goods belong to: a positive sample freezes its
    whole declaration (one batch in one container)."""
    load_related(graph, sample.codes)
    related = related_goods(graph, sample.codes)
    found = reads.about(related, {IMPORT_DECLARED})
    if pending:
        found += reads.pending_of(pending, {IMPORT_DECLARED}, related)
    return {
        code
        for d in found
        if d.event_type == IMPORT_DECLARED and related & set(d.codes)
        for code in d.codes
    }


# --- the write rule: a release from the 集中监管仓 ------------------------------------------------


def check_supervised_release(event: Event, reads: Reads, pending: Sequence[Event]) -> None:
    """Refuse a ``Released`` from a 集中监管仓 of goods without all three passed papers and their
    溯源码 (四个不得; ``docs/cold-chain.md``). Other stores' releases pass.

    Raises:
        MissingReferenceError: no declaration or no code assignment of a released code is in the
            ledger (yet): over Kafka they may still arrive from another partition.
        EventValidationError: a paper of the declaration failed, or a sample of it tested
            positive.
    """
    if event.payload.get("facility") != SUPERVISED_WAREHOUSE:
        return
    lookup = _Lookup(reads, event.codes, pending)
    for index, code in enumerate(event.codes):
        related, found = lookup.of([code])
        papers = found.paper_problems(event.occurred_at)
        coded = found.coded([code], related, event.occurred_at)
        if not papers and coded:
            continue
        missing = papers + ([] if coded else ["no 溯源码 (ColdChainCodesAssigned) names it"])
        rule = (
            "四个不得: imported cold-chain food leaves the 集中监管仓 only with all three papers "
            "passed (检验检疫证明, 核酸检测证明, 消毒证明) and its 溯源码: " + "; ".join(missing)
        )
        field = f"codes[{index}]"
        if found.declarations and papers:  # a failed paper or a positive sample: final
            raise EventValidationError(field, code, rule)
        raise MissingReferenceError(field, code, rule)


# --- alerts -------------------------------------------------------------------------------------


def cold_chain_alerts(reads: Reads, by_type: Mapping[str, Sequence[Event]]) -> list[Alert]:
    """The alerts of the 浙冷链 rules that ``by_type`` (kept events by type) open: failed papers
    and positive samples freeze, hand-overs without the 三证一码 raise attention."""
    declarations = list(by_type.get(IMPORT_DECLARED, ()))
    inspections = [
        e
        for e in by_type.get(INSPECTION_RECORDED, ())
        if is_positive_sample(e) and _binds(reads, e, declaration_scope(reads, reads.graph(), e))
    ]
    hand_overs = [e for kind in HAND_OVER_TYPES for e in by_type.get(kind, ())]
    if not (declarations or inspections or hand_overs):
        return []
    graph = reads.graph()
    states = _States(reads)  # each freeze's disposal state, computed once for every rule
    below = positives_below(reads, graph, declarations)
    samples = {e.event_id: e for e in [*inspections, *(p for p, _scope in below)]}
    alerts = [
        *papers_failed_alerts(reads, [d for d in declarations if failed_papers(d)], states),
        *positive_sample_alerts(reads, graph, list(samples.values()), states),
    ]
    if hand_overs:
        alerts += hand_over_alerts(reads, hand_overs, states)
    return alerts


def papers_failed_alerts(
    reads: Reads, declarations: Sequence[Event], states: _States | None = None
) -> list[Alert]:
    """One ``import_papers_failed`` per declaration with a failed paper: its goods are frozen."""
    states = states or _States(reads)
    alerts = []
    for declaration in declarations:
        state = states.freeze(declaration)
        papers = "、".join(failed_papers(declaration))
        alerts.append(
            _frozen_alert(
                reads,
                IMPORT_PAPERS_FAILED,
                declaration,
                declaration,
                state,
                f"{papers} failed: batch {declaration.payload['batch_no']} in container "
                f"{declaration.payload['container_no']} is frozen",
            )
        )
    return alerts


def positive_sample_alerts(
    reads: Reads, graph: CodeGraph, samples: Sequence[Event], states: _States | None = None
) -> list[Alert]:
    """One ``positive_sample`` per positive sample of declared goods: the whole declaration is
    frozen, with every holder downstream."""
    states = states or _States(reads)
    alerts = []
    for sample in samples:
        scope = declaration_scope(reads, graph, sample)
        if not scope:
            continue  # not imported goods: the failed inspection is an inspection_failed alone
        declarations = [d for d in reads.about(scope, {IMPORT_DECLARED}) if set(d.codes) & scope]
        first = declarations[0] if declarations else sample
        state = states.freeze(sample, scope)
        where = ", ".join(
            f"batch {d.payload['batch_no']} in container {d.payload['container_no']}"
            for d in declarations
        )
        alerts.append(
            _frozen_alert(
                reads,
                POSITIVE_SAMPLE,
                sample,
                first,
                state,
                f"NUCLEIC_ACID positive on {', '.join(sample.codes)}: the whole declaration "
                f"({where}, {len(scope)} codes) is frozen",
            )
        )
    return alerts


def _frozen_alert(
    reads: Reads,
    kind: str,
    opened_by: Event,
    declaration: Event,
    state: DisposalState,
    summary: str,
) -> Alert:
    # Against the importer whose goods they are, whoever sampled them.
    owner = declaration.actor
    return Alert(
        kind=kind,
        event_id=opened_by.event_id,
        codes=state.codes,
        organisation=owner,
        organisation_name=reads.directory.name(owner),
        region=reads.directory.region(owner, declaration),
        opened_at=opened_by.occurred_at,
        summary=summary,
        closed_at=state.closed_at,
        closed_reason=state.closed_reason,
        outstanding=() if state.closed else state.outstanding,
        holders=state.holders,
    )


def hand_over_alerts(
    reads: Reads, hand_overs: Sequence[Event], states: _States | None = None
) -> list[Alert]:
    """``import_papers_incomplete`` and ``uncoded_import`` for each receipt, sale or shipment of
    imported cold-chain food without its three passed papers or its 溯源码. Hand-overs into a
    集中监管仓 (where such goods go to be tested, disinfected and coded) and back to the importer
    are exempt; so is the code on the way from the importer into a cold store, the first station
    that codes the goods on entry (进赋码)."""
    lookup = _Lookup(reads, (code for h in hand_overs for code in h.codes))
    later: list[Event] | None = None
    known = states or _States(reads)
    alerts: list[Alert] = []
    for hand_over in hand_overs:
        related, found = lookup.of(hand_over.codes)
        if not found.imported:
            continue
        sender, receiver = _parties(hand_over)
        importers = {d.actor for d in found.declarations}
        if (
            hand_over.disposition == "returned"
            or receiver in importers
            or (receiver and reads.directory.has_role(receiver, {SUPERVISED_WAREHOUSE}))
        ):
            continue
        at = hand_over.occurred_at
        papers = found.paper_problems(at)
        coded = found.coded(hand_over.codes, related, at) or (
            sender in importers
            and receiver is not None
            and reads.directory.has_role(receiver, {COLD_STORE})
        )
        if not papers and coded:
            continue
        state = known.goods(hand_over)
        if later is None:  # read once, and only when some hand-over needs it
            later = reads.about(lookup.related, {"Destroyed", "Shipped", *_IMPORT_TYPES})
        follow_ups = [e for e in later if e.occurred_at >= at and related & set(e.codes)]
        if papers:
            closed_at, reason = _papers_closure(hand_over, found, follow_ups, known)
            alerts.append(
                _hand_over_alert(
                    reads,
                    IMPORT_PAPERS_INCOMPLETE,
                    hand_over,
                    state,
                    "三证 incomplete: " + "; ".join(papers),
                    (closed_at, reason),
                    "dispose of the goods or return them (the papers cannot be completed)"
                    if found.declarations
                    else "record the ImportDeclared with the 三证, or return or destroy",
                )
            )
        if not coded:
            closed_at, reason = _code_closure(hand_over, found, follow_ups, related)
            alerts.append(
                _hand_over_alert(
                    reads,
                    UNCODED_IMPORT,
                    hand_over,
                    state,
                    "imported cold-chain food moved without its 溯源码 (no ColdChainCodesAssigned "
                    "before the hand-over)",
                    (closed_at, reason),
                    "have the goods coded (ColdChainCodesAssigned), or return or destroy them",
                )
            )
    return alerts


def _parties(hand_over: Event) -> tuple[str, str | None]:
    """(sender, receiver) of a receipt, sale or shipment; a retail sale has no receiver."""
    payload = hand_over.payload
    if hand_over.event_type == "Received":
        return str(payload["from_org"]), hand_over.actor
    other = payload.get("to_org") if hand_over.event_type == "Shipped" else payload.get("buyer")
    return hand_over.actor, None if other is None else str(other)


def _hand_over_alert(
    reads: Reads,
    kind: str,
    hand_over: Event,
    state: DisposalState,
    summary: str,
    closure: tuple[datetime | None, str | None],
    todo: str,
) -> Alert:
    sender, receiver = _parties(hand_over)
    closed_at, reason = closure
    return Alert(
        kind=kind,
        event_id=hand_over.event_id,
        codes=hand_over.codes,
        organisation=hand_over.actor,
        organisation_name=reads.directory.name(hand_over.actor),
        region=reads.directory.region(hand_over.actor, hand_over),
        opened_at=hand_over.occurred_at,
        summary=f"{hand_over.event_type}: {summary}",
        closed_at=closed_at,
        closed_reason=reason,
        outstanding=() if closed_at else (todo,),
        holders=state.holders,
        counterparty=sender if hand_over.event_type == "Received" else receiver,
    )


def _disposed(hand_over: Event, follow_ups: Sequence[Event]) -> tuple[datetime | None, str | None]:
    """The holder destroyed the goods, or shipped them back to whom it had them from."""
    if hand_over.event_type != "Received":
        return None, None
    supplier = str(hand_over.payload["from_org"])
    for event in follow_ups:
        if event.actor != hand_over.actor:
            continue
        if event.event_type == "Destroyed":
            return event.occurred_at, "disposed"
        if event.event_type == "Shipped" and (
            event.payload.get("to_org") == supplier or event.disposition == "returned"
        ):
            return event.occurred_at, "returned"
    return None, None


def _papers_closure(
    hand_over: Event, found: _Import, follow_ups: Sequence[Event], states: _States
) -> tuple[datetime | None, str | None]:
    if not found.declarations:
        late = [e for e in follow_ups if e.event_type == IMPORT_DECLARED and not failed_papers(e)]
        if late:
            return late[0].occurred_at, "papers_recorded"
        return _disposed(hand_over, follow_ups)
    # Failed papers cannot be completed: it closes with the freeze of the goods (every
    # quantity destroyed, returned or recalled), or when this holder disposed of its share.
    cases = [
        *(d for d in found.declarations if failed_papers(d)),
        *(p for p in found.positives if p.occurred_at <= hand_over.occurred_at),
    ]
    frozen = [states.freeze(case) for case in cases]
    if frozen and all(state.closed for state in frozen):
        return max(s.closed_at for s in frozen if s.closed_at), "disposed"
    return _disposed(hand_over, follow_ups)


class _States:
    """Disposal states (:mod:`._disposal`) computed once per freeze and per set of goods."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        self._known: dict[tuple[str, ...], DisposalState] = {}

    def freeze(self, case: Event, scope: set[str] | None = None) -> DisposalState:
        """The state of a failed declaration, or of a positive sample (its whole declaration)."""
        key = ("freeze", case.event_id)
        if key not in self._known:
            if case.event_type == IMPORT_DECLARED:
                self._known[key] = disposal_state(self._reads, case)
            else:
                if scope is None:
                    scope = declaration_scope(self._reads, self._reads.graph(), case)
                self._known[key] = disposal_state(self._reads, case, codes=sorted(scope))
        return self._known[key]

    def goods(self, event: Event) -> DisposalState:
        """Who holds or held the goods of ``event``: the state's holders, the same for every
        event about the same codes (its closure means nothing here)."""
        key = tuple(sorted(event.codes))
        if key not in self._known:
            self._known[key] = disposal_state(self._reads, event)
        return self._known[key]


def _code_closure(
    hand_over: Event, found: _Import, follow_ups: Sequence[Event], related: set[str]
) -> tuple[datetime | None, str | None]:
    for event in follow_ups:
        if event.event_type != CODES_ASSIGNED:
            continue
        later = _Import(found.declarations, (*found.assignments, event), found.positives)
        if later.coded(hand_over.codes, related, event.occurred_at):
            return event.occurred_at, "coded"
    return _disposed(hand_over, follow_ups)
