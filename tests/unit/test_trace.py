"""Tracing the demo chain: backward to the farm, forward to every holder, status of each code."""

from __future__ import annotations

from pathlib import Path

import pytest

from suyuan.errors import CodeError
from suyuan.trace import Trace, TraceBudget, Tracer, trace_json
from suyuan.verdict import advice
from suyuan_demo import DemoData
from tests.demo_ledger import load_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoData, Tracer]:
    path: Path = tmp_path_factory.mktemp("trace") / "ledger.sqlite"
    data, store = load_demo(f"sqlite:///{path}", seed=5)
    return data, Tracer(store)


def test_sold_lot_traces_back_to_the_farm_through_market_and_supermarket(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    trace = tracer.trace(data.codes["sold lot"])

    assert trace.status == "ok"
    assert trace.product == {"name": "小青菜", "category": "VEGETABLES"}
    assert trace.origin is not None and trace.origin["name"] == "临安区太湖源蔬菜专业合作社"
    hops = [(t.event.event_type, t.actor_name) for t in trace.custody]
    assert ("Shipped", "临安区太湖源蔬菜专业合作社") in hops, "the case's shipment, while packed"
    assert hops[-1] == ("Sold", "联华超市（文三路店）")
    assert [t.event.payload["issuer_type"] for t in trace.certificates] == ["PRODUCER", "PURCHASER"]
    assert [t.event.payload["passed"] for t in trace.inspections] == [True]
    times = [t.event.occurred_at for t in trace.custody]
    assert times == sorted(times)


def test_forward_trace_of_farm_certificate_reaches_every_holder_with_quantities(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    trace = tracer.trace(data.codes["clean certificate"], full=True)

    assert trace.holders is not None and trace.forward_codes is not None
    held = {h.name: h.quantities for h in trace.holders}
    assert held == {
        "杭州农副产品物流中心": (("500", "kg"),),
        "联华超市（文三路店）": (("120", "kg"),),
    }
    assert data.codes["purchaser certificate"] in trace.forward_codes
    assert data.codes["sold lot"] in trace.forward_codes


def test_statuses_recalled_voided(demo: tuple[DemoData, Tracer]) -> None:
    data, tracer = demo
    recalled = tracer.trace(data.codes["recalled lot"])
    voided = tracer.trace(data.codes["voided certificate"])

    assert recalled.status == "recalled" and "毒死蜱" in recalled.reasons[0]
    assert voided.status == "replaced" and "作废" in voided.reasons[0]


def test_a_failed_test_item_shows_its_limit_as_written(demo: tuple[DemoData, Tracer]) -> None:
    data, tracer = demo

    recalled = tracer.trace(data.codes["recalled lot"]).reasons
    frozen = tracer.trace(data.codes["frozen cold-chain unit"]).reasons

    assert "OFFICIAL_SAMPLING: 毒死蜱 0.08 mg/kg (≤0.02)" in recalled
    assert any(r.endswith("阳性 (阴性)") for r in frozen)


def test_public_view_hides_commercial_details_full_view_keeps_them(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    trace = tracer.trace(data.codes["sold lot"], full=True)
    public = trace_json(trace, public=True)
    full = trace_json(trace, public=False)

    def payloads(body: dict[str, object]) -> list[dict[str, object]]:
        return [e["payload"] for e in body["custody"]]  # type: ignore[index,union-attr]

    assert all("waybill_no" not in p and "receipt_no" not in p for p in payloads(public))
    assert any("waybill_no" in p for p in payloads(full))
    assert "forward" not in public and "forward" in full
    assert all(e["ledger"]["seq"] >= 0 for e in public["custody"])  # type: ignore[index]


def test_any_spelling_of_a_code_gives_the_same_trace_and_bad_codes_say_why(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    lot = data.codes["sold lot"]
    digital_link = "https://id.gs1.org/01/" + lot[4:18] + "/10/" + lot.split("(10)")[1]
    assert tracer.trace(digital_link).code == lot
    with pytest.raises(CodeError) as err:
        tracer.trace("not a code")
    assert err.value.field == "code"
    assert not tracer.trace("(01)09506000134352").found


def test_cold_chain_unit_shows_the_three_certificates_and_the_temperature_excursion(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    unit = tracer.trace(data.codes["cold-chain unit"])
    frozen = tracer.trace(data.codes["frozen cold-chain unit"])

    declared = [t for t in unit.documents if t.event.event_type == "ImportDeclared"]
    assert declared and declared[0].event.payload["nucleic_acid_test"]["passed"] is True
    assert unit.temperature is not None
    assert [e["celsius"] for e in unit.temperature["excursions"]] == [-16.2]
    assert [a.kind for a in unit.alerts if a.status == "open"] == ["temperature_excursion"]
    assert frozen.status == "frozen" and "NUCLEIC_ACID" in frozen.reasons[0]


def test_vaccine_dose_reaches_the_arm_and_the_public_never_sees_the_pseudonym(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    trace = tracer.trace(data.codes["vaccine unit"], full=True)

    assert trace.product == {"name": "乙型肝炎疫苗(酿酒酵母)", "category": None}
    kinds = [t.event.event_type for t in trace.custody]
    assert kinds[0] == "VaccineLotReleased" and kinds[-1] == "VaccineAdministered"
    public = str(trace_json(trace, public=True))
    full = str(trace_json(trace, public=False))
    assert "rp1:" not in public and "rp1:" in full


def test_goods_past_their_expiry_are_expired_unless_a_stronger_status_applies(
    demo: tuple[DemoData, Tracer],
) -> None:
    from datetime import date

    data, tracer = demo
    dose = data.codes["vaccine unit"]
    fresh = tracer.trace(dose, today=date(2027, 1, 1))
    stale = tracer.trace(dose, today=date(2029, 4, 1))
    frozen = tracer.trace(data.codes["frozen cold-chain unit"], today=date(2031, 1, 1))

    assert fresh.status == "ok" and fresh.expires_on == date(2029, 3, 31)
    assert stale.status == "expired" and stale.reasons == ["expired on 2029-03-31"]
    assert frozen.status == "frozen", "a failed test says more than the date"
    assert frozen.expires_on == date(2028, 2, 29)  # produced 2026-03-01, 730 days of shelf life


def test_whoever_held_the_case_held_the_lot_packed_in_it(demo: tuple[DemoData, Tracer]) -> None:
    data, tracer = demo
    scope = tracer.recall_scope([data.codes["sold lot"]])

    held = {h.name: h.quantities for h in scope.holders}
    # The market received the farm's case (the lot inside it), then sold on part of the lot.
    assert held == {
        "杭州农副产品物流中心": (("500", "kg"),),
        "联华超市（文三路店）": (("120", "kg"),),
    }
    assert scope.codes == (data.codes["sold lot"],)
    assert scope.complete


def test_a_walk_cut_at_the_limit_says_so(
    demo: tuple[DemoData, Tracer], monkeypatch: pytest.MonkeyPatch
) -> None:
    import suyuan.codegraph

    data, tracer = demo
    monkeypatch.setattr(suyuan.codegraph, "MAX_CODES", 1)
    scope = tracer.recall_scope([data.codes["clean certificate"]])
    trace = tracer.trace(data.codes["clean certificate"], full=True)

    assert not scope.complete
    assert not trace.complete
    assert trace_json(trace, public=False)["complete"] is False
    monkeypatch.setattr(suyuan.codegraph, "MAX_CODES", 2_000_000)
    assert tracer.recall_scope([data.codes["clean certificate"]]).complete


def _shown(trace: Trace) -> list[str]:
    events = [*trace.certificates, *trace.inspections, *trace.documents, *trace.custody]
    return [t.event.event_id for t in events]


@pytest.mark.parametrize(
    "budget",
    [
        TraceBudget(codes=1, events=10_000, bytes=10**9),
        TraceBudget(codes=10_000, events=3, bytes=10**9),
        TraceBudget(codes=10_000, events=10_000, bytes=3_000),
    ],
    ids=["codes", "events", "bytes"],
)
def test_a_budget_cuts_the_trace_nearest_first_and_says_so(
    demo: tuple[DemoData, Tracer], budget: TraceBudget
) -> None:
    data, tracer = demo
    code = data.codes["sold lot"]
    whole = tracer.trace(code)
    cut = tracer.trace(code, budget=budget)

    assert whole.complete and not cut.complete
    assert 0 < len(_shown(cut)) < len(_shown(whole))
    assert len(cut.upstream_codes) < budget.codes
    # Events about the code itself come before those of what it came from.
    assert any(code in t.event.codes for t in cut.custody)


def test_a_budgeted_full_view_walks_forward_only_as_far_as_its_budget(
    demo: tuple[DemoData, Tracer],
) -> None:
    # A producer's full view is budgeted; a regulator's is not (it is walked as a recall's
    # scope): both must give the same answer where the budget does not cut.
    data, tracer = demo
    code = data.codes["clean certificate"]
    whole = tracer.trace(code, full=True)
    fits = tracer.trace(code, full=True, budget=TraceBudget(codes=1_000, events=1_000, bytes=10**7))
    cut = tracer.trace(code, full=True, budget=TraceBudget(codes=2, events=10_000, bytes=10**9))

    assert whole.complete and fits.complete and not cut.complete
    assert fits.forward_codes == whole.forward_codes and fits.holders == whole.holders
    assert whole.forward_codes is not None and cut.forward_codes is not None
    assert len(whole.forward_codes) > 1 and len(cut.forward_codes) <= 1


def test_a_budget_the_trace_fits_in_changes_nothing(demo: tuple[DemoData, Tracer]) -> None:
    data, tracer = demo
    code = data.codes["sold lot"]

    budgeted = tracer.trace(code, budget=TraceBudget(codes=100, events=100, bytes=10**6))

    assert budgeted.complete
    assert trace_json(budgeted, public=True) == trace_json(tracer.trace(code), public=True)


def test_a_certificate_shares_the_state_of_the_goods_it_covers(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    lot = tracer.trace(data.codes["recalled lot"])
    certificate = next(
        c for c in lot.certificates[0].event.codes if c != data.codes["recalled lot"]
    )

    scanned = tracer.trace(certificate)

    assert scanned.status == "recalled", "the certificate's QR is as red as its lot"
    assert [f.rule_id for f in scanned.verdict.findings][:1] == ["recall_open"]
    assert scanned.inspections, "the certificate's page shows the tests of its lot"


def test_goods_taken_in_without_a_certificate_ask_for_attention(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    taken_in = tracer.trace(data.codes["lot received without certificate"])

    assert taken_in.status == "attention"
    assert [f.rule_id for f in taken_in.verdict.findings] == ["missing_certificate"]
    assert trace_json(taken_in, public=True)["alerts"][0] == {
        "kind": "missing_certificate",
        "status": "open",
        "opened_at": taken_in.alerts[0].opened_at.isoformat(),
        "closed_at": None,
    }, "the public sees that an alert is open, not against whom"


def test_a_vaccine_dose_is_advised_as_a_vaccine_though_its_code_is_a_drug_code(
    demo: tuple[DemoData, Tracer],
) -> None:
    data, tracer = demo
    dose = tracer.trace(data.codes["vaccine unit"])

    assert dose.kind == "drug" and dose.verdict.product == "vaccine"
    assert "接种单位" in advice("recalled", dose.verdict.product, "consumer", "zh")
