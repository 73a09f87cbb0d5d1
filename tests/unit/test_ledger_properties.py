"""Properties of the ledger's proofs over random shard sizes and indexes (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.events import encode_event
from suyuan.ledger import Ledger, SqlLedgerStore, Submission, create_ledger_engine, migrate
from suyuan.merkle import leaf_hash, verify_consistency, verify_inclusion
from suyuan.scenario import Scenario
from suyuan.tlog import NoteSigner, open_checkpoint

_SCENARIO = Scenario(seed=3)
_FARM = _SCENARIO.organisation("测试农场", ["PRODUCER"], "330185", "浙江省杭州市临安区")
_EVENTS = [
    _SCENARIO.event(
        _FARM,
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": None},
        codes=[_SCENARIO.unit_code(lot=f"L{i}")],
        quantity="1",
        unit="kg",
    )
    for i in range(200)
]
_SIGNER = NoteSigner.generate("prop.example/ledger")


def _submission(index: int) -> Submission:
    event = _EVENTS[index]
    return Submission(event, encode_event(event), "0" * 16, bytes(64), 1, 0, ())


@settings(max_examples=25, deadline=None)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5),
    data=st.data(),
)
def test_every_entry_proves_into_every_later_checkpoint(
    batches: list[int], data: st.DataObject
) -> None:
    engine = create_ledger_engine("sqlite://")
    migrate(engine)
    store = SqlLedgerStore(engine)
    ledger = Ledger(store, _SIGNER)
    counter = itertools.count()
    checkpoints = []
    for size in batches:
        store.append(0, [_submission(next(counter)) for _ in range(size)])
        checkpoints.append(open_checkpoint(ledger.checkpoint(0), ledger.verifier))
    leaves = [leaf_hash(entry.leaf) for entry in store.entries(0)]

    old, new = sorted(
        data.draw(
            st.lists(st.sampled_from(checkpoints), min_size=2, max_size=2), label="checkpoints"
        ),
        key=lambda c: c.size,
    )
    proof = ledger.consistency_proof(0, old.size, new.size)
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    index = data.draw(st.integers(min_value=0, max_value=new.size - 1), label="index")
    path = ledger.inclusion_proof(0, index, new.size)
    verify_inclusion(leaves[index], index, new.size, path, new.root_hash)
    store.close()
