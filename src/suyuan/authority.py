"""Who may say what: the organisation roles each event type needs (``docs/authority.md``).

A signature proves which organisation spoke (``suyuan.signing``); this module decides whether it
may say it. :data:`RULES` holds one :class:`Rule` per event type — the roles that may emit it,
what must hold about the goods, the source of the rule and the rejection reasons — and
:func:`check_authority` enforces them in the one write path (``suyuan.intake.LedgerWriter``), so
Kafka and HTTP are judged alike. Roles come from the organisation's registration in the writer's
trust store at the moment of judging.

Two notions about goods, both read from the ledger's projections:

- the **originator** of a code is the organisation that recorded the first custody event about
  it (in recorded order, not the claimed ``occurred_at``): the farm that certified a lot, the
  importer that declared a batch, the maker that released a vaccine lot, the plant whose
  slaughter made a cut. A producer's "own goods" are the codes it originated.
- a **holder** of a code is an organisation that recorded a custody event (:data:`CUSTODY_RULES`:
  receiving, storing, packing, making, certifying, shipping, selling …) about it or about a
  container it was packed in. Goods nobody holds yet are new: their first holder takes them.
  Every custody event needs its goods held by the actor; a ``Received`` may instead name goods
  shipped or released to the actor. Quantities are not followed: once a holder, always one.

No web framework here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from suyuan.codegraph import PACKING_KINDS, CodeGraph
from suyuan.codes import (
    gs1_lot,
    gs1_lots,
    gs1_units_prefix,
    is_valid_certificate_code,
    parse_trace_code,
)
from suyuan.errors import (
    NotInCustodyError,
    UnauthorisedError,
    UnheldGoodsError,
    UnknownRecallError,
)
from suyuan.events.model import TRUST_EVENT_TYPES, Event
from suyuan.ledger import (
    CERTIFIED_FROM,
    CONTAINS,
    TRANSFORMED,
    VOIDED_BY,
    CodeEventRef,
    EntryNotFoundError,
    LedgerStore,
)
from suyuan.signing import Organisation

if TYPE_CHECKING:
    from suyuan.trace import Tracer

# --- roles ------------------------------------------------------------------------------------

PRODUCER = "PRODUCER"
PURCHASER = "PURCHASER"
PROCESSOR = "PROCESSOR"
SLAUGHTERHOUSE = "SLAUGHTERHOUSE"
IMPORTER = "IMPORTER"
COLD_STORE = "COLD_STORE"
SUPERVISED_WAREHOUSE = "SUPERVISED_WAREHOUSE"
DISTRIBUTOR = "DISTRIBUTOR"
MARKET = "MARKET"
RETAILER = "RETAILER"
VACCINE_MAKER = "VACCINE_MAKER"
CDC = "CDC"
CLINIC = "CLINIC"
PHARMACY = "PHARMACY"
LAB = "LAB"
REGULATOR = "REGULATOR"

#: Every role of ``schemas/suyuan.v1.OrgRole.avsc`` and what it is.
ROLES: Mapping[str, str] = {
    PRODUCER: "farm, cooperative (农民专业合作社) or other primary producer; makes goods",
    PURCHASER: "purchaser (收购者) who buys from producers, merges or splits lots",
    PROCESSOR: "food processor: cuts, processes, repacks, mixes",
    SLAUGHTERHOUSE: "designated slaughterhouse (定点屠宰场)",
    IMPORTER: "importer of record (进口商) of imported food",
    COLD_STORE: "cold store (冷库)",
    SUPERVISED_WAREHOUSE: "集中监管仓: tests and disinfects imported cold-chain food",
    DISTRIBUTOR: "distributor or logistics company (配送)",
    MARKET: "wholesale or farmers' market (批发市场/农贸市场) and its traders",
    RETAILER: "supermarket or shop selling to consumers",
    VACCINE_MAKER: "vaccine marketing-authorisation holder (疫苗上市许可持有人)",
    CDC: "centre for disease control (疾病预防控制机构)",
    CLINIC: "vaccination clinic (接种单位) or medical institution",
    PHARMACY: "pharmacy (药店)",
    LAB: "testing body (检验检测机构)",
    REGULATOR: "regulator (市场监管/农业农村/海关 …) of its registered region",
}

#: Roles that handle goods (everyone but testing bodies and regulators).
HANDLERS = frozenset(ROLES) - {LAB, REGULATOR}
#: Roles that make or bring in goods and so may recall their own (主动召回).
MAKERS = frozenset({PRODUCER, PROCESSOR, SLAUGHTERHOUSE, IMPORTER, VACCINE_MAKER})
#: Roles whose inspections are independent of the goods' holder.
INSPECTORS = frozenset({LAB, REGULATOR})

UNAUTHORISED = UnauthorisedError.reason
NOT_IN_CUSTODY = NotInCustodyError.reason
UNKNOWN_RECALL = UnknownRecallError.reason

#: The sentinel "role" of trust events: a configured root key's organisation.
ROOT_KEY = "root key"

# Sources of the rules (see docs/authority.md for the full references).
SRC_TRUST = "design.md §5 (root keys sign trust events)"
SRC_CERT = "合格证管理办法 (农业农村部令2025年第4号), firm"
SRC_RECALL = "食品召回管理办法 (主动召回 / 责令召回), likely"
SRC_VACCINE_RELEASE = "疫苗管理法 (2019): 批签发 papers of each lot, firm"
SRC_VACCINE_USE = "疫苗管理法 (2019) art. 35-36: doses go to CDCs and clinics only, firm"
SRC_COLD = "浙冷链 provincial rules (三证一码, 集中监管仓), likely"
SRC_CHAIN = "design.md §4 (EPCIS steps); roles by trade, not in a collected source"
SRC_MEAT = "生猪屠宰管理条例 (定点屠宰, 肉品品质检验), not in the collected facts: uncertain"
SRC_QUARANTINE = "动物防疫法 (官方兽医出具检疫证明), not in the collected facts: uncertain"
SRC_AEFI = "疫苗管理法 art. 52-54 (AEFI reporting), not in the collected facts: uncertain"
SRC_DRUG = "药品追溯码 (医保 dispensing scans), likely"
SRC_INSPECTION = "design.md §4 (批批检测); a holder's own test is a self-test, shown as one"


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may emit one event type and what must hold about the goods."""

    event_type: str
    roles: frozenset[str]
    """Roles of which the actor needs at least one (empty for trust events: :data:`ROOT_KEY`)."""
    goods: str
    """What must hold about the goods or the payload, in words (``-`` when nothing)."""
    source: str
    reasons: tuple[str, ...]
    """The rejection reasons the rule gives."""


