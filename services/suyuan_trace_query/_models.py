"""Request and response bodies of the query API (published in its OpenAPI document).

The trace models describe what :func:`suyuan.trace.trace_json` returns; they allow extra
fields so that what the core adds to a trace reaches callers before the models name it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suyuan.recall import LEVELS, MAX_ROOT_CODES
from suyuan_http import ErrorOut as _ErrorOut
from suyuan_http import Health


class ErrorOut(_ErrorOut):
    """A refused request (4xx), or a service that cannot answer now (503)."""

    detail: str = Field(description="What went wrong, in one sentence.")


# --- trace -----------------------------------------------------------------------------------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class LedgerRef(_Open):
    shard: int
    seq: int
    recorded_at: str = Field(description="RFC 3339, when the ledger recorded it.")


class PlaceOut(_Open):
    region_code: str
    name: str | None = Field(description="Null in the public view for a trading partner.")
    address: str | None


class TracedEventOut(_Open):
    """An event of a trace. The public view leaves personal data, commercial details and
    trading partners out of ``payload`` (waybill and receipt numbers, vehicles, buyers, prices,
    pseudonyms, to_org/from_org…), shows no quantities, and names the actor only of the
    producer's, the point of sale's and the authorities' events (docs/http-query.md)."""

    event_id: str
    event_type: str
    occurred_at: str = Field(description="RFC 3339 with the zone offset it happened in.")
    actor: str | None = Field(
        description="USCC of the organisation that recorded it; null in the public view for a "
        "trading partner."
    )
    actor_name: str | None
    location: PlaceOut | None
    codes: list[str]
    quantity: str | None
    unit: str | None
    payload: dict[str, Any]
    ledger: LedgerRef


class QuantityOut(BaseModel):
    quantity: str = Field(description="Decimal amount as text, e.g. '120.5'.")
    unit: str


class HolderOut(BaseModel):
    organisation: str = Field(description="USCC.")
    name: str | None
    quantities: list[QuantityOut] = Field(
        description="What it received (failing that: stored; failing that: sold or used), by unit."
    )


class ForwardOut(_Open):
    codes: list[str] = Field(description="Every code made from or packed with this one.")
    holders: list[HolderOut]


class FindingOut(BaseModel):
    """One finding behind a verdict: the rule, its words, and the source it rests on."""

    rule: str = Field(description="Rule id (docs/verdicts.md), e.g. recall_open.")
    state: str = Field(description="The state this rule sets.")
    zh: str
    en: str
    detail: str = Field(description="What exactly (a recall's reason, a failed test's items).")
    source: str = Field(description="The text the rule rests on, with our confidence in it.")
    event_id: str | None
    at: str | None


class VerdictOut(BaseModel):
    """The verdict of a code (docs/verdicts.md): the worst state of its findings."""

    state: Literal["recalled", "frozen", "blocked", "expired", "attention", "replaced", "ok"]
    level: Literal["danger", "caution", "ok"] = Field(
        description="danger (red), caution (amber) or ok (green)."
    )
    product: Literal["food", "vaccine", "drug"]
    title: dict[str, str] = Field(description="By language (zh, en).")
    advice: dict[str, dict[str, str]] = Field(
        description="By language, then by reader (consumer, holder)."
    )
    findings: list[FindingOut] = Field(description="Worst first.")
    notes: list[FindingOut] = Field(description="Findings that leave it ok (a recall ended).")


class TraceAlertOut(_Open):
    """An alert the events of the trace opened. The public view has kind, status and times
    only; the full view adds whom it is against and why."""

    kind: str
    status: Literal["open", "closed"]
    opened_at: str
    closed_at: str | None


class TraceOut(_Open):
    """``GET /v1/trace/{code}``: backward to the farms, the custody path, and (full view) forward
    to every holder (design.md §7)."""

    code: str = Field(description="The canonical code.")
    kind: str = Field(description="cert, gs1 or drug.")
    status: str = Field(description="The verdict's state (see verdict).")
    reasons: list[str] = Field(
        description="The verdict's findings, one line each, in the language of "
        "Accept-Language (zh or en; default zh; Content-Language says which)."
    )
    verdict: VerdictOut
    product: dict[str, Any] | None
    origin: dict[str, Any] | None
    certificates: list[TracedEventOut]
    inspections: list[TracedEventOut]
    documents: list[TracedEventOut]
    custody: list[TracedEventOut]
    temperature: dict[str, Any] | None
    recalls: list[TracedEventOut]
    alerts: list[TraceAlertOut]
    upstream_codes: list[str]
    view: Literal["public", "full"]
    complete: bool = Field(
        description="False when the trace was cut at its budget or the walk limits: there is "
        "more (docs/http-query.md, Trace budget)."
    )
    forward: ForwardOut | None = Field(None, description="Full view only.")


# --- events and the ledger ---------------------------------------------------------------------


