"""The verdict of a code: what a reader is told first (``docs/verdicts.md``).

One function, :func:`judge`, turns the findings about a code into its verdict; the trace
(``suyuan.trace``) gathers the findings, and the trace API, the scan page, the printed label and
the regulator's views all show the same :class:`Verdict`. The states, worst first:

``recalled`` › ``frozen`` › ``blocked`` › ``expired`` › ``attention`` › ``replaced`` › ``ok``

Each :class:`Finding` names the :class:`VerdictRule` it comes from — the state it sets, its
words in Chinese and English, and the source text it rests on — so a reader can see why, and
``docs/verdicts.md`` lists the same table. Advice is worded for the kind of product (food,
vaccine, drug) and the reader (a consumer, or a holder of the goods). No web framework here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RECALLED = "recalled"
FROZEN = "frozen"
BLOCKED = "blocked"
EXPIRED = "expired"
ATTENTION = "attention"
REPLACED = "replaced"
OK = "ok"
#: Every state, worst first: a verdict is the worst state of its findings.
STATES = (RECALLED, FROZEN, BLOCKED, EXPIRED, ATTENTION, REPLACED, OK)
#: Red: do not eat, use or sell. Amber: look closer. Green: nothing found.
DANGER_STATES = frozenset({RECALLED, FROZEN, BLOCKED, EXPIRED})
CAUTION_STATES = frozenset({ATTENTION, REPLACED})

FOOD = "food"
VACCINE = "vaccine"
DRUG = "drug"
PRODUCT_KINDS = (FOOD, VACCINE, DRUG)

CONSUMER = "consumer"
HOLDER = "holder"
READERS = (CONSUMER, HOLDER)


@dataclass(frozen=True, slots=True)
class VerdictRule:
    """One rule that can colour a verdict."""

    rule_id: str
    state: str
    zh: str
    """What the finding says, in Chinese (a consumer reads it)."""
    en: str
    source: str
    """The text the rule rests on, with our confidence in it (docs/verdicts.md "Sources")."""


def _rules(*rules: VerdictRule) -> Mapping[str, VerdictRule]:
    return {rule.rule_id: rule for rule in rules}


SRC_RECALL = "食品召回管理办法 (2015) / 药品召回管理办法 / 疫苗管理法 (2019) 第73条: likely"
SRC_TESTING = "农产品质量安全法 (2022); 浙食链 批批检测 and 不合格核查处置: likely"
SRC_SELF_TEST = (
    "our policy (docs/verdicts.md): a holder's own test freezes only goods it vouches for; "
    "批批检测 rests on independent tests — uncertain"
)
SRC_COLD_CHAIN = "浙冷链 三证一码, 四个不得 (2020–21 provincial rules): likely"
SRC_VACCINE = "疫苗管理法 (2019) 第35–37条 (supply through the CDC, temperature on receipt): firm"
SRC_EXPIRY = "食品安全法 第34条 (no food past its use-by date); 疫苗管理法 (expired doses): firm"
SRC_CERTIFICATE = "农产品质量安全承诺达标合格证管理办法 (农业农村部令2025年第4号): firm"
SRC_MEAT = "生猪屠宰管理条例; 动物防疫法 (检疫证明): uncertain (not in our collected texts)"
SRC_DRUG = "药品追溯码 (医保 scans flag a code sold twice as 回流药): likely"
SRC_TEMPERATURE = "浙冷链 cold-chain temperature records; 疫苗管理法 第37条 for vaccines: likely"
SRC_WHOLE_RECORD = (
    "our policy (docs/verdicts.md): a verdict says 正常 only on the whole record — firm"
)

#: Every rule that can colour a verdict, by id (docs/verdicts.md lists the same table).
RULES: Mapping[str, VerdictRule] = _rules(
    VerdictRule("recall_open", RECALLED, "召回中：该批次在召回范围内", "under recall", SRC_RECALL),
    VerdictRule(
        "inspection_failed",
        FROZEN,
        "检测不合格，该批次已冻结",
        "a test failed: the lot is frozen",
        SRC_TESTING,
    ),
    VerdictRule(
        "self_test_failed",
        ATTENTION,
        "经营者自检不合格，等待检测机构或监管部门核查",
        "a trader's own test failed: awaiting a check by a testing body or regulator",
        SRC_SELF_TEST,
    ),
    VerdictRule(
        "import_papers_failed",
        FROZEN,
        "进口冷链食品的证明文件不合格，货物已冻结",
        "an import paper failed: the goods are frozen",
        SRC_COLD_CHAIN,
    ),
    VerdictRule(
        "positive_sample",
        FROZEN,
        "同批次、同集装箱的货物检出阳性，全部冻结",
        "a sample of the same declaration or container tested positive: all of it is frozen",
        SRC_COLD_CHAIN,
    ),
    VerdictRule(
        "vaccine_use_blocked",
        BLOCKED,
        "该疫苗不得使用",
        "this vaccine must not be used",
        SRC_VACCINE,
    ),
    VerdictRule("expired", EXPIRED, "已超过有效期", "past its expiry date", SRC_EXPIRY),
    VerdictRule(
        "missing_certificate",
        ATTENTION,
        "进货时未查验到有效的承诺达标合格证",
        "taken in without a valid compliance certificate",
        SRC_CERTIFICATE,
    ),
    VerdictRule(
        "meat_certificates_missing",
        ATTENTION,
        "肉品出厂时缺少检疫证明或品质检验合格证",
        "meat left the plant without its quarantine or quality certificate",
        SRC_MEAT,
    ),
    VerdictRule(
        "temperature_excursion",
        ATTENTION,
        "运输或储存温度超出允许范围，尚未复检",
        "a temperature reading was out of range and the goods were not re-checked",
        SRC_TEMPERATURE,
    ),
    VerdictRule(
        "import_papers_incomplete",
        ATTENTION,
        "进口冷链食品三证不全",
        "imported cold-chain food without all three papers",
        SRC_COLD_CHAIN,
    ),
    VerdictRule(
        "uncoded_import",
        ATTENTION,
        "进口冷链食品未赋冷链追溯码",
        "imported cold-chain food without a cold-chain trace code",
        SRC_COLD_CHAIN,
    ),
    VerdictRule(
        "vaccine_receipt_unchecked",
        ATTENTION,
        "接收疫苗时没有运输温度记录",
        "vaccine received without a transport temperature record",
        SRC_VACCINE,
    ),
    VerdictRule(
        "drug_resold",
        ATTENTION,
        "该药品追溯码已被销售或调剂过（疑似回流药）",
        "this drug code was already sold or dispensed (possibly resold)",
        SRC_DRUG,
    ),
    VerdictRule(
        "certificate_voided",
        ATTENTION,
        "此合格证已作废，不能作为产品合格的依据",
        "this certificate was voided and no longer vouches for the goods",
        SRC_CERTIFICATE,
    ),
    VerdictRule(
        "certificate_replaced",
        REPLACED,
        "此合格证已作废并重新开具",
        "this certificate was voided and reissued",
        SRC_CERTIFICATE,
    ),
    VerdictRule(
        "record_incomplete",
        ATTENTION,
        "记录过多，只核查了离它最近的部分记录，无法排除更上游的召回或冻结",
        "too many records: only those nearest to it were read, so a recall or freeze further "
        "upstream cannot be ruled out",
        SRC_WHOLE_RECORD,
    ),
    VerdictRule(
        "recall_closed",
        OK,
        "召回已结束",
        "a recall of these goods has ended",
        SRC_RECALL,
    ),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found about a code, by one rule."""

    rule_id: str
    detail: str = ""
    """What exactly: the recall's reason, the failed test's items, the date it expired …"""
    event_id: str | None = None
    """The event it rests on, when there is one (its proof is one click away)."""
    at: datetime | None = None

    @property
    def rule(self) -> VerdictRule:
        return RULES[self.rule_id]

    @property
    def state(self) -> str:
        return self.rule.state


