"""A long write judges its late events by what came earlier in it, as a short one does.

The rules of a certificate read the events accepted earlier in the same write through an index
(:meth:`Reads.pending_of`) instead of scanning them all; these tests hold that index to what
the scan found, and a write of hundreds of certificates to the rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suyuan.events.model import Event
from suyuan.foodchain import Reads
from suyuan.ledger import codes_of
from tests.unit.foodchain.chain import Chain

CERTIFICATE_TYPES = frozenset({"CertificateIssued", "CertificateVoided"})


def test_a_code_issued_early_in_a_long_write_is_not_issued_again_at_its_end(chain: Chain) -> None:
    """Three hundred certificates in one message; the last reuses the first one's code and a
    void early in the write reserved another's replacement for the farm."""
    certificates = [chain.certificate(chain.farm, [chain.lot(f"L{n}")]) for n in range(300)]
    reserved = chain.s.certificate_code()
    void = chain.void(chain.farm, certificates[1].codes[0], reserved)
    again = chain.certificate(chain.farm, [chain.lot("L-again")], code=certificates[0].codes[0])
    taken = chain.certificate(chain.market, [], code=reserved, upstream=[certificates[2].codes[0]])

    rejected = chain.tell(
        [(chain.farm, [*certificates, void, again]), (chain.market, [taken])], one_write=True
    )

    assert set(rejected) == {again.event_id, taken.event_id}
    assert rejected[again.event_id].field == "codes[0]"
    assert certificates[0].event_id in rejected[again.event_id].rule
    assert "replacement" in rejected[taken.event_id].rule
    chain.store.locate(certificates[-1].event_id)  # accepted: in the ledger


def test_a_failed_test_early_in_a_long_write_freezes_a_lot_certified_at_its_end(
    chain: Chain,
) -> None:
    lots = [chain.lot(f"F{n}") for n in range(200)]
    certificates = [chain.certificate(chain.farm, [lot]) for lot in lots[1:]]
    failed = chain.inspection(chain.bureau, [lots[0]], passed=False)
    late = chain.certificate(chain.farm, [lots[0]])

    rejected = chain.tell(
        [(chain.bureau, [failed]), (chain.farm, [*certificates, late])], one_write=True
    )

    assert set(rejected) == {late.event_id}
    assert rejected[late.event_id].field == "codes[1]"


def test_each_certificate_of_a_long_write_finds_the_test_it_cites(chain: Chain) -> None:
    """Two hundred tests, then a certificate citing each: found by id among the write's earlier
    events; one citing the test of another lot is refused, one citing a test yet to come too."""
    lots = [chain.lot(f"T{n}") for n in range(200)]
    tests = [chain.inspection(chain.farm, [lot]) for lot in lots]
    later = chain.inspection(chain.farm, [lots[0]])
    certificates = [
        chain.certificate(chain.farm, [lot], basis="SELF_TESTED", inspection=test.event_id)
        for lot, test in zip(lots, tests, strict=True)
    ]
    wrong_lot = chain.certificate(
        chain.farm, [chain.lot("T-other")], basis="SELF_TESTED", inspection=tests[1].event_id
    )
    too_early = chain.certificate(
        chain.farm, [lots[0]], basis="SELF_TESTED", inspection=later.event_id
    )

    rejected = chain.tell(
        [(chain.farm, [*tests, *certificates, wrong_lot, too_early]), (chain.farm, [later])],
        one_write=True,
    )

    assert set(rejected) == {wrong_lot.event_id, too_early.event_id}
    assert rejected[wrong_lot.event_id].field == "payload.inspection_event_id"
    assert "of this lot" in rejected[wrong_lot.event_id].rule
    assert rejected[too_early.event_id].field == "payload.inspection_event_id"


def _pool(chain: Chain) -> list[Event]:
    """Events of several types over a few shared codes: certificates, voids naming
    replacements, purchasers' certificates citing others, receipts, packings."""
    lots = [chain.lot(f"P{n}") for n in range(3)]
    codes = [chain.s.certificate_code() for _ in range(3)]
    case = chain.case()
    return [
        chain.certificate(chain.farm, [lots[0]], code=codes[0]),
        chain.certificate(chain.farm, [lots[1]], code=codes[1]),
        chain.certificate(chain.coop, [lots[2]], upstream=[codes[0], codes[1]]),
        chain.void(chain.farm, codes[0], codes[2]),
        chain.void(chain.farm, codes[1]),
        chain.certificate(chain.farm, [lots[0], lots[2]], code=codes[2]),
        chain.receive(chain.coop, chain.farm, [lots[0]], "10", certificates=[codes[0]]),
        chain.pack(chain.farm, case, [lots[1], lots[2]]),
        chain.ship(chain.farm, chain.market, [case], "10"),
    ]


def _scan(pending: Sequence[Event], types: frozenset[str], codes: Sequence[str]) -> list[Event]:
    return [e for e in pending if e.event_type in types and set(codes_of(e)) & set(codes)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_index_finds_what_a_scan_of_the_write_finds(chain: Chain, data: st.DataObject) -> None:
    """Events arrive in any order, the rules ask by type and code between arrivals: the index
    answers what a scan of every event accepted so far answers, in the same order."""
    pool = _pool(chain)
    every_code = sorted({code for event in pool for code in codes_of(event)})
    order = data.draw(st.permutations(pool))
    reads, pending = Reads(chain.store), []
    for event in order:
        pending.append(event)
        for _ in range(data.draw(st.integers(0, 2))):
            types = data.draw(
                st.sampled_from(
                    [CERTIFICATE_TYPES, frozenset({"CertificateIssued"}), frozenset({"Received"})]
                )
            )
            codes = data.draw(st.lists(st.sampled_from(every_code), max_size=4))
            assert reads.pending_of(pending, types, codes) == _scan(pending, types, codes)
            assert reads.pending_of(pending, types) == [e for e in pending if e.event_type in types]
        asked = data.draw(st.sampled_from(pool))
        assert reads.pending_event(pending, asked.event_id) is (asked if asked in pending else None)
