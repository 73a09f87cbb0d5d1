"""What an organisation is told about goods it holds or held: alerts and recall notices.

``GET /v1/notices`` (docs/http-query.md "Notices") answers an organisation, with its own token,
from :class:`NoticeBoard`. Regulators follow alerts by region (``GET /v1/alerts``); a holder is
told of:

- **alerts** (the regulator's alert rules, :func:`suyuan.foodchain.alerts_of`) against it, about
  goods it holds or held (custody: :class:`suyuan.authority.Custody`, and the holders of frozen
  goods an ``inspection_failed`` alert lists), or naming it as the supplier of goods its buyer
  received without a certificate;
- **recalls** whose scope (:func:`suyuan.recall.find_recall`) includes goods it holds or held,
  with whether it acknowledged them.

Only alert kinds that colour a public verdict (:data:`suyuan.verdict.RULES`) are notices: a kind
the public may not see (a serious adverse event report) stays the regulators'. A notice about
another organisation's alert says what and when, never who it is against, its summary, its
counterparty or any other holder's quantities. Each open notice says what to do: the verdict's
advice to a holder of that state and kind of product (:func:`suyuan.verdict.advice`).
No web framework here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from suyuan.authority import Custody
from suyuan.directory import Directory
from suyuan.errors import InvalidInputError
from suyuan.foodchain import ALERT_KINDS, INSPECTION_FAILED, Alert, FoodChainMonitor
from suyuan.ledger import LedgerStore
from suyuan.opaque import pack, unpack
from suyuan.recall import Recall, find_recall
from suyuan.trace import TraceBudget, Tracer
from suyuan.verdict import FOOD, HOLDER, OK, RECALLED, RULES, Verdict, advice

RECALL = "recall"
RECALL_INITIATED = "RecallInitiated"
#: How the reader stands to a notice, strongest first.
AGAINST = "against"
"""The alert is against the reader (it received, shipped, recorded…)."""
HELD = "held"
"""The reader holds or held goods the notice is about (or made them)."""
SUPPLIED = "supplied"
"""The reader's buyer named it as the supplier of goods received without a certificate."""
RELATIONS = (AGAINST, HELD, SUPPLIED)
OPEN = "open"
CLOSED = "closed"
STATUSES = (OPEN, CLOSED)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def public_alert_kinds() -> tuple[str, ...]:
    """Alert kinds a holder may be told of: those with a verdict rule (what a public verdict
    may show). Read when called, so that a kind added to both lists is in at once."""
    return tuple(kind for kind in ALERT_KINDS if kind in RULES)


def notice_kinds() -> tuple[str, ...]:
    """Every value of the ``kind`` filter: ``recall`` and the public alert kinds."""
    return (RECALL, *public_alert_kinds())


@dataclass(frozen=True, slots=True)
class Notice:
    """One alert or recall, as the organisation it concerns may read it."""

    notice_id: str
    """``{alert kind}:{event_id}`` (the alert's id) or ``recall:{recall_id}``."""
    kind: str
    """``recall`` or an alert kind."""
    status: str
    relation: str
    """:data:`AGAINST`, :data:`HELD` or :data:`SUPPLIED`."""
    at: datetime
    """When the alert opened, or the recall started."""
    event_id: str
    """The event that opened the alert or started the recall."""
    codes: tuple[str, ...]
    """The reader's goods it is about (an alert against the reader: all of the alert's codes);
    a recall's root codes (everything made from or packed with them is in scope)."""
    rule: str
    """The verdict rule (docs/verdicts.md) whose words say what it is."""
    state: str
    """The verdict state it gives the goods while open (``recalled``, ``frozen``, ``attention``
    …); ``ok`` once closed."""
    closed_at: datetime | None = None
    closed_reason: str | None = None
    summary: str | None = None
    """What exactly: only on an alert against the reader."""
    outstanding: tuple[str, ...] = ()
    """What still keeps it open: only on an alert against the reader that lists no other
    holders."""
    quantities: tuple[tuple[str, str], ...] = ()
    """(quantity, unit) of the reader's own: what it still holds of frozen goods, or what it
    held of recalled ones."""
    recall_id: str | None = None
    reason: str | None = None
    level: str | None = None
    issued_by: str | None = None
    """The recall's actor (a regulator, or the maker recalling its own goods)."""
    issued_by_name: str | None = None
    acknowledged: bool | None = None
    """Recalls: whether the reader recorded a ``RecallAcknowledged`` for it."""
    due_by: datetime | None = None
    """Open recalls: the reader's next deadline (to acknowledge, then to be reconciled)."""
    product: str = FOOD
    """The kind of product (food, vaccine, drug), from the trace of its first code."""

    def words(self, lang: str) -> str:
        """What it is, in ``lang`` (``en``, else Chinese): the words of its verdict rule."""
        rule = RULES[self.rule]
        return rule.en if lang == "en" else rule.zh

    def advice(self, lang: str) -> str | None:
        """What the reader should do, in ``lang``; ``None`` once it is closed."""
        if self.status != OPEN:
            return None
        return advice(self.state, self.product, HOLDER, lang)

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.at, self.notice_id)


