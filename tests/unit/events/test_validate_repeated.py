"""Validation gives the same answer the second time: what it remembers between events (valid
USCCs, compiled per-record checks) never hides a broken rule or changes the field it names."""

from __future__ import annotations

import pytest

from suyuan.errors import CodeError, EventValidationError
from suyuan.events import event_from_json, validate_event
from tests.unit.events import example

ACTOR = "N2330185MA2H4K7Q14"


def test_a_valid_actor_does_not_excuse_its_lower_case_spelling_later() -> None:
    valid = example("Shipped")
    validate_event(event_from_json(valid))
    lower = example("Shipped")
    lower["actor"] = ACTOR.lower()

    for _ in range(2):
        with pytest.raises(CodeError) as caught:
            validate_event(event_from_json(lower))
        assert caught.value.field == "actor"
        assert f"canonical form {ACTOR!r}" in caught.value.rule


def test_a_uscc_seen_as_actor_is_checked_again_under_another_field() -> None:
    shipped = example("Shipped")
    validate_event(event_from_json(shipped))
    shipped["payload"]["to_org"] = ACTOR.lower()

    with pytest.raises(CodeError) as caught:
        validate_event(event_from_json(shipped))
    assert caught.value.field == "payload.to_org"
    assert "canonical form" in caught.value.rule


@pytest.mark.parametrize("bad", ["a\x00b", "tab\there", "del\x7f", "c1\x85"])
def test_control_characters_are_found_after_clean_text_passed(bad: str) -> None:
    obj = example("Shipped")
    validate_event(event_from_json(obj))
    obj["location"]["name"] = bad

    with pytest.raises(EventValidationError) as caught:
        validate_event(event_from_json(obj))
    assert caught.value.field == "location.name"
    assert "must not contain control character" in caught.value.rule


def test_line_breaks_stay_allowed_in_long_text_only() -> None:
    obj = example("Shipped")
    obj["location"]["address"] = "浙江省杭州市\n拱墅区石祥路71号"
    validate_event(event_from_json(obj))
    obj["location"]["name"] = "市场\n二号门"

    with pytest.raises(EventValidationError) as caught:
        validate_event(event_from_json(obj))
    assert caught.value.field == "location.name"
    assert "U+000A (position 3)" in caught.value.rule
