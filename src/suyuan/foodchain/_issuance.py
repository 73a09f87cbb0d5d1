"""Issuing and voiding 承诺达标合格证 (design.md §4; ``docs/food-chain.md`` § Issuing).

:func:`check_certificate` holds the rules that need the ledger — a test basis names a passing
inspection of the lot already recorded, a purchaser's upstream certificates exist and are not
void, a code is issued once, only the issuer voids — on top of :func:`validate_event`'s content
rules. It is the same check for events arriving over HTTP and over Kafka.
:func:`certificate_event` and :func:`void_event` build the events the API and the CLI record.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from suyuan.codegraph import CodeGraph
from suyuan.codes import CodeKind, parse_trace_code, scan_url
from suyuan.errors import (
    CodeError,
    EventValidationError,
    InvalidInputError,
    MissingReferenceError,
    raise_errors,
)
from suyuan.events import event_from_json, validate_event
from suyuan.events.model import Event
from suyuan.foodchain._certificates import (
    CERTIFICATE_ISSUED,
    CERTIFICATE_TYPES,
    CERTIFICATE_VOIDED,
    CertificateRecord,
    certificate_records,
    goods_codes,
    own_certificate_code,
    vouching_issuers,
)
from suyuan.foodchain._reads import (
    PACKING_KINDS,
    Reads,
    lineage,
    load_related,
    related_goods,
)
from suyuan.foodchain._receipts import covers
from suyuan.foodchain._rules import (
    BASIS_INSPECTION_KINDS,
    COMMITMENT_RULES_FROM,
    COMMITMENTS,
    CONTACT_RULE,
    ISSUE_DATE_MAX_LAG_DAYS,
    ISSUE_DATE_SLACK_DAYS,
    QUALITY_CONTROL,
    SELF_TESTED,
    TEST_MAX_AGE_DAYS,
    commitment_matches,
    commitment_rules_apply,
    failure_binds,
    is_contact,
    normalised_text,
    same_product,
)
from suyuan.ledger import LedgerStore

INSPECTION_RECORDED = "InspectionRecorded"
RECEIVED = "Received"
RECALL_INITIATED = "RecallInitiated"
RECALL_CLOSED = "RecallClosed"
#: What stops goods from being certified: a failed inspection or an open recall in their lineage.
BLOCKING_TYPES = frozenset({INSPECTION_RECORDED, RECALL_INITIATED, RECALL_CLOSED})


# --- checking ---------------------------------------------------------------------------------


def check_certificate(
    event: Event,
    store: LedgerStore,
    *,
    pending: Sequence[Event] = (),
    reads: Reads | None = None,
) -> None:
    """Check a ``CertificateIssued`` or ``CertificateVoided`` event against the ledger.

    Other event types pass untouched. ``pending`` are events accepted earlier in the same write
    and not in the ledger yet (an inspection and the certificate resting on it may travel in one
    batch). Call it after :func:`suyuan.events.validate_event`. ``reads`` may carry index rows
    prefetched for a whole batch (:func:`certificate_codes` says which).

    Raises:
        EventValidationError: a rule of the 2025 合格证 rules or of void-and-reissue is broken;
            ``field`` is the event's path (``payload.commitment``, ``payload.inspection_event_id``,
            ``payload.upstream_certificates[1]``, ``codes[0]``, ``quantity``, ``actor`` …),
            ``rule`` says why. The first rule broken is reported.
        MissingReferenceError: (an ``EventValidationError``) a cited inspection or certificate is
            not in the ledger, or a purchaser cites goods it has no receipt of, or certifies more
            than its receipts hold — events that may still arrive over Kafka.
    """
    if event.event_type == CERTIFICATE_ISSUED:
        _IssueCheck(reads or Reads(store), event, pending).run()
    elif event.event_type == CERTIFICATE_VOIDED:
        _VoidCheck(reads or Reads(store), event, pending).run()


def certificate_codes(event: Event) -> list[str]:
    """The codes whose history :func:`check_certificate` reads for ``event`` (none for other
    event types): prefetch them for a batch with :meth:`Reads.prefetch`."""
    if event.event_type not in (CERTIFICATE_ISSUED, CERTIFICATE_VOIDED):
        return []
    upstream = event.payload.get("upstream_certificates", ())
    replacement = event.payload.get("replacement_code")
    return [*event.codes, *(str(c) for c in upstream), *([str(replacement)] if replacement else [])]


def _code_path(event: Event, code: str) -> str:
    return f"codes[{event.codes.index(code)}]"


class _IssueCheck:
    def __init__(self, reads: Reads, event: Event, pending: Sequence[Event]) -> None:
        self.reads = reads
        self.event = event
        self._all_pending = pending
        self.payload = event.payload
        self.own = own_certificate_code(event) or ""
        self.goods = goods_codes(event)
        upstream = [str(code) for code in self.payload["upstream_certificates"]]
        # one indexed read for every code the rules look at
        found = reads.about(
            [self.own, *upstream, *self.goods], {*CERTIFICATE_TYPES, INSPECTION_RECORDED}
        )
        self.records = certificate_records(
            reads,
            [self.own, *upstream],
            self.pending(CERTIFICATE_TYPES, [self.own, *upstream]),
            loaded=found,
        )
        self.upstream = upstream
        self.found = found

    def pending(self, types: Collection[str], codes: Iterable[str] | None = None) -> list[Event]:
        """The events of ``types`` accepted earlier in the write, in order, but this one; with
        ``codes``, only those about any of them (:meth:`Reads.pending_of`)."""
        return [
            e
            for e in self.reads.pending_of(self._all_pending, types, codes)
            if e.event_id != self.event.event_id
        ]

    def run(self) -> None:
        self._quantity()
        self._contact()
        self._issue_date()
        self._commitment()
        self._code_is_new()
        self._producer_made_it()
        self._not_frozen_or_recalled()
        self._inspection()
        self._upstream()
        self._upstream_goods_received()

    def _quantity(self) -> None:
        if self.event.quantity is not None and self.event.quantity <= 0:
            raise EventValidationError(
                "quantity", self.event.quantity, "a certificate covers a quantity above zero"
            )

    def _contact(self) -> None:
        contact = str(self.payload["contact"])
        if not is_contact(contact):
            raise EventValidationError("payload.contact", contact, CONTACT_RULE)

    def _issue_date(self) -> None:
        issue_date: date = self.payload["issue_date"]
        day = self.event.occurred_at.date()
        if issue_date > day + timedelta(days=ISSUE_DATE_SLACK_DAYS):
            raise EventValidationError(
                "payload.issue_date",
                issue_date.isoformat(),
                "must not be after the day the certificate was issued (occurred_at)",
            )
        if issue_date < day - timedelta(days=ISSUE_DATE_MAX_LAG_DAYS):
            raise EventValidationError(
                "payload.issue_date",
                issue_date.isoformat(),
                f"must not lie more than {ISSUE_DATE_MAX_LAG_DAYS} days before the day the "
                f"certificate is recorded as issued ({day.isoformat()}, occurred_at): a "
                "back-dated certificate is refused",
            )

    def _commitment(self) -> None:
        issuer_type = str(self.payload["issuer_type"])
        commitment = str(self.payload["commitment"])
        if commitment_rules_apply(self.payload["issue_date"]) and not commitment_matches(
            issuer_type, commitment
        ):
            raise EventValidationError(
                "payload.commitment",
                commitment,
                f"a {issuer_type} certificate issued from {COMMITMENT_RULES_FROM.isoformat()} "
                f"must carry the commitment of the 2025 rules: 「{COMMITMENTS[issuer_type]}」",
            )

    def _code_is_new(self) -> None:
        record = self.records[self.own]
        earlier = [e for e in record.issued if e.event_id != self.event.event_id]
        if earlier:
            raise EventValidationError(
                _code_path(self.event, self.own),
                self.own,
                f"this certificate code was already issued (event {earlier[0].event_id})",
            )
        foreign = [v for v in record.named_by if v.actor != self.event.actor]
        if foreign:
            raise EventValidationError(
                _code_path(self.event, self.own),
                self.own,
                f"this code is the announced replacement of a certificate of {foreign[0].actor}",
            )

    def _producer_made_it(self) -> None:
        """A producer's certificate covers goods it produced, not goods it took in from another
        organisation: those it certifies as a purchaser, citing the supplier's certificate.
        Otherwise a rival farm that bought one kilo of a lot could certify the whole lot as
        its own produce and then, vouching for it, freeze it with its own failed test."""
        if self.payload["issuer_type"] != "PRODUCER" or not self.goods:
            return
        receipts = [
            e
            for e in [
                *self.reads.about(self.goods, {RECEIVED}),
                *self.pending({RECEIVED}, self.goods),
            ]
            if e.event_type == RECEIVED
            and e.actor == self.event.actor
            and e.payload.get("from_org") != self.event.actor
            and e.occurred_at <= self.event.occurred_at
        ]
        for code in self.goods:
            taken = next((r for r in receipts if code in r.codes), None)
            if taken is not None:
                raise EventValidationError(
                    _code_path(self.event, code),
                    code,
                    f"a PRODUCER certificate covers goods the issuer produced: it received these "
                    f"from {taken.payload.get('from_org')} (event {taken.event_id}); certify them "
                    "as a PURCHASER citing the supplier's certificate",
                )

    def _not_frozen_or_recalled(self) -> None:
        """Nothing under a freeze (a failed inspection) or an open recall — of the goods, of what
        they were packed in, made or certified from — may be certified, from the inspection or
        recall on: a certificate issued before it stands (the goods still show its state)."""
        seeds = self._seeds()
        if not seeds:
            return
        graph = self.reads.lineage_graph(
            (code for _path, codes in seeds for code in codes), self._all_pending
        )
        reached = {path: lineage(graph, codes) for path, codes in seeds}
        every = set().union(*reached.values())
        # Earlier in the write: the tests and recalls about these goods (as the ledger's are
        # read), and every closure (it names a recall, not the goods).
        blocking = [
            e
            for e in [
                *self.reads.about(every, BLOCKING_TYPES),
                *self.pending(BLOCKING_TYPES - {RECALL_CLOSED}, every),
                *self.pending({RECALL_CLOSED}),
            ]
            if e.event_type in BLOCKING_TYPES and e.occurred_at <= self.event.occurred_at
        ]
        closed = {str(e.payload["recall_id"]) for e in blocking if e.event_type == RECALL_CLOSED}
        # A failed test freezes when it binds (failure_binds): whoever certified these goods,
        # the issuer now, a testing body, a regulator or a 集中监管仓 — not any trader's word (nor
        # a buyer's that certified its share of a lot: vouching_issuers).
        # Certificates earlier in the write vouch as if stored (indexed, like the ledger's, under
        # their codes and the certificates they cite).
        issued = [
            e
            for e in self.pending({CERTIFICATE_ISSUED}, every)
            if every & {*e.codes, *map(str, e.payload["upstream_certificates"])}
        ]
        vouching = {self.event.actor} | vouching_issuers(
            [*self.reads.about(every, {CERTIFICATE_ISSUED}), *issued]
        )
        blocking = [
            e
            for e in blocking
            if e.event_type != INSPECTION_RECORDED
            or failure_binds(e, self.reads.directory, vouching)
        ]
        for path, codes in seeds:
            for event in blocking:
                why = _blocks(event, reached[path], closed)
                if why is not None:
                    raise EventValidationError(path, codes[0], why)

    def _seeds(self) -> list[tuple[str, tuple[str, ...]]]:
        """(field, codes) whose lineage is checked: each goods code, and each upstream
        certificate with the goods it covers."""
        seeds: list[tuple[str, tuple[str, ...]]] = [
            (_code_path(self.event, code), (code,)) for code in self.goods
        ]
        for index, code in enumerate(self.upstream):
            issue = self.records[code].issue
            covered = goods_codes(issue) if issue is not None else ()
            seeds.append((f"payload.upstream_certificates[{index}]", (code, *covered)))
        return seeds

    def _inspection(self) -> None:
        inspection_id = self.payload["inspection_event_id"]
        if inspection_id is None:
            return
        field = "payload.inspection_event_id"
        inspection = self._find_inspection(str(inspection_id))
        if inspection is None:
            raise MissingReferenceError(
                field, inspection_id, "no InspectionRecorded event with this id is in the ledger"
            )
        if not inspection.payload["passed"]:
            raise EventValidationError(
                field, inspection_id, "the inspection failed: a certificate needs a passing one"
            )
        if inspection.occurred_at > self.event.occurred_at:
            raise EventValidationError(
                field, inspection_id, "the inspection must have happened before the certificate"
            )
        self._inspection_is_recent(field, inspection)
        self._inspection_fits_basis(field, inspection)
        if not self._of_this_lot(inspection):
            raise EventValidationError(
                field,
                inspection_id,
                "the inspection must be of this lot: it sampled none of the certificate's codes "
                "(nor what they hold or were packed in)",
            )

    def _find_inspection(self, inspection_id: str) -> Event | None:
        # Read with the certificate's codes, or earlier in the write, or else by its id.
        found = next(
            (
                e
                for e in self.found
                if e.event_id == inspection_id and e.event_type == INSPECTION_RECORDED
            ),
            None,
        )
        if found is None:
            earlier = self.reads.pending_event(self._all_pending, inspection_id)
            if earlier is not None and earlier.event_type == INSPECTION_RECORDED:
                found = earlier
        if found is None:
            found = self.reads.by_id(inspection_id)
        if found is None or found.event_type != INSPECTION_RECORDED:
            return None
        return found

    def _inspection_is_recent(self, field: str, inspection: Event) -> None:
        issue_date: date = self.payload["issue_date"]
        tested = inspection.occurred_at.date()
        if issue_date < tested:
            raise EventValidationError(
                "payload.issue_date",
                issue_date.isoformat(),
                f"must not be earlier than the test the certificate cites ({tested.isoformat()})",
            )
        if (issue_date - tested).days > TEST_MAX_AGE_DAYS:
            raise EventValidationError(
                field,
                inspection.event_id,
                f"the test ({tested.isoformat()}) is more than {TEST_MAX_AGE_DAYS} days older "
                f"than the issue date ({issue_date.isoformat()}): a certificate rests on a "
                "recent test of the lot",
            )

    def _inspection_fits_basis(self, field: str, inspection: Event) -> None:
        basis = str(self.payload["basis"])
        kinds = BASIS_INSPECTION_KINDS.get(basis)
        if kinds is None:  # QUALITY_CONTROL with an inspection attached: any passing test
            return
        kind = str(inspection.payload["kind"])
        if kind not in kinds:
            raise EventValidationError(
                field,
                inspection.event_id,
                f"basis {basis} rests on a test of kind {' or '.join(sorted(kinds))} "
                f"(this inspection is {kind})",
            )
        if basis == SELF_TESTED and inspection.actor != self.event.actor:
            raise EventValidationError(
                field,
                inspection.event_id,
                f"basis {SELF_TESTED} (自行检测) rests on the issuer's own test "
                f"(this one was recorded by {inspection.actor})",
            )

    def _of_this_lot(self, inspection: Event) -> bool:
        sampled = set(inspection.codes)
        if sampled & set(self.goods):
            return True
        if not self.goods:
            return False
        graph = self.reads.graph(self._all_pending)
        load_related(graph, self.goods)
        load_related(graph, sampled)
        return bool(related_goods(graph, self.goods) & related_goods(graph, sampled))

    def _upstream(self) -> None:
        for index, code in enumerate(self.payload["upstream_certificates"]):
            field = f"payload.upstream_certificates[{index}]"
            record = self.records[str(code)]
            if record.issue is None:
                raise MissingReferenceError(
                    field, code, "no certificate with this code is in the ledger"
                )
            void = record.void_before()
            if void is not None:
                raise EventValidationError(field, code, _void_rule(void))
            self._same_product(field, record.issue)

    def _same_product(self, field: str, upstream: Event) -> None:
        theirs, ours = upstream.payload, self.payload
        if theirs["category"] != ours["category"] or not same_product(
            str(theirs["product_name"]), str(ours["product_name"])
        ):
            raise EventValidationError(
                field,
                own_certificate_code(upstream) or "",
                f"a purchaser's certificate cites certificates of the same product: this one "
                f"covers {theirs['product_name']} ({theirs['category']}), the new one "
                f"{ours['product_name']} ({ours['category']})",
            )

    def _upstream_goods_received(self) -> None:
        """A purchaser cites only certificates of goods it received (or certified itself), and
        certifies at most what it received of them — and what they certify — in its unit, less
        what its other certificates drawing on the same goods took."""
        if not self.upstream:
            return
        # _upstream ran first: every cited certificate is in the ledger
        cited = [self.records[code].issue for code in self.upstream]
        issues = [issue for issue in cited if issue is not None]
        earlier = self._earlier_certificates()
        # the pool: every certificate this one or those earlier ones cite
        extra = sorted({str(c) for e in earlier for c in e.payload["upstream_certificates"]})
        extra = [code for code in extra if code not in self.upstream]
        records = (
            certificate_records(self.reads, extra, self.pending(CERTIFICATE_TYPES, extra))
            if extra
            else {}
        )
        pool = [*issues, *(r.issue for r in records.values() if r.issue is not None)]
        receipts, graph = self._receipts(pool, [*self.upstream, *extra])
        counted: dict[str, Event] = {}
        for index, issue in enumerate(pool):
            if issue.actor == self.event.actor:
                continue  # its own certificate: it held the goods when it certified them
            found = [r for r in receipts if _receipt_of(graph, r, issue)]
            if not found and index < len(issues):
                raise MissingReferenceError(
                    f"payload.upstream_certificates[{index}]",
                    self.upstream[index],
                    f"{self.event.actor} has no receipt of the goods of this certificate (no "
                    "Received by it presents the certificate or names its lot codes, what they "
                    "hold or a case they were packed in): a purchaser cites only certificates "
                    "of goods it received",
                )
            counted.update((r.event_id, r) for r in found)
        own = [issue for issue in pool if issue.actor == self.event.actor]
        self._within_received([*counted.values(), *own], pool, earlier)

    def _earlier_certificates(self) -> list[Event]:
        """The issuer's other certificates, not voided, citing any certificate this one cites:
        what they certified came out of the same goods."""
        cited = set(self.upstream)
        mine = {
            e.event_id: e
            for e in [*self.found, *self.pending({CERTIFICATE_ISSUED}, cited)]
            if e.event_type == CERTIFICATE_ISSUED
            and e.actor == self.event.actor
            and e.event_id != self.event.event_id
            and cited & {str(c) for c in e.payload["upstream_certificates"]}
        }
        if not mine:
            return []
        codes = {key: own_certificate_code(e) or "" for key, e in mine.items()}
        records = certificate_records(
            self.reads, codes.values(), self.pending(CERTIFICATE_TYPES, codes.values())
        )
        return [e for key, e in mine.items() if records[codes[key]].void_before() is None]

    def _receipts(
        self, cited: Sequence[Event], codes: Sequence[str]
    ) -> tuple[list[Event], CodeGraph]:
        """The issuer's receipts that may be of the goods of the ``cited`` certificates (whose
        ``codes`` they are), with the graph around their codes loaded."""
        goods = [code for issue in cited for code in goods_codes(issue)]
        graph = self.reads.graph(self._all_pending)
        graph.load_up(goods, PACKING_KINDS)
        graph.load_down(goods, PACKING_KINDS)
        family = graph.above(goods, PACKING_KINDS) | graph.below(goods, PACKING_KINDS)
        found = self.reads.about([*codes, *family], {RECEIVED})
        receipts = [
            r
            for r in [*found, *self.pending({RECEIVED})]
            if r.event_type == RECEIVED
            and r.actor == self.event.actor
            and r.occurred_at <= self.event.occurred_at
        ]
        load_related(graph, (code for r in receipts for code in r.codes))
        return receipts, graph

    def _within_received(
        self, sources: Sequence[Event], cited: Sequence[Event], earlier: Sequence[Event]
    ) -> None:
        quantity = self.event.quantity
        unit = _unit(self.event.unit)
        if quantity is None:
            return
        shown = f"{_amount(quantity)} {self.event.unit}"
        received, used = _totals(sources), _totals(earlier)
        taken = used.get(unit, Decimal(0))
        took = f"; its other certificates citing them took {_describe(used)}" if used else ""
        if quantity > received.get(unit, Decimal(0)) - taken:
            raise MissingReferenceError(
                "quantity",
                shown,
                f"a purchaser certifies at most what it received of the cited goods: its "
                f"receipts of them (and its own certificates) hold {_describe(received)}{took}; "
                "quantities in other units are not converted",
            )
        certified = _totals(cited)
        if set(certified) == {unit} and quantity > certified[unit] - taken:
            raise EventValidationError(
                "quantity",
                shown,
                f"a purchaser certifies at most what the cited certificates cover "
                f"({_describe(certified)}){took}",
            )


def _receipt_of(graph: CodeGraph, receipt: Event, issue: Event) -> bool:
    """Whether ``receipt`` took in the goods certificate ``issue`` covers (进货查验's notion)."""
    covered = goods_codes(issue)
    if not covered:  # a paper-only certificate: the receipt it was presented with
        code = own_certificate_code(issue)
        return code in receipt.payload.get("upstream_certificates", ())
    return covers(covered, frozenset(related_goods(graph, receipt.codes)))


def _unit(unit: str | None) -> str:
    return normalised_text(unit or "").casefold()


def _totals(events: Sequence[Event]) -> dict[str, Decimal]:
    """Quantities by unit (compared as written: kg and 公斤 differ); none for events without."""
    totals: dict[str, Decimal] = {}
    for event in events:
        if event.quantity is not None and event.unit:
            unit = _unit(event.unit)
            totals[unit] = totals.get(unit, Decimal(0)) + event.quantity
    return totals


def _describe(totals: Mapping[str, Decimal]) -> str:
    if not totals:
        return "no quantity"
    return ", ".join(f"{_amount(amount)} {unit}" for unit, amount in sorted(totals.items()))


def _amount(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _blocks(event: Event, reached: set[str], closed: set[str]) -> str | None:
    """Why ``event`` stops goods whose lineage is ``reached`` from being certified, if it does."""
    if event.event_type == INSPECTION_RECORDED:
        hit = sorted(set(event.codes) & reached)
        if event.payload["passed"] or not hit:
            return None
        return (
            f"frozen: {hit[0]} failed an inspection (event {event.event_id}); nothing frozen, "
            "nor anything packed or made from it, can be certified"
        )
    if event.event_type == RECALL_INITIATED:
        recall_id = str(event.payload["recall_id"])
        hit = sorted({str(c) for c in event.payload["root_codes"]} & reached)
        if not hit or recall_id in closed:
            return None
        return (
            f"under open recall {recall_id} (of {hit[0]}: {event.payload['reason']}); nothing "
            "recalled, nor anything packed or made from it, can be certified until the recall "
            "is closed"
        )
    return None


def _void_rule(void: Event) -> str:
    replacement = void.payload.get("replacement_code")
    rule = f"this certificate was voided ({void.payload.get('reason')})"
    return rule + (f"; its replacement is {replacement}" if replacement else "")


class _VoidCheck:
    def __init__(self, reads: Reads, event: Event, pending: Sequence[Event]) -> None:
        self.event = event
        self.own = own_certificate_code(event) or ""
        self.replacement = event.payload.get("replacement_code")
        codes = [self.own] + ([str(self.replacement)] if self.replacement else [])
        earlier = [
            e
            for e in reads.pending_of(pending, CERTIFICATE_TYPES, codes)
            if e.event_id != event.event_id
        ]
        self.records = certificate_records(reads, codes, earlier)

    def run(self) -> None:
        record = self.records[self.own]
        issue = record.issue
        path = _code_path(self.event, self.own)
        if issue is None:
            raise MissingReferenceError(
                path, self.own, "no certificate with this code is in the ledger"
            )
        if issue.actor != self.event.actor:
            raise EventValidationError(
                "actor",
                self.event.actor,
                f"only the issuer of certificate {self.own} ({issue.actor}) may void it",
            )
        earlier = [v for v in record.voids if v.event_id != self.event.event_id]
        if earlier:
            raise EventValidationError(
                path, self.own, f"already voided (event {earlier[0].event_id})"
            )
        if self.replacement:
            self._replacement(str(self.replacement))

    def _replacement(self, code: str) -> None:
        record: CertificateRecord = self.records[code]
        issue = record.issue
        field = "payload.replacement_code"
        if issue is None:
            return  # announced before it is issued: the code is then reserved for this issuer
        if issue.actor != self.event.actor:
            raise EventValidationError(
                field, code, f"the replacement must be the issuer's own (it is {issue.actor}'s)"
            )
        void = record.void_before()
        if void is not None:
            raise EventValidationError(field, code, _void_rule(void))


# --- building ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateLinks:
    """Where a certificate is seen: its scan page (what the QR holds), QR images and label."""

    scan_url: str
    qr_svg_url: str
    qr_png_url: str
    label_url: str


def certificate_links(base_url: str, code: str) -> CertificateLinks:
    """The links of certificate ``code`` on the query service at ``base_url`` (design.md §8).

    Raises:
        CodeError: ``code`` is not a valid trace code.
    """
    root = base_url.rstrip("/")
    segment = quote(parse_trace_code(code, field="code").value, safe="")
    return CertificateLinks(
        scan_url=scan_url(root, code),
        qr_svg_url=f"{root}/v1/codes/{segment}/qr.svg",
        qr_png_url=f"{root}/v1/codes/{segment}/qr.png",
        label_url=f"{root}/c/{segment}/label.svg",
    )


@dataclass(frozen=True, slots=True)
class CertificateDraft:
    """What an issuer fills in on a 合格证; the service adds the code, id and time."""

    issuer_type: str
    product_name: str
    category: str
    quantity: Decimal | str
    unit: str
    origin: str
    issue_date: date
    contact: str
    basis: str = QUALITY_CONTROL
    commitment: str | None = None
    """``None``: the fixed text of the 2025 rules for the issuer type."""
    origin_region_code: str | None = None
    inspection_event_id: str | None = None
    upstream_certificates: Sequence[str] = ()
    lot_codes: Sequence[str] = ()
    """Trace codes of the goods covered (GS1 lot or unit codes, SSCCs), in any spelling."""
    location: Mapping[str, Any] | None = None
    """Where it was issued, in the JSON form of ``Location``."""


def certificate_event(
    draft: CertificateDraft,
    *,
    actor: str,
    code: str,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """The ``CertificateIssued`` event of ``draft`` under the certificate ``code``.

    Its codes are the certificate code, then the lot codes in canonical form. Only the event's
    own content is checked here; :func:`check_certificate` checks it against the ledger.

    Raises:
        CodeError: a lot code (``codes[i]``, from 1) or an upstream certificate code
            (``payload.upstream_certificates[i]``) is malformed.
        EventValidationError: a field is missing, ill-typed or breaks a content rule (named by
            its path in the event, e.g. ``payload.contact``, ``quantity``).
        MultipleInputError: (an ``EventValidationError``) several of the above, each in
            ``errors``.
    """
    # Every problem of the draft is reported at once: the codes are read first, and the event is
    # still built and checked without the codes that could not be read.
    errors: list[InvalidInputError] = []
    lots: list[str] = []
    for index, text in enumerate(draft.lot_codes, start=1):
        try:
            lots.append(parse_trace_code(text, field=f"codes[{index}]").value)
        except InvalidInputError as err:
            errors.append(err)
    upstream: list[str] = []
    for index, text in enumerate(draft.upstream_certificates):
        try:
            upstream.append(_certificate_code(text, f"payload.upstream_certificates[{index}]"))
        except InvalidInputError as err:
            errors.append(err)
    commitment = draft.commitment
    if commitment is None:
        commitment = COMMITMENTS.get(draft.issuer_type, "")
    try:
        event = _draft_event(draft, lots, upstream, commitment, actor, code, event_id, occurred_at)
    except InvalidInputError as err:
        errors.append(err)
    raise_errors(errors)
    return event


def _draft_event(
    draft: CertificateDraft,
    lots: list[str],
    upstream: list[str],
    commitment: str,
    actor: str,
    code: str,
    event_id: str | None,
    occurred_at: datetime | None,
) -> Event:
    event = event_from_json(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "event_type": CERTIFICATE_ISSUED,
            "occurred_at": _when(occurred_at),
            "actor": actor,
            "location": None if draft.location is None else dict(draft.location),
            "codes": [code, *lots],
            "quantity": str(draft.quantity),
            "unit": draft.unit,
            "biz_step": "commissioning",
            "disposition": "active",
            "payload": {
                "issuer_type": draft.issuer_type,
                "product_name": draft.product_name,
                "category": draft.category,
                "origin": draft.origin,
                "origin_region_code": draft.origin_region_code,
                "issue_date": draft.issue_date.isoformat(),
                "contact": draft.contact,
                "commitment": commitment,
                "basis": draft.basis,
                "inspection_event_id": draft.inspection_event_id,
                "upstream_certificates": upstream,
            },
        }
    )
    validate_event(event)
    return event


def void_event(
    code: str,
    *,
    actor: str,
    reason: str,
    replacement: str | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """The ``CertificateVoided`` event of certificate ``code``, pointing to ``replacement``.

    Raises:
        CodeError: ``code`` (field ``codes[0]``) or ``replacement`` (``payload.replacement_code``)
            is not a certificate code.
        EventValidationError: ``reason`` is blank or too long (``payload.reason``), or
            ``replacement`` is the voided code itself.
    """
    event = event_from_json(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "event_type": CERTIFICATE_VOIDED,
            "occurred_at": _when(occurred_at),
            "actor": actor,
            "location": None,
            "codes": [_certificate_code(code, "codes[0]")],
            "quantity": None,
            "unit": None,
            "biz_step": None,
            "disposition": None,
            "payload": {
                "reason": reason,
                "replacement_code": None
                if replacement is None
                else _certificate_code(replacement, "payload.replacement_code"),
            },
        }
    )
    validate_event(event)
    return event


def _certificate_code(text: str, field: str) -> str:
    parsed = parse_trace_code(text, field=field)
    if parsed.kind is not CodeKind.CERTIFICATE:
        raise CodeError(
            field, text, f"must be a 合格证 certificate code (got a {parsed.kind} code)"
        )
    return parsed.value


def _when(occurred_at: datetime | None) -> str:
    # The zone offset of the place the service runs, as events keep theirs.
    return (occurred_at or datetime.now().astimezone()).isoformat()
