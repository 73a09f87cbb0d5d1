"""Writer schemas by fingerprint: the current ones and every frozen snapshot (design.md §4).

The ``.avsc`` files in ``schemas/`` (package ``suyuan_schemas``) are the single source of the wire
format: one file per named type, ``suyuan.v1.<Name>.avsc``, loaded with
:func:`fastavro.schema.load_schema` so cross-file references resolve by name. Two top-level records
go on the wire: ``suyuan.v1.Event`` and ``suyuan.v1.SignedBatch``.

Every message starts with the CRC-64-AVRO fingerprint of its writer schema's Parsing Canonical
Form (Avro specification, "Single-object encoding"). To keep old messages decodable after a schema
changes, each schema that ever went on the wire is frozen in ``schemas/history/<hex>.avsc``, where
``<hex>`` is the fingerprint as its 8 bytes appear on the wire. A snapshot holds the schema's
*resolution form*: the Parsing Canonical Form plus the attributes needed to read data back
(``logicalType``/``precision``/``scale``, field ``default`` and ``aliases``, enum ``default``).
Canonical form alone drops logical types, so a decimal written under it would read back as raw
bytes. Messages are always read into the *current* reader schema (Avro schema resolution).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.repository.base import AbstractSchemaRepository, SchemaRepositoryError
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

from suyuan.errors import SuyuanError, UnknownSchemaError

SCHEMA_PACKAGE = "suyuan_schemas"
HISTORY_DIR_NAME = "history"
NAMESPACE = "suyuan.v1"
EVENT_SCHEMA_NAME = f"{NAMESPACE}.Event"
BATCH_SCHEMA_NAME = f"{NAMESPACE}.SignedBatch"
TOP_LEVEL_NAMES = (EVENT_SCHEMA_NAME, BATCH_SCHEMA_NAME)
FINGERPRINT_ALGORITHM = "CRC-64-AVRO"
FINGERPRINT_LENGTH = 8

# Attributes a reader needs besides the canonical ones (see the module docstring).
_TYPE_ATTRIBUTES = ("logicalType", "precision", "scale")
_FIELD_ATTRIBUTES = ("default", "aliases")


class SchemaFileError(SuyuanError):
    """A schema file or history snapshot is missing, broken, edited or in conflict."""


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """One schema that data may have been written with."""

    #: CRC-64-AVRO fingerprint of the Parsing Canonical Form, as its 8 bytes appear on the wire.
    fingerprint: bytes
    #: Full name of the top-level record: ``suyuan.v1.Event`` or ``suyuan.v1.SignedBatch``.
    name: str
    #: The schema as parsed by fastavro, ready for its reader and writer.
    parsed: Any
    #: Whether this is the current schema (no schema resolution needed to read it).
    is_current: bool

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


def schema_fingerprint(schema: Any) -> bytes:
    """The CRC-64-AVRO fingerprint of ``schema``'s Parsing Canonical Form, in wire byte order."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), FINGERPRINT_ALGORITHM))


def resolution_form(schema: Any) -> str:
    """The text frozen in ``schemas/history``: canonical form plus the attributes readers need.

    Full names, each named type defined at its first use and referenced by name after, no docs;
    pretty-printed JSON so that history diffs read well.
    """
    return json.dumps(_resolution_tree(schema, set()), indent=2, ensure_ascii=False) + "\n"


def _resolution_tree(schema: Any, defined: set[str]) -> Any:
    if isinstance(schema, list):
        return [_resolution_tree(branch, defined) for branch in schema]
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    if kind in ("record", "error", "enum", "fixed"):
        return _named_resolution_tree(schema, defined)
    if kind == "array":
        return {"type": "array", "items": _resolution_tree(schema["items"], defined)}
    if kind == "map":
        return {"type": "map", "values": _resolution_tree(schema["values"], defined)}
    extras = {key: schema[key] for key in _TYPE_ATTRIBUTES if key in schema}
    return {"type": kind, **extras} if extras else kind


def _named_resolution_tree(schema: Mapping[str, Any], defined: set[str]) -> Any:
    name = schema["name"]
    if name in defined:
        return name
    defined.add(name)
    kind = schema["type"]
    if kind == "enum":
        tree: dict[str, Any] = {"name": name, "type": "enum", "symbols": list(schema["symbols"])}
        if "default" in schema:
            tree["default"] = schema["default"]
        return tree
    if kind == "fixed":
        return {"name": name, "type": "fixed", "size": schema["size"]}
    fields = []
    for field in schema["fields"]:
        entry: dict[str, Any] = {
            "name": field["name"],
            "type": _resolution_tree(field["type"], defined),
        }
        entry.update({key: field[key] for key in _FIELD_ATTRIBUTES if key in field})
        fields.append(entry)
    return {"name": name, "type": "record", "fields": fields}


class _PackageRepository(AbstractSchemaRepository):
    """fastavro schema repository over a (possibly zipped) package directory."""

    def __init__(self, root: Traversable) -> None:
        self._root = root

    def load(self, name: str) -> Any:
        path = self._root / f"{name}.avsc"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise SchemaRepositoryError(f"cannot load schema {name!r}: {err}") from err


def schema_root() -> Traversable:
    """Where the ``.avsc`` files live (the ``suyuan_schemas`` package)."""
    return resources.files(SCHEMA_PACKAGE)