@dataclass(frozen=True, slots=True)
class NoticePage:
    """One page of an organisation's notices, newest first."""

    notices: tuple[Notice, ...]
    count: int
    """How many match the filters, on every page."""
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``None`` on the last one."""


class NoticeBoard:
    """The notices of any organisation, from one ledger's alerts and recalls."""

    def __init__(self, store: LedgerStore, tracer: Tracer, monitor: FoodChainMonitor) -> None:
        self._store = store
        self._tracer = tracer
        self._monitor = monitor

    def notices(self, organisation: str) -> list[Notice]:
        """Every notice for ``organisation``, open and closed, newest first.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
        """
        custody = Custody(self._store, [])
        found = [
            *alert_notices(self._monitor.alerts(), organisation, custody),
            *self._recall_notices(organisation, custody),
        ]
        found.sort(key=lambda n: n.sort_key, reverse=True)
        return found

    def page(
        self,
        organisation: str,
        *,
        status: str | None = None,
        kinds: Sequence[str] = (),
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
        budget: TraceBudget | None = None,
    ) -> NoticePage:
        """The notices for ``organisation`` of ``status`` and ``kinds`` (any, when empty),
        newest first, after ``cursor``, at most ``limit``; each with its kind of product read
        from the trace of its first code (within ``budget``).

        Raises:
            InvalidInputError: a ``status`` or ``kinds`` value not in :data:`STATUSES` /
                :func:`notice_kinds` (field ``status`` / ``kind``), a ``cursor`` this service
                did not give (field ``cursor``), or a ``limit`` outside 1…:data:`MAX_LIMIT`.
            sqlalchemy.exc.SQLAlchemyError: the ledger database cannot be read.
        """
        check_filters(status, kinds, limit)
        after = decode_cursor(cursor) if cursor is not None else None
        matching = [
            n
            for n in self.notices(organisation)
            if (status is None or n.status == status) and (not kinds or n.kind in kinds)
        ]
        start = (
            0
            if after is None
            else next((i for i, n in enumerate(matching) if n.sort_key < after), len(matching))
        )
        chosen = matching[start : start + limit]
        more = start + limit < len(matching)
        verdicts: dict[str, Verdict] = {}
        shown = tuple(self._as_judged(n, verdicts, budget) for n in chosen)
        return NoticePage(
            shown, len(matching), encode_cursor(chosen[-1]) if more and chosen else None
        )

    def _recall_notices(self, organisation: str, custody: Custody) -> list[Notice]:
        notices = []
        events = self._monitor.events([RECALL_INITIATED])
        directory = self._monitor.reads().directory
        for event in events:
            recall = find_recall(self._store, self._tracer, event.event_id)
            notice = recall_notice(recall, organisation, custody, directory)
            if notice is not None:
                notices.append(notice)
        return notices

    def _as_judged(
        self, notice: Notice, known: dict[str, Verdict], budget: TraceBudget | None
    ) -> Notice:
        """``notice`` with the kind of product and, for a failed inspection, the rule the
        verdict of its first code gives it: a trader's own failed test of goods it does not
        vouch for is ``self_test_failed`` (attention) there, so a holder is not told to
        suspend sales of goods every shopper is told are only under review."""
        if not notice.codes:
            return notice
        code = notice.codes[0]
        if code not in known:
            known[code] = self._tracer.trace(code, budget=budget).verdict
        verdict = known[code]
        notice = replace(notice, product=verdict.product)
        if notice.kind != INSPECTION_FAILED or notice.status != OPEN:
            return notice
        judged = next((f for f in verdict.findings if f.event_id == notice.event_id), None)
        if judged is None or judged.rule_id == notice.rule:
            return notice
        return replace(notice, rule=judged.rule_id, state=judged.state)


# --- alerts -------------------------------------------------------------------------------------


def alert_notices(alerts: Iterable[Alert], organisation: str, custody: Custody) -> list[Notice]:
    """The notices ``organisation`` gets of ``alerts`` (see the module's docstring)."""
    public = set(public_alert_kinds())
    notices = []
    for alert in alerts:
        if alert.kind not in public:
            continue
        notice = _alert_notice(alert, organisation, custody)
        if notice is not None:
            notices.append(notice)
    return notices


