"""Schema-compiled converters between the three forms of event data (design.md §4).

Each Avro schema node is compiled once into a :class:`Node` that converts between

* the **datum**: what fastavro reads and writes (dicts, lists, ``Decimal``, ``date``, timestamps
  as RFC 3339 strings, a payload union as a ``(full name, dict)`` tuple);
* the **model** value held by :class:`~suyuan.events.model.Event` (read-only mappings, tuples,
  timezone-aware ``datetime``);
* the **JSON** value of the HTTP form (``docs/events.md``): decimals as strings, bytes as base64,
  dates as ``YYYY-MM-DD``.

The datum is the hub: model → datum and JSON → datum check every value strictly and name the
field path of the first problem (``payload.items[0].passed``); datum → model and datum → JSON
trust the datum's types because fastavro or the strict converters built it.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from suyuan.errors import EventValidationError, InvalidInputError, raise_errors
from suyuan.events._registry import SchemaFileError

#: Marks a string holding an RFC 3339 date-time with zone offset (the Avro ``logicalType``).
TIMESTAMP_LOGICAL_TYPE = "timestamp-rfc3339"

# ASCII digits only: ``\d`` would also match full-width and other Unicode digits.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JSON_NAMES = {
    "string": "a string",
    "boolean": "true or false",
    "int": "an integer",
    "long": "an integer",
    "double": "a number",
    "float": "a number",
    "bytes": "a base64 string",
}

ErrorClass = type[InvalidInputError]


def join_path(path: str, name: str) -> str:
    """``payload`` + ``items`` → ``payload.items``; the top level has an empty path."""
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return path or "event"


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


class Node(ABC):
    """Converters for one schema node."""

    #: Whether :meth:`to_model` changes the datum (lets records skip identity fields fast).
    converts_to_model: bool = True

    @abstractmethod
    def to_model(self, datum: Any, path: str) -> Any:
        """Datum (trusted types) → model value. Raises DecodeError-class errors only."""

    @abstractmethod
    def from_model(self, value: Any, path: str) -> Any:
        """Model value → datum. Raises :class:`EventValidationError` naming ``path``."""

    @abstractmethod
    def from_json(self, value: Any, path: str) -> Any:
        """JSON value → datum. Raises :class:`EventValidationError` naming ``path``."""

    @abstractmethod
    def to_json(self, datum: Any) -> Any:
        """Datum (trusted types) → JSON value."""


class PrimitiveNode(Node):
    """``string``, ``boolean``, ``int``, ``long``, ``float``, ``double``, ``bytes``."""

    converts_to_model = False

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.is_string = kind == "string"

    def to_model(self, datum: Any, path: str) -> Any:
        return datum

    def from_model(self, value: Any, path: str) -> Any:
        if self.is_string and type(value) is str:  # the common case, without the dispatch
            return value
        return self._check(value, path)

    def from_json(self, value: Any, path: str) -> Any:
        if self.kind == "bytes":
            return _bytes_from_base64(value, path)
        return self._check(value, path)

    def to_json(self, datum: Any) -> Any:
        if self.kind == "bytes":
            return base64.b64encode(datum).decode("ascii")
        return datum

    def _check(self, value: Any, path: str) -> Any:
        kind = self.kind
        if kind == "string" and isinstance(value, str):
            return value
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind in _INT_RANGES and isinstance(value, int) and not isinstance(value, bool):
            low, high = _INT_RANGES[kind]
            if not low <= value <= high:
                raise EventValidationError(path, value, f"must be between {low} and {high}")
            return value
        if kind in ("double", "float") and _is_number(value):
            if not math.isfinite(value):
                raise EventValidationError(path, value, "must be a finite number")
            return float(value)
        if kind == "bytes" and isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise EventValidationError(
            _where(path), value, f"must be {_JSON_NAMES[kind]} (got {_type_name(value)})"
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bytes_from_base64(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise EventValidationError(
            path, value, f"must be a base64 string (got {_type_name(value)})"
        )
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as err:
        raise EventValidationError(path, value, "must be standard base64 with padding") from err


class DecimalNode(Node):
    """``bytes`` with logical type ``decimal``: model and datum are :class:`~decimal.Decimal`."""

    converts_to_model = False

    def __init__(self, precision: int, scale: int) -> None:
        self.scale = scale
        self.integer_digits = precision - scale
        self._quantum = Decimal(1).scaleb(-scale)

    def to_model(self, datum: Any, path: str) -> Any:
        return datum

    def from_model(self, value: Any, path: str) -> Decimal:
        if not isinstance(value, Decimal):
            raise EventValidationError(
                path, value, f"must be a decimal.Decimal (got {_type_name(value)})"
            )
        return self._checked(value, path)

    def from_json(self, value: Any, path: str) -> Decimal:
        if not isinstance(value, str) or not _DECIMAL_TEXT.fullmatch(value):
            raise EventValidationError(
                path, value, 'must be a decimal number written as a string, e.g. "12.5"'
            )
        return self._checked(Decimal(value), path)

    def to_json(self, datum: Any) -> str:
        return decimal_text(datum)

    def _checked(self, value: Decimal, path: str) -> Decimal:
        if not value.is_finite():
            raise EventValidationError(path, value, "must be a finite number")
        try:
            quantized = value.quantize(self._quantum)
        except InvalidOperation:
            quantized = None
        if quantized is None or quantized != value:
            raise EventValidationError(
                path, value, f"must have at most {self.scale} decimal places"
            )
        if abs(quantized) >= Decimal(10) ** self.integer_digits:
            raise EventValidationError(
                path, value, f"must have at most {self.integer_digits} digits before the point"
            )
        return quantized


def decimal_text(value: Decimal) -> str:
    """Shortest plain text of a decimal: ``Decimal("12.500")`` → ``"12.5"``, never an exponent."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


