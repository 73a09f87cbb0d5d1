"""The vaccine (浙苗链) and drug rules: alerts opened and closed, refusals, and the verdict a
consumer sees. A maker (余杭), a CDC and a clinic (西湖), a pharmacy, on a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from suyuan.events.model import Event
from suyuan.foodchain import (
    ALERT_KINDS,
    DRUG_RESOLD,
    PRIVATE_ALERT_KINDS,
    SERIOUS_ADVERSE_EVENT,
    TEMPERATURE_EXCURSION,
    VACCINE_RECEIPT_UNCHECKED,
    VACCINE_USE_BLOCKED,
    Alert,
    FoodChainMonitor,
    select,
)
from suyuan.intake import Message
from suyuan.ledger import TRUST_SHARD
from suyuan.scenario import Organisation
from suyuan.trace import Tracer, trace_json
from suyuan.verdict import RULES
from tests.unit.foodchain.chain import Chain

TODAY = date(2026, 5, 6)


@dataclass
class Vax:
    chain: Chain
    maker: Organisation
    cdc: Organisation
    clinic: Organisation
    pharmacy: Organisation

    @property
    def s(self) -> Any:
        return self.chain.s

    def add(self, org: Organisation, *events: Event) -> list[Event]:
        return self.chain.add(org, *events)

    def refused(self, org: Organisation, event: Event) -> tuple[str, str]:
        written = self.chain.writer.write(0, [Message("test", self.s.sign(org, [event]))])
        assert written.accepted == 0
        [rejection] = written.rejections
        return rejection.reason, rejection.rule

    def alerts(self, kind: str) -> list[Alert]:
        return select(FoodChainMonitor(self.chain.store).alerts(), kinds=[kind])

    def trace(self, code: str) -> Any:
        return Tracer(self.chain.store).trace(code, today=TODAY)

    # --- events ---------------------------------------------------------------------------------

    def release(self, codes: Sequence[str], expiry: str = "2029-03-31") -> Event:
        return self.s.event(
            self.maker,
            "VaccineLotReleased",
            {
                "product_name": "乙型肝炎疫苗(酿酒酵母)",
                "lot_no": "202604015",
                "manufacturer": self.maker.uscc,
                "release_certificate_no": "SJ20260415-0321",
                "release_authority": "中国食品药品检定研究院",
                "expiry_date": expiry,
            },
            codes=list(codes),
            quantity=str(len(codes)),
            unit="剂",
        )

    def temperature(
        self, org: Organisation, codes: Sequence[str], readings: Sequence[float]
    ) -> Event:
        return self.s.event(
            org,
            "TemperatureRecorded",
            {
                "device_id": "VT-0571-09",
                "container_no": None,
                "readings": [{"at": self.s.tick(5).isoformat(), "celsius": c} for c in readings],
                "min_celsius": 2.0,
                "max_celsius": 8.0,
            },
            codes=list(codes),
        )

    def deliver(
        self,
        sender: Organisation,
        to: Organisation,
        codes: Sequence[str],
        *,
        readings: Sequence[float] | None = (5.0, 5.5),
    ) -> Event:
        """Ship ``codes`` from ``sender`` to ``to`` with a transport temperature record (unless
        ``readings`` is None), and record the receipt; returns the receipt."""
        self.add(sender, self.chain.ship(sender, to, codes, str(len(codes)), unit="剂"))
        if readings is not None:
            self.add(sender, self.temperature(sender, codes, readings))
        return self.add(to, self.chain.receive(to, sender, codes, str(len(codes)), unit="剂"))[0]

    def shot(self, code: str, org: Organisation | None = None, person: str = "a") -> Event:
        clinic = org or self.clinic
        return self.s.event(
            clinic,
            "VaccineAdministered",
            {
                "clinic_name": clinic.name,
                "dose_no": 1,
                "recipient_pseudonym": f"rp1-test-recipient-{person}-0000",
            },
            codes=[code],
            quantity="1",
            unit="剂",
        )

    def aefi(
        self, code: str, shot: Event, *, serious: bool, classification: str = "PENDING"
    ) -> Event:
        return self.s.event(
            self.clinic,
            "AdverseEventReported",
            {
                "recipient_pseudonym": "rp1-test-recipient-a-0000",
                "administered_event_id": shot.event_id,
                "onset_at": self.s.tick(30).isoformat(),
                "classification": classification,
                "serious": serious,
                "symptoms": "高热39.5℃，惊厥一次",
                "report_no": "AEFI-330106-20260506-001",
            },
            codes=[code],
        )

    def stocked(self, doses: int = 2, *, expiry: str = "2029-03-31") -> list[str]:
        """A released lot delivered maker → CDC → clinic with temperature records."""
        codes = [self.s.drug_code() for _ in range(doses)]
        self.add(self.maker, self.release(codes, expiry))
        self.deliver(self.maker, self.cdc, codes)
        self.deliver(self.cdc, self.clinic, codes)
        return codes


@pytest.fixture
def vax(tmp_path: Path) -> Iterator[Vax]:
    chain = Chain.open(tmp_path / "ledger.sqlite")
    s = chain.s
    orgs = {
        "maker": s.organisation(
            "浙江某生物制品有限公司", ["VACCINE_MAKER"], "330110", "杭州市余杭区文一西路998号"
        ),
        "cdc": s.organisation(
            "杭州市西湖区疾病预防控制中心", ["CDC"], "330106", "杭州市西湖区保俶北路"
        ),
        "clinic": s.organisation(
            "西湖区北山街道社区卫生服务中心", ["CLINIC"], "330106", "杭州市西湖区北山街道"
        ),
        "pharmacy": s.organisation(
            "杭州海王星辰大药房（文三路店）", ["PHARMACY"], "330106", "杭州市西湖区文三路"
        ),
    }
    trust = s.registration(*orgs.values())
    written = chain.writer.write(TRUST_SHARD, [Message("trust", s.sign_as_root(trust))])
    assert written.accepted == len(trust), written.rejections
    yield Vax(chain, **orgs)
    chain.store.close()


def test_every_kind_is_listed_and_only_the_private_one_has_no_verdict_rule() -> None:
    kinds = {VACCINE_USE_BLOCKED, VACCINE_RECEIPT_UNCHECKED, SERIOUS_ADVERSE_EVENT, DRUG_RESOLD}

    assert kinds <= set(ALERT_KINDS)
    assert {k for k in kinds if k not in RULES} == PRIVATE_ALERT_KINDS == {SERIOUS_ADVERSE_EVENT}


# --- administration -----------------------------------------------------------------------------


def test_a_dose_through_the_cdc_with_its_records_is_given_without_an_alert(vax: Vax) -> None:
    dose, _ = vax.stocked()
    vax.add(vax.clinic, vax.shot(dose))

    every = FoodChainMonitor(vax.chain.store).alerts()
    verdict = vax.trace(dose).verdict

    assert every == []
    assert (verdict.state, verdict.product) == ("ok", "vaccine")


def test_a_dose_given_twice_is_recorded_and_blocked(vax: Vax) -> None:
    dose, _ = vax.stocked()
    first = vax.add(vax.clinic, vax.shot(dose, person="a"))[0]
    second = vax.add(vax.clinic, vax.shot(dose, person="b"))[0]

    [alert] = vax.alerts(VACCINE_USE_BLOCKED)
    trace = vax.trace(dose)

    assert alert.alert_id == f"vaccine_use_blocked:{second.event_id}"
    assert (alert.organisation, alert.region, alert.status) == (vax.clinic.uscc, "330106", "open")
    assert f"already administered on {first.occurred_at.isoformat()}" in alert.summary
    assert trace.verdict.state == "blocked"
    assert [f.rule_id for f in trace.verdict.findings] == ["vaccine_use_blocked"]
    assert trace.verdict.advice("zh") == "该疫苗不得接种。如已接种，请联系接种单位。"


def test_a_clinic_cannot_give_a_dose_still_at_the_cdc(vax: Vax) -> None:
    dose = vax.s.drug_code()
    vax.add(vax.maker, vax.release([dose]))
    vax.deliver(vax.maker, vax.cdc, [dose])

    reason, rule = vax.refused(vax.clinic, vax.shot(dose))

    assert reason == "not_in_custody"
    assert "holds neither this code" in rule


def test_a_supermarket_cannot_administer_a_dose(vax: Vax) -> None:
    dose, _ = vax.stocked()
    shop = vax.chain.shop

    reason, _rule = vax.refused(shop, vax.shot(dose, org=shop))

    assert reason == "unauthorised"
    assert vax.alerts(VACCINE_USE_BLOCKED) == []


def test_a_dose_given_under_recall_names_the_recall_and_reads_recalled(vax: Vax) -> None:
    dose, other = vax.stocked()
    vax.add(vax.chain.bureau, vax.chain.recall([dose, other]))
    vax.add(vax.clinic, vax.shot(dose))

    [alert] = vax.alerts(VACCINE_USE_BLOCKED)
    page = trace_json(vax.trace(dose), public=True)

    assert "under recall (监督抽检毒死蜱超标)" in alert.summary
    assert page["verdict"]["state"] == "recalled"
    assert [f["rule"] for f in page["verdict"]["findings"]] == [
        "recall_open",
        "vaccine_use_blocked",
    ]
    assert "请勿食用" not in str(page["verdict"]["advice"])
    assert (
        page["verdict"]["advice"]["zh"]["consumer"] == "该疫苗正在召回。如已接种，请联系接种单位。"
    )


def test_a_dose_given_expired_from_the_maker_after_15_degrees_names_every_reason(
    vax: Vax,
) -> None:
    dose = vax.s.drug_code()
    vax.add(vax.maker, vax.release([dose], expiry="2026-05-07"))
    receipt = vax.deliver(vax.maker, vax.clinic, [dose], readings=(5.0, 15.0))
    vax.s.clock = vax.s.clock.replace(day=9)  # two days after the expiry date
    shot = vax.add(vax.clinic, vax.shot(dose))[0]

    alerts = vax.alerts(VACCINE_USE_BLOCKED)
    [given] = [a for a in alerts if a.event_id == shot.event_id]
    [stock] = [a for a in alerts if a.event_id == receipt.event_id]
    verdict = vax.trace(dose).verdict

    assert "it expired on 2026-05-07" in given.summary
    assert "did not come through a CDC (疫苗管理法 第35条)" in given.summary
    assert "open temperature excursion" in given.summary
    assert "no lot release" not in given.summary and "already" not in given.summary
    assert "did not come through a CDC" in stock.summary and stock.status == "open"
    assert verdict.state == "blocked"
    assert {f.rule_id for f in verdict.findings} >= {"vaccine_use_blocked", "temperature_excursion"}


def test_a_dose_is_in_date_on_its_expiry_day(vax: Vax) -> None:
    [dose] = vax.stocked(1, expiry="2026-05-07")
    vax.s.clock = vax.s.clock.replace(day=7, hour=20)
    vax.add(vax.clinic, vax.shot(dose))

    assert vax.alerts(VACCINE_USE_BLOCKED) == []


def test_the_expiry_day_ends_at_midnight_in_china(vax: Vax) -> None:
    [dose] = vax.stocked(1, expiry="2026-05-07")
    vax.s.clock = datetime(2026, 5, 8, 0, 50, tzinfo=timezone(timedelta(hours=8)))
    shot = vax.add(vax.clinic, vax.shot(dose))[0]  # still 7 May in UTC

    [alert] = vax.alerts(VACCINE_USE_BLOCKED)

    assert shot.occurred_at.astimezone(UTC).date() == date(2026, 5, 7)
    assert alert.summary == "dose administered although it expired on 2026-05-07"


def test_a_dose_without_lot_release_or_under_a_freeze_is_blocked(vax: Vax) -> None:
    dose, released = vax.s.drug_code(), vax.s.drug_code()
    vax.add(vax.maker, vax.release([released]))
    for code in (dose, released):
        vax.deliver(vax.maker, vax.cdc, [code])
        vax.deliver(vax.cdc, vax.clinic, [code])
    vax.add(vax.chain.lab, vax.chain.inspection(vax.chain.lab, [released], passed=False))
    vax.add(vax.clinic, vax.shot(dose), vax.shot(released, person="b"))

    summaries = sorted(a.summary for a in vax.alerts(VACCINE_USE_BLOCKED))

    assert len(summaries) == 2
    assert "no lot release (批签发) of it was recorded" in summaries[1]
    assert "frozen: RAPID_TEST inspection failed" in summaries[0]


# --- vaccine stock at a clinic ------------------------------------------------------------------


def test_vaccine_straight_from_the_maker_is_blocked_at_the_clinic_until_returned(
    vax: Vax,
) -> None:
    doses = [vax.s.drug_code(), vax.s.drug_code()]
    vax.add(vax.maker, vax.release(doses))
    receipt = vax.deliver(vax.maker, vax.clinic, doses)

    [alert] = vax.alerts(VACCINE_USE_BLOCKED)
    before = vax.trace(doses[0]).verdict
    back = vax.add(vax.clinic, vax.chain.ship(vax.clinic, vax.maker, doses, "2", unit="剂"))[0]
    [after] = vax.alerts(VACCINE_USE_BLOCKED)

    assert (alert.event_id, alert.counterparty) == (receipt.event_id, vax.maker.uscc)
    assert before.state == "blocked"
    assert before.advice("zh", "holder") == "不得接种：封存该疫苗并报告疾控机构。"
    assert (after.status, after.closed_reason, after.closed_at) == (
        "closed",
        "returned",
        back.occurred_at,
    )
    assert vax.trace(doses[0]).verdict.state == "ok"


def test_an_excursion_at_the_cdc_blocks_the_clinic_stock_until_inspected(vax: Vax) -> None:
    doses = [vax.s.drug_code(), vax.s.drug_code()]
    vax.add(vax.maker, vax.release(doses))
    vax.deliver(vax.maker, vax.cdc, doses)
    vax.add(vax.cdc, vax.temperature(vax.cdc, doses, [4.0, 12.5]))
    receipt = vax.deliver(vax.cdc, vax.clinic, doses)

    [alert] = vax.alerts(VACCINE_USE_BLOCKED)
    blocked = vax.trace(doses[1]).verdict.state
    vax.add(vax.chain.lab, vax.chain.inspection(vax.chain.lab, doses, passed=True))
    [after] = vax.alerts(VACCINE_USE_BLOCKED)

    assert alert.event_id == receipt.event_id and "open temperature excursion" in alert.summary
    assert blocked == "blocked"
    assert (after.status, after.closed_reason) == ("closed", "passed_inspection")
    assert [a.status for a in vax.alerts(TEMPERATURE_EXCURSION)] == ["closed"]
    assert vax.trace(doses[1]).verdict.state == "ok"


# --- vaccine receipt without a temperature record ----------------------------------------------


def test_a_receipt_without_a_transport_temperature_record_raises_attention(vax: Vax) -> None:
    dose = vax.s.drug_code()
    vax.add(vax.maker, vax.release([dose]))
    receipt = vax.deliver(vax.maker, vax.cdc, [dose], readings=None)

    [alert] = vax.alerts(VACCINE_RECEIPT_UNCHECKED)
    verdict = vax.trace(dose).verdict

    assert (alert.event_id, alert.organisation, alert.counterparty) == (
        receipt.event_id,
        vax.cdc.uscc,
        vax.maker.uscc,
    )
    assert alert.status == "open"
    assert verdict.state == "attention"
    assert [f.rule_id for f in verdict.findings] == ["vaccine_receipt_unchecked"]


def test_a_late_temperature_record_of_the_transport_closes_it(vax: Vax) -> None:
    dose = vax.s.drug_code()
    vax.add(vax.maker, vax.release([dose]))
    ship = vax.add(vax.maker, vax.chain.ship(vax.maker, vax.cdc, [dose], "1", unit="剂"))[0]
    record = vax.s.event(
        vax.maker,
        "TemperatureRecorded",
        {
            "device_id": "VT-0571-09",
            "container_no": None,
            "readings": [{"at": vax.s.tick(3).isoformat(), "celsius": 4.5}],
            "min_celsius": 2.0,
            "max_celsius": 8.0,
        },
        codes=[dose],
        at=vax.s.clock.replace(hour=23),
    )
    vax.add(vax.cdc, vax.chain.receive(vax.cdc, vax.maker, [dose], "1", unit="剂"))
    vax.add(vax.maker, record)

    [alert] = vax.alerts(VACCINE_RECEIPT_UNCHECKED)

    assert ship.occurred_at < alert.opened_at < record.occurred_at
    assert (alert.status, alert.closed_reason) == ("closed", "temperature_record_presented")
    assert vax.trace(dose).verdict.state == "ok"


def test_food_received_by_a_cdc_and_vaccine_by_a_distributor_are_not_vaccine_receipts(
    vax: Vax,
) -> None:
    dose = vax.s.drug_code()
    vax.add(vax.maker, vax.release([dose]))
    vax.deliver(vax.maker, vax.chain.cold_store, [dose], readings=None)

    assert vax.alerts(VACCINE_RECEIPT_UNCHECKED) == []


# --- serious adverse events ---------------------------------------------------------------------


def test_a_serious_aefi_alerts_regulators_and_never_shows_in_public(vax: Vax) -> None:
    dose, other = vax.stocked()
    shot = vax.add(vax.clinic, vax.shot(dose))[0]
    mild = vax.add(vax.clinic, vax.shot(other, person="b"))[0]
    report = vax.add(vax.clinic, vax.aefi(dose, shot, serious=True))[0]
    vax.add(vax.clinic, vax.aefi(other, mild, serious=False))

    [alert] = vax.alerts(SERIOUS_ADVERSE_EVENT)
    trace = vax.trace(dose)
    public = trace_json(trace, public=True)
    full = trace_json(trace, public=False, health_reports=True)  # a regulator's
    holders = trace_json(trace, public=False)  # the full view of an organisation that held it

    assert (alert.event_id, alert.status, alert.region) == (report.event_id, "open", "330106")
    assert "classification PENDING" in alert.summary and "惊厥" not in alert.summary
    assert trace.verdict.state == "ok"
    assert SERIOUS_ADVERSE_EVENT not in str(public) and report.event_id not in str(public)
    assert [a["kind"] for a in full["alerts"]] == [SERIOUS_ADVERSE_EVENT]
    assert SERIOUS_ADVERSE_EVENT not in str(holders) and report.event_id not in str(holders)


def test_a_later_classification_closes_the_serious_aefi(vax: Vax) -> None:
    [dose] = vax.stocked(1)
    shot = vax.add(vax.clinic, vax.shot(dose))[0]
    vax.add(vax.clinic, vax.aefi(dose, shot, serious=True))
    decided = vax.add(
        vax.clinic, vax.aefi(dose, shot, serious=True, classification="RARE_REACTION")
    )[0]

    [first, second] = sorted(vax.alerts(SERIOUS_ADVERSE_EVENT), key=lambda a: a.opened_at)

    assert (first.status, first.closed_reason, first.closed_at) == (
        "closed",
        "classified",
        decided.occurred_at,
    )
    assert second.status == "open"


# --- drugs --------------------------------------------------------------------------------------


def _dispense(vax: Vax, code: str) -> Event:
    return vax.s.event(
        vax.pharmacy,
        "Dispensed",
        {"kind": "OVER_THE_COUNTER", "insurance_settlement_no": None},
        codes=[code],
        quantity="1",
        unit="盒",
    )


def _stock_drug(vax: Vax, codes: Sequence[str]) -> None:
    vax.add(vax.chain.cold_store, vax.chain.receive(vax.chain.cold_store, vax.maker, codes, "2"))
    vax.add(vax.chain.cold_store, vax.chain.ship(vax.chain.cold_store, vax.pharmacy, codes, "2"))
    vax.add(vax.pharmacy, vax.chain.receive(vax.pharmacy, vax.chain.cold_store, codes, "2"))


def test_a_drug_code_dispensed_twice_is_a_resold_drug(vax: Vax) -> None:
    box, other = vax.s.drug_code("8690001"), vax.s.drug_code("8690001")
    _stock_drug(vax, [box, other])
    first = vax.add(vax.pharmacy, _dispense(vax, box))[0]
    vax.add(vax.pharmacy, _dispense(vax, other))
    again = vax.add(vax.pharmacy, vax.chain.sell(vax.pharmacy, [box], "1"))[0]

    [alert] = vax.alerts(DRUG_RESOLD)
    trace = vax.trace(box)

    assert (alert.event_id, alert.codes, alert.counterparty) == (
        again.event_id,
        (box,),
        vax.pharmacy.uscc,
    )
    assert f"first dispensed on {first.occurred_at.isoformat()}" in alert.summary
    assert (trace.verdict.state, trace.verdict.product) == ("attention", "drug")
    assert trace.verdict.advice("zh") == "记录中有未解决的问题（见上方原因），请咨询药师。"
    assert vax.trace(other).verdict.state == "ok"


def test_a_wholesale_sale_then_a_retail_sale_is_not_a_resale(vax: Vax) -> None:
    [box] = [vax.s.drug_code("8690001")]
    _stock_drug(vax, [box])
    wholesale = vax.s.event(
        vax.pharmacy,
        "Sold",
        {"channel": "WHOLESALE", "buyer": vax.chain.shop.uscc, "receipt_no": None},
        codes=[box],
        quantity="1",
        unit="盒",
    )
    vax.add(vax.pharmacy, wholesale, vax.chain.ship(vax.pharmacy, vax.chain.shop, [box], "1"))
    vax.add(vax.chain.shop, vax.chain.receive(vax.chain.shop, vax.pharmacy, [box], "1"))
    vax.add(vax.chain.shop, vax.chain.sell(vax.chain.shop, [box], "1"))

    assert vax.alerts(DRUG_RESOLD) == []


def test_the_trace_and_the_regulators_list_give_the_same_alerts(vax: Vax) -> None:
    dose = vax.s.drug_code()
    vax.add(vax.maker, vax.release([dose], expiry="2026-05-07"))
    vax.deliver(vax.maker, vax.clinic, [dose], readings=None)
    vax.s.clock = vax.s.clock.replace(day=9)
    vax.add(vax.clinic, vax.shot(dose), vax.shot(dose, person="b"))

    every = {a.alert_id: a for a in FoodChainMonitor(vax.chain.store).alerts()}
    traced = {a.alert_id: a for a in vax.trace(dose).alerts}

    assert traced == every
    assert sorted(a.kind for a in every.values()) == [
        VACCINE_RECEIPT_UNCHECKED,
        VACCINE_USE_BLOCKED,
        VACCINE_USE_BLOCKED,
        VACCINE_USE_BLOCKED,
    ]
