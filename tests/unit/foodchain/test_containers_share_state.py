"""A case or pallet is what it holds: scanned, it shows the state of what is packed in it now
(docs/verdicts.md, "Containers")."""

from __future__ import annotations

from suyuan.trace import Tracer
from tests.unit.foodchain.chain import Chain


def test_a_case_holding_a_recalled_lot_is_recalled_until_the_lot_is_taken_out(
    chain: Chain,
) -> None:
    lot, other, case = chain.lot("A1"), chain.lot("A2"), chain.case()
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    chain.add(chain.farm, chain.certificate(chain.farm, [other]))
    chain.add(chain.farm, chain.pack(chain.farm, case, [lot, other]))
    assert Tracer(chain.store).trace(case).verdict.state == "ok"

    chain.add(chain.bureau, chain.recall([lot]))

    scanned = Tracer(chain.store).trace(case)
    assert scanned.verdict.state == "recalled", "the case's QR is as red as the lot inside"
    assert [f.rule_id for f in scanned.verdict.findings] == ["recall_open"]

    chain.add(chain.farm, chain.unpack(chain.farm, case, [lot]))

    assert Tracer(chain.store).trace(case).verdict.state == "ok", "the lot left the case"
    assert Tracer(chain.store).trace(lot).verdict.state == "recalled"


def test_a_pallet_shows_a_frozen_lot_two_levels_down(chain: Chain) -> None:
    lot, case, pallet = chain.lot("B1"), chain.case(), chain.case()
    chain.add(chain.farm, chain.certificate(chain.farm, [lot]))
    chain.add(chain.farm, chain.pack(chain.farm, case, [lot]))
    chain.add(chain.farm, chain.pack(chain.farm, pallet, [case]))

    chain.add(chain.bureau, chain.inspection(chain.bureau, [lot], passed=False))

    assert Tracer(chain.store).trace(pallet).verdict.state == "frozen"
