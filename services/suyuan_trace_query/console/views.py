"""View models of the console: what each page shows, as display text (no HTML here).

The templates only lay these out; every value they print is autoescaped by Jinja2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from suyuan.directory import Directory
from suyuan.foodchain import Alert, CoverageRow, Rate
from suyuan.ledger import LedgerStore
from suyuan.recall import HolderAccount, Recall
from suyuan.regions import region_name
from suyuan.trace import CHINA_TIME, Trace, TracedEvent
from suyuan.verdict import RULES

from ..scan import VOCABULARY, when_text, word
from .words import ALERT_KINDS, EVENT_EXTRA, METRIC_KEYS, TEXTS

# --- links ------------------------------------------------------------------------------------


def link(path: str, lang: str, **params: str | None) -> str:
    """``path`` with the query ``params`` that are set, and ``lang=en`` in English."""
    query = [(k, v) for k, v in params.items() if v]
    if lang == "en":
        query.append(("lang", "en"))
    if not query:
        return path
    return path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query)


def trace_link(code: str, lang: str, root: str = "") -> str:
    return link(f"{root}/console/trace/{quote(code, safe='()')}", lang)


def recall_link(recall_id: str, lang: str, root: str = "") -> str:
    return link(f"{root}/console/recalls/{quote(recall_id, safe='')}", lang)


def china_time(at: datetime) -> str:
    """A moment the service itself recorded (in UTC), as a regulator in China reads it."""
    return when_text(at.astimezone(CHINA_TIME))


# --- recalls ----------------------------------------------------------------------------------


def recall_rows(
    recalls: Sequence[Recall], directory: Directory, now: datetime, lang: str, root: str
) -> list[dict[str, Any]]:
    """The list: one line per recall with its level, deadlines, status and overdue holders."""
    texts = TEXTS[lang]
    rows = []
    for recall in recalls:
        limits = recall.deadlines
        rows.append(
            {
                "url": recall_link(recall.recall_id, lang, root),
                "recall_id": recall.recall_id,
                "started_at": china_time(recall.event.occurred_at),
                "level": word(lang, "recall_level", recall.level),
                "reason": recall.reason,
                "regulator": directory.name(recall.regulator) or recall.regulator,
                "root_codes": [
                    {"code": c, "url": trace_link(c, lang, root)} for c in recall.root_codes[:5]
                ],
                "more_roots": max(0, len(recall.root_codes) - 5),
                "acknowledge_by": china_time(limits.acknowledge_by),
                "finish_by": china_time(limits.finish_by),
                "status": texts["closed"] if recall.progress.closed else texts["open"],
                "closed": recall.progress.closed,
                "overdue": len(recall.overdue(now)),
                "reconciled": texts["reconciled_of"].format(
                    reconciled=sum(1 for a in recall.progress.accounts if a.reconciled),
                    holders=len(recall.progress.accounts),
                ),
            }
        )
    return rows


def recall_view(
    recall: Recall, directory: Directory, now: datetime, lang: str, root: str
) -> dict[str, Any]:
    """The detail page: the recall, its deadlines, every holder's account, and the closure."""
    texts = TEXTS[lang]
    progress = recall.progress
    limits = recall.deadlines
    overdue = recall.overdue(now)
    closure = progress.closure
    return {
        "recall_id": recall.recall_id,
        "status": texts["closed"] if progress.closed else texts["open"],
        "closed": progress.closed,
        "level": word(lang, "recall_level", recall.level),
        "initiative": texts["ordered"] if recall.ordered else texts["voluntary"],
        "reason": recall.reason,
        "regulator": directory.name(recall.regulator) or recall.regulator,
        "started_at": china_time(recall.event.occurred_at),
        "acknowledge_by": china_time(limits.acknowledge_by),
        "finish_by": china_time(limits.finish_by),
        "position": None
        if recall.position is None
        else f"shard {recall.position.shard} · #{recall.position.seq}",
        "root_codes": [{"code": c, "url": trace_link(c, lang, root)} for c in recall.root_codes],
        "codes": [{"code": c, "url": trace_link(c, lang, root)} for c in recall.codes[:200]],
        "more_codes": max(0, len(recall.codes) - 200),
        "complete": recall.complete,
        "holders": [account_row(a, progress.closed, now, lang) for a in progress.accounts],
        "reconciled": recall.reconciled,
        "pending": [a.name or a.organisation for a in progress.accounts if not a.reconciled],
        "progress": texts["progress_text"].format(
            acknowledged=len(progress.acknowledged_by),
            holders=len(progress.accounts),
            reconciled=sum(1 for a in progress.accounts if a.reconciled),
            overdue=len(overdue),
            disposals=progress.disposals,
        ),
        "closure": None
        if closure is None
        else {
            "at": china_time(closure.at),
            "by": directory.name(closure.actor) or closure.actor,
            "summary": closure.summary,
            "override_reason": closure.override_reason,
        },
    }