def history_dir() -> Path:
    """The ``schemas/history`` directory on disk (for writing snapshots).

    Raises:
        SchemaFileError: the schemas package is not a plain directory (e.g. installed zipped).
    """
    root = schema_root()
    path = Path(str(root)) / HISTORY_DIR_NAME
    if not path.parent.is_dir():
        raise SchemaFileError(f"the schemas package is not a directory on disk: {root}")
    return path


def load_current_schema(name: str, root: Traversable | None = None) -> WriterSchema:
    """Load the top-level record ``name`` and every type it references from ``.avsc`` files."""
    repo = _PackageRepository(schema_root() if root is None else root)
    parsed = load_schema(name, repo=repo)
    return WriterSchema(schema_fingerprint(parsed), name, parsed, is_current=True)


def _history_files(directory: Traversable) -> Iterator[Traversable]:
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".avsc"):
            yield entry


def load_history(directory: Traversable) -> list[WriterSchema]:
    """Every frozen snapshot in ``directory``.

    Raises:
        SchemaFileError: a snapshot is not valid JSON/Avro, or its file name is not its fingerprint.
    """
    snapshots = []
    for entry in _history_files(directory):
        try:
            parsed: Any = parse_schema(json.loads(entry.read_text(encoding="utf-8")))
        except Exception as err:  # fastavro raises several exception types for bad schemas
            raise SchemaFileError(f"schema snapshot {entry.name} cannot be read: {err}") from err
        actual = schema_fingerprint(parsed)
        if entry.name != f"{actual.hex()}.avsc":
            raise SchemaFileError(
                f"schema snapshot {entry.name} has fingerprint {actual.hex()}: "
                "a snapshot must never be edited"
            )
        snapshots.append(WriterSchema(actual, parsed["name"], parsed, is_current=False))
    return snapshots


class SchemaRegistry:
    """Known writer schemas by fingerprint: the current ones and every frozen snapshot."""

    def __init__(self, current: Iterable[WriterSchema], history: Iterable[WriterSchema]) -> None:
        self._current = {schema.name: schema for schema in current}
        missing = [name for name in TOP_LEVEL_NAMES if name not in self._current]
        if missing:
            raise SchemaFileError(f"current schemas missing: {', '.join(missing)}")
        self._history = {schema.fingerprint: schema for schema in history}
        self._by_fingerprint = dict(self._history)
        # Current schemas win over identical snapshots: they need no schema resolution.
        self._by_fingerprint.update({s.fingerprint: s for s in self._current.values()})

    @classmethod
    def load(cls, root: Traversable | None = None) -> SchemaRegistry:
        """Load the current schemas and the history from ``root`` (default: ``schemas/``).

        Raises:
            SchemaFileError: a schema file or snapshot is missing or broken.
        """
        base = schema_root() if root is None else root
        try:
            current = [load_current_schema(name, base) for name in TOP_LEVEL_NAMES]
        except Exception as err:  # fastavro raises several exception types for bad schemas
            raise SchemaFileError(f"cannot load the Avro schemas from {base}: {err}") from err
        return cls(current, load_history(base / HISTORY_DIR_NAME))

    def current(self, name: str) -> WriterSchema:
        """The current schema of top-level record ``name``."""
        return self._current[name]

    @property
    def event_schema(self) -> WriterSchema:
        return self._current[EVENT_SCHEMA_NAME]

    @property
    def batch_schema(self) -> WriterSchema:
        return self._current[BATCH_SCHEMA_NAME]

    def writer(self, fingerprint_bytes: bytes) -> WriterSchema:
        """The writer schema whose fingerprint is ``fingerprint_bytes`` (wire byte order).

        Raises:
            UnknownSchemaError: no current schema or snapshot has this fingerprint.
        """
        schema = self._by_fingerprint.get(bytes(fingerprint_bytes))
        if schema is None:
            raise UnknownSchemaError(
                "schema_fingerprint",
                bytes(fingerprint_bytes).hex(),
                "names no known Suyuan schema (written by a newer version, or not Suyuan data)",
            )
        return schema

    def history(self) -> list[WriterSchema]:
        """Every frozen snapshot, in fingerprint order."""
        return [self._history[key] for key in sorted(self._history)]

    def unsnapshotted(self) -> list[WriterSchema]:
        """Current schemas that have no snapshot in the history yet."""
        return [s for s in self._current.values() if s.fingerprint not in self._history]


def snapshot_current_schemas(
    directory: Path | None = None, root: Traversable | None = None
) -> list[Path]:
    """Freeze the current Event and SignedBatch schemas into ``schemas/history``.

    Writes ``<fingerprint hex>.avsc`` for each current schema that has no snapshot yet and returns
    the paths written (empty when the history is up to date). Run it whenever a schema change is
    released; commit the new files together with the change.

    Raises:
        SchemaFileError: a snapshot with the same fingerprint exists but differs in an attribute
            that changes how data reads back (a logical type, a default): that change would
            silently alter old data and must be made differently.
    """
    target = history_dir() if directory is None else directory
    written = []
    for name in TOP_LEVEL_NAMES:
        schema = load_current_schema(name, root)
        text = resolution_form(schema.parsed)
        path = target / f"{schema.fingerprint_hex}.avsc"
        if path.exists():
            if path.read_text(encoding="utf-8") != text:
                raise SchemaFileError(
                    f"{path} holds a different schema with the same fingerprint: a change to a "
                    "logical type or default cannot be made in place; add a new field instead"
                )
            continue
        target.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
