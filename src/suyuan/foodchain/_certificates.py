"""What the ledger says about 合格证 codes: issued by whom, voided, named as a replacement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from suyuan.codes import is_valid_certificate_code
from suyuan.events.model import Event
from suyuan.foodchain._reads import Reads

CERTIFICATE_ISSUED = "CertificateIssued"
CERTIFICATE_VOIDED = "CertificateVoided"
CERTIFICATE_TYPES = frozenset({CERTIFICATE_ISSUED, CERTIFICATE_VOIDED})


def own_certificate_code(event: Event) -> str | None:
    """The one certificate code among a 合格证 event's codes."""
    return next((code for code in event.codes if is_valid_certificate_code(code)), None)


def goods_codes(event: Event) -> tuple[str, ...]:
    """The codes of the goods a certificate covers: its codes but its own certificate code."""
    own = own_certificate_code(event)
    return tuple(code for code in event.codes if code != own)


def vouching_issuers(issues: Iterable[Event]) -> set[str]:
    """The organisations whose certificates among ``issues`` vouch for the goods they cover
    (:func:`suyuan.foodchain.failure_binds`): for each goods code, the issuer of the first
    certificate covering it that does not draw on another certificate covering the same code;
    and the issuer of a certificate that names no goods code (it covers only its own).

    A purchaser that certifies the lot code of a certificate it cites vouches for its share of
    that lot, not for the lot: otherwise the buyer of 30 kg could, by certifying them and then
    failing its own rapid test, freeze the farm's whole lot on every shopper's phone.
    """
    chosen = sorted(issues, key=lambda e: (e.occurred_at, e.event_id))
    by_code = {code: e for e in chosen if (code := own_certificate_code(e)) is not None}
    found: set[str] = set()
    first: dict[str, str] = {}
    for issue in chosen:
        goods = goods_codes(issue)
        if not goods:
            found.add(issue.actor)
        drawn_on = {
            code
            for cited in issue.payload.get("upstream_certificates", ())
            if (upstream := by_code.get(str(cited))) is not None and upstream.actor != issue.actor
            for code in goods_codes(upstream)
        }
        for code in goods:
            if code not in drawn_on:
                first.setdefault(code, issue.actor)
    return found | set(first.values())


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """A certificate code as the ledger knows it."""

    code: str
    issued: tuple[Event, ...]
    """``CertificateIssued`` events holding the code (more than one only if it was reused)."""
    voids: tuple[Event, ...]
    """``CertificateVoided`` events of the code, by time."""
    named_by: tuple[Event, ...]
    """``CertificateVoided`` events of other certificates naming this code as their replacement."""

    @property
    def issue(self) -> Event | None:
        return self.issued[0] if self.issued else None

    def void_before(self, at: datetime | None = None) -> Event | None:
        """The first void recorded as happening at or before ``at`` (any void without ``at``)."""
        return next((v for v in self.voids if at is None or v.occurred_at <= at), None)


def certificate_records(
    reads: Reads,
    codes: Iterable[str],
    pending: Iterable[Event] = (),
    *,
    loaded: list[Event] | None = None,
) -> dict[str, CertificateRecord]:
    """The record of every code in ``codes`` (one indexed query for all), counting ``pending``
    events (accepted earlier in the same write, not in the ledger yet) as recorded.

    ``loaded``: the events about ``codes`` already read (at least every certificate event).
    """
    wanted = list(dict.fromkeys(codes))
    events = reads.about(wanted, CERTIFICATE_TYPES) if loaded is None else list(loaded)
    seen = {event.event_id for event in events}
    events += [e for e in pending if e.event_type in CERTIFICATE_TYPES and e.event_id not in seen]
    records: dict[str, CertificateRecord] = {}
    for code in wanted:
        issued = tuple(e for e in events if e.event_type == CERTIFICATE_ISSUED and code in e.codes)
        voids = tuple(
            sorted(
                (e for e in events if e.event_type == CERTIFICATE_VOIDED and code in e.codes),
                key=lambda e: e.occurred_at,
            )
        )
        named_by = tuple(
            e
            for e in events
            if e.event_type == CERTIFICATE_VOIDED
            and e.payload.get("replacement_code") == code
            and code not in e.codes
        )
        records[code] = CertificateRecord(code, issued, voids, named_by)
    return records