class DateNode(Node):
    """``int`` with logical type ``date``: model and datum are :class:`~datetime.date`."""

    converts_to_model = False

    def to_model(self, datum: Any, path: str) -> Any:
        return datum

    def from_model(self, value: Any, path: str) -> date:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise EventValidationError(path, value, f"must be a date (got {_type_name(value)})")
        return value

    def from_json(self, value: Any, path: str) -> date:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise EventValidationError(path, value, "must be a date written YYYY-MM-DD")

    def to_json(self, datum: Any) -> str:
        return str(datum.isoformat())


class TimestampNode(Node):
    """``string`` with logical type ``timestamp-rfc3339``; the model is an aware ``datetime``.

    Avro's ``timestamp-millis`` would lose the zone offset, which tells in which local time an
    event happened; the RFC 3339 text keeps it.
    """

    def __init__(self, decode_error: ErrorClass) -> None:
        self._decode_error = decode_error

    def to_model(self, datum: Any, path: str) -> datetime:
        return parse_timestamp(datum, path, self._decode_error)

    def from_model(self, value: Any, path: str) -> str:
        return format_timestamp(value, path)

    def from_json(self, value: Any, path: str) -> str:
        return format_timestamp(parse_timestamp(value, path, EventValidationError), path)

    def to_json(self, datum: Any) -> Any:
        return datum


def parse_timestamp(text: Any, path: str, error: ErrorClass) -> datetime:
    """Parse an RFC 3339 date-time that carries a zone offset (``Z`` or ``±hh:mm``).

    Raises:
        error: naming ``path`` when ``text`` is not such a date-time.
    """
    if isinstance(text, str) and _RFC3339.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError as err:
            raise error(path, text, f"is not a valid date-time: {err}") from err
    raise error(
        path,
        text,
        "must be an RFC 3339 date-time with zone offset, e.g. 2024-05-06T08:30:00+08:00 "
        "(at most 6 fraction digits)",
    )