def account_row(account: HolderAccount, closed: bool, now: datetime, lang: str) -> dict[str, Any]:
    """One line of the holders table: what it received against what it reported."""
    texts = TEXTS[lang]
    ack = account.acknowledgement
    unit = "" if ack is None else (ack.unit or "")
    missed = None if closed else account.overdue(now)

    def amount(value: Decimal | None) -> str:
        return "—" if value is None else f"{format(value.normalize(), 'f')} {unit}".strip()

    return {
        "name": account.name or texts["unknown"],
        "organisation": account.organisation,
        "contact": account.contact or "—",
        "region": region_name(account.region, lang) or "—",
        "received": _quantities(account.received),
        "on_hand": amount(None if ack is None else ack.on_hand),
        "sold_on": amount(None if ack is None else ack.sold_on),
        "returned": amount(None if ack is None else ack.returned),
        "destroyed": amount(None if ack is None else ack.destroyed),
        "remaining": amount(account.remaining),
        "acknowledged": ack is not None,
        "acknowledged_at": None if ack is None else china_time(ack.at),
        "reconciled": account.reconciled,
        "missing": list(account.missing),
        "overdue": None if missed is None else texts[f"overdue_{missed}"],
    }


def _quantities(pairs: Iterable[tuple[str, str]]) -> str:
    return "、".join(f"{q} {u}".strip() for q, u in pairs) or "—"


# --- alerts -----------------------------------------------------------------------------------


def alert_rows(
    alerts: Sequence[Alert], products: Mapping[str, str], lang: str, root: str
) -> list[dict[str, Any]]:
    """Each alert as a line: the verdict rule's words where its kind has one (else the kind's
    name), the product and who it is against."""
    texts = TEXTS[lang]
    rows = []
    for alert in alerts:
        rule = RULES.get(alert.kind)
        kind_name = ALERT_KINDS[lang].get(alert.kind, alert.kind)
        title = (rule.zh if lang == "zh" else rule.en) if rule is not None else kind_name
        product = next((products[c] for c in alert.codes if c in products), None)
        who = alert.organisation_name or alert.organisation
        if lang == "zh":
            summary = f"{title}：{product or '（未知产品）'}，{who}"
        else:
            summary = f"{title}: {product or '(unknown product)'}, {who}"
        rows.append(
            {
                "kind": kind_name,
                "summary": summary,
                "status": texts["open"] if alert.status == "open" else texts["closed"],
                "open": alert.status == "open",
                "region": region_name(alert.region, lang) or "—",
                "opened_at": when_text(alert.opened_at),
                "codes": [{"code": c, "url": trace_link(c, lang, root)} for c in alert.codes[:3]],
                "outstanding": list(alert.outstanding),
                "detail": alert.summary,
            }
        )
    return rows


def product_names(store: LedgerStore, codes: Sequence[str]) -> dict[str, str]:
    """Code → product name, from the certificates and import declarations about the codes."""
    wanted = ["CertificateIssued", "ImportDeclared", "VaccineLotReleased"]
    refs = store.code_events_for(list(dict.fromkeys(codes)), wanted)
    events = store.events_at((r.shard, r.seq) for r in refs)
    names: dict[str, str] = {}
    for ref in refs:
        event = events.get((ref.shard, ref.seq))
        if event is None or ref.code in names:
            continue
        payload = event.payload
        name = payload.get("product_name") or payload.get("product")
        if name:
            names[ref.code] = str(name)
    return names