#: Events about goods the actor must hold (custody), and what the rule says.
_HOLDS = "needs the actor to hold the goods"
CUSTODY_RULES: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "Shipped",
            "Stored",
            "Released",
            "Disinfected",
            "TemperatureRecorded",
            "ColdChainCodesAssigned",
            "Sold",
            "Dispensed",
            "VaccineAdministered",
            "Destroyed",
            "ImportDeclared",
            "VaccineLotReleased",
        ),
        _HOLDS,
    ),
    "Aggregated": "needs the actor to hold the child codes",
    "Disaggregated": "needs the actor to hold the parent code",
    "Transformed": "needs the actor to hold the inputs",
    "CertificateIssued": "needs the actor to hold the goods it certifies",
    "CertificateVoided": "needs the actor to hold the goods it lists",
    "Received": "needs the goods shipped or released to the actor (or held by it)",
}
#: Events that put their codes in the actor's custody (it held them when it recorded them).
CUSTODY_EVENT_TYPES = frozenset(CUSTODY_RULES)
#: Events that record goods for the first time as a matter of course (a lot certified, an import
#: declared, a vaccine lot released): their actor takes goods nobody holds at once. Any other
#: event about goods nobody holds — packing or transforming goods nobody holds included — waits,
#: over Kafka, for the events that may hand them over (a shipper's on another partition).
FIRST_RECORDS = frozenset({"CertificateIssued", "ImportDeclared", "VaccineLotReleased"})


def _rule(
    event_type: str,
    roles: Iterable[str],
    goods: str,
    source: str,
    reasons: tuple[str, ...] = (UNAUTHORISED,),
) -> Rule:
    custody = CUSTODY_RULES.get(event_type)
    if custody is not None:  # every custody rule reads the same: new goods are the first holder's
        goods = custody if goods == "-" else f"{goods}; {custody}"
        reasons = (*reasons, NOT_IN_CUSTODY)
    return Rule(event_type, frozenset(roles), goods, source, reasons)


_STORERS = {COLD_STORE, SUPERVISED_WAREHOUSE, DISTRIBUTOR, MARKET, IMPORTER, CDC, PROCESSOR}
_SELLERS = HANDLERS - {VACCINE_MAKER, CDC, CLINIC, SUPERVISED_WAREHOUSE}

