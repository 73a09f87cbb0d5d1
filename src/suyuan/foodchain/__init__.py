"""浙食链 rules of the food chain (design.md §1, §4, §7; ``docs/food-chain.md``).

- Issuing 承诺达标合格证: :func:`check_certificate` (the rules that need the ledger, for HTTP and
  Kafka alike), :func:`certificate_event` / :func:`void_event` (the events the API and CLI
  record), the fixed commitment texts of the 2025 rules.
- Alerts (:class:`Alert`): ``missing_certificate`` (进货查验), ``inspection_failed`` (批批检测 and
  the 不合格核查处置 closed loop), ``meat_certificates_missing`` (slaughterhouses),
  ``temperature_excursion``; the 浙冷链 三证一码 alerts (``docs/cold-chain.md``); the vaccine
  and drug alerts (``docs/vaccines.md``); :func:`summarise` counts them by region and kind.
- An issuer's own certificates: :func:`list_certificates` (filters, status, cursor pages) and
  :func:`find_certificate` (one, with its voids and replacement).
- Coverage metrics (:class:`CoverageReport`): certificate, testing (批批检测率), coding (赋码率) and
  scan (扫码率) rates by organisation, region and period.

:class:`FoodChainMonitor` keeps one ledger's alerts and metrics current. No web framework here.
"""

from suyuan.foodchain._alerts import (
    ALERT_KINDS,
    CLOSED,
    INSPECTION_FAILED,
    MEAT_CERTIFICATES_MISSING,
    MISSING_CERTIFICATE,
    OPEN,
    TEMPERATURE_EXCURSION,
    Alert,
)
from suyuan.foodchain._certificates import (
    CertificateRecord,
    certificate_records,
    goods_codes,
    own_certificate_code,
    vouching_issuers,
)
from suyuan.foodchain._chain_rules import WRITE_RULES, WriteRule, check_chain_rules
from suyuan.foodchain._coverage import (
    CERTIFICATE_RATE,
    CODING_RATE,
    METRICS,
    PERIODS,
    SCAN_RATE,
    TARGETS,
    TESTING_RATE,
    CoverageReport,
    CoverageRow,
    Rate,
    period_key,
)
from suyuan.foodchain._disposal import Amount, HolderPosition
from suyuan.foodchain._issuance import (
    CertificateDraft,
    CertificateLinks,
    certificate_codes,
    certificate_event,
    certificate_links,
    check_certificate,
    void_event,
)
from suyuan.foodchain._listing import (
    CERTIFICATE_STATUSES,
    MAX_CERTIFICATE_PAGE,
    CertificatePage,
    IssuedCertificate,
    find_certificate,
    list_certificates,
)
from suyuan.foodchain._monitor import (
    AlertSummary,
    FoodChainMonitor,
    StatusCount,
    alerts_of,
    select,
    summarise,
)
from suyuan.foodchain._reads import Reads
from suyuan.foodchain._regions import region_within
from suyuan.foodchain._rules import (
    COMMITMENT_RULES_FROM,
    COMMITMENTS,
    CONTACT_RULE,
    PRODUCER_COMMITMENT,
    PURCHASER_COMMITMENT,
    commitment_matches,
    failure_binds,
    independent_test,
    is_contact,
)
from suyuan.foodchain._vaccines import (
    DRUG_RESOLD,
    PRIVATE_ALERT_KINDS,
    SERIOUS_ADVERSE_EVENT,
    VACCINE_RECEIPT_UNCHECKED,
    VACCINE_USE_BLOCKED,
)

__all__ = [
    "ALERT_KINDS",
    "CERTIFICATE_RATE",
    "CERTIFICATE_STATUSES",
    "CLOSED",
    "CODING_RATE",
    "COMMITMENTS",
    "COMMITMENT_RULES_FROM",
    "CONTACT_RULE",
    "DRUG_RESOLD",
    "INSPECTION_FAILED",
    "MAX_CERTIFICATE_PAGE",
    "MEAT_CERTIFICATES_MISSING",
    "METRICS",
    "MISSING_CERTIFICATE",
    "OPEN",
    "PERIODS",
    "PRIVATE_ALERT_KINDS",
    "PRODUCER_COMMITMENT",
    "PURCHASER_COMMITMENT",
    "SCAN_RATE",
    "SERIOUS_ADVERSE_EVENT",
    "TARGETS",
    "TEMPERATURE_EXCURSION",
    "TESTING_RATE",
    "VACCINE_RECEIPT_UNCHECKED",
    "VACCINE_USE_BLOCKED",
    "WRITE_RULES",
    "Alert",
    "AlertSummary",
    "Amount",
    "CertificateDraft",
    "CertificateLinks",
    "CertificatePage",
    "CertificateRecord",
    "CoverageReport",
    "CoverageRow",
    "FoodChainMonitor",
    "HolderPosition",
    "IssuedCertificate",
    "Rate",
    "Reads",
    "StatusCount",
    "WriteRule",
    "alerts_of",
    "certificate_codes",
    "certificate_event",
    "certificate_links",
    "certificate_records",
    "check_certificate",
    "check_chain_rules",
    "commitment_matches",
    "failure_binds",
    "find_certificate",
    "goods_codes",
    "independent_test",
    "is_contact",
    "list_certificates",
    "own_certificate_code",
    "period_key",
    "region_within",
    "select",
    "summarise",
    "void_event",
    "vouching_issuers",
]