class InclusionProofOut(BaseModel):
    """RFC 9162 inclusion proof of the entry in a signed checkpoint of its shard."""

    checkpoint: str = Field(description="The signed checkpoint note (C2SP tlog-checkpoint).")
    tree_size: int
    root_hash: str = Field(description="Base64 root hash the checkpoint commits to.")
    leaf_index: int
    leaf_hash: str = Field(description="Base64 SHA-256(0x00 ‖ leaf).")
    hashes: list[str] = Field(description="Base64 audit path, leaf to root.")


class EntryOut(BaseModel):
    shard: int
    seq: int
    recorded_at: str = Field(description="RFC 3339, when the ledger recorded it.")
    leaf_hash: str = Field(description="Base64 SHA-256(0x00 ‖ leaf).")
    leaf: str | None = Field(
        description="Base64 leaf bytes (they hold the signed event in full): given to regulators, "
        "admins and the event's own organisation only."
    )


class EventOut(BaseModel):
    """``GET /v1/events/{event_id}``."""

    event: dict[str, Any] = Field(
        description="The event in the JSON form of docs/events.md (public view: without "
        "personal data and commercial details)."
    )
    view: Literal["public", "full"]
    ledger: EntryOut
    proof: InclusionProofOut | None = Field(
        description="Null when this service holds no ledger key, or until the next scheduled "
        "checkpoint covers the entry (SUYUAN_CHECKPOINT_INTERVAL_SECONDS)."
    )


class ConsistencyOut(BaseModel):
    """RFC 9162 consistency proof between two sizes of one shard's tree."""

    shard: int
    old_size: int
    new_size: int
    old_root: str = Field(description="Base64 root of the tree of old_size entries.")
    new_root: str = Field(description="Base64 root of the tree of new_size entries.")
    proof: list[str] = Field(description="Base64 hashes (empty when old is 0 or equals new).")


# --- recalls ----------------------------------------------------------------------------------


class RecallIn(BaseModel):
    """``POST /v1/recalls``: what to recall and why."""

    model_config = ConfigDict(extra="forbid")

    root_codes: list[str] = Field(
        min_length=1,
        max_length=MAX_ROOT_CODES,
        description="Codes the recall starts from (any accepted spelling); everything made from "
        "or packed with them is in scope.",
    )
    reason: str = Field(min_length=1, max_length=2000, description="Why, e.g. the failed test.")
    level: Literal["LEVEL_1", "LEVEL_2", "LEVEL_3"] = Field(
        description=f"Recall level ({', '.join(LEVELS)}; 1 is the most severe)."
    )


class CodesOut(BaseModel):
    count: int = Field(description="Codes in scope, root codes included.")
    listed: list[str] = Field(description="The first of them, sorted (see `truncated`).")
    truncated: bool
    complete: bool = Field(
        True, description="False when the scope was too large to walk to the end: it is larger."
    )


class ProgressOut(BaseModel):
    holders: int
    acknowledged: int = Field(description="Holders that acknowledged the recall.")
    acknowledged_by: list[str]
    outstanding: list[str] = Field(description="Holders that have not acknowledged yet.")
    acknowledgements: int
    disposals: int = Field(description="Destroyed events naming the recall.")
    closed: bool
    reconciled: int = Field(0, description="Holders whose account is reconciled.")
    overdue: list[str] = Field(
        default_factory=list, description="Holders past a deadline (USCC), while open."
    )


class DeadlinesOut(BaseModel):
    acknowledge_by: str = Field(
        description="RFC 3339: holders acknowledge by then (24/48/72 h for levels 1/2/3)."
    )
    finish_by: str = Field(
        description="RFC 3339: every holder reconciled by then (10/20/30 working days)."
    )


class AccountOut(BaseModel):
    """One holder's account: received (ledger) against what it reported."""

    organisation: str = Field(description="USCC.")
    name: str | None
    contact: str | None = Field(
        None,
        description="联系方式 on its latest certificate for goods in scope (null: it issued none).",
    )
    region: str | None = Field(description="GB/T 2260 code of its registration.")
    received: list[QuantityOut] = Field(
        description="What the ledger says it received (the maker: what it first recorded)."
    )
    acknowledged: bool
    acknowledged_at: str | None
    unit: str | None = Field(description="Unit of the reported quantities.")
    on_hand: str | None
    sold_on: str | None
    returned: str | None
    destroyed: str | None
    remaining: str | None = Field(
        description="received − sold on − destroyed − returned (null until all are known)."
    )
    reconciled: bool = Field(description="Everything accounted for and nothing on hand.")
    overdue: Literal["not_acknowledged", "not_reconciled"] | None = Field(
        description="Past which deadline, while the recall is open."
    )
    missing: list[str] = Field(description="What it still has to report or do.")


class ClosureOut(BaseModel):
    event_id: str
    closed_by: str = Field(description="USCC of who closed it.")
    closed_at: str
    summary: str
    override_reason: str | None = Field(
        description="Set when a regulator closed it before every holder was reconciled."
    )