#: One rule per event type of ``schemas/``.
RULES: Mapping[str, Rule] = {
    rule.event_type: rule
    for rule in (
        _rule("OrganisationRegistered", (), "-", SRC_TRUST, ("wrong_signer",)),
        _rule("SigningKeyRegistered", (), "-", SRC_TRUST, ("wrong_signer",)),
        _rule("SigningKeyRevoked", (), "-", SRC_TRUST, ("wrong_signer",)),
        _rule(
            "CertificateIssued",
            (PRODUCER, PURCHASER, MARKET),
            "issuer_type PRODUCER needs PRODUCER; PURCHASER needs PURCHASER or MARKET",
            SRC_CERT,
        ),
        _rule(
            "CertificateVoided",
            (PRODUCER, PURCHASER, MARKET),
            "only the issuer voids (check_certificate: invalid_event)",
            SRC_CERT,
        ),
        _rule(
            "InspectionRecorded",
            HANDLERS | INSPECTORS,
            "LAB or REGULATOR: any goods; a handler only as a self-test of goods it holds, "
            "never kind OFFICIAL_SAMPLING",
            SRC_INSPECTION,
            (UNAUTHORISED, NOT_IN_CUSTODY),
        ),
        _rule(
            "AnimalQuarantineCertified",
            (REGULATOR, SLAUGHTERHOUSE),
            "-",
            SRC_QUARANTINE,
        ),
        _rule("MeatQualityInspected", (SLAUGHTERHOUSE,), "-", SRC_MEAT),
        _rule(
            "Transformed",
            (PRODUCER, PURCHASER, PROCESSOR, SLAUGHTERHOUSE, MARKET, RETAILER, VACCINE_MAKER),
            "process SLAUGHTER needs SLAUGHTERHOUSE",
            SRC_MEAT,
        ),
        _rule("Aggregated", HANDLERS, "-", SRC_CHAIN),
        _rule("Disaggregated", HANDLERS, "-", SRC_CHAIN),
        _rule("Shipped", HANDLERS, "-", SRC_CHAIN),
        _rule("Received", HANDLERS, "-", SRC_CHAIN),
        _rule(
            "Stored",
            _STORERS,
            "facility SUPERVISED_WAREHOUSE needs SUPERVISED_WAREHOUSE",
            SRC_COLD,
        ),
        _rule(
            "Released",
            _STORERS,
            "facility SUPERVISED_WAREHOUSE needs SUPERVISED_WAREHOUSE",
            SRC_COLD,
        ),
        _rule("Disinfected", (SUPERVISED_WAREHOUSE, COLD_STORE, IMPORTER), "-", SRC_COLD),
        _rule("TemperatureRecorded", HANDLERS, "-", SRC_CHAIN),
        _rule("ImportDeclared", (IMPORTER,), "payload.importer is the actor", SRC_COLD),
        _rule(
            "ColdChainCodesAssigned",
            (SUPERVISED_WAREHOUSE, COLD_STORE, IMPORTER),
            "-",
            SRC_COLD,
        ),
        _rule("Sold", _SELLERS, "-", SRC_VACCINE_USE),
        _rule("Dispensed", (PHARMACY, CLINIC), "-", SRC_DRUG),
        _rule(
            "VaccineLotReleased",
            (VACCINE_MAKER, REGULATOR),
            "a VACCINE_MAKER releases only lots whose payload.manufacturer it is",
            SRC_VACCINE_RELEASE,
        ),
        _rule("VaccineAdministered", (CLINIC,), "-", SRC_VACCINE_USE),
        _rule("AdverseEventReported", (CLINIC, CDC, VACCINE_MAKER), "-", SRC_AEFI),
        _rule("Destroyed", HANDLERS, "-", SRC_RECALL),
        _rule(
            "RecallInitiated",
            MAKERS | {REGULATOR},
            "REGULATOR: any goods (责令召回); a maker only its own goods: it originated "
            "every root code (主动召回)",
            SRC_RECALL,
            (UNAUTHORISED,),
        ),
        _rule(
            "RecallAcknowledged",
            HANDLERS,
            "the recall exists; the actor holds goods in its scope",
            SRC_RECALL,
            (UNAUTHORISED, NOT_IN_CUSTODY, UNKNOWN_RECALL),
        ),
        _rule(
            "RecallClosed",
            MAKERS | {REGULATOR},
            "the recall exists; the actor started it, or is a REGULATOR; only a REGULATOR "
            "closes it with an override_reason",
            SRC_RECALL,
            (UNAUTHORISED, UNKNOWN_RECALL),
        ),
    )
}


# --- checking ---------------------------------------------------------------------------------


