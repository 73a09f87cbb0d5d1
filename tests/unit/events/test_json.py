"""The HTTP JSON form of events (design.md §4, §8; docs/events.md)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suyuan.errors import EventValidationError
from suyuan.events import decode_event, encode_event, event_from_json, event_to_json
from suyuan.events._codec import default_codec
from tests.unit.events import example, fixture_script


def _rejected(obj: Any) -> EventValidationError:
    with pytest.raises(EventValidationError) as caught:
        event_from_json(obj)
    return caught.value


def test_json_becomes_model_values() -> None:
    event = event_from_json(example("ImportDeclared"))
    assert event.occurred_at == datetime(2024, 5, 20, 9, tzinfo=timezone(timedelta(hours=8)))
    assert event.quantity == Decimal("960")
    assert event.payload["production_date"] == date(2024, 3, 1)
    assert event.payload["nucleic_acid_test"]["passed"] is True
    assert event.codes == ("(01)06901234100273(21)NB0001", "(01)06901234100273(21)NB0002")


def test_bytes_are_base64_in_json() -> None:
    obj = example("SigningKeyRegistered")
    event = event_from_json(obj)
    assert isinstance(event.payload["public_key"], bytes)
    assert len(event.payload["public_key"]) == 32
    assert event_to_json(event)["payload"]["public_key"] == obj["payload"]["public_key"]


def test_json_form_is_json_serialisable_and_ordered() -> None:
    out = event_to_json(event_from_json(example("CertificateIssued")))
    assert list(out) == [
        "event_id",
        "event_type",
        "occurred_at",
        "actor",
        "location",
        "codes",
        "quantity",
        "unit",
        "biz_step",
        "disposition",
        "payload",
    ]
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out


def test_optional_fields_may_be_left_out() -> None:
    obj = example("Sold")
    for key in ("location", "quantity", "unit", "biz_step", "disposition"):
        del obj[key]
    del obj["payload"]["buyer"]
    out = event_to_json(event_from_json(obj))
    assert out["location"] is None and out["quantity"] is None
    assert out["payload"]["buyer"] is None


def test_array_with_default_may_be_left_out() -> None:
    obj = example("Received")
    del obj["payload"]["upstream_certificates"]
    assert event_from_json(obj).payload["upstream_certificates"] == ()


def test_canonical_output_forms() -> None:
    obj = example("Shipped")
    obj["occurred_at"] = "2024-05-06T00:30:00Z"
    obj["quantity"] = "500.250"
    out = event_to_json(event_from_json(obj))
    assert out["occurred_at"] == "2024-05-06T00:30:00+00:00"
    assert out["quantity"] == "500.25"


# --- one test per bad-input rule ----------------------------------------------------------------


def test_not_an_object() -> None:
    err = _rejected(["event"])
    assert (err.field, err.rule) == ("event", "must be a JSON object")


def test_unknown_top_level_field_is_named() -> None:
    obj = example("Shipped")
    obj["signature"] = "abc"
    obj["colour"] = "red"
    err = _rejected(obj)
    assert err.field == "signature"
    assert err.rule.startswith("unknown field (also unknown: colour); an event has: event_id")
    assert "event_type" in err.rule and "payload" in err.rule


def test_unknown_payload_field_is_named() -> None:
    obj = example("Shipped")
    obj["payload"]["driver_name"] = "张三"
    err = _rejected(obj)
    assert err.field == "payload.driver_name"
    assert "unknown field" in err.rule and "waybill_no" in err.rule


def test_unknown_nested_field_is_named() -> None:
    obj = example("Shipped")
    obj["payload"]["destination"]["floor"] = 3
    err = _rejected(obj)
    assert err.field == "payload.destination.floor"


def test_missing_payload_field_is_named_by_path() -> None:
    obj = example("CertificateIssued")
    del obj["payload"]["product_name"]
    err = _rejected(obj)
    assert (err.field, err.rule) == ("payload.product_name", "required field is missing")


def test_missing_nested_field_is_named_by_path() -> None:
    obj = example("InspectionRecorded")
    del obj["payload"]["items"][1]["passed"]
    err = _rejected(obj)
    assert err.field == "payload.items[1].passed"


@pytest.mark.parametrize(
    "key", ["event_id", "occurred_at", "actor", "codes", "event_type", "payload"]
)
def test_missing_envelope_field_is_named(key: str) -> None:
    obj = example("Shipped")
    del obj[key]
    err = _rejected(obj)
    assert (err.field, err.rule) == (key, "required field is missing")


def test_null_for_a_required_field() -> None:
    obj = example("Shipped")
    obj["actor"] = None
    err = _rejected(obj)
    assert err.field == "actor"
    assert "must be a string (got null)" in err.rule


def test_unknown_event_type() -> None:
    obj = example("Shipped")
    obj["event_type"] = "Teleported"
    err = _rejected(obj)
    assert err.field == "event_type"
    assert "unknown event type" in err.rule and "CertificateIssued" in err.rule


def test_payload_must_be_an_object() -> None:
    obj = example("Shipped")
    obj["payload"] = ["to_org"]
    err = _rejected(obj)
    assert err.field == "payload"
    assert "must be an object" in err.rule


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-06T08:30:00",
        "2024-05-06 08:30:00+08:00",
        "2024-05-06",
        "1714955400",
        "２０２４-05-06T08:30:00+08:00",
        "2024-05-06T08:30:00.1234567+08:00",
        "2024-05-06T08:30:00+0800",
    ],
)
def test_occurred_at_needs_rfc3339_with_offset(text: str) -> None:
    obj = example("Shipped")
    obj["occurred_at"] = text
    err = _rejected(obj)
    assert err.field == "occurred_at"
    assert "RFC 3339 date-time with zone offset" in err.rule


def test_occurred_at_must_be_a_real_time() -> None:
    obj = example("Shipped")
    obj["occurred_at"] = "2024-02-30T08:30:00+08:00"
    err = _rejected(obj)
    assert err.field == "occurred_at"
    assert "not a valid date-time" in err.rule


def test_nested_timestamp_rule_names_its_path() -> None:
    obj = example("TemperatureRecorded")
    obj["payload"]["readings"][2]["at"] = "2024-05-18T12:00:00"
    err = _rejected(obj)
    assert err.field == "payload.readings[2].at"


@pytest.mark.parametrize("value", [12.5, 12, "12,5", "1e3", "", " 12", "１２.５", "NaN"])
def test_quantity_is_a_decimal_string(value: object) -> None:
    obj = example("Shipped")
    obj["quantity"] = value
    err = _rejected(obj)
    assert err.field == "quantity"
    assert "decimal number written as a string" in err.rule


def test_quantity_has_at_most_three_places() -> None:
    obj = example("Transformed")
    obj["payload"]["outputs"][0]["quantity"] = "3120.2501"
    err = _rejected(obj)
    assert err.field == "payload.outputs[0].quantity"
    assert "at most 3 decimal places" in err.rule


def test_quantity_is_bounded() -> None:
    obj = example("Shipped")
    obj["quantity"] = "1" + "0" * 15
    err = _rejected(obj)
    assert "at most 15 digits" in err.rule


@pytest.mark.parametrize("value", ["2024/05/06", "2024-5-6", "2024-13-01", 20240506])
def test_date_is_yyyy_mm_dd(value: object) -> None:
    obj = example("CertificateIssued")
    obj["payload"]["issue_date"] = value
    err = _rejected(obj)
    assert (err.field, err.rule) == ("payload.issue_date", "must be a date written YYYY-MM-DD")


@pytest.mark.parametrize("value", ["not base64!", "AAE", 1234])
def test_bytes_are_strict_base64(value: object) -> None:
    obj = example("SigningKeyRegistered")
    obj["payload"]["public_key"] = value
    err = _rejected(obj)
    assert err.field == "payload.public_key"
    assert "base64" in err.rule


def test_enum_symbol_must_be_known() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["category"] = "vegetables"
    err = _rejected(obj)
    assert err.field == "payload.category"
    assert "must be one of: VEGETABLES, FRUIT" in err.rule


def test_biz_step_must_be_a_cbv_word() -> None:
    obj = example("Shipped")
    obj["biz_step"] = "urn:epcglobal:cbv:bizstep:shipping"
    err = _rejected(obj)
    assert err.field == "biz_step"
    assert "shipping" in err.rule


def test_boolean_must_be_a_json_boolean() -> None:
    obj = example("Received")
    obj["payload"]["check_passed"] = "true"
    err = _rejected(obj)
    assert err.field == "payload.check_passed"
    assert "true or false" in err.rule


@pytest.mark.parametrize("value", [2.0, True, "2", 2**31])
def test_integer_must_be_a_json_integer_in_range(value: object) -> None:
    obj = example("VaccineAdministered")
    obj["payload"]["dose_no"] = value
    err = _rejected(obj)
    assert err.field == "payload.dose_no"


def test_number_must_be_finite() -> None:
    obj = example("TemperatureRecorded")
    obj["payload"]["min_celsius"] = float("nan")
    err = _rejected(obj)
    assert (err.field, err.rule) == ("payload.min_celsius", "must be a finite number")


def test_list_must_be_a_list() -> None:
    obj = example("Shipped")
    obj["codes"] = "(00)069012340000000016"
    err = _rejected(obj)
    assert err.field == "codes"
    assert "must be a list" in err.rule


def test_list_item_error_names_its_index() -> None:
    obj = example("Transformed")
    obj["codes"][1] = 7
    err = _rejected(obj)
    assert err.field == "codes[1]"


# --- round trip ---------------------------------------------------------------------------------

EVENT_TYPES = sorted(default_codec().shape.payload.branches)
USCCS = ["N2330185MA2H4K7Q14", "91330100MA27XK3R4U", "12330100470082139B", "113301000024893560"]
CODES = [
    "V9MA0HMRWMYA",
    "(01)06901234100105(10)LA20240506",
    "(00)069012340000000016",
    "81234560000000000001",
    "(01)06901234100273(21)NB0001",
]
BIZ_STEPS = list(default_codec().shape.envelope.field("biz_step").node.inner.symbols)  # type: ignore[attr-defined]


def _timestamps() -> st.SearchStrategy[str]:
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timedelta(minutes=minutes))
    instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1))
    return st.builds(
        lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(),
        instants,
        offsets,
    )


def _quantities() -> st.SearchStrategy[str | None]:
    decimals = st.decimals(min_value=0, max_value=Decimal("999999999999.999"), places=3)
    return st.none() | decimals.map(lambda value: format(value.normalize(), "f"))


def _locations() -> st.SearchStrategy[dict[str, Any] | None]:
    return st.none() | st.fixed_dictionaries(
        {
            "region_code": st.sampled_from(["330185", "330106", "110105", "810000"]),
            "name": st.text(min_size=1, max_size=20).filter(str.strip),
            "address": st.none() | st.text(min_size=1, max_size=40),
            "gln": st.none() | st.just("6901234000016"),
        }
    )


@st.composite
def events_json(draw: st.DrawFn) -> dict[str, Any]:
    obj = example(draw(st.sampled_from(EVENT_TYPES)))
    quantity = draw(_quantities())
    obj.update(
        event_id=str(draw(st.uuids())),
        occurred_at=draw(_timestamps()),
        actor=draw(st.sampled_from(USCCS)),
        location=draw(_locations()),
        codes=draw(st.lists(st.sampled_from(CODES), unique=True, max_size=4)),
        quantity=quantity,
        unit=None if quantity is None else draw(st.sampled_from(["kg", "箱", "头", "剂"])),
    )
    obj["biz_step"] = draw(st.none() | st.sampled_from(BIZ_STEPS))
    return obj


@settings(max_examples=150, deadline=None)
@given(events_json())
def test_json_to_event_to_bytes_to_event_to_json_is_identity(obj: dict[str, Any]) -> None:
    canonical = event_to_json(event_from_json(obj))
    event = event_from_json(canonical)
    assert event_to_json(decode_event(encode_event(event))) == canonical
    assert decode_event(encode_event(event)) == event


def test_examples_are_already_canonical() -> None:
    for event_type, obj in fixture_script().examples().items():
        assert event_to_json(event_from_json(obj)) == obj, event_type
