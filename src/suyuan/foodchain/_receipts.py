"""进货查验 (market entry): did a receipt come with a valid upstream certificate?

A ``Received`` event lists the certificates presented with the goods
(``payload.upstream_certificates``). One is *valid* for the receipt when it was issued, was not
voided at or before the receipt, and covers the goods: it names none (a paper-only certificate)
or names one of the received codes, what they hold, what they were packed in or made from, or
the GS1 lot of a received unit. Goods without a valid certificate are still compliant when
another 质量安全合格证明 covers them: an import declaration whose 三证 all passed, or for meat a
product quarantine certificate and a passing meat quality inspection. Drugs and vaccines (codes
of the 药品追溯码 kind, or goods of a released vaccine lot) are not food: no certificate applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from suyuan.codes import CodeKind, parse_trace_code
from suyuan.events.model import Event
from suyuan.foodchain._certificates import CertificateRecord, certificate_records, goods_codes
from suyuan.foodchain._reads import Reads, load_related, related_goods
from suyuan.foodchain._rules import PRODUCT_QUARANTINE_FORMS

IMPORT_DECLARED = "ImportDeclared"
ANIMAL_QUARANTINE = "AnimalQuarantineCertified"
MEAT_QUALITY = "MeatQualityInspected"
VACCINE_LOT_RELEASED = "VaccineLotReleased"
PROOF_TYPES = frozenset({IMPORT_DECLARED, ANIMAL_QUARANTINE, MEAT_QUALITY, VACCINE_LOT_RELEASED})
IMPORT_DOCUMENTS = ("quarantine_certificate", "nucleic_acid_test", "disinfection_certificate")


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """The 进货查验 outcome of one ``Received`` event."""

    receipt: Event
    food: bool
    """False for drugs and vaccines, which need no 合格证."""
    valid_certificates: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]
    """(certificate code, why it is not valid for this receipt) for each one refused."""
    other_proof: str | None
    """``import_documents`` or ``meat_certificates`` when they stand in for a 合格证."""
    related: frozenset[str]
    """The received codes with what they hold and were packed in or made from."""

    @property
    def buyer(self) -> str:
        return self.receipt.actor

    @property
    def supplier(self) -> str:
        return str(self.receipt.payload["from_org"])

    @property
    def compliant(self) -> bool:
        return not self.food or bool(self.valid_certificates) or self.other_proof is not None

    def describe(self) -> str:
        """Why the receipt is not compliant, in words."""
        if not self.problems:
            return "received without presenting any 合格证 (承诺达标合格证)"
        reasons = "; ".join(f"{code}: {why}" for code, why in self.problems)
        return f"no valid 合格证 was presented ({reasons})"


def check_receipts(reads: Reads, receipts: Sequence[Event]) -> list[ReceiptCheck]:
    """The 进货查验 outcome of every receipt, with a handful of queries for all of them."""
    records = certificate_records(
        reads, (str(c) for r in receipts for c in r.payload.get("upstream_certificates", ()))
    )
    graph = reads.graph()
    load_related(graph, (code for r in receipts for code in r.codes))
    related = [frozenset(related_goods(graph, r.codes)) for r in receipts]
    certified = [_certificates(r, rel, records) for r, rel in zip(receipts, related, strict=True)]
    needs_proof = [
        index
        for index, (valid, _problems) in enumerate(certified)
        if not valid and _maybe_food(receipts[index])
    ]
    proofs = reads.about((c for i in needs_proof for c in related[i]), PROOF_TYPES)
    checks: list[ReceiptCheck] = []
    for index, receipt in enumerate(receipts):
        valid, problems = certified[index]
        food, other = _maybe_food(receipt), None
        if index in needs_proof:
            food, other = _other_proof(receipt, related[index], proofs)
        checks.append(
            ReceiptCheck(receipt, food, tuple(valid), tuple(problems), other, related[index])
        )
    return checks


def _certificates(
    receipt: Event, related: frozenset[str], records: dict[str, CertificateRecord]
) -> tuple[list[str], list[tuple[str, str]]]:
    valid: list[str] = []
    problems: list[tuple[str, str]] = []
    for value in receipt.payload.get("upstream_certificates", ()):
        code = str(value)
        why = _invalid_because(receipt, related, records[code])
        if why is None:
            valid.append(code)
        else:
            problems.append((code, why))
    return valid, problems


def _invalid_because(
    receipt: Event, related: frozenset[str], record: CertificateRecord
) -> str | None:
    issue = record.issue
    if issue is None:
        return "no certificate with this code is in the ledger"
    void = record.void_before(receipt.occurred_at)
    if void is not None:
        return f"voided before the goods were received ({void.payload.get('reason')})"
    covered = goods_codes(issue)
    if covered and not covers(covered, related):
        return "it covers other goods than the ones received"
    return None


def covers(certified: Iterable[str], related: frozenset[str]) -> bool:
    """Whether a certificate's goods codes speak for any of the received goods (``related``:
    the received codes with what they hold and were packed in or made from)."""
    for code in certified:
        if code in related:
            return True
        lot_prefix = code + "("  # a GS1 lot code covers the units of its lot, and back
        if any(r.startswith(lot_prefix) or code.startswith(r + "(") for r in related):
            return True
    return False


def _maybe_food(receipt: Event) -> bool:
    return not all(_kind(code) is CodeKind.DRUG for code in receipt.codes)


def _kind(code: str) -> CodeKind:
    return parse_trace_code(code, field="codes").kind


def _other_proof(
    receipt: Event, related: frozenset[str], proofs: list[Event]
) -> tuple[bool, str | None]:
    """(is it food, which other proof covers it) from the documents of the related codes."""
    mine = [p for p in proofs if p.occurred_at <= receipt.occurred_at and related & set(p.codes)]
    if any(p.event_type == VACCINE_LOT_RELEASED for p in mine):
        return False, None
    # Imported food has no 合格证: its declaration and 三证 stand in, and whether they passed is
    # the cold-chain rules' to judge (import_papers_failed / import_papers_incomplete), not a
    # second alert here.
    if any(p.event_type == IMPORT_DECLARED for p in mine):
        return True, "import_documents"
    if meat_certified(mine):
        return True, "meat_certificates"
    return True, None


def import_documents_passed(declaration: Event) -> bool:
    """Whether every one of the 三证 of an ``ImportDeclared`` event states a passing result."""
    return all(declaration.payload[name]["passed"] for name in IMPORT_DOCUMENTS)


def meat_certified(documents: Iterable[Event]) -> bool:
    """A product quarantine certificate (产品A/B) and a passing meat quality inspection."""
    found = list(documents)
    return product_quarantine(found) is not None and passing_meat_inspection(found) is not None


def product_quarantine(documents: Iterable[Event]) -> Event | None:
    return next(
        (
            d
            for d in documents
            if d.event_type == ANIMAL_QUARANTINE
            and d.payload.get("form") in PRODUCT_QUARANTINE_FORMS
        ),
        None,
    )


def passing_meat_inspection(documents: Iterable[Event]) -> Event | None:
    return next(
        (d for d in documents if d.event_type == MEAT_QUALITY and d.payload.get("passed")), None
    )
