"""What the scan page shows, as display text: the view model of ``scan.html`` (public view
only; docs/scan-page.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from suyuan.codes import CodeKind, is_valid_certificate_code
from suyuan.trace import Trace, TracedEvent, public_payload
from suyuan.verdict import CONSUMER, REPLACED, Finding

from .chart import temperature_chart
from .words import TEXTS, when_text, word

# --- the page's content --------------------------------------------------------------------------


def scan_view(trace: Trace, lang: str, root: str = "") -> dict[str, Any]:
    """Everything ``scan.html`` shows, as display text (public view only)."""
    return {
        "code": trace.code,
        "kind": TEXTS[lang].get(f"kind_{trace.kind}", trace.kind),
        "banner": _banner(trace, lang, root),
        "product": _product(trace, lang),
        "origin": _origin(trace, lang),
        "certificates": [_certificate(t, trace, lang, root) for t in trace.certificates],
        "label_url": _label_url(trace, lang, root),
        "inspections": [
            _inspection(t, lang, root, self_test=t.event.event_id in trace.self_tests)
            for t in trace.inspections
        ],
        "documents": [_document(t, lang, root) for t in trace.documents],
        "hops": [_hop(t, lang, root, trace.public_names()) for t in trace.custody],
        "partial": not trace.complete,
        "chart": temperature_chart(trace.temperature, lang),
    }


def _payload(traced: TracedEvent) -> dict[str, Any]:
    return public_payload(traced.event.payload)


def _ledger(traced: TracedEvent, root: str) -> dict[str, str]:
    event_id = traced.event.event_id
    return {"event_id": event_id, "url": f"{root}/v1/ledger/proof/{quote(event_id, safe='')}"}


def code_link(code: str, lang: str, root: str = "") -> str:
    """Path of the scan page of ``code``, in ``lang``."""
    suffix = "?lang=en" if lang == "en" else ""
    return f"{root}/c/{quote(code, safe='()')}{suffix}"


def _label_url(trace: Trace, lang: str, root: str) -> str | None:
    if trace.kind != CodeKind.CERTIFICATE.value or not any(
        trace.code in t.event.codes for t in trace.certificates
    ):
        return None
    suffix = "?lang=en" if lang == "en" else ""
    return f"{root}/c/{quote(trace.code, safe='()')}/label.svg{suffix}"


def _banner(trace: Trace, lang: str, root: str) -> dict[str, Any]:
    """The verdict (``suyuan.verdict``) as the page's first words: its title, the reasons (the
    findings, worst first, in the reader's words), the advice for a consumer of this kind of
    product, and what goes with a state (who recalled, the replacement certificate)."""
    verdict = trace.verdict
    banner: dict[str, Any] = {
        "level": verdict.level,
        "status": verdict.state,
        "title": verdict.title(lang),
        "reasons": [_finding_text(f, trace, lang) for f in verdict.findings],
        "advice": verdict.advice(lang, CONSUMER),
        "notes": [_finding_text(f, trace, lang) for f in verdict.notes],
        "recalls": [
            _recall(t, lang, root)
            for t in trace.recalls
            if any(f.event_id == t.event.event_id for f in verdict.findings)
        ],
        "replacements": [
            {"code": c, "url": code_link(c, lang, root)} for c in replacement_codes(trace)
        ]
        if verdict.state == REPLACED
        else [],
    }
    return banner


def _finding_text(finding: Finding, trace: Trace, lang: str) -> dict[str, str]:
    """One reason of the verdict: the rule's words and, where it helps, what exactly (shown on
    a line of its own)."""
    rule = finding.rule
    words = rule.zh if lang == "zh" else rule.en
    texts = TEXTS[lang]
    detail = finding.detail
    if finding.rule_id in ("inspection_failed", "self_test_failed"):
        failed = next((t for t in trace.inspections if t.event.event_id == finding.event_id), None)
        detail = _failure_text(failed, lang) if failed is not None else detail
    elif finding.rule_id == "expired" and trace.expires_on is not None:
        detail = f"{texts['expired_on']} {trace.expires_on.isoformat()}"
    return {"text": words, "detail": detail}


def replacement_codes(trace: Trace) -> list[str]:
    """Codes of the certificates issued in place of the voided ``trace.code``."""
    codes = (t.event.payload.get("replacement_code") for t in trace.voids)
    return list(dict.fromkeys(str(c) for c in codes if c))


def void_reason(trace: Trace) -> str | None:
    reasons = [str(t.event.payload.get("reason", "")) for t in trace.voids]
    return "；".join(reasons) if reasons else None


def _recall(traced: TracedEvent, lang: str, root: str) -> dict[str, Any]:
    payload = _payload(traced)
    return {
        "by": traced.actor_name or TEXTS[lang]["unknown"],
        "when": when_text(traced.event.occurred_at),
        "level": word(lang, "recall_level", payload.get("level")),
        "ledger": _ledger(traced, root),
    }


def _failed(traced: TracedEvent) -> bool:
    return not traced.event.payload.get("passed", True)


def _failure_text(traced: TracedEvent, lang: str) -> str:
    payload = _payload(traced)
    kind = word(lang, "inspection", payload.get("kind"))
    failed = [i for i in payload.get("items", ()) if not i.get("passed", True)]
    texts = TEXTS[lang]
    details = texts["comma"].join(_item_value(i, lang) for i in failed)
    return f"{kind}{texts['colon']}{details}" if details else kind


def _item_value(item: Mapping[str, Any], lang: str) -> str:
    """``新冠病毒核酸 结果：阳性（要求：阴性）`` — labelled, so a qualitative result reads right."""
    texts = TEXTS[lang]
    value = f"{item.get('name', '')} {texts['value']}{texts['colon']}{_measured(item)}"
    if item.get("limit"):
        limit = f"{texts['required']}{texts['colon']}{item['limit']}"
        value += f"{texts['lparen']}{limit}{texts['rparen']}"
    return value


def _product(trace: Trace, lang: str) -> dict[str, str] | None:
    if not trace.product:
        return None
    return {
        "name": str(trace.product.get("name") or ""),
        "category": word(lang, "category", trace.product.get("category")),
    }


def _origin(trace: Trace, lang: str) -> dict[str, str] | None:
    if not trace.origin:
        return None
    origin = trace.origin
    return {
        "name": str(origin.get("name") or TEXTS[lang]["unknown"]),
        "place": str(origin.get("place") or ""),
        "country": word(lang, "country", origin.get("country")),
    }


def _certificate(traced: TracedEvent, trace: Trace, lang: str, root: str) -> dict[str, Any]:
    payload = _payload(traced)
    own_code = _certificate_code(traced)
    return {
        "code": own_code,
        "url": code_link(own_code, lang, root) if own_code else None,
        "is_this_code": own_code == trace.code,
        "voided": own_code == trace.code and bool(trace.voids),
        "issuer": traced.actor_name or TEXTS[lang]["unknown"],
        "issuer_type": word(lang, "issuer_type", payload.get("issuer_type")),
        "product": str(payload.get("product_name") or ""),
        "category": word(lang, "category", payload.get("category")),
        "origin": str(payload.get("origin") or ""),
        "issue_date": str(payload.get("issue_date") or ""),
        "commitment": str(payload.get("commitment") or ""),
        "basis": word(lang, "basis", payload.get("basis")),
        "upstream": [
            {"code": str(c), "url": code_link(str(c), lang, root)}
            for c in payload.get("upstream_certificates") or ()
        ],
        "ledger": _ledger(traced, root),
    }


def _certificate_code(traced: TracedEvent) -> str:
    # A 合格证 event holds exactly one certificate code, beside the lot codes it covers.
    return next((c for c in traced.event.codes if is_valid_certificate_code(c)), "")


def _inspection(traced: TracedEvent, lang: str, root: str, *, self_test: bool) -> dict[str, Any]:
    payload = _payload(traced)
    return {
        "kind": word(lang, "inspection", payload.get("kind")),
        "self_test": self_test,
        "passed": bool(payload.get("passed", False)),
        "by": traced.actor_name or TEXTS[lang]["unknown"],
        "lab": payload.get("lab"),
        "when": when_text(traced.event.occurred_at),
        "results": [
            {
                "name": str(item.get("name", "")),
                "value": _measured(item),
                "limit": item.get("limit"),
                "standard": item.get("standard"),
                "passed": bool(item.get("passed", False)),
            }
            for item in payload.get("items", ())
        ],
        "ledger": _ledger(traced, root),
    }


def _measured(item: Mapping[str, Any]) -> str:
    """``0.08 mg/kg``; a qualitative result (未检出, 阴性) goes without the unit."""
    value = str(item.get("value", ""))
    try:
        float(value)
    except ValueError:
        return value
    return f"{value} {item['unit']}" if item.get("unit") else value


def _document(traced: TracedEvent, lang: str, root: str) -> dict[str, Any]:
    payload = _payload(traced)
    kind = traced.event.event_type
    texts = TEXTS[lang]
    rows: list[tuple[str, str]] = []
    passed: bool | None = None
    checks: list[dict[str, Any]] = []
    if kind == "AnimalQuarantineCertified":
        rows = [
            (texts["form"], word(lang, "form", payload.get("form"))),
            (texts["species"], str(payload.get("species", ""))),
            (texts["route"], f"{payload.get('origin', '')} → {payload.get('destination', '')}"),
            (texts["authority"], str(payload.get("issuing_authority", ""))),
            (texts["number"], str(payload.get("certificate_no", ""))),
        ]
        passed = True
    elif kind == "MeatQualityInspected":
        rows = [
            (texts["species"], str(payload.get("species", ""))),
            (texts["number"], str(payload.get("certificate_no", ""))),
        ]
        passed = bool(payload.get("passed", False))
    elif kind == "ImportDeclared":
        rows = [
            (texts["name"], str(payload.get("product_name", ""))),
            (texts["country"], word(lang, "country", payload.get("origin_country"))),
            (texts["batch"], str(payload.get("batch_no", ""))),
            (texts["production_date"], str(payload.get("production_date", ""))),
            (texts["shelf_life"], f"{payload.get('shelf_life_days', '')} {texts['days']}"),
        ]
        checks = [_import_check(name, payload.get(name), lang) for name in _THREE_CERTIFICATES]
        passed = all(c["passed"] for c in checks)
    return {
        "title": word(lang, "document", kind),
        "by": traced.actor_name or texts["unknown"],
        "when": when_text(traced.event.occurred_at),
        "rows": [(k, v) for k, v in rows if v.strip(" →")],
        "checks": checks,
        "passed": passed,
        "ledger": _ledger(traced, root),
    }


_THREE_CERTIFICATES = ("quarantine_certificate", "nucleic_acid_test", "disinfection_certificate")


def _import_check(name: str, document: Any, lang: str) -> dict[str, Any]:
    document = document if isinstance(document, Mapping) else {}
    passed = bool(document.get("passed", False))
    texts = TEXTS[lang]
    result = texts["passed"] if passed else texts["failed"]
    if name == "nucleic_acid_test" and passed:
        result = texts["negative"]
    return {
        "name": word(lang, "document", name),
        "number": str(document.get("number", "")),
        "passed": passed,
        "result": result,
    }


def _hop(traced: TracedEvent, lang: str, root: str, names: frozenset[str]) -> dict[str, Any]:
    """One hop of the custody path; a trading partner (not in ``names``) is not named."""
    event = traced.event
    location = event.location
    place = ""
    named = event.actor in names
    if location is not None and named:
        place = location.address or location.name
        if location.name and location.name != traced.actor_name and location.address:
            place = f"{location.name}{TEXTS[lang]['comma']}{location.address}"
    return {
        "what": word(lang, "event", event.event_type),
        "who": (traced.actor_name or TEXTS[lang]["unknown"]) if named else TEXTS[lang]["partner"],
        "where": place,
        "when": when_text(event.occurred_at),
        "datetime": event.occurred_at.isoformat(),
        "detail": hop_detail(traced, lang),
        "ledger": _ledger(traced, root),
    }


def hop_detail(traced: TracedEvent, lang: str) -> str:
    """One line about what happened at a hop, from the public payload."""
    payload = _payload(traced)
    kind = traced.event.event_type
    zh = lang == "zh"
    if kind == "Shipped":
        destination = payload.get("destination") or {}
        name = destination.get("name") if isinstance(destination, Mapping) else None
        return (f"发往 {name}" if zh else f"to {name}") if name else ""
    if kind == "Received":
        ok = payload.get("check_passed")
        verdict = TEXTS[lang]["passed" if ok else "failed"]
        note = payload.get("check_note")
        text = f"进货查验：{verdict}" if zh else f"incoming check: {verdict}"
        return f"{text}{TEXTS[lang]['lparen']}{note}{TEXTS[lang]['rparen']}" if note else text
    if kind in ("Stored", "Released"):
        return word(lang, "facility", payload.get("facility"))
    if kind == "Sold":
        return word(lang, "channel", payload.get("channel"))
    if kind in ("Aggregated", "Disaggregated"):
        parent = payload.get("parent_code", "")
        if kind == "Aggregated":
            return f"装入 {parent}" if zh else f"into {parent}"
        return f"从 {parent} 取出" if zh else f"out of {parent}"
    if kind == "Transformed":
        return word(lang, "process", payload.get("process"))
    if kind == "Disinfected":
        target = word(lang, "target", payload.get("target"))
        return f"{target} · {payload.get('disinfectant', '')}"
    if kind == "Destroyed":
        return str(payload.get("reason", ""))
    if kind == "ColdChainCodesAssigned":
        return str(payload.get("station_name", ""))
    if kind == "ImportDeclared":
        country = word(lang, "country", payload.get("origin_country"))
        return f"原产国 {country}" if zh else f"from {country}"
    if kind == "VaccineAdministered":
        return str(payload.get("clinic_name", ""))
    if kind == "VaccineLotReleased":
        return str(payload.get("lot_no", ""))
    return ""