# --- coverage ---------------------------------------------------------------------------------

_BAR_HEIGHT = 12
_BAR_GAP = 3
_GROUP_GAP = 14
_LABEL_WIDTH = 230
_PLOT_WIDTH = 360
_COLOURS = {
    "certificate_rate": "#1c5fb8",
    "testing_rate": "#1e7d34",
    "coding_rate": "#ef6c00",
    "scan_rate": "#6a1b9a",
}


def coverage_rows(rows: Sequence[CoverageRow], lang: str) -> list[dict[str, Any]]:
    return [
        {
            "region": region_name(row.key, lang) if row.key != "unknown" else "—",
            "code": row.key,
            "rates": [_rate(row.rates[m]) for m in METRIC_KEYS],
        }
        for row in rows
    ]


def _rate(rate: Rate) -> dict[str, Any]:
    value = rate.value
    return {
        "value": value,
        "text": "—" if value is None else f"{value * 100:.1f}%",
        "of": f"{rate.numerator}/{rate.denominator}",
    }


def coverage_chart(rows: Sequence[Mapping[str, Any]], lang: str) -> dict[str, Any] | None:
    """Horizontal bars: per region, one bar per rate (0–100%), as SVG coordinates."""
    if not rows:
        return None
    group = len(METRIC_KEYS) * (_BAR_HEIGHT + _BAR_GAP) + _GROUP_GAP
    bars, labels = [], []
    for index, row in enumerate(rows):
        top = 24 + index * group
        labels.append({"x": _LABEL_WIDTH - 8, "y": top + group / 2 - 4, "text": row["region"]})
        for number, (metric, rate) in enumerate(zip(METRIC_KEYS, row["rates"], strict=True)):
            y = top + number * (_BAR_HEIGHT + _BAR_GAP)
            width = 0.0 if rate["value"] is None else rate["value"] * _PLOT_WIDTH
            bars.append(
                {
                    "x": _LABEL_WIDTH,
                    "y": y,
                    "width": round(width, 1),
                    "height": _BAR_HEIGHT,
                    "colour": _COLOURS[metric],
                    "label": f"{TEXTS[lang][metric]} {rate['text']}",
                    "text_x": _LABEL_WIDTH + round(width, 1) + 4,
                    "text_y": y + _BAR_HEIGHT - 2,
                    "text": rate["text"],
                }
            )
    legend = [
        {"x": 10 + i * 150, "colour": _COLOURS[m], "text": TEXTS[lang][m]}
        for i, m in enumerate(METRIC_KEYS)
    ]
    return {
        "width": _LABEL_WIDTH + _PLOT_WIDTH + 60,
        "height": 24 + len(rows) * group,
        "bars": bars,
        "labels": labels,
        "legend": legend,
        "axis_x": _LABEL_WIDTH,
        "full_x": _LABEL_WIDTH + _PLOT_WIDTH,
    }


# --- trace ------------------------------------------------------------------------------------


