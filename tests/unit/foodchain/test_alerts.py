"""Alerts of market entry (进货查验), slaughterhouses and cold chains, opened and closed."""

from __future__ import annotations

from suyuan.events.model import Event
from suyuan.foodchain import (
    MEAT_CERTIFICATES_MISSING,
    MISSING_CERTIFICATE,
    TEMPERATURE_EXCURSION,
    Alert,
    FoodChainMonitor,
    select,
)
from suyuan.intake import Message
from suyuan.scenario import Organisation
from tests.unit.foodchain.chain import Chain


def alerts_of(chain: Chain, kind: str) -> list[Alert]:
    return select(FoodChainMonitor(chain.store).alerts(), kinds=[kind])


def delivered(chain: Chain, certificates: list[str] | None = None) -> tuple[str, str, Event]:
    """A farm lot packed in a case and shipped to the market, which records the receipt."""
    lot, case = chain.lot("LA0506"), chain.case()
    cert = chain.certificate(chain.farm, [lot])
    chain.add(
        chain.farm,
        cert,
        chain.pack(chain.farm, case, [lot]),
        chain.ship(chain.farm, chain.market, [case], "500"),
    )
    shown = [cert.codes[0]] if certificates is None else certificates
    receipt = chain.receive(chain.market, chain.farm, [case], "500", certificates=shown)
    chain.add(chain.market, receipt)
    return lot, case, receipt


# --- missing certificate ------------------------------------------------------------------------


def test_a_certificate_naming_the_lot_inside_the_received_case_is_valid(chain: Chain) -> None:
    delivered(chain)

    assert alerts_of(chain, MISSING_CERTIFICATE) == []


def test_receiving_without_a_certificate_raises_an_alert_against_the_buyer(chain: Chain) -> None:
    _lot, case, receipt = delivered(chain, certificates=[])

    [alert] = alerts_of(chain, MISSING_CERTIFICATE)

    assert alert.alert_id == f"missing_certificate:{receipt.event_id}"
    assert (alert.organisation, alert.region) == (chain.market.uscc, "330105")
    assert alert.organisation_name == chain.market.name
    assert alert.counterparty == chain.farm.uscc
    assert alert.codes == (case,)
    assert alert.opened_at == receipt.occurred_at
    assert alert.status == "open" and "without presenting any" in alert.summary


def test_a_voided_an_unknown_or_a_foreign_certificate_is_not_valid(chain: Chain) -> None:
    other = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("LZ9999")]))[0]
    voided = chain.add(chain.farm, chain.certificate(chain.farm, [chain.lot("LA0506")]))[0]
    chain.add(chain.farm, chain.void(chain.farm, voided.codes[0]))
    unknown = chain.s.certificate_code()

    delivered(chain, certificates=[voided.codes[0], unknown, other.codes[0]])
    [alert] = alerts_of(chain, MISSING_CERTIFICATE)

    assert f"{voided.codes[0]}: voided before the goods were received" in alert.summary
    assert f"{unknown}: no certificate with this code is in the ledger" in alert.summary
    assert f"{other.codes[0]}: it covers other goods" in alert.summary


def test_a_lot_certificate_covers_the_units_of_the_lot(chain: Chain) -> None:
    lot = chain.lot("LA0506")
    cert = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    unit = lot + "(21)000001"
    chain.add(chain.farm, chain.ship(chain.farm, chain.market, [unit], "1"))
    chain.add(
        chain.market,
        chain.receive(chain.market, chain.farm, [unit], "1", certificates=[cert.codes[0]]),
    )

    assert alerts_of(chain, MISSING_CERTIFICATE) == []


def test_a_later_receipt_with_a_valid_certificate_closes_the_alert(chain: Chain) -> None:
    lot, case, _receipt = delivered(chain, certificates=[])
    cert = chain.add(chain.farm, chain.certificate(chain.farm, [lot]))[0]
    again = chain.add(
        chain.market,
        chain.receive(chain.market, chain.farm, [case], "500", certificates=[cert.codes[0]]),
    )[0]

    [alert] = alerts_of(chain, MISSING_CERTIFICATE)

    assert alert.status == "closed"
    assert (alert.closed_reason, alert.closed_at) == ("certificate_presented", again.occurred_at)