@dataclass(frozen=True, slots=True)
class Verdict:
    """The state of a code and why: the findings that set it (worst first), and notes (findings
    that leave it ``ok``, such as a recall that has ended)."""

    state: str
    product: str
    findings: tuple[Finding, ...] = ()
    notes: tuple[Finding, ...] = field(default=())

    @property
    def level(self) -> str:
        """``danger`` (red), ``caution`` (amber) or ``ok`` (green)."""
        if self.state in DANGER_STATES:
            return "danger"
        return "caution" if self.state in CAUTION_STATES else "ok"

    def title(self, lang: str) -> str:
        return TITLES[lang][self.state]

    def advice(self, lang: str, reader: str = CONSUMER) -> str:
        return advice(self.state, self.product, reader, lang)


def judge(findings: Iterable[Finding], product: str = FOOD) -> Verdict:
    """The verdict of the ``findings`` about one code of a ``product`` kind.

    The state is the worst of the findings' states (:data:`STATES`), ``ok`` without any.
    Findings of the same rule and event are kept once.

    Raises:
        KeyError: a finding names no rule of :data:`RULES`, or ``product`` is not a kind of
            :data:`PRODUCT_KINDS` (a programming error, not bad input).
    """
    if product not in PRODUCT_KINDS:
        raise KeyError(product)
    unique = list(dict.fromkeys(findings))
    rank = {state: n for n, state in enumerate(STATES)}
    unique.sort(key=lambda f: rank[f.state])  # stable: in the order found within a state
    shown = tuple(f for f in unique if f.state != OK)
    notes = tuple(f for f in unique if f.state == OK)
    return Verdict(shown[0].state if shown else OK, product, shown, notes)


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict as JSON (``GET /v1/trace/{code}``'s ``verdict``): state, level, titles and
    advice in both languages for both readers, and each finding with its rule's words and
    source."""

    def finding(f: Finding) -> dict[str, Any]:
        return {
            "rule": f.rule_id,
            "state": f.state,
            "zh": f.rule.zh,
            "en": f.rule.en,
            "detail": f.detail,
            "source": f.rule.source,
            "event_id": f.event_id,
            "at": f.at.isoformat() if f.at else None,
        }

    return {
        "state": verdict.state,
        "level": verdict.level,
        "product": verdict.product,
        "title": {lang: verdict.title(lang) for lang in ("zh", "en")},
        "advice": {
            lang: {reader: verdict.advice(lang, reader) for reader in READERS}
            for lang in ("zh", "en")
        },
        "findings": [finding(f) for f in verdict.findings],
        "notes": [finding(f) for f in verdict.notes],
    }


TITLES: Mapping[str, Mapping[str, str]] = {
    "zh": {
        RECALLED: "已召回",
        FROZEN: "冻结 · 暂停销售",
        BLOCKED: "禁止使用",
        EXPIRED: "已过期",
        ATTENTION: "请注意",
        REPLACED: "已换证",
        OK: "正常",
    },
    "en": {
        RECALLED: "RECALLED",
        FROZEN: "FROZEN · Sale suspended",
        BLOCKED: "DO NOT USE",
        EXPIRED: "EXPIRED",
        ATTENTION: "Attention",
        REPLACED: "Certificate replaced",
        OK: "OK",
    },
}

# Advice: (state, product, reader) → words; a missing product or reader falls back to food and
# consumer. A consumer is told what to do with what they hold; a holder (a business with the
# goods in stock) what the rules ask of it.
_ADVICE: Mapping[str, Mapping[tuple[str, str, str], str]] = {
    "zh": {
        (RECALLED, FOOD, CONSUMER): "请勿食用，请联系购买处退货。",
        (RECALLED, VACCINE, CONSUMER): "该疫苗正在召回。如已接种，请联系接种单位。",
        (RECALLED, DRUG, CONSUMER): "请停止使用并咨询药师，可联系购买处退货。",
        (RECALLED, FOOD, HOLDER): "立即停止销售，封存货物，并按召回通知确认数量。",
        (RECALLED, VACCINE, HOLDER): "立即停止使用，封存疫苗，并按召回通知确认数量。",
        (RECALLED, DRUG, HOLDER): "立即停止销售和调剂，封存药品，并按召回通知确认数量。",
        (FROZEN, FOOD, CONSUMER): "请勿食用，请联系购买处。",
        (FROZEN, VACCINE, CONSUMER): "该疫苗已被冻结。如已接种，请联系接种单位。",
        (FROZEN, DRUG, CONSUMER): "请停止使用并咨询药师。",
        (FROZEN, FOOD, HOLDER): "暂停销售，等待核查处置（退回、销毁或召回）。",
        (FROZEN, VACCINE, HOLDER): "暂停使用，等待核查处置。",
        (FROZEN, DRUG, HOLDER): "暂停销售和调剂，等待核查处置。",
        (BLOCKED, VACCINE, CONSUMER): "该疫苗不得接种。如已接种，请联系接种单位。",
        (BLOCKED, VACCINE, HOLDER): "不得接种：封存该疫苗并报告疾控机构。",
        (BLOCKED, FOOD, CONSUMER): "请勿食用。",
        (BLOCKED, FOOD, HOLDER): "不得销售或使用。",
        (BLOCKED, DRUG, CONSUMER): "请停止使用并咨询药师。",
        (BLOCKED, DRUG, HOLDER): "不得销售或调剂。",
        (EXPIRED, FOOD, CONSUMER): "请勿食用。",
        (EXPIRED, VACCINE, CONSUMER): "过期疫苗不得接种。如已接种，请联系接种单位。",
        (EXPIRED, DRUG, CONSUMER): "请勿使用过期药品，并咨询药师。",
        (EXPIRED, FOOD, HOLDER): "不得销售，请下架并按规定处置。",
        (EXPIRED, VACCINE, HOLDER): "不得接种，请按规定处置并报告。",
        (EXPIRED, DRUG, HOLDER): "不得销售或调剂，请按规定处置。",
        (ATTENTION, FOOD, CONSUMER): "记录中有未解决的问题（见上方原因），购买前请向销售者询问。",
        (ATTENTION, VACCINE, CONSUMER): "记录中有未解决的问题（见上方原因），请咨询接种单位。",
        (ATTENTION, DRUG, CONSUMER): "记录中有未解决的问题（见上方原因），请咨询药师。",
        (ATTENTION, FOOD, HOLDER): "请补齐所缺证明或完成核查，问题解决前不宜销售。",
        (ATTENTION, VACCINE, HOLDER): "请补齐记录或完成核查，问题解决前不得使用。",
        (ATTENTION, DRUG, HOLDER): "请核查来源，问题解决前不得销售或调剂。",
        (REPLACED, FOOD, CONSUMER): "此合格证已由新证代替，请以新合格证为准。",
        (REPLACED, FOOD, HOLDER): "请使用新合格证，旧证不再有效。",
        (OK, FOOD, CONSUMER): "未发现召回、冻结、过期或未解决的问题。",
        (OK, FOOD, HOLDER): "未发现召回、冻结、过期或未解决的问题。",
    },
    "en": {
        (RECALLED, FOOD, CONSUMER): "Do not eat it. Return it to where you bought it.",
        (RECALLED, VACCINE, CONSUMER): "This vaccine is being recalled. If you were "
        "vaccinated with it, contact the clinic.",
        (RECALLED, DRUG, CONSUMER): "Stop using it and ask a pharmacist; you may return it "
        "where you bought it.",
        (RECALLED, FOOD, HOLDER): "Stop selling now, set the goods aside and acknowledge the "
        "recall notice with quantities.",
        (RECALLED, VACCINE, HOLDER): "Stop using it now, set the doses aside and acknowledge "
        "the recall notice with quantities.",
        (RECALLED, DRUG, HOLDER): "Stop selling and dispensing now, set it aside and "
        "acknowledge the recall notice with quantities.",
        (FROZEN, FOOD, CONSUMER): "Do not eat it. Contact where you bought it.",
        (FROZEN, VACCINE, CONSUMER): "This vaccine is frozen. If you were vaccinated with it, "
        "contact the clinic.",
        (FROZEN, DRUG, CONSUMER): "Stop using it and ask a pharmacist.",
        (FROZEN, FOOD, HOLDER): "Sale suspended until it is dealt with (returned, destroyed "
        "or recalled).",
        (FROZEN, VACCINE, HOLDER): "Use suspended until it is dealt with.",
        (FROZEN, DRUG, HOLDER): "Sale and dispensing suspended until it is dealt with.",
        (BLOCKED, VACCINE, CONSUMER): "This vaccine must not be given. If you were vaccinated "
        "with it, contact the clinic.",
        (BLOCKED, VACCINE, HOLDER): "Do not administer: set the dose aside and report to the CDC.",
        (BLOCKED, FOOD, CONSUMER): "Do not eat it.",
        (BLOCKED, FOOD, HOLDER): "Do not sell or use it.",
        (BLOCKED, DRUG, CONSUMER): "Stop using it and ask a pharmacist.",
        (BLOCKED, DRUG, HOLDER): "Do not sell or dispense it.",
        (EXPIRED, FOOD, CONSUMER): "Do not eat it.",
        (EXPIRED, VACCINE, CONSUMER): "An expired vaccine must not be given. If you were "
        "vaccinated with it, contact the clinic.",
        (EXPIRED, DRUG, CONSUMER): "Do not use an expired medicine; ask a pharmacist.",
        (EXPIRED, FOOD, HOLDER): "Do not sell it: take it off the shelf and dispose of it.",
        (EXPIRED, VACCINE, HOLDER): "Do not administer it: dispose of it and report.",
        (EXPIRED, DRUG, HOLDER): "Do not sell or dispense it: dispose of it.",
        (ATTENTION, FOOD, CONSUMER): "The record has an open problem (see the reasons above): "
        "ask the seller before buying.",
        (ATTENTION, VACCINE, CONSUMER): "The record has an open problem (see the reasons "
        "above): ask the clinic.",
        (ATTENTION, DRUG, CONSUMER): "The record has an open problem (see the reasons above): "
        "ask a pharmacist.",
        (ATTENTION, FOOD, HOLDER): "Present the missing papers or finish the checks; do not "
        "sell until it is resolved.",
        (ATTENTION, VACCINE, HOLDER): "Complete the record or the checks; do not use it until "
        "it is resolved.",
        (ATTENTION, DRUG, HOLDER): "Check where it came from; do not sell or dispense it until "
        "it is resolved.",
        (REPLACED, FOOD, CONSUMER): "This certificate was replaced by a new one: the new one "
        "counts.",
        (REPLACED, FOOD, HOLDER): "Use the new certificate; the old one is no longer valid.",
        (OK, FOOD, CONSUMER): "No recall, freeze, expiry or open problem on record.",
        (OK, FOOD, HOLDER): "No recall, freeze, expiry or open problem on record.",
    },
}


def advice(state: str, product: str, reader: str, lang: str) -> str:
    """What ``reader`` should do about goods of ``product`` kind in ``state``, in ``lang``
    (``zh`` or ``en``; anything else is read as ``zh``)."""
    words = _ADVICE["en" if lang == "en" else "zh"]
    for key in ((state, product, reader), (state, product, CONSUMER), (state, FOOD, reader)):
        if key in words:
            return words[key]
    return words[(state, FOOD, CONSUMER)]


__all__ = [
    "ATTENTION",
    "BLOCKED",
    "CAUTION_STATES",
    "CONSUMER",
    "DANGER_STATES",
    "DRUG",
    "EXPIRED",
    "FOOD",
    "FROZEN",
    "HOLDER",
    "OK",
    "PRODUCT_KINDS",
    "READERS",
    "RECALLED",
    "REPLACED",
    "RULES",
    "STATES",
    "TITLES",
    "VACCINE",
    "Finding",
    "Verdict",
    "VerdictRule",
    "advice",
    "judge",
    "verdict_json",
]