def format_timestamp(value: Any, path: str) -> str:
    """RFC 3339 text of an aware datetime, keeping its offset.

    Raises:
        EventValidationError: ``value`` is not a datetime, has no zone offset, or its offset is not
            a whole number of minutes.
    """
    if not isinstance(value, datetime):
        raise EventValidationError(path, value, f"must be a datetime (got {_type_name(value)})")
    offset = value.utcoffset()
    if offset is None:
        raise EventValidationError(path, value, "must carry a zone offset (timezone-aware)")
    if offset % timedelta(minutes=1):
        raise EventValidationError(path, value, "zone offset must be a whole number of minutes")
    return value.isoformat()


class EnumNode(Node):
    """An Avro enum: model, datum and JSON are the symbol string."""

    converts_to_model = False

    def __init__(self, name: str, symbols: Sequence[str]) -> None:
        self.name = name
        self.symbols = tuple(symbols)
        self._known = frozenset(symbols)

    def to_model(self, datum: Any, path: str) -> Any:
        return datum

    def from_model(self, value: Any, path: str) -> str:
        if isinstance(value, str) and value in self._known:
            return value
        raise EventValidationError(path, value, f"must be one of: {', '.join(self.symbols)}")

    def from_json(self, value: Any, path: str) -> str:
        return self.from_model(value, path)

    def to_json(self, datum: Any) -> Any:
        return datum