def trace_view(trace: Trace, directory: Directory, lang: str, root: str) -> dict[str, Any]:
    """The full (regulator) trace: verdict, a timeline of every event, and the code graph."""
    texts = TEXTS[lang]
    verdict = trace.verdict
    shown: dict[str, TracedEvent] = {}
    for traced in [
        *trace.certificates,
        *trace.inspections,
        *trace.documents,
        *trace.custody,
        *trace.recalls,
        *trace.voids,
    ]:
        shown[traced.event.event_id] = traced
    timeline = []
    for traced in sorted(shown.values(), key=lambda t: t.event.occurred_at):
        event = traced.event
        location = event.location
        region = None if location is None else location.region_code
        timeline.append(
            {
                "when": when_text(event.occurred_at),
                "what": EVENT_EXTRA[lang].get(event.event_type)
                or word(lang, "event", event.event_type),
                "type": event.event_type,
                "actor": traced.actor_name or directory.name(event.actor) or event.actor,
                "place": region_name(region, lang) or "",
                "quantity": ""
                if event.quantity is None
                else f"{format(event.quantity.normalize(), 'f')} {event.unit or ''}".strip(),
                "detail": _event_detail(traced),
                "proof": f"{root}/v1/ledger/proof/{quote(event.event_id, safe='')}",
            }
        )
    return {
        "code": trace.code,
        "banner": {
            "level": verdict.level,
            "title": verdict.title(lang),
            "reasons": [
                {"text": f.rule.zh if lang == "zh" else f.rule.en, "detail": f.detail}
                for f in verdict.findings
            ],
        },
        "product": None if trace.product is None else trace.product.get("name"),
        "timeline": timeline,
        "partial": not trace.complete,
        "graph": code_graph(
            trace.code, trace.upstream_codes, trace.forward_codes or [], lang, root
        ),
        "none": texts["none"],
    }


def _event_detail(traced: TracedEvent) -> str:
    payload = traced.event.payload
    for key in ("product_name", "reason", "result", "note"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


_NODE_WIDTH = 250
_NODE_HEIGHT = 26
_NODE_GAP = 8
_MAX_NODES = 12


def code_graph(
    code: str, upstream: Sequence[str], downstream: Sequence[str], lang: str, root: str
) -> dict[str, Any]:
    """Three columns — upstream codes, this code, downstream codes — with a line from each to
    this code; each node links to its own trace. At most :data:`_MAX_NODES` per side."""
    texts = TEXTS[lang]
    ups, downs = list(upstream[:_MAX_NODES]), list(downstream[:_MAX_NODES])
    rows = max(len(ups), len(downs), 1)
    height = 40 + rows * (_NODE_HEIGHT + _NODE_GAP)
    columns = (10, 10 + _NODE_WIDTH + 60, 10 + 2 * (_NODE_WIDTH + 60))
    centre_y = 30 + (rows * (_NODE_HEIGHT + _NODE_GAP)) / 2 - _NODE_HEIGHT / 2

    def node(value: str, x: float, y: float, kind: str) -> dict[str, Any]:
        return {
            "x": x,
            "y": y,
            "text_x": x + 8,
            "text_y": y + 17,
            "text": value if len(value) <= 34 else value[:33] + "…",
            "full": value,
            "url": trace_link(value, lang, root),
            "kind": kind,
        }

    centre = node(code, columns[1], centre_y, "self")
    nodes = [centre]
    edges = []
    for sides, x, kind in ((ups, columns[0], "up"), (downs, columns[2], "down")):
        for index, value in enumerate(sides):
            y = 30 + index * (_NODE_HEIGHT + _NODE_GAP)
            nodes.append(node(value, x, y, kind))
            start_x = x + _NODE_WIDTH if kind == "up" else columns[1] + _NODE_WIDTH
            end_x = columns[1] if kind == "up" else x
            start_y = y + _NODE_HEIGHT / 2 if kind == "up" else centre_y + _NODE_HEIGHT / 2
            end_y = centre_y + _NODE_HEIGHT / 2 if kind == "up" else y + _NODE_HEIGHT / 2
            edges.append({"x1": start_x, "y1": start_y, "x2": end_x, "y2": end_y})
    return {
        "width": columns[2] + _NODE_WIDTH + 10,
        "height": height,
        "node_width": _NODE_WIDTH,
        "node_height": _NODE_HEIGHT,
        "nodes": nodes,
        "edges": edges,
        "headings": [
            {"x": columns[0], "text": texts["upstream"]},
            {"x": columns[1], "text": texts["this_code"]},
            {"x": columns[2], "text": texts["downstream"]},
        ],
        "more_up": max(0, len(upstream) - _MAX_NODES),
        "more_down": max(0, len(downstream) - _MAX_NODES),
    }


def vocabulary_words(lang: str, vocabulary: str) -> dict[str, str]:
    return VOCABULARY[vocabulary][lang]