def test_returning_or_destroying_the_goods_closes_the_alert(chain: Chain) -> None:
    _lot, case, _receipt = delivered(chain, certificates=[])
    back = chain.add(chain.market, chain.ship(chain.market, chain.farm, [case], "500"))[0]

    [alert] = alerts_of(chain, MISSING_CERTIFICATE)

    assert (alert.closed_reason, alert.closed_at) == ("returned", back.occurred_at)


def test_drugs_and_vaccines_need_no_certificate(chain: Chain) -> None:
    dose = chain.s.drug_code()
    chain.add(chain.cold_store, chain.receive(chain.cold_store, chain.farm, [dose], "1", unit="剂"))

    assert alerts_of(chain, MISSING_CERTIFICATE) == []


def test_imported_goods_with_the_three_certificates_need_no_certificate(chain: Chain) -> None:
    packages = [chain.lot("BR0301", item="10273") + "(21)001"]
    chain.add(
        chain.importer,
        _import(chain, chain.importer, packages, nucleic_acid_passed=True),
        chain.ship(chain.importer, chain.cold_store, packages, "20"),
    )
    chain.add(chain.cold_store, chain.receive(chain.cold_store, chain.importer, packages, "20"))
    assert alerts_of(chain, MISSING_CERTIFICATE) == []


def test_an_import_with_a_failed_document_is_judged_by_the_cold_chain_rules(
    chain: Chain,
) -> None:
    # Imported food has no 合格证: a failed paper is the cold chain's alert, not a second one.
    packages = [chain.lot("BR0302", item="10280") + "(21)001"]
    chain.add(
        chain.importer,
        _import(chain, chain.importer, packages, nucleic_acid_passed=False),
        chain.ship(chain.importer, chain.cold_store, packages, "20"),
    )
    chain.add(chain.cold_store, chain.receive(chain.cold_store, chain.importer, packages, "20"))

    assert alerts_of(chain, MISSING_CERTIFICATE) == []
    assert {a.organisation for a in alerts_of(chain, "import_papers_incomplete")} == {
        chain.importer.uscc,
        chain.cold_store.uscc,
    }
    assert [a.organisation for a in alerts_of(chain, "import_papers_failed")] == [
        chain.importer.uscc
    ]


def _import(
    chain: Chain, importer: Organisation, codes: list[str], *, nucleic_acid_passed: bool
) -> Event:
    return chain.s.event(
        importer,
        "ImportDeclared",
        {
            "product_name": "冷冻去骨牛肉",
            "origin_country": "BR",
            "batch_no": "SIF1234",
            "container_no": "CSQU3054383",
            "production_date": "2026-03-01",
            "shelf_life_days": 730,
            "importer": importer.uscc,
            "customs_declaration_no": None,
            "quarantine_certificate": {"number": "310400126000567", "passed": True},
            "nucleic_acid_test": {"number": "NBHS-1", "passed": nucleic_acid_passed},
            "disinfection_certificate": {"number": "NBXD-1", "passed": True},
        },
        codes=codes,
        quantity="20",
        unit="kg",
    )


# --- meat leaving a slaughterhouse --------------------------------------------------------------


def slaughtered(chain: Chain) -> tuple[str, str]:
    """Pigs slaughtered into a carcass lot, cut into a cuts lot."""
    pigs, carcass, cuts = (
        chain.lot("PIG0506", item="10041"),
        chain.lot("CA0506", item="10058"),
        chain.lot("CU0506", item="10065"),
    )
    chain.add(chain.plant, chain.slaughter([(pigs, "10", "头")], [(carcass, "800", "kg")]))
    cutting = chain.s.event(
        chain.plant,
        "Transformed",
        {
            "process": "CUTTING",
            "inputs": [{"code": carcass, "quantity": "800", "unit": "kg"}],
            "outputs": [{"code": cuts, "quantity": "640", "unit": "kg"}],
        },
        codes=[carcass, cuts],
    )
    chain.add(chain.plant, cutting)
    return carcass, cuts


def test_meat_with_both_certificates_leaves_the_plant_quietly(chain: Chain) -> None:
    carcass, cuts = slaughtered(chain)
    chain.add(chain.plant, chain.quarantine([carcass]), chain.meat_inspection([carcass]))
    chain.add(chain.plant, chain.ship(chain.plant, chain.market, [cuts], "640"))

    assert alerts_of(chain, MEAT_CERTIFICATES_MISSING) == []