def _alert_notice(alert: Alert, organisation: str, custody: Custody) -> Notice | None:
    position = next((h for h in alert.holders if h.organisation == organisation), None)
    if alert.organisation == organisation:
        relation, codes = AGAINST, alert.codes
    elif held := tuple(c for c in alert.codes if organisation in custody.holders(c)):
        relation, codes = HELD, held
    elif position is not None:  # it held frozen goods made from or packed with these
        relation, codes = HELD, ()
    elif alert.counterparty == organisation:
        relation, codes = SUPPLIED, alert.codes
    else:
        return None
    against = relation == AGAINST
    rule = RULES[alert.kind]
    return Notice(
        notice_id=alert.alert_id,
        kind=alert.kind,
        status=OPEN if alert.status == OPEN else CLOSED,
        relation=relation,
        at=alert.opened_at,
        event_id=alert.event_id,
        codes=codes,
        rule=alert.kind,
        state=rule.state if alert.status == OPEN else OK,
        closed_at=alert.closed_at,
        closed_reason=alert.closed_reason,
        summary=alert.summary if against else None,
        # A failed inspection's outstanding items name every holder and its quantities.
        outstanding=alert.outstanding if against and not alert.holders else (),
        quantities=()
        if position is None
        else tuple((_decimal_text(a.quantity), a.unit) for a in position.remaining),
    )


# --- recalls ------------------------------------------------------------------------------------


def recall_notice(
    recall: Recall, organisation: str, custody: Custody, directory: Directory
) -> Notice | None:
    """The notice ``organisation`` gets of ``recall``: when one of the holders of its scope, or
    a holder of a root code (the maker of the recalled goods), else ``None``."""
    mine = next((h for h in recall.holders if h.organisation == organisation), None)
    if mine is None and not any(organisation in custody.holders(c) for c in recall.root_codes):
        return None
    closed = recall.progress.closed
    closure = recall.progress.closure
    account = recall.account(organisation)
    due_by = None
    if account is not None and not closed:
        limits = account.deadlines
        due_by = limits.finish_by if account.acknowledged else limits.acknowledge_by
    return Notice(
        notice_id=f"{RECALL}:{recall.recall_id}",
        kind=RECALL,
        status=CLOSED if closed else OPEN,
        relation=HELD,
        at=recall.event.occurred_at,
        event_id=recall.event.event_id,
        codes=recall.root_codes,
        rule="recall_closed" if closed else "recall_open",
        state=OK if closed else RECALLED,
        closed_reason="recall_closed" if closed else None,
        closed_at=None if closure is None else closure.at,
        # What the reader still has to report or do for the recall to close.
        outstanding=() if closed or account is None else account.missing,
        quantities=() if mine is None else mine.quantities,
        recall_id=recall.recall_id,
        reason=recall.reason,
        level=recall.level,
        issued_by=recall.regulator,
        issued_by_name=directory.name(recall.regulator),
        acknowledged=organisation in recall.progress.acknowledged_by,
        due_by=due_by,
    )


# --- filters and cursors ------------------------------------------------------------------------


def check_filters(status: str | None, kinds: Sequence[str], limit: int) -> None:
    """Raises: InvalidInputError for the first filter out of its range (see :meth:`page`)."""
    if status is not None and status not in STATUSES:
        raise InvalidInputError("status", status, f"must be one of: {', '.join(STATUSES)}")
    allowed = notice_kinds()
    for kind in kinds:
        if kind not in allowed:
            raise InvalidInputError("kind", kind, f"must be one of: {', '.join(allowed)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError("limit", limit, f"must be 1 to {MAX_LIMIT}")


def encode_cursor(notice: Notice) -> str:
    """An opaque cursor: the next page starts after ``notice`` (newest first), so notices
    recorded in between do not shift the pages."""
    return pack([notice.at.isoformat(), notice.notice_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of :func:`encode_cursor` stands for.

    Raises:
        InvalidInputError: ``cursor`` is not one (field ``cursor``).
    """
    try:
        at, notice_id = unpack(cursor)
        when = datetime.fromisoformat(at)
    except (ValueError, TypeError):
        raise InvalidInputError(
            "cursor", cursor, "not a cursor of this list: pass `next_cursor` as given"
        ) from None
    if when.tzinfo is None or not isinstance(notice_id, str):
        raise InvalidInputError(
            "cursor", cursor, "not a cursor of this list: pass `next_cursor` as given"
        )
    return when, notice_id


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


__all__ = [
    "AGAINST",
    "CLOSED",
    "DEFAULT_LIMIT",
    "HELD",
    "MAX_LIMIT",
    "OPEN",
    "RECALL",
    "RELATIONS",
    "STATUSES",
    "SUPPLIED",
    "Notice",
    "NoticeBoard",
    "NoticePage",
    "alert_notices",
    "check_filters",
    "decode_cursor",
    "encode_cursor",
    "notice_kinds",
    "public_alert_kinds",
    "recall_notice",
]