def check_authority(
    event: Event,
    organisation: Organisation | None,
    store: LedgerStore,
    *,
    pending: Sequence[Event] = (),
    custody: Custody | None = None,
    final: bool = True,
) -> None:
    """Check that ``organisation`` (the actor's registration) may emit ``event``.

    Goods nobody holds yet go to their first holder — but only when ``final``: the Kafka worker
    first judges with ``final=False``, so an event about goods nobody holds yet (other than
    one that records goods for the first time, :data:`FIRST_RECORDS`) waits until the events
    of other partitions that may hand them over had the chance to arrive.

    Trust events pass untouched (the trust store enforces root keys). ``pending`` are events
    accepted earlier in the same write and not in the ledger yet; ``custody`` may carry what a
    whole message needs, read at once (:meth:`Custody.for_message`, over the same ``pending``).
    Call it after the signature and :func:`suyuan.events.validate_event` checks.

    Raises:
        UnauthorisedError: the actor is not registered, lacks every role the event type needs
            (or the type has no rule), or breaks a condition on the payload or the goods — a
            producer's recall of goods it did not originate, the closure of another's recall
            (field ``actor``, ``codes[i]`` or the payload's path).
        NotInCustodyError: the event is about goods the actor does not hold (:data:`CUSTODY_RULES`;
            a ``Received`` also passes when the goods were shipped or released to the actor),
            or is a self-test or a recall acknowledgement by an organisation not holding them.
        UnknownRecallError: a recall acknowledgement or closure names no known recall.
        UnheldGoodsError: only when not ``final``: the goods are nobody's yet.
    """
    if event.event_type in TRUST_EVENT_TYPES:
        return
    rule = RULES.get(event.event_type)
    if rule is None:  # fail closed: a new schema needs its rule before anyone may use it
        raise UnauthorisedError(
            "event_type", event.event_type, "no authority rule for this event type"
        )
    roles = frozenset(organisation.roles) if organisation is not None else frozenset()
    if not roles & rule.roles:
        raise UnauthorisedError(
            "actor",
            event.actor,
            f"{event.event_type} needs the role {_either(rule.roles)}; the actor is registered "
            f"as {_either(roles) if roles else 'nothing'} (docs/authority.md)",
        )
    judging = _Judging(event, roles, store, pending, custody or Custody(store, pending), final)
    condition = _CONDITIONS.get(event.event_type)
    if condition is not None:
        condition(judging)
    _check_custody(judging)


@dataclass(frozen=True, slots=True)
class _Judging:
    event: Event
    roles: frozenset[str]
    store: LedgerStore
    pending: Sequence[Event]
    custody: Custody
    final: bool = True

    def needs(self, roles: Iterable[str], field: str, value: object, why: str) -> None:
        wanted = frozenset(roles)
        if not self.roles & wanted:
            raise UnauthorisedError(
                field, value, f"{why} needs the role {_either(wanted)} (docs/authority.md)"
            )


def _either(roles: Iterable[str]) -> str:
    return " or ".join(sorted(roles))


def _certificate_issued(j: _Judging) -> None:
    issuer = str(j.event.payload["issuer_type"])
    roles = {PRODUCER} if issuer == "PRODUCER" else {PURCHASER, MARKET}
    j.needs(roles, "payload.issuer_type", issuer, f"a certificate with issuer_type {issuer}")


def _inspection(j: _Judging) -> None:
    if j.roles & INSPECTORS:
        return
    kind = str(j.event.payload["kind"])
    if kind == "OFFICIAL_SAMPLING":
        j.needs(INSPECTORS, "payload.kind", kind, "an official sampling")
    _require_held(j, "an inspection by a goods handler is a self-test of goods it holds")


def _transformed(j: _Judging) -> None:
    process = str(j.event.payload["process"])
    if process == "SLAUGHTER":
        j.needs({SLAUGHTERHOUSE}, "payload.process", process, "slaughter (定点屠宰)")


def _storage(j: _Judging) -> None:
    facility = str(j.event.payload["facility"])
    if facility == SUPERVISED_WAREHOUSE:
        j.needs({SUPERVISED_WAREHOUSE}, "payload.facility", facility, "a 集中监管仓 step")


def _import_declared(j: _Judging) -> None:
    importer = str(j.event.payload["importer"])
    if importer != j.event.actor:
        raise UnauthorisedError(
            "payload.importer",
            importer,
            "an importer declares only its own imports: payload.importer must be the actor",
        )


def _vaccine_lot_released(j: _Judging) -> None:
    if REGULATOR in j.roles:
        return
    maker = str(j.event.payload["manufacturer"])
    if maker != j.event.actor:
        raise UnauthorisedError(
            "payload.manufacturer",
            maker,
            "a vaccine maker releases only its own lots: payload.manufacturer must be the actor",
        )


def _recall_initiated(j: _Judging) -> None:
    if REGULATOR in j.roles:
        return
    for index, code in enumerate(j.event.payload["root_codes"]):
        origin = _originator(j.store, j.pending, str(code))
        if origin != j.event.actor:
            raise UnauthorisedError(
                f"payload.root_codes[{index}]",
                code,
                "a producer recalls only its own goods (主动召回): the code was first recorded "
                f"by {origin or 'nobody'}; a recall of others' goods is a regulator's (责令召回)",
            )


def _recall_acknowledged(j: _Judging) -> None:
    recall = _find_recall(j)
    roots = [str(code) for code in recall.payload["root_codes"]]
    if not _holds_in_scope(j, roots):
        raise NotInCustodyError(
            "actor",
            j.event.actor,
            f"only holders of goods in the scope of recall {recall.payload['recall_id']} "
            "acknowledge it",
        )


