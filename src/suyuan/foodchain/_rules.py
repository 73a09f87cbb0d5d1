"""The fixed texts, vocabularies and thresholds of the food-chain rules (``docs/food-chain.md``).

Sources: 农产品质量安全承诺达标合格证管理办法 (农业农村部令2025年第4号, in force
2026-02-01) for the commitment texts and the bases; 农产品质量安全法 (2022) for purchasers'
certificates; 生猪屠宰管理条例 and 动物检疫管理办法 for meat leaving a slaughterhouse.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from suyuan.authority import INSPECTORS

#: The 2025 rules apply to certificates issued on or after this day.
COMMITMENT_RULES_FROM = date(2026, 2, 1)
#: 承诺声明 of a producer (生产者) under the 2025 rules.
PRODUCER_COMMITMENT = "未使用禁用农药、兽药及其他化合物；使用的常规农药、兽药残留不超标"
#: 承诺声明 of a purchaser (收购者) under the 2025 rules.
PURCHASER_COMMITMENT = (
    "已按规定收取并保存该批次承诺达标合格证或者其他质量安全合格证明；"
    "未违规使用保鲜剂、防腐剂、添加剂等"
)
COMMITMENTS = {"PRODUCER": PRODUCER_COMMITMENT, "PURCHASER": PURCHASER_COMMITMENT}

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
#: How far the issue date may run ahead of the day in ``occurred_at`` (time zones differ).
ISSUE_DATE_SLACK_DAYS = 1

#: 动物检疫合格证明 forms that cover animal products (产品A/B); the animal forms cover live animals.
PRODUCT_QUARANTINE_FORMS = frozenset({"PRODUCT_A", "PRODUCT_B"})
SLAUGHTERHOUSE_ROLE = "SLAUGHTERHOUSE"
SLAUGHTER_PROCESS = "SLAUGHTER"
#: Roles whose inspections are of other organisations' goods (sampling, laboratory work).
INSPECTOR_ROLES = INSPECTORS

#: Provincial target for 赋码率 and 扫码率 (design §1).
CODING_TARGET = 0.995
SCAN_TARGET = 0.995


def normalised_text(text: str) -> str:
    """``text`` as compared: NFKC (full-/half-width alike), no white space, no final 。."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).rstrip("。.")


def commitment_matches(issuer_type: str, commitment: str) -> bool:
    """Whether ``commitment`` is the fixed 2025 text for ``issuer_type`` (formatting aside)."""
    expected = COMMITMENTS.get(issuer_type)
    return expected is not None and normalised_text(commitment) == normalised_text(expected)


def commitment_rules_apply(issue_date: date) -> bool:
    """Whether a certificate issued on ``issue_date`` must carry the 2025 commitment text."""
    return issue_date >= COMMITMENT_RULES_FROM
