"""Content rules of the event contract: one test per rule (design.md §3, §4)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from suyuan.errors import CodeError, EventValidationError, InvalidInputError
from suyuan.events import Event, event_from_json, validate_event
from suyuan.events._codec import default_codec
from tests.unit.events import example

VEG_CASE = "(01)06901234100105(10)LA20240506"
ID_NUMBER = "33010619900101123X"


def _invalid(
    obj: dict[str, Any], error: type[InvalidInputError] = EventValidationError
) -> InvalidInputError:
    event = event_from_json(obj)
    with pytest.raises(error) as caught:
        validate_event(event)
    assert type(caught.value) is error
    return caught.value


@pytest.mark.parametrize("event_type", sorted(default_codec().shape.payload.branches))
def test_every_example_is_valid(event_type: str) -> None:
    validate_event(event_from_json(example(event_type)))


# --- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["0E3A8C5E-7B1D-4F2A-9C6B-000000000001", "0e3a8c5e7b1d4f2a9c6b000000000001", "1"]
)
def test_event_id_is_a_lower_case_uuid(value: str) -> None:
    obj = example("Shipped")
    obj["event_id"] = value
    err = _invalid(obj)
    assert (err.field, err.rule) == ("event_id", "must be a UUID in lower-case 8-4-4-4-12 form")


def test_actor_must_be_a_valid_uscc() -> None:
    obj = example("Shipped")
    obj["actor"] = "N2330185MA2H4K7Q15"
    err = _invalid(obj, CodeError)
    assert err.field == "actor"
    assert "check character" in err.rule


def test_actor_must_be_in_canonical_form() -> None:
    obj = example("Shipped")
    obj["actor"] = "n2330185ma2h4k7q14"
    err = _invalid(obj, CodeError)
    assert err.field == "actor"
    assert "canonical form 'N2330185MA2H4K7Q14'" in err.rule


def test_organisation_fields_must_be_usccs() -> None:
    obj = example("Shipped")
    obj["payload"]["to_org"] = "杭州农副产品物流中心"
    err = _invalid(obj, CodeError)
    assert err.field == "payload.to_org"


def test_codes_must_parse() -> None:
    obj = example("Shipped")
    obj["codes"] = ["(00)069012340000000017"]
    err = _invalid(obj, CodeError)
    assert err.field == "codes[0]"
    assert "check digit" in err.rule


def test_codes_must_be_canonical() -> None:
    obj = example("Sold")
    obj["codes"] = ["https://id.gs1.org/01/06901234100105/10/LA20240506"]
    err = _invalid(obj, CodeError)
    assert err.field == "codes[0]"
    assert f"canonical form {VEG_CASE!r}" in err.rule


def test_payload_codes_must_be_canonical() -> None:
    obj = example("Aggregated")
    obj["payload"]["parent_code"] = "gs1:(00)069012340000000016"
    err = _invalid(obj, CodeError)
    assert err.field == "payload.parent_code"
    assert "canonical form" in err.rule


def test_certificate_fields_hold_certificate_codes() -> None:
    obj = example("Received")
    obj["payload"]["upstream_certificates"] = [VEG_CASE]
    err = _invalid(obj, CodeError)
    assert err.field == "payload.upstream_certificates[0]"
    assert "合格证 certificate code" in err.rule


@pytest.mark.parametrize("value", ["33018", "3301855", "990101", "000000", "３３０１８５"])
def test_region_code_is_gb_t_2260(value: str) -> None:
    obj = example("Shipped")
    obj["location"]["region_code"] = value
    err = _invalid(obj)
    assert err.field == "location.region_code"
    assert "GB/T 2260" in err.rule


def test_nested_region_code_is_checked() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["origin_region_code"] = "123"
    err = _invalid(obj)
    assert err.field == "payload.origin_region_code"


def test_gln_needs_its_check_digit() -> None:
    obj = example("Shipped")
    obj["location"]["gln"] = "6901234000017"
    err = _invalid(obj)
    assert err.field == "location.gln"
    assert "check digit" in err.rule


def test_key_id_is_lower_case_hex() -> None:
    obj = example("SigningKeyRevoked")
    obj["payload"]["key_id"] = "00168958ECCDFA49"
    err = _invalid(obj)
    assert err.field == "payload.key_id"
    assert "hex" in err.rule


def test_country_is_iso_3166_alpha_2() -> None:
    obj = example("ImportDeclared")
    obj["payload"]["origin_country"] = "BRA"
    err = _invalid(obj)
    assert err.field == "payload.origin_country"
    assert "ISO 3166-1 alpha-2" in err.rule


def test_container_number_needs_its_check_digit() -> None:
    obj = example("ImportDeclared")
    obj["payload"]["container_no"] = "CSQU3054384"
    err = _invalid(obj)
    assert err.field == "payload.container_no"
    assert "ISO 6346" in err.rule


def test_pseudonym_is_never_an_id_number() -> None:
    obj = example("VaccineAdministered")
    obj["payload"]["recipient_pseudonym"] = ID_NUMBER
    err = _invalid(obj)
    assert err.field == "payload.recipient_pseudonym"
    assert "身份证" in err.rule
    assert ID_NUMBER not in str(err)


@pytest.mark.parametrize(
    "value", ["13812345678", "张三", "rp1-short", "1" * 40, "rp1 7f3c9a0d5be24816"]
)
def test_pseudonym_looks_like_a_keyed_pseudonym(value: str) -> None:
    obj = example("AdverseEventReported")
    obj["payload"]["recipient_pseudonym"] = value
    err = _invalid(obj)
    assert err.field == "payload.recipient_pseudonym"
    assert "keyed pseudonym" in err.rule
    assert value not in str(err)


def test_envelope_quantity_is_not_negative() -> None:
    obj = example("Shipped")
    obj["quantity"] = "-1"
    err = _invalid(obj)
    assert (err.field, err.rule) == ("quantity", "must not be negative")


def test_payload_quantity_is_not_negative() -> None:
    obj = example("Transformed")
    obj["payload"]["outputs"][1]["quantity"] = "-530.25"
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.outputs[1].quantity", "must not be negative")


@pytest.mark.parametrize("value", ["", "   ", "\u3000"])
def test_text_is_not_blank(value: str) -> None:
    obj = example("Shipped")
    obj["payload"]["waybill_no"] = value
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.waybill_no", "must not be blank")


def test_short_text_is_bounded() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["product_name"] = "菜" * 201
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.product_name", "must be at most 200 characters")


def test_long_text_is_bounded_but_longer() -> None:
    obj = example("RecallClosed")
    obj["payload"]["summary"] = "汇总\n" * 600
    validate_event(event_from_json({**obj}))
    obj["payload"]["summary"] = "汇" * 2001
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.summary", "must be at most 2000 characters")


def test_short_text_has_no_control_characters() -> None:
    obj = example("Shipped")
    obj["payload"]["waybill_no"] = "ZJYD2024\n0506"
    err = _invalid(obj)
    assert err.field == "payload.waybill_no"
    assert "control character U+000A" in err.rule


def test_nested_text_rules_name_the_path() -> None:
    obj = example("InspectionRecorded")
    obj["payload"]["items"][0]["name"] = " "
    err = _invalid(obj)
    assert err.field == "payload.items[0].name"


# --- envelope -----------------------------------------------------------------------------------


def test_codes_are_not_repeated() -> None:
    obj = example("Stored")
    obj["codes"].append(obj["codes"][0])
    err = _invalid(obj)
    assert (err.field, err.rule) == ("codes[2]", "repeats codes[0]")


def test_an_event_is_about_some_code() -> None:
    obj = example("Shipped")
    obj["codes"] = []
    err = _invalid(obj)
    assert err.field == "codes"
    assert "at least one code" in err.rule


@pytest.mark.parametrize("event_type", ["OrganisationRegistered", "RecallClosed"])
def test_some_events_need_no_code(event_type: str) -> None:
    obj = example(event_type)
    assert obj["codes"] == []
    validate_event(event_from_json(obj))


def test_quantity_needs_a_unit() -> None:
    obj = example("Shipped")
    obj["unit"] = None
    err = _invalid(obj)
    assert (err.field, err.rule) == ("unit", "required when quantity is given")


def test_unit_needs_a_quantity() -> None:
    obj = example("Shipped")
    obj["quantity"] = None
    err = _invalid(obj)
    assert (err.field, err.rule) == ("quantity", "required when unit is given")


@pytest.mark.parametrize(
    "event_type",
    ["CertificateIssued", "AnimalQuarantineCertified", "ImportDeclared", "VaccineLotReleased"],
)
def test_quantity_is_required_for_some_types(event_type: str) -> None:
    obj = example(event_type)
    obj["quantity"] = obj["unit"] = None
    err = _invalid(obj)
    assert err.field == "quantity"
    assert f"required for {event_type}" in err.rule


def test_occurred_at_must_be_timezone_aware() -> None:
    event = event_from_json(example("Shipped"))
    naive = dataclasses.replace(event, occurred_at=datetime(2024, 5, 6, 8, 30))
    with pytest.raises(EventValidationError) as caught:
        validate_event(naive)
    assert caught.value.field == "occurred_at"
    assert "zone offset" in caught.value.rule


def test_payload_shape_is_checked() -> None:
    event = event_from_json(example("Sold"))
    wrong: Event = dataclasses.replace(event, payload={**event.payload, "channel": "BARTER"})
    with pytest.raises(EventValidationError) as caught:
        validate_event(wrong)
    assert caught.value.field == "payload.channel"


# --- per event type -----------------------------------------------------------------------------


def test_organisation_has_a_role() -> None:
    obj = example("OrganisationRegistered")
    obj["payload"]["roles"] = []
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.roles", "must list at least one role")


def test_organisation_roles_are_not_repeated() -> None:
    obj = example("OrganisationRegistered")
    obj["payload"]["roles"] = ["PRODUCER", "PURCHASER", "PRODUCER"]
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.roles[2]", "repeats payload.roles[0]")


def test_public_key_is_32_bytes() -> None:
    obj = example("SigningKeyRegistered")
    obj["payload"]["public_key"] = "AAAA"
    err = _invalid(obj)
    assert err.field == "payload.public_key"
    assert "32 bytes (got 3)" in err.rule


@pytest.mark.parametrize("codes", [[VEG_CASE], ["V9MA0HMRWMYA", "2QFQKFV42F61"]])
def test_certificate_event_holds_exactly_one_certificate_code(codes: list[str]) -> None:
    obj = example("CertificateIssued")
    obj["codes"] = codes
    err = _invalid(obj)
    assert err.field == "codes"
    assert "exactly one 合格证 certificate code" in err.rule


def test_certificate_may_also_list_the_lots_it_covers() -> None:
    obj = example("CertificateIssued")
    obj["codes"].append(VEG_CASE)
    validate_event(event_from_json(obj))


def test_certificate_is_not_its_own_upstream() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["upstream_certificates"] = [obj["codes"][0]]
    err = _invalid(obj)
    assert err.field == "payload.upstream_certificates[0]"
    assert "cannot be the certificate itself" in err.rule


def test_upstream_certificates_are_not_repeated() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["upstream_certificates"] = ["2QFQKFV42F61", "2QFQKFV42F61"]
    err = _invalid(obj)
    assert err.field == "payload.upstream_certificates[1]"


@pytest.mark.parametrize("basis", ["SELF_TESTED", "COMMISSIONED_TESTED"])
def test_test_basis_links_the_inspection(basis: str) -> None:
    obj = example("CertificateIssued")
    obj["payload"].update(basis=basis, inspection_event_id=None)
    err = _invalid(obj)
    assert err.field == "payload.inspection_event_id"
    assert f"required when basis is {basis}" in err.rule


def test_quality_control_basis_needs_no_inspection() -> None:
    obj = example("CertificateIssued")
    obj["payload"].update(basis="QUALITY_CONTROL", inspection_event_id=None)
    validate_event(event_from_json(obj))


def test_purchaser_certificate_links_upstream_certificates() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["issuer_type"] = "PURCHASER"
    err = _invalid(obj)
    assert err.field == "payload.upstream_certificates"
    assert "purchaser" in err.rule
    obj["payload"]["upstream_certificates"] = ["2QFQKFV42F61"]
    validate_event(event_from_json(obj))


def test_voided_certificate_is_not_its_own_replacement() -> None:
    obj = example("CertificateVoided")
    obj["payload"]["replacement_code"] = obj["codes"][0]
    err = _invalid(obj)
    assert err.field == "payload.replacement_code"


def test_voiding_names_one_certificate() -> None:
    obj = example("CertificateVoided")
    obj["codes"] = [VEG_CASE]
    err = _invalid(obj)
    assert err.field == "codes"


def test_inspection_has_items() -> None:
    obj = example("InspectionRecorded")
    obj["payload"]["items"] = []
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.items", "must list at least one tested item")


def test_inspection_result_agrees_with_failed_item() -> None:
    obj = example("InspectionRecorded")
    obj["payload"]["items"][1]["passed"] = False
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.passed", "must be false: at least one item failed")


def test_inspection_result_agrees_with_passing_items() -> None:
    obj = example("InspectionRecorded")
    obj["payload"]["passed"] = False
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.passed", "must be true: every item passed")


def test_commissioned_lab_test_names_the_lab() -> None:
    obj = example("InspectionRecorded")
    obj["payload"]["kind"] = "COMMISSIONED_LAB"
    err = _invalid(obj)
    assert err.field == "payload.lab"


def test_transformation_has_inputs_and_outputs() -> None:
    obj = example("Transformed")
    obj["payload"]["outputs"] = []
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.outputs", "must list at least one code")


def test_transformation_code_appears_once() -> None:
    obj = example("Transformed")
    obj["payload"]["outputs"][0]["code"] = obj["payload"]["inputs"][0]["code"]
    err = _invalid(obj)
    assert err.field == "payload.outputs[0].code"
    assert "repeats payload.inputs[0].code" in err.rule


def test_transformation_codes_are_listed_in_codes() -> None:
    obj = example("Transformed")
    obj["codes"].pop()
    err = _invalid(obj)
    assert err.field == "payload.outputs[1].code"
    assert "listed in codes" in err.rule


def test_aggregation_has_children() -> None:
    obj = example("Aggregated")
    obj["payload"]["child_codes"] = []
    err = _invalid(obj)
    assert err.field == "payload.child_codes"


def test_aggregation_parent_is_not_a_child() -> None:
    obj = example("Aggregated")
    obj["payload"]["child_codes"].append(obj["payload"]["parent_code"])
    err = _invalid(obj)
    assert err.field == "payload.child_codes[1]"
    assert "parent" in err.rule


def test_aggregation_children_are_not_repeated() -> None:
    obj = example("Disaggregated")
    obj["payload"]["child_codes"].append(obj["payload"]["child_codes"][0])
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.child_codes[2]", "repeats payload.child_codes[0]")


def test_aggregation_codes_are_listed_in_codes() -> None:
    obj = example("Disaggregated")
    obj["codes"].remove(obj["payload"]["parent_code"])
    err = _invalid(obj)
    assert err.field == "payload.parent_code"
    obj = example("Disaggregated")
    obj["codes"].pop()
    err = _invalid(obj)
    assert err.field == "payload.child_codes[1]"


def test_leaving_a_supervised_warehouse_needs_its_certificate() -> None:
    obj = example("Released")
    obj["payload"]["release_certificate_no"] = None
    err = _invalid(obj)
    assert err.field == "payload.release_certificate_no"
    obj["payload"]["facility"] = "COLD_STORE"
    validate_event(event_from_json(obj))


def test_temperature_record_has_readings() -> None:
    obj = example("TemperatureRecorded")
    obj["payload"]["readings"] = []
    err = _invalid(obj)
    assert err.field == "payload.readings"


def test_temperature_range_is_ordered() -> None:
    obj = example("TemperatureRecorded")
    obj["payload"].update(min_celsius=-10.0, max_celsius=-18.0)
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.min_celsius", "must not exceed max_celsius")


def test_temperature_readings_are_in_time_order() -> None:
    obj = example("TemperatureRecorded")
    obj["payload"]["readings"][2]["at"] = "2024-05-18T07:59:00+08:00"  # 23:59 UTC the day before
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.readings[2].at", "readings must be in time order")


def test_readings_outside_the_range_are_allowed() -> None:
    # An out-of-range reading is what alerts are made of: it must be recordable.
    obj = example("TemperatureRecorded")
    obj["payload"]["readings"][0]["celsius"] = 4.5
    validate_event(event_from_json(obj))


def test_import_shelf_life_is_positive() -> None:
    obj = example("ImportDeclared")
    obj["payload"]["shelf_life_days"] = 0
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.shelf_life_days", "must be 1 to 3650")


def test_import_production_date_is_not_in_the_future() -> None:
    obj = example("ImportDeclared")
    obj["payload"]["production_date"] = "2024-05-21"
    err = _invalid(obj)
    assert err.field == "payload.production_date"


def test_vaccine_lot_expires_after_release() -> None:
    obj = example("VaccineLotReleased")
    obj["payload"]["expiry_date"] = "2024-04-15"
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.expiry_date", "must be after the release date")


@pytest.mark.parametrize(
    "codes", [["81234560000000000001", "81234560000000000002"], [VEG_CASE], []]
)
def test_vaccination_is_about_one_drug_code(codes: list[str]) -> None:
    obj = example("VaccineAdministered")
    obj["codes"] = codes
    err = _invalid(obj)
    assert err.field == "codes"


@pytest.mark.parametrize("dose_no", [0, 11, -1])
def test_dose_number_is_in_range(dose_no: int) -> None:
    obj = example("VaccineAdministered")
    obj["payload"]["dose_no"] = dose_no
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.dose_no", "must be 1 to 10")


def test_adverse_event_onset_precedes_report() -> None:
    obj = example("AdverseEventReported")
    obj["payload"]["onset_at"] = "2024-05-10T09:00:00+08:00"
    err = _invalid(obj)
    assert (err.field, err.rule) == ("payload.onset_at", "must not be after the report")


def test_recall_has_root_codes() -> None:
    obj = example("RecallInitiated")
    obj["payload"]["root_codes"] = []
    err = _invalid(obj)
    assert err.field == "payload.root_codes"


def test_recall_root_codes_are_listed_in_codes() -> None:
    obj = example("RecallInitiated")
    obj["payload"]["root_codes"].append("(00)069012340000000016")
    err = _invalid(obj)
    assert err.field == "payload.root_codes[1]"
    assert "listed in codes" in err.rule


def test_recall_id_is_a_uuid() -> None:
    obj = example("RecallAcknowledged")
    obj["payload"]["recall_id"] = "RC-2024-001"
    err = _invalid(obj)
    assert err.field == "payload.recall_id"