def _recall_closed(j: _Judging) -> None:
    recall = _find_recall(j)
    if recall.actor != j.event.actor and REGULATOR not in j.roles:
        raise UnauthorisedError(
            "actor",
            j.event.actor,
            f"recall {recall.payload['recall_id']} was started by {recall.actor}: only it or a "
            "REGULATOR closes it",
        )
    if j.event.payload.get("override_reason") is not None and REGULATOR not in j.roles:
        raise UnauthorisedError(
            "payload.override_reason",
            j.event.payload["override_reason"],
            "only a REGULATOR closes a recall before every holder is reconciled",
        )


def _require_held(j: _Judging, why: str) -> None:
    for index, code in enumerate(j.event.codes):
        if not j.custody.held_by(code, j.event.actor):
            raise NotInCustodyError(f"codes[{index}]", code, f"{why}; the actor does not hold it")


def _find_recall(j: _Judging) -> Event:
    """The ``RecallInitiated`` event a follow-up names: in this write, by its event id (recalls
    started through the API use the recall id as event id), or among the recalls the trace of
    the follow-up's codes shows."""
    recall_id = str(j.event.payload["recall_id"])
    for event in j.pending:
        if _is_recall(event, recall_id):
            return event
    try:
        shard, seq = j.store.locate(recall_id)
    except EntryNotFoundError:
        pass
    else:
        event = j.store.event_at(shard, seq)
        if _is_recall(event, recall_id):
            return event
    if j.event.codes:
        tracer = _tracer(j.store)
        for code in j.event.codes[:_MAX_CODES_SEARCHED]:
            for traced in tracer.trace(code).recalls:
                if _is_recall(traced.event, recall_id):
                    return traced.event
    raise UnknownRecallError(
        "payload.recall_id",
        recall_id,
        "no RecallInitiated has this recall_id (looked up as an event id, and among the "
        "recalls of the event's codes)",
    )


#: A follow-up naming more codes is searched through its first ones (each is a trace).
_MAX_CODES_SEARCHED = 20


def _is_recall(event: Event, recall_id: str) -> bool:
    return event.event_type == "RecallInitiated" and str(event.payload["recall_id"]) == recall_id


def _tracer(store: LedgerStore) -> Tracer:
    # Imported here: the trace imports this module's roles (self-tests are shown as such).
    from suyuan.trace import Tracer

    return Tracer(store)


