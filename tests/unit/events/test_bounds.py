"""Bounds at the door (docs/events.md, "Bounds"): dates in a window of the time of recording,
numbers in range, text lengths per field, no invisible characters, no personal numbers in
pseudonyms. Each bound: the attack value refused with the field named, the edge value accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from suyuan.errors import EventValidationError
from suyuan.events import event_from_json, validate_event
from suyuan.events._codec import default_codec
from suyuan.events._nodes import (
    ArrayNode,
    DecimalNode,
    Node,
    NullableNode,
    PrimitiveNode,
    RecordNode,
)
from suyuan.events._validate import INVISIBLE_CHARACTERS, NUMBER_BOUNDS
from suyuan.privacy import keyed_pseudonym
from tests.unit.events import example

#: The time of recording in these tests.
NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
EARLY_ATTACK = "0001-01-01T00:00:00+14:00"
LATE_ATTACK = "9999-12-31T23:59:59-12:00"


def _accepted(obj: dict[str, Any]) -> None:
    validate_event(event_from_json(obj), now=NOW)


def _refused(obj: dict[str, Any]) -> EventValidationError:
    with pytest.raises(EventValidationError) as caught:
        validate_event(event_from_json(obj), now=NOW)
    return caught.value


# --- dates and times ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [EARLY_ATTACK, LATE_ATTACK, "1999-12-31T23:59:59+00:00"])
def test_occurred_at_outside_the_window_is_refused(value: str) -> None:
    obj = example("Shipped")
    obj["occurred_at"] = value
    err = _refused(obj)
    assert err.field == "occurred_at"
    assert err.rule.startswith(("must not be before 2000-01-01", "must not be after"))


def test_occurred_at_more_than_a_day_after_recording_is_refused() -> None:
    obj = example("Shipped")
    obj["occurred_at"] = (NOW + timedelta(days=1, seconds=1)).isoformat()
    err = _refused(obj)
    assert err.field == "occurred_at"
    assert err.rule == (
        "must not be after 2026-05-11T12:00:00+00:00 (at most 1 day after the time of recording)"
    )


@pytest.mark.parametrize(
    "value",
    [
        "2000-01-01T00:00:00+00:00",
        "2000-01-01T08:00:00+08:00",
        (NOW + timedelta(days=1)).isoformat(),
        "2026-05-12T02:00:00+14:00",  # the same instant, in the zone furthest ahead
    ],
)
def test_occurred_at_at_the_edges_is_accepted(value: str) -> None:
    obj = example("Shipped")
    obj["occurred_at"] = value
    _accepted(obj)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [("+14:00", True), ("-12:00", True), ("+14:01", False), ("-12:30", False), ("+23:59", False)],
)
def test_zone_offsets_are_those_of_real_places(offset: str, ok: bool) -> None:
    obj = example("Shipped")
    obj["occurred_at"] = f"2026-05-10T12:00:00{offset}"
    if ok:
        _accepted(obj)
    else:
        err = _refused(obj)
        assert (err.field, err.rule) == (
            "occurred_at",
            "zone offset must be between -12:00 and +14:00",
        )


def test_the_window_follows_the_time_of_recording() -> None:
    obj = example("Shipped")
    obj["occurred_at"] = "2026-06-01T00:00:00+08:00"
    with pytest.raises(EventValidationError):
        validate_event(event_from_json(obj), now=NOW)
    validate_event(event_from_json(obj), now=NOW + timedelta(days=30))


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_event(event_from_json(example("Shipped")), now=datetime(2026, 5, 10))


def _set_dates(obj: dict[str, Any], event_type: str, value: date) -> str:
    """Put ``value`` in the payload's date field and keep the event's own order rules."""
    payload = obj["payload"]
    field = {
        "CertificateIssued": "issue_date",
        "ImportDeclared": "production_date",
        "VaccineLotReleased": "expiry_date",
    }[event_type]
    payload[field] = value.isoformat()
    return f"payload.{field}"


@pytest.mark.parametrize("event_type", ["CertificateIssued", "ImportDeclared"])
def test_payload_dates_before_2000_are_refused(event_type: str) -> None:
    obj = example(event_type)
    path = _set_dates(obj, event_type, date(1, 1, 1))
    err = _refused(obj)
    assert (err.field, err.rule) == (path, "must not be before 2000-01-01")


def test_issue_date_more_than_a_day_ahead_is_refused_and_the_edge_accepted() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["issue_date"] = "2026-05-12"
    err = _refused(obj)
    assert err.field == "payload.issue_date"
    assert err.rule.startswith("must not be after 2026-05-11")
    obj["payload"]["issue_date"] = "2026-05-11"
    _accepted(obj)
    obj["payload"]["issue_date"] = "2000-01-01"
    _accepted(obj)


def test_expiry_date_may_lie_ten_years_ahead_and_no_further() -> None:
    obj = example("VaccineLotReleased")
    latest = (NOW + timedelta(days=3653)).date()
    obj["payload"]["expiry_date"] = latest.isoformat()
    _accepted(obj)
    obj["payload"]["expiry_date"] = (latest + timedelta(days=1)).isoformat()
    err = _refused(obj)
    assert err.field == "payload.expiry_date"
    assert "at most 3653 days after the time of recording" in err.rule
    obj["payload"]["expiry_date"] = "9999-12-31"
    assert _refused(obj).field == "payload.expiry_date"


@pytest.mark.parametrize("value", [EARLY_ATTACK, LATE_ATTACK])
def test_adverse_event_onset_outside_the_window_is_refused(value: str) -> None:
    obj = example("AdverseEventReported")
    obj["payload"]["onset_at"] = value
    assert _refused(obj).field == "payload.onset_at"


@pytest.mark.parametrize("value", [EARLY_ATTACK, LATE_ATTACK])
def test_temperature_reading_time_outside_the_window_is_refused(value: str) -> None:
    obj = example("TemperatureRecorded")
    obj["payload"]["readings"] = [{"at": value, "celsius": -18.0}]
    assert _refused(obj).field == "payload.readings[0].at"


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "ok"), [(3_000_000, False), (3651, False), (3650, True)])
def test_shelf_life_is_at_most_ten_years(value: int, ok: bool) -> None:
    obj = example("ImportDeclared")
    obj["payload"]["shelf_life_days"] = value
    if ok:
        _accepted(obj)
    else:
        err = _refused(obj)
        assert (err.field, err.rule) == ("payload.shelf_life_days", "must be 1 to 3650")


@pytest.mark.parametrize("field", ["min_celsius", "max_celsius"])
def test_temperature_range_bounds(field: str) -> None:
    obj = example("TemperatureRecorded")
    obj["payload"].update(min_celsius=-100.0, max_celsius=100.0)
    _accepted(obj)
    obj["payload"][field] = 1e300 if field == "max_celsius" else -1e300
    err = _refused(obj)
    assert (err.field, err.rule) == (f"payload.{field}", "must be -100 to 100")


def test_a_temperature_reading_out_of_physical_range_is_refused() -> None:
    obj = example("TemperatureRecorded")
    obj["payload"]["readings"][0]["celsius"] = -100.5
    err = _refused(obj)
    assert (err.field, err.rule) == ("payload.readings[0].celsius", "must be -100 to 100")


@pytest.mark.parametrize(("value", "ok"), [("1000000000", True), ("1000000000.001", False)])
def test_envelope_quantity_is_at_most_a_billion(value: str, ok: bool) -> None:
    obj = example("ImportDeclared")
    obj["quantity"] = value
    if ok:
        _accepted(obj)
    else:
        err = _refused(obj)
        assert (err.field, err.rule) == ("quantity", "must be at most 1,000,000,000")


def test_transformation_quantities_are_bounded() -> None:
    obj = example("Transformed")
    obj["payload"]["outputs"][0]["quantity"] = "999999999999999"
    err = _refused(obj)
    assert err.field == "payload.outputs[0].quantity"


def _number_fields(node: Node, name: str, seen: set[int]) -> Iterator[str]:
    if isinstance(node, NullableNode):
        yield from _number_fields(node.inner, name, seen)
    elif isinstance(node, ArrayNode):
        yield from _number_fields(node.items, name, seen)
    elif isinstance(node, RecordNode):
        if id(node) in seen:
            return
        seen.add(id(node))
        for spec in node.fields:
            yield from _number_fields(spec.node, spec.name, seen)
    elif isinstance(node, PrimitiveNode) and node.kind in ("int", "long", "float", "double"):
        yield name
    elif isinstance(node, DecimalNode):
        yield f"{name} (decimal)"


def test_every_number_field_of_the_schemas_has_a_bound() -> None:
    shape = default_codec().shape
    seen: set[int] = set()
    fields = set(_number_fields(shape.envelope, "", seen))
    for branch in shape.payload.branches.values():
        fields |= set(_number_fields(branch, branch.short_name, seen))
    # Every decimal is a quantity, bounded by its ``quantity`` format.
    recall_quantities = {f"{name} (decimal)" for name in RECALL_QUANTITIES}
    assert fields == {*NUMBER_BOUNDS, "quantity (decimal)", *recall_quantities}


RECALL_QUANTITIES = ("on_hand", "sold_on", "returned", "destroyed")


@pytest.mark.parametrize("name", RECALL_QUANTITIES)
def test_recall_acknowledgement_quantities_are_bounded(name: str) -> None:
    obj = example("RecallAcknowledged")
    obj["payload"][name] = "1000000000.001"
    assert _refused(obj).field == f"payload.{name}"
    obj["payload"][name] = "-1"
    assert _refused(obj).rule == "must not be negative"


# --- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "field", "limit"),
    [
        ("Shipped", "waybill_no", 64),
        ("Shipped", "vehicle_plate", 16),
        ("CertificateIssued", "product_name", 200),
        ("CertificateVoided", "reason", 2000),
    ],
)
def test_text_length_is_capped_per_field(event_type: str, field: str, limit: int) -> None:
    obj = example(event_type)
    obj["payload"][field] = "号" * limit
    _accepted(obj)
    obj["payload"][field] = "号" * (limit + 1)
    err = _refused(obj)
    assert (err.field, err.rule) == (f"payload.{field}", f"must be at most {limit} characters")


def test_address_is_capped_at_500_characters() -> None:
    obj = example("CertificateIssued")
    obj["location"]["address"] = "路" * 501
    err = _refused(obj)
    assert (err.field, err.rule) == ("location.address", "must be at most 500 characters")


@pytest.mark.parametrize("char", sorted(INVISIBLE_CHARACTERS))
def test_bidi_and_zero_width_characters_are_refused_naming_the_field(char: str) -> None:
    obj = example("CertificateIssued")
    obj["payload"]["product_name"] = f"小青{char}菜"
    err = _refused(obj)
    assert err.field == "payload.product_name"
    assert err.rule == (
        f"must not contain invisible bidi or zero-width character U+{ord(char):04X} (position 3)"
    )


@pytest.mark.parametrize(
    ("event_type", "place", "path"),
    [
        ("CertificateVoided", ("payload", "reason"), "payload.reason"),
        ("CertificateIssued", ("location", "name"), "location.name"),
        ("InspectionRecorded", ("payload", "items", 0, "name"), "payload.items[0].name"),
    ],
)
def test_invisible_characters_are_refused_in_every_kind_of_text_field(
    event_type: str, place: tuple[Any, ...], path: str
) -> None:
    obj = example(event_type)
    target: Any = obj
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = "\u202eevil\u202c text"
    assert _refused(obj).field == path


def test_visible_unicode_text_is_accepted() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["product_name"] = "小青菜 Bok choy — 有机 🥬 №1"
    _accepted(obj)


# --- pseudonyms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "id-11010519491231002X-x",  # a 身份证 number with a valid check character, inside
        "11010519491231002x",
        "p-13812345678-abcdefg",  # a mobile number, inside
        "tel_8613812345678_abc",  # with the country code
        "8613812345678abcdefgh",
    ],
)
def test_pseudonym_holding_an_id_or_phone_number_is_refused(value: str) -> None:
    obj = example("VaccineAdministered")
    obj["payload"]["recipient_pseudonym"] = value
    err = _refused(obj)
    assert err.field == "payload.recipient_pseudonym"
    assert err.value == "(withheld)"
    assert "only a keyed pseudonym" in err.rule


@pytest.mark.parametrize(
    "value",
    [
        keyed_pseudonym(b"k" * 32, "330106199001011234"),
        "rp1-7f3c9a0d5be24816a0c4e9b2d71f6a38",
        "p-12812345678-abcdefg",  # not a mobile prefix
        "id-110105194912310021-x",  # 18 digits, wrong check digit
    ],
)
def test_ordinary_pseudonyms_are_accepted(value: str) -> None:
    obj = example("VaccineAdministered")
    obj["payload"]["recipient_pseudonym"] = value
    _accepted(obj)
