"""Schemas, fingerprints and the schema history (design.md §4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastavro import parse_schema

from suyuan.errors import UnknownSchemaError
from suyuan.events import (
    BATCH_SCHEMA_NAME,
    EVENT_SCHEMA_NAME,
    SchemaFileError,
    SchemaRegistry,
    resolution_form,
    schema_fingerprint,
    snapshot_current_schemas,
)
from suyuan.events._codec import default_codec

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
HISTORY_DIR = SCHEMAS_DIR / "history"


# Test vectors from Apache Avro's share/test/data/schema-tests.txt (cross-checked there against
# the Java implementation): schema text → signed 64-bit CRC-64-AVRO fingerprint.
AVRO_FINGERPRINT_VECTORS = [
    ('"null"', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"string"', -8142146995180207161),
    ('{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}', 5916914534497305771),
    ('{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}', -4824392279771201922),
    (
        '{"namespace":"x.y.z", "type":"enum", "name":"foo", "symbols":["A1", "A2"]}',
        -4448647247586288245,
    ),
    (
        '{"name":"PigValue","type":"record",'
        '"fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
        -1759257747318642341,
    ),
]


@pytest.mark.parametrize(("schema_text", "expected"), AVRO_FINGERPRINT_VECTORS)
def test_fingerprint_matches_avro_test_vectors(schema_text: str, expected: int) -> None:
    # Single-object encoding writes the 64-bit fingerprint little-endian.
    wire = (expected % 2**64).to_bytes(8, "little")
    assert schema_fingerprint(json.loads(schema_text)) == wire


def test_single_object_header_of_int_matches_avro_ruby_vector() -> None:
    # Apache Avro lang/ruby test_fingerprints.rb: header of schema "int".
    header = b"\xc3\x01" + schema_fingerprint("int")
    assert header.hex() == "c3018f5c393f1ad57572"


def _schema_files() -> list[Path]:
    return sorted(SCHEMAS_DIR.glob("*.avsc"))


@pytest.mark.parametrize("path", _schema_files(), ids=lambda path: path.name)
def test_schema_file_is_named_after_its_type(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert path.name == f"{schema['namespace']}.{schema['name']}.avsc"
    assert schema["namespace"] == "suyuan.v1"
    assert schema.get("doc"), "every named type has a doc"


@pytest.mark.parametrize("path", _schema_files(), ids=lambda path: path.name)
def test_every_field_has_a_doc(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    undocumented = [field["name"] for field in schema.get("fields", []) if not field.get("doc")]
    assert undocumented == []


def _names_in(schema: object) -> set[str]:
    """Full names of the named types a parsed schema defines or references."""
    if isinstance(schema, str):
        return {schema}
    if isinstance(schema, list):
        return set().union(*(_names_in(branch) for branch in schema))
    assert isinstance(schema, dict)
    names = {schema["name"]} if schema["type"] in ("record", "enum", "fixed") else set()
    for key in ("items", "values"):
        if key in schema:
            names |= _names_in(schema[key])
    for field in schema.get("fields", []):
        names |= _names_in(field["type"])
    return names


def test_every_schema_file_is_reachable_from_a_top_level_record() -> None:
    registry = default_codec().registry
    used = _names_in(registry.event_schema.parsed) | _names_in(registry.batch_schema.parsed)
    defined = {path.name.removesuffix(".avsc") for path in _schema_files()}
    assert defined - used == set()


def test_current_schemas_are_frozen_in_history() -> None:
    registry = default_codec().registry
    missing = [schema.fingerprint_hex for schema in registry.unsnapshotted()]
    assert missing == [], (
        f"the current schema(s) {missing} are not in schemas/history: run "
        "`python -c 'from suyuan.events import snapshot_current_schemas as s; print(s())'` "
        "and commit the new files (see schemas/README.md)"
    )


@pytest.mark.parametrize("path", sorted(HISTORY_DIR.glob("*.avsc")), ids=lambda path: path.name)
def test_history_snapshot_is_named_by_its_fingerprint_and_stable(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = parse_schema(json.loads(text))
    assert path.name == f"{schema_fingerprint(parsed).hex()}.avsc"
    assert resolution_form(parsed) == text


def test_current_schema_reads_like_its_snapshot() -> None:
    # Same fingerprint but another logical type or default would silently change old data.
    registry = default_codec().registry
    for name in (EVENT_SCHEMA_NAME, BATCH_SCHEMA_NAME):
        current = registry.current(name)
        snapshot = HISTORY_DIR / f"{current.fingerprint_hex}.avsc"
        if snapshot.exists():
            assert snapshot.read_text(encoding="utf-8") == resolution_form(current.parsed)


def test_resolution_form_keeps_what_readers_need() -> None:
    text = resolution_form(default_codec().registry.event_schema.parsed)
    assert '"logicalType": "decimal"' in text
    assert '"scale": 3' in text
    assert '"logicalType": "timestamp-rfc3339"' in text
    assert '"default": null' in text
    assert '"doc"' not in text


def test_registry_rejects_an_unknown_fingerprint() -> None:
    with pytest.raises(UnknownSchemaError) as caught:
        default_codec().registry.writer(b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert caught.value.field == "schema_fingerprint"
    assert caught.value.value == "0102030405060708"
    assert "no known" in caught.value.rule


def test_registry_knows_current_and_history() -> None:
    registry = default_codec().registry
    event = registry.writer(registry.event_schema.fingerprint)
    assert event.is_current and event.name == EVENT_SCHEMA_NAME
    assert {s.fingerprint for s in registry.history()} >= {
        registry.event_schema.fingerprint,
        registry.batch_schema.fingerprint,
    }


def test_snapshot_writes_missing_files_once(tmp_path: Path) -> None:
    written = snapshot_current_schemas(tmp_path)
    registry = default_codec().registry
    assert sorted(path.name for path in written) == sorted(
        f"{s.fingerprint_hex}.avsc" for s in (registry.event_schema, registry.batch_schema)
    )
    assert snapshot_current_schemas(tmp_path) == []


def test_snapshot_refuses_a_same_fingerprint_change(tmp_path: Path) -> None:
    snapshot_current_schemas(tmp_path)
    target = tmp_path / f"{default_codec().registry.event_schema.fingerprint_hex}.avsc"
    target.write_text(target.read_text(encoding="utf-8").replace('"scale": 3', '"scale": 2'))
    with pytest.raises(SchemaFileError, match="same fingerprint"):
        snapshot_current_schemas(tmp_path)


def test_registry_refuses_an_edited_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, root)
    snapshot = root / "history" / f"{default_codec().registry.batch_schema.fingerprint_hex}.avsc"
    snapshot.write_text(snapshot.read_text(encoding="utf-8").replace('"key_id"', '"key"'))
    with pytest.raises(SchemaFileError, match="must never be edited"):
        SchemaRegistry.load(root)


def test_registry_reports_a_broken_schema_file(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, root)
    (root / "suyuan.v1.Location.avsc").unlink()
    with pytest.raises(SchemaFileError, match="cannot load the Avro schemas"):
        SchemaRegistry.load(root)