class ArrayNode(Node):
    """An Avro array: a tuple in the model, a list in the datum and in JSON."""

    def __init__(self, items: Node) -> None:
        self.items = items
        self._of_strings = isinstance(items, PrimitiveNode) and items.is_string

    def to_model(self, datum: Any, path: str) -> tuple[Any, ...]:
        if not self.items.converts_to_model:
            return tuple(datum)
        convert = self.items.to_model
        return tuple(convert(item, f"{path}[{index}]") for index, item in enumerate(datum))

    def from_model(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise EventValidationError(path, value, f"must be a list (got {_type_name(value)})")
        if self._of_strings and all(type(item) is str for item in value):
            return list(value)  # what converting each item would give
        convert = self.items.from_model
        return [convert(item, f"{path}[{index}]") for index, item in enumerate(value)]

    def from_json(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise EventValidationError(path, value, f"must be a list (got {_type_name(value)})")
        convert = self.items.from_json
        return [convert(item, f"{path}[{index}]") for index, item in enumerate(value)]

    def to_json(self, datum: Any) -> list[Any]:
        convert = self.items.to_json
        return [convert(item) for item in datum]


class NullableNode(Node):
    """``["null", T]``: ``None`` or a value of ``T``."""

    def __init__(self, inner: Node) -> None:
        self.inner = inner
        self.converts_to_model = inner.converts_to_model

    def to_model(self, datum: Any, path: str) -> Any:
        return None if datum is None else self.inner.to_model(datum, path)

    def from_model(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.from_model(value, path)

    def from_json(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.from_json(value, path)

    def to_json(self, datum: Any) -> Any:
        return None if datum is None else self.inner.to_json(datum)


_REQUIRED: Any = object()
#: Mapping types checked without the (slower) ``isinstance(value, Mapping)``.
_PLAIN_MAPPINGS = (dict, MappingProxyType)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One record field: its converter, default and the validation format it declares."""

    name: str
    node: Node
    #: JSON value used when the field is absent (schema ``default``), or ``_REQUIRED``.
    default: Any
    #: The field's ``format`` attribute (``uscc``, ``trace-code`` …), checked by validation.
    format: str | None
    doc: str

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


class RecordNode(Node):
    """An Avro record: a read-only mapping in the model, a dict in the datum and in JSON."""

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.short_name = name.rsplit(".", 1)[-1]
        self.doc = doc
        self.fields: tuple[FieldSpec, ...] = ()
        self._by_name: dict[str, FieldSpec] = {}
        self._converting: tuple[tuple[str, Node], ...] = ()
        self._from_model: tuple[tuple[FieldSpec, Callable[[Any, str], Any]], ...] = ()

    def set_fields(self, fields: Sequence[FieldSpec]) -> None:
        self.fields = tuple(fields)
        self._by_name = {spec.name: spec for spec in fields}
        self._converting = tuple((s.name, s.node) for s in fields if s.node.converts_to_model)
        self._from_model = tuple((spec, spec.node.from_model) for spec in fields)

    def field(self, name: str) -> FieldSpec:
        return self._by_name[name]

    def without(self, name: str) -> RecordNode:
        """A copy of this record without field ``name`` (the event envelope sans payload)."""
        copy = RecordNode(self.name, self.doc)
        copy.set_fields([spec for spec in self.fields if spec.name != name])
        return copy

    def to_model(self, datum: Any, path: str) -> Mapping[str, Any]:
        # fastavro hands out a fresh dict per record: converting in place is safe and fast.
        for name, node in self._converting:
            datum[name] = node.to_model(datum[name], join_path(path, name))
        return MappingProxyType(datum)

    def from_model(self, value: Any, path: str) -> dict[str, Any]:
        # The same steps as :meth:`_convert`, unrolled: every event validated or encoded
        # passes here, several records deep.
        if type(value) not in _PLAIN_MAPPINGS and not isinstance(value, Mapping):
            raise EventValidationError(
                _where(path), value, f"must be an object (got {_type_name(value)})"
            )
        self._reject_unknown(value, path)
        datum = {}
        for spec, convert in self._from_model:
            name = spec.name
            field_path = f"{path}.{name}" if path else name
            if name in value:
                datum[name] = convert(value[name], field_path)
            elif spec.required:
                raise EventValidationError(field_path, None, "required field is missing")
            else:
                datum[name] = spec.node.from_json(spec.default, field_path)
        return datum

    def from_json(self, value: Any, path: str) -> dict[str, Any]:
        return self._convert(value, path, lambda node: node.from_json)

    def to_json(self, datum: Any) -> dict[str, Any]:
        return {spec.name: spec.node.to_json(datum[spec.name]) for spec in self.fields}

    def _convert(
        self, value: Any, path: str, method: Callable[[Node], Callable[[Any, str], Any]]
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise EventValidationError(
                _where(path), value, f"must be an object (got {_type_name(value)})"
            )
        # Every field is read, and every one that cannot be is reported at once.
        errors: list[InvalidInputError] = []
        try:
            self._reject_unknown(value, path)
        except InvalidInputError as err:
            errors.append(err)
        datum = {}
        for spec in self.fields:
            field_path = join_path(path, spec.name)
            try:
                if spec.name in value:
                    datum[spec.name] = method(spec.node)(value[spec.name], field_path)
                elif spec.required:
                    raise EventValidationError(field_path, None, "required field is missing")
                else:
                    datum[spec.name] = spec.node.from_json(spec.default, field_path)
            except InvalidInputError as err:
                errors.append(err)
        raise_errors(errors)
        return datum

    def _reject_unknown(self, value: Mapping[Any, Any], path: str) -> None:
        by_name = self._by_name
        for key in value:
            if key not in by_name:
                reject_unknown_fields(value, path, by_name, self.short_name)


def reject_unknown_fields(
    value: Mapping[Any, Any], path: str, known: Iterable[str], owner: str
) -> None:
    """Raise naming the first key of ``value`` not in ``known`` (and listing the others).

    Raises:
        EventValidationError: ``value`` has a key that is not a field of ``owner``.
    """
    known_names = list(known)
    unknown = [str(key) for key in value if key not in known_names]
    if unknown:
        others = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise EventValidationError(
            join_path(path, unknown[0]),
            value[unknown[0]],
            f"unknown field{others}; {owner} has: {', '.join(known_names)}",
        )


class RecordUnionNode(Node):
    """A union of records (the event payload); the datum is ``(full name, dict)``.

    Model and JSON values are ``(short name, record)`` pairs: the short name is the event type.
    """

    def __init__(self, branches: Sequence[RecordNode]) -> None:
        self.branches = {branch.short_name: branch for branch in branches}
        self._by_full_name = {branch.name: branch for branch in branches}

    def branch(self, event_type: Any, path: str = "event_type") -> RecordNode:
        """The payload record named ``event_type``.

        Raises:
            EventValidationError: no payload record has this name.
        """
        branch = self.branches.get(event_type) if isinstance(event_type, str) else None
        if branch is None:
            raise EventValidationError(
                path, event_type, f"unknown event type; known: {', '.join(self.branches)}"
            )
        return branch

    def to_model(self, datum: Any, path: str) -> tuple[str, Mapping[str, Any]]:
        full_name, record = datum
        branch = self._by_full_name[full_name]
        return branch.short_name, branch.to_model(record, path)

    def from_model(self, value: Any, path: str) -> tuple[str, dict[str, Any]]:
        event_type, record = value
        branch = self.branch(event_type)
        return branch.name, branch.from_model(record, path)

    def from_json(self, value: Any, path: str) -> tuple[str, dict[str, Any]]:
        event_type, record = value
        branch = self.branch(event_type)
        return branch.name, branch.from_json(record, path)

    def to_json(self, datum: Any) -> tuple[str, dict[str, Any]]:
        full_name, record = datum
        branch = self._by_full_name[full_name]
        return branch.short_name, branch.to_json(record)


class SchemaCompiler:
    """Compiles a fastavro-parsed schema into :class:`Node` converters."""

    def __init__(self, decode_error: ErrorClass) -> None:
        self._decode_error = decode_error
        self._named: dict[str, Node] = {}

    def compile(self, schema: Any) -> Node:
        if isinstance(schema, str):
            return self._reference(schema)
        if isinstance(schema, list):
            return self._union(schema)
        kind = schema["type"]
        if kind == "record":
            return self._record(schema)
        if kind == "enum":
            node: Node = EnumNode(schema["name"], schema["symbols"])
            self._named[schema["name"]] = node
            return node
        if kind == "array":
            return ArrayNode(self.compile(schema["items"]))
        return self._logical(schema)

    def _reference(self, name: str) -> Node:
        if name in self._named:
            return self._named[name]
        if name in _JSON_NAMES:
            return PrimitiveNode(name)
        raise SchemaFileError(f"unsupported schema type {name!r}")

    def _logical(self, schema: Mapping[str, Any]) -> Node:
        logical = schema.get("logicalType")
        if logical == "decimal" and schema["type"] == "bytes":
            return DecimalNode(schema["precision"], schema.get("scale", 0))
        if logical == "date" and schema["type"] == "int":
            return DateNode()
        if logical == TIMESTAMP_LOGICAL_TYPE and schema["type"] == "string":
            return TimestampNode(self._decode_error)
        return self._reference(schema["type"])

    def _union(self, branches: list[Any]) -> Node:
        if len(branches) == 2 and branches[0] == "null":
            return NullableNode(self.compile(branches[1]))
        nodes = [self.compile(branch) for branch in branches]
        records = [node for node in nodes if isinstance(node, RecordNode)]
        if len(records) != len(nodes):
            raise SchemaFileError("only [null, T] and unions of records are supported")
        return RecordUnionNode(records)

    def _record(self, schema: Mapping[str, Any]) -> RecordNode:
        node = RecordNode(schema["name"], schema.get("doc", ""))
        self._named[node.name] = node
        node.set_fields([self._field(field) for field in schema["fields"]])
        return node

    def _field(self, field: Mapping[str, Any]) -> FieldSpec:
        node = self.compile(field["type"])
        default = field.get("default", _REQUIRED)
        return FieldSpec(field["name"], node, default, field.get("format"), field.get("doc", ""))
