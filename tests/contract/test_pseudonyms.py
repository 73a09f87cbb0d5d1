"""Vaccine recipients enter the ledger only as keyed pseudonyms; erasing the mapping keeps every
proof valid (design.md §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    Ledger,
    SqlLedgerStore,
    create_ledger_engine,
    migrate,
)
from suyuan.privacy import PseudonymRegistry
from suyuan.scenario import Scenario
from suyuan.tlog import NoteSigner, verify_receipt

ID_NUMBER = "330106199001011234"


@pytest.fixture
def store(tmp_path: Path) -> SqlLedgerStore:
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    migrate(engine)
    return SqlLedgerStore(engine)


def test_pseudonym_is_keyed_and_stable() -> None:
    registry = PseudonymRegistry(create_ledger_engine("sqlite://"), b"k" * 32)
    other = PseudonymRegistry(create_ledger_engine("sqlite://"), b"j" * 32)

    assert registry.pseudonym(ID_NUMBER) == registry.pseudonym(f" {ID_NUMBER.lower()} ")
    assert registry.pseudonym(ID_NUMBER) != other.pseudonym(ID_NUMBER)
    assert ID_NUMBER not in registry.pseudonym(ID_NUMBER)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        PseudonymRegistry(create_ledger_engine("sqlite://"), b"short")


def test_erasing_a_recipient_keeps_every_proof_valid(store: SqlLedgerStore) -> None:
    s = Scenario(seed=9)
    clinic = s.organisation(
        "北山街道社区卫生服务中心", ["CLINIC"], "330106", "杭州市西湖区", registrar="1"
    )
    writer = LedgerWriter(store, [s.root])
    writer.write(TRUST_SHARD, [Message("trust", s.sign_as_root(s.registration(clinic)))])
    registry = PseudonymRegistry(store.engine, b"clinic-secret-" * 3)
    pseudonym = registry.register(ID_NUMBER)
    shot = s.event(
        clinic,
        "VaccineAdministered",
        {"clinic_name": clinic.name, "dose_no": 1, "recipient_pseudonym": pseudonym},
        codes=["81234560000000000001"],
        quantity="1",
        unit="剂",
    )
    writer.write(0, [Message("shot", s.sign(clinic, [shot]))])
    ledger = Ledger(store, NoteSigner.generate("test.example/ledger"))
    ledger.checkpoint(0)
    receipt = ledger.receipt(shot.event_id)
    leaves = b"".join(entry.leaf for entry in store.entries(0))

    assert ID_NUMBER.encode() not in leaves
    assert pseudonym.encode() in leaves
    assert registry.resolve(pseudonym) == ID_NUMBER

    assert registry.erase(pseudonym) is True

    assert registry.resolve(pseudonym) is None
    assert registry.erase(pseudonym) is False
    leaf = store.entry(*store.locate(shot.event_id)).leaf
    assert verify_receipt(receipt, ledger.verifier, leaf_data=leaf).checkpoint.size == 1
    report = Auditor(store, ledger.verifier, [s.root], ledger_name=ledger.name).run()
    assert report.ok, report.findings
    assert b"".join(entry.leaf for entry in store.entries(0)) == leaves