class Custody:
    """Who holds which codes, for judging the events of one message: the ledger's
    ``code_events`` and ``code_edges`` projections (written with the entries), read once for the
    whole message where possible, and the events accepted before in the same write (``pending``,
    a list the writer appends to as it accepts events)."""

    def __init__(
        self, store: LedgerStore, pending: Sequence[Event], graph: CodeGraph | None = None
    ) -> None:
        """``graph``: the write's code graph, when the other rules of the write share it
        (:meth:`CodeGraph.follow` adds the pending events' edges once for all of them)."""
        self._store = store
        self._pending = pending
        self._graph = graph if graph is not None else CodeGraph(store)
        self._seen = 0  # pending events indexed so far
        self._loaded: set[str] = set()
        self._ledger: dict[str, set[str]] = {}  # code → organisations that held it
        self._held_now: dict[str, set[str]] = {}  # the same, from pending events
        self._handed_now: dict[str, set[str]] = {}  # code → organisations it was shipped to
        self._units_now: dict[str, set[str]] = {}  # GS1 lot → its units held in pending events
        self._unitless: set[str] = set()  # GS1 lots none of whose units the ledger names
        self._scope_holders: dict[tuple[str, ...], frozenset[str]] = {}  # recall roots → holders
        # Hand-overs (shipments, releases) in the ledger: their index rows by code, and whom
        # each names, read once per write — a receipt of two cases of one shipment reads it once.
        self._handovers: dict[str, list[CodeEventRef]] = {}
        self._receivers: dict[tuple[int, int], str | None] = {}

    def add_message(self, events: Iterable[Event | None]) -> None:
        """Read the goods of ``events`` — a message of the write — in a few queries (what
        earlier messages read is kept: the ledger does not change during a write)."""
        judged = [e for e in events if e is not None]
        codes = [code for e in judged for _path, code in _goods_codes(e)]
        self._load(codes)
        self._find_unitless(codes)
        # What receipts are judged by, when the receiver does not hold the goods yet: the
        # hand-overs of the goods and of the containers they are in, for all of them at once.
        received = [code for e in judged if e.event_type == "Received" for code in e.codes]
        if received:
            start = [*received, *gs1_lots(received)]
            self._handover_refs(self._graph.above(start, PACKING_KINDS))

    def _find_unitless(self, codes: Sequence[str]) -> None:
        """Note the GS1 lots among ``codes`` that nobody holds and none of whose units the ledger
        names — mostly every lot a message certifies — in one read for all of them, so that
        :meth:`others_hold_units_of` need not read each."""
        prefixes = {
            lot: prefix
            for lot in dict.fromkeys(codes)
            if lot not in self._ledger and lot not in self._unitless
            if (prefix := gs1_units_prefix(lot)) is not None
        }
        if not prefixes:
            return
        named = self._store.codes_under(list(prefixes.values()), _UNITS_PAGE + 1)
        if len(named) > _UNITS_PAGE:
            return  # too many to tell apart here: each lot is read when judged
        with_units = {gs1_lot(code) for code in named}
        self._unitless.update(lot for lot in prefixes if lot not in with_units)

    def _load(self, codes: Iterable[str]) -> None:
        asked = list(codes)
        missing = [c for c in dict.fromkeys([*asked, *gs1_lots(asked)]) if c not in self._loaded]
        if not missing:
            return
        self._graph.load_up(missing, PACKING_KINDS)
        new = sorted(self._graph.above(missing, PACKING_KINDS) - self._loaded)
        self._loaded.update(new)
        for ref in self._store.code_events_for(new, CUSTODY_EVENT_TYPES):
            self._ledger.setdefault(ref.code, set()).add(ref.actor)

    def _catch_up(self) -> None:
        fresh = self._pending[self._seen :]
        for event in fresh:
            if event.event_type in CUSTODY_EVENT_TYPES:
                for code in event.codes:
                    self._held_now.setdefault(code, set()).add(event.actor)
                    lot = gs1_lot(code)
                    if lot is not None:
                        self._units_now.setdefault(lot, set()).add(code)
            receiver = _handed_to(event)
            if receiver is not None:
                for code in event.codes:
                    self._handed_now.setdefault(code, set()).add(receiver)
        # The graph walks the packings earlier in the write as it walks the ledger's.
        self._graph.follow(self._pending)
        self._seen = len(self._pending)

    def graph(self) -> CodeGraph:
        """The write's code graph: the ledger's edges as read so far, and the edges of the
        events accepted earlier in this write."""
        if self._seen < len(self._pending):
            self._catch_up()
        return self._graph

    def family(self, code: str) -> set[str]:
        """``code``, its GS1 lot if it is a serialised unit, and every container they were
        packed in (whoever holds a case holds its contents, whoever holds a lot its units), in
        the ledger or earlier in this write."""
        start = [code, *gs1_lots([code])]
        found = self.graph().above(start, PACKING_KINDS)
        # Called for every goods code of every event: mostly everything is read already. A
        # container met for the first time (a packing earlier in the write may lead to one) is
        # read, with what it was packed in.
        while not found <= self._loaded:
            self._load(found - self._loaded)
            found = self._graph.above(start, PACKING_KINDS)
        return found

    def holders(self, code: str) -> set[str]:
        """Organisations that held ``code`` or a container of it (custody events)."""
        held: set[str] = set()
        for member in self.family(code):
            held |= self._ledger.get(member, set()) | self._held_now.get(member, set())
        return held

    def held_by(self, code: str, actor: str) -> bool:
        """Whether ``actor`` holds ``code``, or nobody does yet (new goods are the first
        holder's)."""
        holders = self.holders(code)
        return not holders or actor in holders

    def others_hold_units_of(self, lot: str, actor: str) -> bool:
        """Whether a serialised unit of the GS1 lot ``lot`` was first recorded — in a custody
        event, in the ledger or earlier in this write — by an organisation other than ``actor``
        (``False`` when ``lot`` is not a lot code): a unit the actor packed and shipped to a
        market is still the actor's goods; the market, which recorded it second, may not claim
        the lot and with it every other unit. Read by the units' prefix, a page at a time
        (:meth:`suyuan.ledger.LedgerStore.code_events_under`); mostly one indexed range read
        that finds nothing."""
        prefix = gs1_units_prefix(lot)
        if prefix is None:
            return False
        self.graph()  # index the events accepted earlier in this write
        pending = {u for u in self._units_now.get(lot, ()) if self._held_now[u] - {actor}}
        if self._first_recorded_by_others(pending, actor):
            return True
        if lot in self._unitless:
            return False
        after: str | None = None
        while True:
            page = self._store.code_events_under(
                prefix, CUSTODY_EVENT_TYPES, other_than=actor, after=after, limit=_UNITS_PAGE
            )
            if self._first_recorded_by_others({ref.code for ref in page}, actor):
                return True
            if len(page) < _UNITS_PAGE:
                return False
            after = page[-1].code  # the rest of this code's events add nothing

    def _first_recorded_by_others(self, codes: set[str], actor: str) -> bool:
        """Whether one of ``codes`` has an originator other than ``actor``: the organisation
        of its first custody event about the code itself, in recorded order (holding a
        container of it makes nobody its first holder)."""
        if not codes:
            return False
        first = _originators(self._store, self._pending, codes).values()
        return any(origin is not None and origin != actor for origin in first)

    def scope_holders(self, roots: Sequence[str]) -> frozenset[str]:
        """The organisations the ledger shows holding goods in the recall scope of ``roots``
        (:meth:`suyuan.trace.Tracer.scope_holders`), asked once per write: the ledger does not
        change during one, and every acknowledgement of a large recall would walk its scope.

        Raises:
            CodeError: a root is not a valid trace code (field ``root_codes``).
        """
        key = tuple(roots)
        found = self._scope_holders.get(key)
        if found is None:
            holders = _tracer(self._store).scope_holders(roots)
            found = self._scope_holders[key] = frozenset(h.organisation for h in holders)
        return found

    def handed_to(self, code: str, actor: str) -> bool:
        """Whether a shipment or release of ``code`` (or a container of it) names ``actor``."""
        family = self.family(code)
        if any(actor in self._handed_now.get(member, ()) for member in family):
            return True
        refs = self._handover_refs(family)
        refs.sort(key=lambda r: (r.occurred_at, r.shard, r.seq))  # as code_events_for orders
        positions = list(dict.fromkeys((ref.shard, ref.seq) for ref in refs[:_MAX_HANDOVERS_READ]))
        unread = [p for p in positions if p not in self._receivers]
        if unread:
            self._receivers.update(dict.fromkeys(unread))  # a position the ledger lacks: none
            for position, event in self._store.events_at(unread).items():
                self._receivers[position] = _handed_to(event)
        return any(self._receivers[p] == actor for p in positions)

    def _handover_refs(self, codes: Collection[str]) -> list[CodeEventRef]:
        """The ledger's hand-over index rows about ``codes`` (those not read before in this
        write, in one query)."""
        unread = sorted(code for code in codes if code not in self._handovers)
        if unread:
            for code in unread:
                self._handovers[code] = []
            for ref in self._store.code_events_for(unread, _HANDOVERS):
                self._handovers[ref.code].append(ref)
        return [ref for code in codes for ref in self._handovers[code]]


