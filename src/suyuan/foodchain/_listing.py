"""An issuer's own 合格证: the list it filters and pages, and one certificate with its voids
(``docs/http-query.md`` § Certificates). The HTTP routes and the pages show what these give.

The status of a certificate comes from the void events the ledger already holds:
``valid`` (never voided), ``voided`` (voided, no replacement named), ``replaced`` (voided and
reissued: the void names its replacement) — the same reading as the verdict's
``certificate_voided`` / ``certificate_replaced`` findings (``docs/verdicts.md``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from suyuan.errors import InvalidInputError
from suyuan.events.model import Event
from suyuan.foodchain._certificates import (
    CertificateRecord,
    certificate_records,
    own_certificate_code,
)
from suyuan.foodchain._reads import Reads

VALID = "valid"
VOIDED = "voided"
REPLACED = "replaced"
CERTIFICATE_STATUSES = (VALID, VOIDED, REPLACED)
MAX_CERTIFICATE_PAGE = 500


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate as its issuer sees it: what was printed, and what happened to it since."""

    code: str
    issue: Event
    voids: tuple[Event, ...]
    """Its ``CertificateVoided`` events, by time (more than one only through Kafka races)."""
    replaces: tuple[str, ...]
    """Codes of the certificates whose void names this one as their replacement."""

    @property
    def status(self) -> str:
        """``valid``, ``voided`` or ``replaced`` (see the module docstring)."""
        if not self.voids:
            return VALID
        return REPLACED if self.replacement_code is not None else VOIDED

    @property
    def replacement_code(self) -> str | None:
        """The code of the certificate issued in its place, if a void names one."""
        for void in self.voids:
            replacement = void.payload.get("replacement_code")
            if replacement:
                return str(replacement)
        return None

    @property
    def issue_date(self) -> date:
        value = self.issue.payload["issue_date"]
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @property
    def issued_at(self) -> datetime:
        return self.issue.occurred_at

    @property
    def quantity(self) -> str | None:
        """The quantity as printed: ``500``, not ``500.000``."""
        value: Decimal | None = self.issue.quantity
        return None if value is None else format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class CertificatePage:
    """One page of an issuer's certificates, newest first, and the cursor of the next."""

    certificates: list[IssuedCertificate]
    count: int
    """How many certificates match in all."""
    next_cursor: str | None
    """The code of the last certificate of this page when more follow (``None``: the last)."""


def list_certificates(
    reads: Reads,
    issued: Iterable[Event],
    *,
    product: str | None = None,
    since: date | None = None,
    until: date | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> CertificatePage:
    """The certificates of ``issued`` (one issuer's ``CertificateIssued`` events) that match,
    newest issued first: ``product`` (a part of the product name, full- and half-width alike,
    case ignored), ``since``/``until`` (issue dates, inclusive), ``status``
    (:data:`CERTIFICATE_STATUSES`). ``cursor`` is the ``next_cursor`` of the page before.

    Reads the void events of the certificates in one indexed query (of the page only when no
    status is asked).

    Raises:
        InvalidInputError: ``status`` unknown, ``since`` after ``until``, ``limit`` outside
            1–:data:`MAX_CERTIFICATE_PAGE`, or ``cursor`` not a certificate of this query
            (field ``status``, ``since``, ``limit`` or ``cursor``; the first found).
        sqlalchemy.exc.SQLAlchemyError: the ledger cannot be read.
    """
    if status is not None and status not in CERTIFICATE_STATUSES:
        raise InvalidInputError(
            "status", status[:60], f"must be one of: {', '.join(CERTIFICATE_STATUSES)}"
        )
    if since is not None and until is not None and since > until:
        raise InvalidInputError("since", since.isoformat(), "must not be after `until`")
    if not 1 <= limit <= MAX_CERTIFICATE_PAGE:
        raise InvalidInputError("limit", str(limit), f"must be 1–{MAX_CERTIFICATE_PAGE}")
    wanted = _normalised(product) if product else None
    chosen = [
        event
        for event in issued
        if own_certificate_code(event) is not None
        and (wanted is None or wanted in _normalised(str(event.payload.get("product_name", ""))))
        and _within(_issue_date(event), since, until)
    ]
    chosen.sort(key=lambda e: (e.occurred_at, e.event_id), reverse=True)
    if status is not None:
        records = _records(reads, chosen)
        chosen = [e for e in chosen if _certificate(e, records).status == status]
    codes = [own_certificate_code(e) or "" for e in chosen]
    start = 0
    if cursor is not None:
        if cursor not in codes:
            raise InvalidInputError(
                "cursor", cursor[:60], "must be the next_cursor of a page of this same query"
            )
        start = codes.index(cursor) + 1
    page = chosen[start : start + limit]
    records = _records(reads, page)
    more = start + limit < len(chosen)
    return CertificatePage(
        certificates=[_certificate(e, records) for e in page],
        count=len(chosen),
        next_cursor=codes[start + limit - 1] if more and page else None,
    )


def find_certificate(reads: Reads, code: str) -> IssuedCertificate | None:
    """Certificate ``code`` (canonical form) with its voids and the certificates it replaced;
    ``None`` when no certificate was issued under it. Whose it is, is the caller's question.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the ledger cannot be read.
    """
    record = certificate_records(reads, [code])[code]
    if record.issue is None:
        return None
    return _certificate(record.issue, {code: record})


def _records(reads: Reads, issues: Sequence[Event]) -> dict[str, CertificateRecord]:
    return certificate_records(reads, [own_certificate_code(e) or "" for e in issues])


def _certificate(issue: Event, records: dict[str, CertificateRecord]) -> IssuedCertificate:
    code = own_certificate_code(issue) or ""
    record = records.get(code)
    voids = record.voids if record is not None else ()
    named_by = record.named_by if record is not None else ()
    replaces = tuple(dict.fromkeys(c for void in named_by for c in void.codes))
    return IssuedCertificate(code=code, issue=issue, voids=voids, replaces=replaces)


def _issue_date(event: Event) -> date:
    value = event.payload.get("issue_date")
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _within(day: date, since: date | None, until: date | None) -> bool:
    return (since is None or day >= since) and (until is None or day <= until)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()