def test_meat_without_its_quality_inspection_raises_an_alert(chain: Chain) -> None:
    carcass, cuts = slaughtered(chain)
    chain.add(chain.plant, chain.quarantine([carcass]))
    shipped = chain.add(chain.plant, chain.ship(chain.plant, chain.market, [cuts], "640"))[0]

    [alert] = alerts_of(chain, MEAT_CERTIFICATES_MISSING)

    assert (alert.organisation, alert.region) == (chain.plant.uscc, "330109")
    assert alert.event_id == shipped.event_id and alert.status == "open"
    assert "肉品品质检验合格证" in alert.summary and "动物检疫合格证明" not in alert.summary


def test_meat_with_only_the_live_animal_certificate_raises_an_alert(chain: Chain) -> None:
    carcass, cuts = slaughtered(chain)
    chain.add(chain.plant, chain.quarantine([carcass], form="ANIMAL_B"))
    chain.add(chain.plant, chain.meat_inspection([carcass]))
    chain.add(chain.plant, chain.ship(chain.plant, chain.market, [cuts], "640"))

    [alert] = alerts_of(chain, MEAT_CERTIFICATES_MISSING)

    assert "动物检疫合格证明 (product form" in alert.summary
    assert "肉品品质检验" not in alert.summary


def test_a_failed_meat_inspection_is_no_certificate(chain: Chain) -> None:
    carcass, cuts = slaughtered(chain)
    chain.add(chain.plant, chain.quarantine([carcass]), chain.meat_inspection([cuts], passed=False))
    chain.add(chain.plant, chain.ship(chain.plant, chain.market, [cuts], "640"))

    assert len(alerts_of(chain, MEAT_CERTIFICATES_MISSING)) == 1


def test_recording_the_missing_certificate_closes_the_meat_alert(chain: Chain) -> None:
    carcass, cuts = slaughtered(chain)
    chain.add(chain.plant, chain.meat_inspection([carcass]))
    chain.add(chain.plant, chain.ship(chain.plant, chain.market, [cuts], "640"))
    late = chain.add(chain.plant, chain.quarantine([cuts]))[0]

    [alert] = alerts_of(chain, MEAT_CERTIFICATES_MISSING)

    assert (alert.status, alert.closed_reason) == ("closed", "certificates_recorded")
    assert alert.closed_at == late.occurred_at


def test_only_a_slaughterhouse_slaughters(chain: Chain) -> None:
    pigs, carcass = chain.lot("PIG0507", item="10041"), chain.lot("CA0507", item="10058")
    making = chain.s.event(
        chain.farm,
        "Transformed",
        {
            "process": "SLAUGHTER",
            "inputs": [{"code": pigs, "quantity": "2", "unit": "头"}],
            "outputs": [{"code": carcass, "quantity": "160", "unit": "kg"}],
        },
        codes=[pigs, carcass],
    )
    written = chain.writer.write(0, [Message("farm", chain.s.sign(chain.farm, [making]))])

    [refused] = written.rejections
    assert (refused.reason, refused.field) == ("unauthorised", "payload.process")
    assert alerts_of(chain, MEAT_CERTIFICATES_MISSING) == []


# --- temperature --------------------------------------------------------------------------------


def test_an_excursion_is_closed_by_an_independent_passing_inspection(chain: Chain) -> None:
    package = chain.lot("BR0301", item="10273") + "(21)001"
    record = chain.temperature(chain.cold_store, [package], [-19.5, -16.2, -18.7])
    chain.add(chain.cold_store, record)

    [alert] = alerts_of(chain, TEMPERATURE_EXCURSION)
    assert alert.status == "open" and alert.organisation == chain.cold_store.uscc
    assert alert.opened_at == record.payload["readings"][1]["at"]  # the first reading out

    chain.add(chain.cold_store, chain.inspection(chain.cold_store, [package]))
    [still] = alerts_of(chain, TEMPERATURE_EXCURSION)
    assert still.status == "open", "the holder's own rapid test does not clear its excursion"

    lab_test = chain.inspection(chain.lab, [package], kind="COMMISSIONED_LAB")
    checked = chain.add(chain.lab, lab_test)[0]
    [closed] = alerts_of(chain, TEMPERATURE_EXCURSION)
    assert (closed.closed_reason, closed.closed_at) == ("passed_inspection", checked.occurred_at)


def test_readings_in_range_raise_nothing(chain: Chain) -> None:
    package = chain.lot("BR0301", item="10273") + "(21)001"
    chain.add(chain.cold_store, chain.temperature(chain.cold_store, [package], [-19.5, -18.0]))

    assert alerts_of(chain, TEMPERATURE_EXCURSION) == []
