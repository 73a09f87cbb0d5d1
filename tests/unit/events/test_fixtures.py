"""Committed fixtures: old data must keep decoding to the same content (design.md §4).

``tests/fixtures/events/*.bin`` were encoded with the schemas of their time and are never
rewritten. These tests decode them with the *current* registry and compare with the JSON recorded
next to them, so a schema change that breaks old data fails here. A compatible change — a new
optional field, a new enum symbol, a new event type — passes: a field the old data lacks must
decode to its default (``null`` or ``[]``).
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from suyuan.errors import DecodeError
from suyuan.events import (
    Codec,
    SchemaRegistry,
    decode_batch,
    decode_event,
    encode_event,
    event_from_json,
    event_to_json,
    validate_event,
)
from suyuan.events._codec import default_codec
from tests.unit.events import FIXTURES_DIR, fixture_json, fixture_script

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"
EVENT_FIXTURES = sorted(
    path.stem for path in FIXTURES_DIR.glob("*.bin") if path.stem != "SignedBatch"
)


def assert_same_data(expected: Any, actual: Any, path: str = "event") -> None:
    """``actual`` holds everything ``expected`` does; extra fields only at their defaults."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: lost when decoding old data"
            assert_same_data(value, actual[key], f"{path}.{key}")
        for key in actual.keys() - expected.keys():
            assert actual[key] in (None, []), f"{path}.{key}: new field must default to null/[]"
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: list changed"
        for index, (old, new) in enumerate(zip(expected, actual, strict=True)):
            assert_same_data(old, new, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: decoded {actual!r}, recorded {expected!r}"


def _decoded_json(name: str, codec: Codec | None = None) -> dict[str, Any]:
    data = (FIXTURES_DIR / f"{name}.bin").read_bytes()
    if codec is None:
        return event_to_json(decode_event(data))
    return event_to_json(codec.decode_event(data), codec=codec)


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_old_event_decodes_to_its_recorded_json(name: str) -> None:
    assert_same_data(fixture_json(name), _decoded_json(name))


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_old_event_still_validates(name: str) -> None:
    validate_event(decode_event((FIXTURES_DIR / f"{name}.bin").read_bytes()))


def test_every_payload_type_has_a_fixture() -> None:
    union = set(default_codec().shape.payload.branches)
    recorded = {fixture_json(name)["event_type"] for name in EVENT_FIXTURES}
    assert union - recorded == set(), "run tests/fixtures/events/make_fixtures.py"


def test_fixture_files_are_named_after_their_event_type() -> None:
    for name in EVENT_FIXTURES:
        assert fixture_json(name)["event_type"] == name


def test_old_signed_batch_decodes_to_its_recorded_json() -> None:
    batch = decode_batch((FIXTURES_DIR / "SignedBatch.bin").read_bytes())
    recorded = fixture_json("SignedBatch")
    assert batch.key_id == recorded["key_id"]
    assert base64.b64encode(batch.signature).decode() == recorded["signature"]
    assert [base64.b64encode(item).decode() for item in batch.events] == recorded["events"]
    assert [decode_event(item).event_type for item in batch.events] == [
        "CertificateIssued",
        "Shipped",
        "Received",
    ]


def test_batch_events_are_the_event_fixtures_bytes() -> None:
    batch = decode_batch((FIXTURES_DIR / "SignedBatch.bin").read_bytes())
    assert batch.events[1] == (FIXTURES_DIR / "Shipped.bin").read_bytes()


# --- schema evolution: the checks above catch breaking changes ----------------------------------


def _codec_with(tmp_path: Path, name: str, change: Any) -> Codec:
    """A codec over a copy of schemas/ where ``suyuan.v1.<name>.avsc`` was changed."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, root)
    path = root / f"suyuan.v1.{name}.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return Codec(SchemaRegistry.load(root))


def test_a_compatible_change_keeps_old_data_decoding(tmp_path: Path) -> None:
    def add_optional_field(schema: dict[str, Any]) -> None:
        schema["fields"].append(
            {"name": "temperature_zone", "type": ["null", "string"], "default": None, "doc": "x"}
        )

    codec = _codec_with(tmp_path, "Stored", add_optional_field)
    current = default_codec().registry.event_schema
    assert codec.registry.event_schema.fingerprint != current.fingerprint
    decoded = _decoded_json("Stored", codec)
    assert decoded["payload"]["temperature_zone"] is None
    assert_same_data(fixture_json("Stored"), decoded)


def test_a_renamed_field_breaks_old_data(tmp_path: Path) -> None:
    def rename(schema: dict[str, Any]) -> None:
        schema["fields"][1]["name"] = "waybill_number"

    codec = _codec_with(tmp_path, "Shipped", rename)
    with pytest.raises(DecodeError):
        _decoded_json("Shipped", codec)


def test_a_removed_event_type_breaks_old_data(tmp_path: Path) -> None:
    def drop_sold(schema: dict[str, Any]) -> None:
        payload = next(field for field in schema["fields"] if field["name"] == "payload")
        payload["type"].remove("Sold")

    codec = _codec_with(tmp_path, "Event", drop_sold)
    with pytest.raises(DecodeError):
        _decoded_json("Sold", codec)


def test_a_changed_decimal_scale_is_caught(tmp_path: Path) -> None:
    # The fingerprint ignores logical types, so this change decodes: the comparison must fail.
    def rescale(schema: dict[str, Any]) -> None:
        schema["fields"][1]["type"]["scale"] = 2

    codec = _codec_with(tmp_path, "CodeQuantity", rescale)
    # Data written under today's schema: its fingerprint is the rescaled one's too, so the
    # rescaled schema is taken as the writer's (older data names an unchanged snapshot).
    written = encode_event(event_from_json(fixture_json("Transformed")))
    decoded = event_to_json(codec.decode_event(written), codec=codec)
    with pytest.raises(AssertionError, match=r"payload\.inputs\[0\]\.quantity: decoded '420'"):
        assert_same_data(fixture_json("Transformed"), decoded)


# --- docs/events.md -----------------------------------------------------------------------------


def test_docs_reference_matches_schemas_and_examples() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert fixture_script().updated_docs(text) == text, (
        "docs/events.md is out of date: run tests/fixtures/events/make_fixtures.py --docs"
    )