class RecallOut(BaseModel):
    """A recall, its scope now, and its progress."""

    recall_id: str
    event_id: str = Field(description="Id of the RecallInitiated event.")
    status: Literal["open", "closed"]
    regulator: str = Field(description="USCC of the regulator that started it.")
    root_codes: list[str]
    reason: str
    level: str
    started_at: str = Field(description="RFC 3339: when the regulator started it.")
    ledger: LedgerRef | None = Field(description="Null while the event is queued (Kafka).")
    codes: CodesOut
    holders: list[HolderOut]
    progress: ProgressOut
    initiative: Literal["ordered", "voluntary"] = Field(
        "ordered",
        description="ordered (责令召回: a regulator started it) or voluntary (主动召回: the "
        "maker).",
    )
    deadlines: DeadlinesOut | None = None
    accounts: list[AccountOut] = Field(
        default_factory=list, description="Every holder's account, the root codes' maker first."
    )
    closure: ClosureOut | None = None


# --- operations -----------------------------------------------------------------------------


class HealthOut(Health):
    proofs: bool = Field(description="Whether checkpoints can be signed (a ledger key is loaded).")


# --- notices to holders (GET /v1/notices) -----------------------------------------------------


class NoticeOut(BaseModel):
    """An alert or recall about goods the caller's organisation holds or held."""

    notice_id: str = Field(description="`{kind}:{event_id}` of an alert, `recall:{recall_id}`.")
    kind: str = Field(description="`recall` or an alert kind (docs/verdicts.md rule ids).")
    status: Literal["open", "closed"]
    relation: Literal["against", "held", "supplied"] = Field(
        description="against: the alert is against you; held: you hold or held the goods (or "
        "made them); supplied: your buyer named you as the supplier of goods it received "
        "without a certificate."
    )
    at: str = Field(description="RFC 3339: when the alert opened or the recall started.")
    event_id: str = Field(description="The event that opened the alert or started the recall.")
    codes: list[str] = Field(
        description="Your goods it is about (an alert against you: all its codes); a recall's "
        "root codes."
    )
    rule: str = Field(description="The verdict rule (docs/verdicts.md).")
    state: Literal["recalled", "frozen", "blocked", "expired", "attention", "replaced", "ok"] = (
        Field(description="The verdict state it gives the goods while open; ok once closed.")
    )
    product: Literal["food", "vaccine", "drug"]
    title: dict[str, str] = Field(description="What it is, by language (zh, en).")
    advice: dict[str, str] | None = Field(
        description="What to do, by language (the verdict's advice to a holder); null once closed."
    )
    closed_at: str | None
    closed_reason: str | None
    summary: str | None = Field(description="What exactly: only on an alert against you.")
    outstanding: list[str] = Field(
        description="What still keeps an alert against you open; on an open recall, what you "
        "still have to report or do (acknowledge with quantities, return or destroy what is on "
        "hand)."
    )
    quantities: list[QuantityOut] = Field(
        description="Your own: what you still hold of frozen goods, or held of recalled ones."
    )
    recall_id: str | None
    reason: str | None = Field(description="Recalls: why.")
    level: str | None
    issued_by: str | None = Field(description="Recalls: USCC of who started it.")
    issued_by_name: str | None
    acknowledged: bool | None = Field(
        description="Recalls: whether you recorded a RecallAcknowledged for it."
    )
    due_by: str | None = Field(
        default=None,
        description="Open recalls: RFC 3339, your next deadline (to acknowledge; once "
        "acknowledged, to be reconciled). See docs/recalls.md.",
    )


class NoticesOut(BaseModel):
    """``GET /v1/notices``: newest first."""

    organisation: str = Field(description="USCC of the token's organisation.")
    notices: list[NoticeOut]
    count: int = Field(description="How many match the filters (all pages).")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- the recall lifecycle (docs/recalls.md) -----------------------------------------------------


class RecallsOut(BaseModel):
    """``GET /v1/recalls``: newest first."""

    recalls: list[RecallOut]
    count: int = Field(description="How many match the filters (all pages).")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


def _amount(description: str) -> Any:
    return Field(ge=0, le=1_000_000_000, decimal_places=3, description=description)


class AcknowledgementIn(BaseModel):
    """``POST /v1/recalls/{id}/acknowledgements``: the holder's account, in one unit."""

    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, max_length=20, description="e.g. kg, 箱, 剂.")
    on_hand: Decimal = _amount("What you still have.")
    sold_on: Decimal = _amount("What you sold or shipped on.")
    returned: Decimal = _amount("What you returned to your supplier.")
    destroyed: Decimal = _amount("What you destroyed.")
    note: str | None = Field(None, max_length=2000, description="What you are doing about it.")


class CloseIn(BaseModel):
    """``POST /v1/recalls/{id}/close``."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(
        min_length=1, max_length=2000, description="Outcome: what was recovered, how disposed of."
    )
    override: bool = Field(
        False,
        description="A regulator closes it although holders are not reconciled (needs `reason`).",
    )
    reason: str | None = Field(
        None, min_length=1, max_length=2000, description="Why the override (required with it)."
    )