def originator(store: LedgerStore, code: str) -> str | None:
    """The organisation that first held ``code`` in the ledger (its maker, importer or
    certifier); ``None`` when nobody has."""
    return _originator(store, (), code)


def _originator(store: LedgerStore, pending: Sequence[Event], code: str) -> str | None:
    """The actor of the first recorded custody event about ``code`` (``None``: nobody has held
    it yet), in recorded order: the claimed ``occurred_at`` does not count."""
    return _originators(store, pending, [code])[code]


def _originators(
    store: LedgerStore, pending: Sequence[Event], codes: Collection[str]
) -> dict[str, str | None]:
    """:func:`_originator` of each of ``codes``, their custody events read in one query."""
    first_per_shard: dict[str, dict[int, tuple[int, str]]] = {}
    for ref in store.code_events_for(sorted(codes), CUSTODY_EVENT_TYPES):
        shards = first_per_shard.setdefault(ref.code, {})
        known = shards.get(ref.shard)
        if known is None or ref.seq < known[0]:
            shards[ref.shard] = (ref.seq, ref.actor)
    # Several shards: their sequence numbers do not compare; the recorded times do.
    across = [
        (shard, seq)
        for shards in first_per_shard.values()
        if len(shards) > 1
        for shard, (seq, _actor) in shards.items()
    ]
    entries = store.entries_at(across) if across else {}
    found: dict[str, str | None] = {}
    for code in codes:
        shards = first_per_shard.get(code, {})
        if len(shards) == 1:
            found[code] = next(iter(shards.values()))[1]
            continue
        recorded = [
            (entries[(shard, seq)].read_leaf().recorded_at, actor)
            for shard, (seq, actor) in shards.items()
            if (shard, seq) in entries
        ]
        found[code] = min(recorded)[1] if recorded else _first_pending_holder(pending, code)
    return found


def _first_pending_holder(pending: Sequence[Event], code: str) -> str | None:
    """The actor of the first custody event about ``code`` earlier in this write."""
    for event in pending:
        if event.event_type in CUSTODY_EVENT_TYPES and code in event.codes:
            return event.actor
    return None


def _holds_in_scope(j: _Judging, roots: Sequence[str]) -> bool:
    """Whether the actor holds goods in the recall scope of ``roots``: it originated a root, it
    took goods of the scope (or a container of them) earlier in this write, not in the ledger
    yet, or the trace finds it among the scope's holders (asked in the database, once per write:
    the scope's codes never reach the writer)."""
    actor = j.event.actor
    if any(_originator(j.store, j.pending, code) == actor for code in roots):
        return True
    if _took_in_this_write(j, [parse_trace_code(c, field="root_codes").value for c in roots]):
        return True
    return actor in j.custody.scope_holders(roots)


