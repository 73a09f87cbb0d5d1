"""The fixed texts, vocabularies and thresholds of the food-chain rules (``docs/food-chain.md``).

Sources: 农产品质量安全承诺达标合格证管理办法 (农业农村部令2025年第4号, in force
2026-02-01) for the commitment texts and the bases; 农产品质量安全法 (2022) for purchasers'
certificates; 生猪屠宰管理条例 and 动物检疫管理办法 for meat leaving a slaughterhouse. The date
bounds are our own policy (no source gives a number); ``docs/food-chain.md`` § Sources says how
sure each is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import date

from suyuan.authority import INSPECTORS
from suyuan.directory import Directory
from suyuan.events.model import Event

#: The 2025 rules apply to certificates issued on or after this day.
COMMITMENT_RULES_FROM = date(2026, 2, 1)
#: 承诺声明 of a producer (生产者) under the 2025 rules.
PRODUCER_COMMITMENT = "未使用禁用农药、兽药及其他化合物；使用的常规农药、兽药残留不超标"
#: 承诺声明 of a purchaser (收购者) under the 2025 rules, as the published form's text likely
#: reads (with 农产品; the source is uncertain: renderings of the ministry's 样式 by others).
PURCHASER_COMMITMENT = (
    "已按规定收取并保存该批次农产品承诺达标合格证或者其他质量安全合格证明；"
    "未违规使用保鲜剂、防腐剂、添加剂等"
)
COMMITMENTS = {"PRODUCER": PRODUCER_COMMITMENT, "PURCHASER": PURCHASER_COMMITMENT}
#: Other wordings accepted for an issuer type: one rendering of the purchaser's text lacks
#: 农产品, and we cannot tell which one the ministry printed.
COMMITMENT_VARIANTS = {
    "PRODUCER": (PRODUCER_COMMITMENT,),
    "PURCHASER": (
        PURCHASER_COMMITMENT,
        PURCHASER_COMMITMENT.replace("该批次农产品承诺", "该批次承诺"),
    ),
}
#: Lead-ins the printed form may put before the commitment (accepted, never required).
COMMITMENT_LEAD_INS = ("我承诺生产销售的食用农产品：", "我承诺销售的食用农产品：")

QUALITY_CONTROL = "QUALITY_CONTROL"
SELF_TESTED = "SELF_TESTED"
COMMISSIONED_TESTED = "COMMISSIONED_TESTED"
#: Inspection kinds each test basis may rest on: 自行检测 is the issuer's own test (a lab test or
#: a rapid test), 委托检测 a commissioned laboratory's.
BASIS_INSPECTION_KINDS = {
    SELF_TESTED: frozenset({"SELF", "RAPID_TEST"}),
    COMMISSIONED_TESTED: frozenset({"COMMISSIONED_LAB"}),
}

#: A 联系方式 is a telephone number: at least this many digits.
MIN_CONTACT_DIGITS = 7
#: The rule a 联系方式 breaks when it has fewer digits.
CONTACT_RULE = f"联系方式 must be a telephone number (at least {MIN_CONTACT_DIGITS} digits)"


def is_contact(text: str) -> bool:
    """Whether ``text`` can be a 联系方式: a telephone number, at least
    :data:`MIN_CONTACT_DIGITS` digits (the certificate's and the organisation's alike)."""
    return sum(char.isdigit() for char in text) >= MIN_CONTACT_DIGITS


#: How far the issue date may run ahead of the day in ``occurred_at`` (time zones differ).
ISSUE_DATE_SLACK_DAYS = 1
#: How far the issue date may lie before the day in ``occurred_at`` (a certificate written on
#: paper and recorded late). Our policy: the 2025 rules give no number.
ISSUE_DATE_MAX_LAG_DAYS = 7
#: How old the test a certificate cites may be on its issue date. Our policy (a test speaks
#: for one lot as harvested, 批批检测); the 2025 rules give no number.
TEST_MAX_AGE_DAYS = 30

#: 动物检疫合格证明 forms that cover animal products (产品A/B); the animal forms cover live animals.
PRODUCT_QUARANTINE_FORMS = frozenset({"PRODUCT_A", "PRODUCT_B"})
SLAUGHTERHOUSE_ROLE = "SLAUGHTERHOUSE"
SLAUGHTER_PROCESS = "SLAUGHTER"
#: Roles whose inspections are of other organisations' goods (sampling, laboratory work).
INSPECTOR_ROLES = INSPECTORS
#: Handlers whose tests bind like a testing body's: the 集中监管仓 is where imported cold-chain
#: food is tested and disinfected.
TESTING_STATIONS = frozenset({"SUPERVISED_WAREHOUSE"})

#: Provincial target for 赋码率 and 扫码率 (design.md §1).
CODING_TARGET = 0.995
SCAN_TARGET = 0.995


def normalised_text(text: str) -> str:
    """``text`` as compared: NFKC (full-/half-width alike), no white space, no final 。."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).rstrip("。.")


def commitment_matches(issuer_type: str, commitment: str) -> bool:
    """Whether ``commitment`` is the fixed 2025 text for ``issuer_type`` or one of its documented
    variants (:data:`COMMITMENT_VARIANTS`), with or without a lead-in
    (:data:`COMMITMENT_LEAD_INS`), formatting aside."""
    given = normalised_text(commitment)
    for lead_in in _NORMALISED_LEAD_INS:
        if given.startswith(lead_in):
            given = given[len(lead_in) :]
            break
    return given in _NORMALISED_VARIANTS.get(issuer_type, ())


# The fixed texts as compared, normalised once (every certificate is compared with them).
_NORMALISED_LEAD_INS = tuple(map(normalised_text, COMMITMENT_LEAD_INS))
_NORMALISED_VARIANTS = {
    issuer: tuple(map(normalised_text, texts)) for issuer, texts in COMMITMENT_VARIANTS.items()
}


def same_product(name: str, other: str) -> bool:
    """Whether two 产品名称 name the same product: equal after :func:`normalised_text` (NFKC,
    white space, a final 。); 小青菜 and 青菜 are different names."""
    return normalised_text(name) == normalised_text(other)


def commitment_rules_apply(issue_date: date) -> bool:
    """Whether a certificate issued on ``issue_date`` must carry the 2025 commitment text."""
    return issue_date >= COMMITMENT_RULES_FROM


def failure_binds(inspection: Event, directory: Directory, vouching: Collection[str]) -> bool:
    """Whether a failed ``inspection`` freezes the goods (docs/verdicts.md, "Failed tests").

    It does when a testing body, a regulator or a 集中监管仓 recorded it, or an organisation in
    ``vouching`` (that certified the goods, or produced or imported them): its own admission.
    A trader's own test of goods it does not vouch for does not: otherwise any registered buyer
    of one kilo could freeze a competitor's whole lot. The regulator's alert opens either way.
    """
    return inspection.actor in vouching or independent_test(inspection, directory)


def independent_test(inspection: Event, directory: Directory) -> bool:
    """Whether ``inspection`` was recorded by a testing body, a regulator or a 集中监管仓 — not
    by a trader about goods it handles. Only such a test clears goods after a temperature
    excursion: the holder whose reading was out of range cannot close its own alert with its
    own rapid test."""
    return directory.has_role(inspection.actor, INSPECTOR_ROLES | TESTING_STATIONS)