def _took_in_this_write(j: _Judging, roots: list[str]) -> bool:
    """Whether goods the actor took earlier in this write — or what is packed in them — are in
    the scope of ``roots``: reached from a root through the ledger's edges and then this
    write's. Walked up from those goods, so it costs what the actor took, not the scope."""
    taken = [
        code
        for event in j.pending
        if event.actor == j.event.actor and event.event_type in CUSTODY_EVENT_TYPES
        for code in event.codes
    ]
    if not taken:
        return False
    graph = j.custody.graph()
    graph.load_down(taken, PACKING_KINDS)
    contents = graph.below(taken, PACKING_KINDS)
    # Up through this write's edges (and the ledger's the graph read already), then through the
    # ledger's: the scope is the ledger's walk down from the roots, and what this write made or
    # packed of it.
    made_from = graph.above(contents, _FORWARD_KINDS)
    ancestors = graph.closure(sorted(made_from), upward=True, kinds=_FORWARD_KINDS).codes
    return not ancestors.isdisjoint(roots)


#: What a recall reaches forward (as the trace's recall scope).
_FORWARD_KINDS = frozenset({CONTAINS, TRANSFORMED, CERTIFIED_FROM, VOIDED_BY})


#: Unit events read at a time when a lot is first recorded (others_hold_units_of).
_UNITS_PAGE = 500

#: Events that hand goods to another organisation, and the payload field naming it.
_HANDOVERS = {"Shipped": "to_org", "Released": "released_to"}
#: Shipments read to find one addressed to the receiver (a code shipped more often is rare).
_MAX_HANDOVERS_READ = 200


def _handed_to(event: Event) -> str | None:
    name = _HANDOVERS.get(event.event_type)
    value = event.payload.get(name) if name else None
    return None if value is None else str(value)


def _goods_codes(event: Event) -> list[tuple[str, str]]:
    """(path, code) of the goods the actor must hold for ``event`` (empty: no custody rule)."""
    kind = event.event_type
    payload = event.payload
    if kind not in CUSTODY_RULES:
        return []
    if kind == "Aggregated":
        return [(f"payload.child_codes[{i}]", str(c)) for i, c in enumerate(payload["child_codes"])]
    if kind == "Disaggregated":
        return [("payload.parent_code", str(payload["parent_code"]))]
    if kind == "Transformed":
        return [
            (f"payload.inputs[{i}].code", str(x["code"])) for i, x in enumerate(payload["inputs"])
        ]
    paths = [(f"codes[{i}]", code) for i, code in enumerate(event.codes)]
    if kind in ("CertificateIssued", "CertificateVoided"):
        return [(path, code) for path, code in paths if not is_valid_certificate_code(code)]
    return paths


def _check_custody(j: _Judging) -> None:
    """The goods of a custody event must be the actor's, or be arriving to it."""
    goods = _goods_codes(j.event)
    receiving = j.event.event_type == "Received"
    for path, code in goods:
        held = j.custody.holders(code)
        if not held and not j.final and j.event.event_type not in FIRST_RECORDS:
            raise UnheldGoodsError(
                path,
                code,
                f"{j.event.event_type} is about goods nobody holds yet: the events that hand "
                "them over may still arrive",
            )
        if not held:
            # New goods are the first holder's — but a lot whose units another organisation
            # already recorded is not new: its first holder would hold those units too.
            if j.custody.others_hold_units_of(code, j.event.actor):
                raise NotInCustodyError(
                    path,
                    code,
                    f"{j.event.event_type} would be the first record of this GS1 lot, but "
                    "another organisation already holds units of it, and whoever holds a lot "
                    "holds its units",
                )
            continue
        if j.event.actor in held:
            continue
        if receiving and j.custody.handed_to(code, j.event.actor):
            continue
        lot = gs1_lot(code)
        raise NotInCustodyError(
            path,
            code,
            f"{j.event.event_type} {CUSTODY_RULES[j.event.event_type]}: the actor holds neither "
            "this code nor a container it is packed in"
            + (f" nor its lot {lot}" if lot else "")
            + (", and nobody shipped it to the actor" if receiving else ""),
        )


_CONDITIONS: Mapping[str, Callable[[_Judging], None]] = {
    "CertificateIssued": _certificate_issued,
    "InspectionRecorded": _inspection,
    "Transformed": _transformed,
    "Stored": _storage,
    "Released": _storage,
    "ImportDeclared": _import_declared,
    "VaccineLotReleased": _vaccine_lot_released,
    "RecallInitiated": _recall_initiated,
    "RecallAcknowledged": _recall_acknowledged,
    "RecallClosed": _recall_closed,
}


__all__ = [
    "CUSTODY_EVENT_TYPES",
    "CUSTODY_RULES",
    "FIRST_RECORDS",
    "HANDLERS",
    "INSPECTORS",
    "MAKERS",
    "ROLES",
    "ROOT_KEY",
    "RULES",
    "Custody",
    "Rule",
    "check_authority",
    "originator",
]
