"""Content rules of the event contract (design.md §3, §4): :func:`validate_event`.

Three layers, each reporting broken rules with the field path:

1. shape: every field fits the current schema (the same check the encoder makes);
2. formats and bounds: fields declare a ``format`` in the ``.avsc`` files (``uscc``,
   ``trace-code``, ``certificate-code``, ``uuid``, ``region-code``, ``gln``, ``pseudonym`` …);
   every other text field must be non-blank, no longer than its field's limit and free of control
   and invisible formatting characters; every date and time lies in a window around the time of
   recording, and every number in its field's range (``docs/events.md``, "Bounds"): readers
   never meet a value they cannot compute with;
3. envelope and per-type rules (e.g. a test-based 合格证 links its inspection, a vaccine
   administration is about exactly one drug trace code).

Layer 2 and the envelope report every field that breaks a rule at once
(:class:`~suyuan.errors.MultipleInputError` when there are several; an array of plain values stops
at its first bad item). Layer 1 and the per-type rules report the first rule broken; the
per-type rules run only on an event whose fields all passed.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from stdnum import ean, iso6346
from stdnum.cn import ric

from suyuan.codes import CodeKind, parse_trace_code, validate_uscc
from suyuan.errors import CodeError, EventValidationError, InvalidInputError, raise_errors
from suyuan.events._codec import Codec, default_codec
from suyuan.events._nodes import (
    ArrayNode,
    DateNode,
    NullableNode,
    PrimitiveNode,
    RecordNode,
    TimestampNode,
)
from suyuan.events.model import TRUST_EVENT_TYPES, Event

#: Longest value of a short text field (names, numbers) and of a free-text field.
MAX_SHORT_TEXT = 200
MAX_LONG_TEXT = 2000
#: Free-text fields: longer, and may hold line breaks and tabs.
LONG_TEXT_FIELDS = frozenset(
    {"commitment", "reason", "summary", "symptoms", "check_note", "note", "address"}
)
#: Document and reference numbers, and an inspection item's measured value and limit: identifiers
#: and figures, shorter than a name.
_TERSE_FIELDS = (
    *("batch_no", "certificate_no", "customs_declaration_no", "device_id", "import_batch_no"),
    *("insurance_settlement_no", "lot_no", "number", "quarantine_certificate_no", "receipt_no"),
    *("release_certificate_no", "report_no", "storage_unit", "waybill_no", "limit", "value"),
)
#: Longest value of each text field by name; any other text field takes :data:`MAX_SHORT_TEXT`.
TEXT_LIMITS: dict[str, int] = {
    **dict.fromkeys(LONG_TEXT_FIELDS, MAX_LONG_TEXT),
    "address": 500,
    **dict.fromkeys(_TERSE_FIELDS, 64),
    "unit": 16,
    "vehicle_plate": 16,
}
#: Invisible characters that can disguise text: bidi embeddings, overrides, isolates and marks
#: (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C) and zero-width ones (U+200B-U+200D, U+2060,
#: U+FEFF). A name reversed by U+202E reads differently on a scan page than in the ledger.
INVISIBLE_CHARACTERS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\ufeff"
)
#: No date or time before this is accepted: traceability records start long after it.
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
#: How far past the time of recording an event may be dated (clock skew; a zone ahead of UTC).
FUTURE_ALLOWANCE = timedelta(days=1)
#: Zone offsets of real places: from UTC-12:00 (Baker Island) to UTC+14:00 (Line Islands).
ZONE_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))
#: Dates that lie ahead by nature, and how far past the time of recording they may lie.
FORWARD_DATE_ALLOWANCE = {"expiry_date": timedelta(days=3653)}
#: Inclusive range of every number field, by field name. Every ``int``, ``long``, ``float`` and
#: ``double`` field of the schemas must be listed (a test checks it).
NUMBER_BOUNDS: dict[str, tuple[int, int]] = {
    # A dose series is short; 10 is more than any schedule has.
    "dose_no": (1, 10),
    # Ten years: longer than any food or drug keeps, and the expiry it gives stays computable.
    "shelf_life_days": (1, 3650),
    # Food and vaccines are kept between about -80 °C (ultra-cold) and cooking temperatures.
    "celsius": (-100, 100),
    "min_celsius": (-100, 100),
    "max_celsius": (-100, 100),
}
#: Largest quantity of goods in one event or transformation entry (kg, boxes, doses …).
MAX_QUANTITY = Decimal(10) ** 9
#: Event types that need not be about any code.
CODELESS_EVENT_TYPES = TRUST_EVENT_TYPES | {"RecallAcknowledged", "RecallClosed"}
#: Event types whose envelope must carry quantity and unit.
QUANTITY_EVENT_TYPES = frozenset(
    {"CertificateIssued", "AnimalQuarantineCertified", "ImportDeclared", "VaccineLotReleased"}
)
#: Dose numbers accepted in VaccineAdministered.
MAX_DOSE_NO = NUMBER_BOUNDS["dose_no"][1]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_KEY_ID = re.compile(r"[0-9a-f]{8,64}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REGION_CODE = re.compile(r"[0-9]{6}")
_PSEUDONYM = re.compile(r"[A-Za-z0-9_.:-]{16,128}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")
# A 身份证 number or a mainland mobile number (optionally after 86) inside a longer value.
_EMBEDDED_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_EMBEDDED_PHONE = re.compile(r"(?<![0-9])(?:86)?1[3-9][0-9]{9}(?![0-9])")
# GB/T 2260 province-level prefixes (incl. 71 Taiwan, 81 Hong Kong, 82 Macao).
_PROVINCES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82"),
    }
)
_LONG_TEXT_CONTROLS_ALLOWED = frozenset("\n\r\t")
#: USCC text → its canonical form, for USCCs that passed ``validate_uscc`` (a pure function).
_VALID_USCCS: dict[str, str] = {}
_MAX_REMEMBERED_USCCS = 4096


def validate_event(
    event: Event, *, codec: Codec | None = None, now: datetime | None = None
) -> None:
    """Check every rule of the event contract; return quietly when ``event`` keeps them all.

    ``now`` is the time of recording that dates are bounded by (default: the current time); it
    must be timezone-aware.

    Raises:
        EventValidationError: a field does not fit the schema, or a content rule is broken
            (``field`` is the path, e.g. ``payload.inspection_event_id``; ``rule`` says why).
        CodeError: the actor or another organisation field is not a valid USCC, or a code does
            not parse as a trace code or is not in canonical form.
        MultipleInputError: (an ``EventValidationError``) several fields break rules of formats,
            bounds or the envelope; ``errors`` holds each one.
        ValueError: ``now`` is not timezone-aware (a programming error, not bad input).
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    shape = (codec or default_codec()).shape
    datum = shape.datum_from_event(event)
    _, payload = datum["payload"]
    check = _Check(event, datum, payload, now)
    _check_record(shape.envelope, datum, "", check)
    _check_record(shape.payload.branch(event.event_type), payload, "payload", check)
    try:
        _check_envelope(check)
    except InvalidInputError as err:
        check.errors.append(err)
    # The per-type rules read fields as the checks above left them (parsed codes, dates in
    # range): they run only on an event whose fields are all good.
    raise_errors(check.errors)
    rule = _TYPE_RULES.get(event.event_type)
    if rule is not None:
        rule(check)


@dataclass
class _Check:
    event: Event
    datum: Mapping[str, Any]
    payload: Mapping[str, Any]
    #: The time of recording, which bounds every date and time of the event.
    now: datetime
    #: Kind of every trace code met so far, by canonical text.
    kinds: dict[str, CodeKind] = field(default_factory=dict)
    #: Every field found breaking a rule so far.
    errors: list[InvalidInputError] = field(default_factory=list)

    @property
    def codes(self) -> Sequence[str]:
        codes: Sequence[str] = self.datum["codes"]
        return codes

    def local_date(self) -> date:
        return self.event.occurred_at.date()


# --- formats and text -------------------------------------------------------------------------


#: Checks a field value that is not ``None``: ``checker(value, path, check)``.
_Checker = Callable[[Any, str, "_Check"], None]
#: Per record node, the fields that have something to check, with their checker. Compiled once
#: per schema node: walking every field of every event generically cost more than the checks.
_PLANS: weakref.WeakKeyDictionary[RecordNode, tuple[tuple[str, _Checker], ...]] = (
    weakref.WeakKeyDictionary()
)


def _check_record(node: RecordNode, datum: Mapping[str, Any], path: str, check: _Check) -> None:
    plan = _PLANS.get(node)
    if plan is None:
        plan = _PLANS[node] = _compile_record(node)
    for name, checker in plan:
        value = datum[name]
        if value is not None:
            try:
                checker(value, f"{path}.{name}" if path else name, check)
            except InvalidInputError as err:
                check.errors.append(err)  # every bad field is reported, not just the first


def _compile_record(node: RecordNode) -> tuple[tuple[str, _Checker], ...]:
    plan: list[tuple[str, _Checker]] = []
    for spec in node.fields:
        checker = _value_checker(spec.format, spec.name, spec.node)
        if checker is not None:
            plan.append((spec.name, checker))
    return tuple(plan)


def _value_checker(fmt: str | None, name: str, node: Any) -> _Checker | None:
    """What to check in a value of ``node`` (``None`` when nothing can fail), in the order and
    with the paths of a walk over the value: arrays item by item, records field by field, then
    a field's ``format``, then the text rules of plain strings."""
    if isinstance(node, NullableNode):
        node = node.inner
    if isinstance(node, ArrayNode):
        return _array_checker(_value_checker(fmt, name, node.items))
    if isinstance(node, RecordNode):
        record: RecordNode = node

        def check_record(value: Any, path: str, check: _Check) -> None:
            _check_record(record, value, path, check)

        return check_record
    if fmt is not None:
        return _format_checker(fmt)
    if isinstance(node, TimestampNode):
        return _moment_checker(FORWARD_DATE_ALLOWANCE.get(name, FUTURE_ALLOWANCE))
    if isinstance(node, DateNode):
        return _date_checker(FORWARD_DATE_ALLOWANCE.get(name, FUTURE_ALLOWANCE))
    if isinstance(node, PrimitiveNode) and node.kind == "string":
        return _text_checker(TEXT_LIMITS.get(name, MAX_SHORT_TEXT), name in LONG_TEXT_FIELDS)
    if isinstance(node, PrimitiveNode) and node.kind in ("int", "long", "float", "double"):
        return _number_checker(name)
    return None


def _array_checker(item_checker: _Checker | None) -> _Checker | None:
    if item_checker is None:
        return None
    checker: _Checker = item_checker

    def check_items(value: Any, path: str, check: _Check) -> None:
        for index, item in enumerate(value):
            if item is not None:
                checker(item, f"{path}[{index}]", check)

    return check_items


def _format_checker(fmt: str) -> _Checker:
    known = _FORMATS.get(fmt)
    if known is not None:
        return known

    def unknown_format(value: Any, path: str, check: _Check) -> None:
        _FORMATS[fmt](value, path, check)  # a schema naming a format with no rule: KeyError

    return unknown_format


def _text_checker(limit: int, long_text: bool) -> _Checker:
    def check_text(value: str, path: str, check: _Check) -> None:
        _check_text(value, path, limit=limit, long_text=long_text)

    return check_text


def _check_text(value: str, path: str, *, limit: int, long_text: bool) -> None:
    if not value.strip():
        raise EventValidationError(path, value, "must not be blank")
    if len(value) > limit:
        raise EventValidationError(path, value, f"must be at most {limit} characters")
    if value.isprintable():  # no control or format character (checked in C): the common case
        return
    allowed = _LONG_TEXT_CONTROLS_ALLOWED if long_text else frozenset()
    for position, char in enumerate(value, start=1):
        if (char < " " or "\x7f" <= char <= "\x9f") and char not in allowed:
            raise EventValidationError(
                path,
                value,
                f"must not contain control character U+{ord(char):04X} (position {position})",
            )
        if char in INVISIBLE_CHARACTERS:
            raise EventValidationError(
                path,
                value,
                f"must not contain invisible bidi or zero-width character U+{ord(char):04X} "
                f"(position {position})",
            )


# --- dates, times and numbers -----------------------------------------------------------------


def _window(check: _Check, ahead: timedelta) -> tuple[datetime, datetime]:
    return EARLIEST_MOMENT, check.now.astimezone(UTC) + ahead


def _moment_checker(ahead: timedelta) -> _Checker:
    def check_moment(value: str, path: str, check: _Check) -> None:
        # Aware datetimes compare without converting (which overflows near year 1 or 9999).
        moment = datetime.fromisoformat(value)
        offset = moment.utcoffset()
        if offset is not None and not ZONE_OFFSETS[0] <= offset <= ZONE_OFFSETS[1]:
            raise EventValidationError(path, value, "zone offset must be between -12:00 and +14:00")
        earliest, latest = _window(check, ahead)
        if moment < earliest:
            raise EventValidationError(path, value, f"must not be before {earliest.isoformat()}")
        if moment > latest:
            raise EventValidationError(
                path, value, f"must not be after {latest.isoformat()} ({_ahead_text(ahead)})"
            )

    return check_moment


def _date_checker(ahead: timedelta) -> _Checker:
    def check_date(value: date, path: str, check: _Check) -> None:
        earliest, latest = _window(check, ahead)
        if value < earliest.date():
            raise EventValidationError(
                path, value, f"must not be before {earliest.date().isoformat()}"
            )
        if value > latest.date():
            raise EventValidationError(
                path,
                value,
                f"must not be after {latest.date().isoformat()} ({_ahead_text(ahead)})",
            )

    return check_date


def _ahead_text(ahead: timedelta) -> str:
    days = ahead.days
    what = "1 day" if days == 1 else f"{days} days"
    return f"at most {what} after the time of recording"


def _number_checker(name: str) -> _Checker:
    def check_number(value: float, path: str, check: _Check) -> None:
        # A number field with no bound is a schema change that forgot this table: KeyError.
        low, high = NUMBER_BOUNDS[name]
        if not low <= value <= high:
            raise EventValidationError(path, value, f"must be {low} to {high}")

    return check_number


def _uuid(value: str, path: str, check: _Check) -> None:
    if not _UUID.fullmatch(value):
        raise EventValidationError(path, value, "must be a UUID in lower-case 8-4-4-4-12 form")


def _uscc(value: str, path: str, check: _Check) -> None:
    # An organisation signs many events: remember the USCCs already found valid.
    canonical = _VALID_USCCS.get(value)
    if canonical is None:
        canonical = validate_uscc(value, field=path)
        if len(_VALID_USCCS) >= _MAX_REMEMBERED_USCCS:
            _VALID_USCCS.clear()
        _VALID_USCCS[value] = canonical
    if canonical != value:
        raise CodeError(path, value, f"USCC must be in canonical form {canonical!r}")


def _trace_code(value: str, path: str, check: _Check) -> None:
    code = parse_trace_code(value, field=path)
    if code.value != value:
        raise CodeError(path, value, f"trace code must be in canonical form {code.value!r}")
    check.kinds[value] = code.kind


def _certificate_code(value: str, path: str, check: _Check) -> None:
    _trace_code(value, path, check)
    if check.kinds[value] is not CodeKind.CERTIFICATE:
        raise CodeError(
            path, value, f"must be a 合格证 certificate code (got a {check.kinds[value]} code)"
        )


def _region_code(value: str, path: str, check: _Check) -> None:
    if not _REGION_CODE.fullmatch(value) or value[:2] not in _PROVINCES:
        raise EventValidationError(
            path, value, "must be a 6-digit GB/T 2260 region code starting with a province code"
        )


def _gln(value: str, path: str, check: _Check) -> None:
    if len(value) != 13 or not ean.is_valid(value):
        raise EventValidationError(path, value, "must be a 13-digit GLN with a valid check digit")


def _key_id(value: str, path: str, check: _Check) -> None:
    if not _KEY_ID.fullmatch(value):
        raise EventValidationError(path, value, "must be 8-64 lower-case hex characters")


def _country(value: str, path: str, check: _Check) -> None:
    if not _COUNTRY.fullmatch(value):
        raise EventValidationError(path, value, "must be an ISO 3166-1 alpha-2 code, e.g. BR")


def _container_no(value: str, path: str, check: _Check) -> None:
    if not iso6346.is_valid(value) or iso6346.compact(value) != value:
        raise EventValidationError(
            path, value, "must be an ISO 6346 container number like CSQU3054383 (check digit)"
        )


def _pseudonym(value: str, path: str, check: _Check) -> None:
    if _ID_NUMBER.fullmatch(value) or any(
        ric.is_valid(match.group()) for match in _EMBEDDED_ID_NUMBER.finditer(value)
    ):
        raise EventValidationError(
            path, "(withheld)", "looks like a 身份证 number; only a keyed pseudonym may be recorded"
        )
    if _EMBEDDED_PHONE.search(value):
        raise EventValidationError(
            path,
            "(withheld)",
            "holds a mobile phone number; only a keyed pseudonym may be recorded",
        )
    if not _PSEUDONYM.fullmatch(value) or value.isdigit():
        raise EventValidationError(
            path,
            "(withheld)",
            "must be a keyed pseudonym: 16-128 letters, digits or - _ : . and not only digits",
        )


def _quantity(value: Decimal, path: str, check: _Check) -> None:
    if value < 0:
        raise EventValidationError(path, value, "must not be negative")
    if value > MAX_QUANTITY:
        raise EventValidationError(path, value, f"must be at most {MAX_QUANTITY:,f}")


_FORMATS: dict[str, Callable[[Any, str, _Check], None]] = {
    "uuid": _uuid,
    "uscc": _uscc,
    "trace-code": _trace_code,
    "certificate-code": _certificate_code,
    "region-code": _region_code,
    "gln": _gln,
    "key-id": _key_id,
    "country": _country,
    "container-no": _container_no,
    "pseudonym": _pseudonym,
    "quantity": _quantity,
}

# --- envelope ---------------------------------------------------------------------------------


def _check_envelope(check: _Check) -> None:
    event_type = check.event.event_type
    _require_unique(check.codes, "codes")
    if not check.codes and event_type not in CODELESS_EVENT_TYPES:
        raise EventValidationError("codes", [], f"a {event_type} event is about at least one code")
    quantity, unit = check.datum["quantity"], check.datum["unit"]
    if quantity is not None and unit is None:
        raise EventValidationError("unit", None, "required when quantity is given")
    if unit is not None and quantity is None:
        raise EventValidationError("quantity", None, "required when unit is given")
    if quantity is None and event_type in QUANTITY_EVENT_TYPES:
        raise EventValidationError("quantity", None, f"required for {event_type} (with unit)")


def _require_unique(values: Sequence[Any], path: str) -> None:
    first_seen: dict[Any, int] = {}
    for index, value in enumerate(values):
        if value in first_seen:
            raise EventValidationError(
                f"{path}[{index}]", value, f"repeats {path}[{first_seen[value]}]"
            )
        first_seen[value] = index


def _require_non_empty(values: Sequence[Any], path: str, what: str) -> None:
    if not values:
        raise EventValidationError(path, [], f"must list at least one {what}")


def _require_in_codes(check: _Check, located: Sequence[tuple[str, str]]) -> None:
    """Each ``(path, code)`` must also be in the envelope's codes."""
    listed = set(check.codes)
    for path, code in located:
        if code not in listed:
            raise EventValidationError(
                path, code, "must also be listed in codes (the ledger indexes events by codes)"
            )


def _indexed(values: Sequence[str], path: str) -> list[tuple[str, str]]:
    return [(f"{path}[{index}]", value) for index, value in enumerate(values)]


def _own_certificate(check: _Check) -> str:
    certificates = [code for code in check.codes if check.kinds[code] is CodeKind.CERTIFICATE]
    if len(certificates) != 1:
        raise EventValidationError(
            "codes",
            check.codes,
            f"must hold exactly one 合格证 certificate code (found {len(certificates)})",
        )
    return certificates[0]


# --- per event type ---------------------------------------------------------------------------


def _organisation_registered(check: _Check) -> None:
    roles = check.payload["roles"]
    _require_non_empty(roles, "payload.roles", "role")
    _require_unique(roles, "payload.roles")


def _signing_key_registered(check: _Check) -> None:
    key = check.payload["public_key"]
    if len(key) != 32:
        raise EventValidationError(
            "payload.public_key", key, f"an Ed25519 public key is 32 bytes (got {len(key)})"
        )


def _certificate_issued(check: _Check) -> None:
    payload = check.payload
    own = _own_certificate(check)
    upstream = payload["upstream_certificates"]
    _require_unique(upstream, "payload.upstream_certificates")
    if own in upstream:
        index = upstream.index(own)
        raise EventValidationError(
            f"payload.upstream_certificates[{index}]", own, "cannot be the certificate itself"
        )
    if payload["basis"] != "QUALITY_CONTROL" and payload["inspection_event_id"] is None:
        raise EventValidationError(
            "payload.inspection_event_id",
            None,
            f"required when basis is {payload['basis']}: link the passing inspection",
        )
    if payload["issuer_type"] == "PURCHASER" and not upstream:
        raise EventValidationError(
            "payload.upstream_certificates",
            [],
            "a purchaser's certificate must link at least one upstream certificate",
        )


def _certificate_voided(check: _Check) -> None:
    own = _own_certificate(check)
    if check.payload["replacement_code"] == own:
        raise EventValidationError(
            "payload.replacement_code", own, "cannot be the voided certificate itself"
        )


def _inspection_recorded(check: _Check) -> None:
    payload = check.payload
    items = payload["items"]
    _require_non_empty(items, "payload.items", "tested item")
    all_passed = all(item["passed"] for item in items)
    if payload["passed"] != all_passed:
        rule = (
            "must be true: every item passed"
            if all_passed
            else "must be false: at least one item failed"
        )
        raise EventValidationError("payload.passed", payload["passed"], rule)
    if payload["kind"] == "COMMISSIONED_LAB" and payload["lab"] is None:
        raise EventValidationError("payload.lab", None, "required for a COMMISSIONED_LAB test")


def _transformed(check: _Check) -> None:
    paths = []
    for side in ("inputs", "outputs"):
        entries = check.payload[side]
        _require_non_empty(entries, f"payload.{side}", "code")
        paths += [(f"payload.{side}[{i}].code", entry["code"]) for i, entry in enumerate(entries)]
    seen: dict[str, str] = {}
    for path, code in paths:
        if code in seen:
            raise EventValidationError(path, code, f"repeats {seen[code]}")
        seen[code] = path
    _require_in_codes(check, paths)


def _aggregation(check: _Check) -> None:
    parent, children = check.payload["parent_code"], check.payload["child_codes"]
    _require_non_empty(children, "payload.child_codes", "child code")
    _require_unique(children, "payload.child_codes")
    if parent in children:
        index = children.index(parent)
        raise EventValidationError(
            f"payload.child_codes[{index}]", parent, "cannot be the parent code itself"
        )
    _require_in_codes(check, [("payload.parent_code", parent)])
    _require_in_codes(check, _indexed(children, "payload.child_codes"))


def _released(check: _Check) -> None:
    payload = check.payload
    if payload["facility"] == "SUPERVISED_WAREHOUSE" and payload["release_certificate_no"] is None:
        raise EventValidationError(
            "payload.release_certificate_no",
            None,
            "required to leave a SUPERVISED_WAREHOUSE (集中监管仓出仓证明)",
        )


def _temperature_recorded(check: _Check) -> None:
    payload = check.payload
    readings = payload["readings"]
    _require_non_empty(readings, "payload.readings", "reading")
    if payload["min_celsius"] > payload["max_celsius"]:
        raise EventValidationError(
            "payload.min_celsius", payload["min_celsius"], "must not exceed max_celsius"
        )
    previous = None
    for index, reading in enumerate(readings):
        at = datetime.fromisoformat(reading["at"])
        if previous is not None and at < previous:
            raise EventValidationError(
                f"payload.readings[{index}].at", reading["at"], "readings must be in time order"
            )
        previous = at


def _import_declared(check: _Check) -> None:
    payload = check.payload
    if payload["production_date"] > check.local_date():
        raise EventValidationError(
            "payload.production_date",
            payload["production_date"],
            "must not be after the declaration (occurred_at)",
        )


def _vaccine_lot_released(check: _Check) -> None:
    if check.payload["expiry_date"] <= check.local_date():
        raise EventValidationError(
            "payload.expiry_date", check.payload["expiry_date"], "must be after the release date"
        )


def _vaccine_administered(check: _Check) -> None:
    codes = check.codes
    if len(codes) != 1 or check.kinds[codes[0]] is not CodeKind.DRUG:
        raise EventValidationError(
            "codes", codes, "must hold exactly one code: the drug trace code of the unit given"
        )


def _adverse_event_reported(check: _Check) -> None:
    onset = datetime.fromisoformat(check.payload["onset_at"])
    if onset > check.event.occurred_at:
        raise EventValidationError(
            "payload.onset_at", check.payload["onset_at"], "must not be after the report"
        )


def _recall_initiated(check: _Check) -> None:
    roots = check.payload["root_codes"]
    _require_non_empty(roots, "payload.root_codes", "code")
    _require_unique(roots, "payload.root_codes")
    _require_in_codes(check, _indexed(roots, "payload.root_codes"))


_TYPE_RULES: dict[str, Callable[[_Check], None]] = {
    "OrganisationRegistered": _organisation_registered,
    "SigningKeyRegistered": _signing_key_registered,
    "CertificateIssued": _certificate_issued,
    "CertificateVoided": _certificate_voided,
    "InspectionRecorded": _inspection_recorded,
    "Transformed": _transformed,
    "Aggregated": _aggregation,
    "Disaggregated": _aggregation,
    "Released": _released,
    "TemperatureRecorded": _temperature_recorded,
    "ImportDeclared": _import_declared,
    "VaccineLotReleased": _vaccine_lot_released,
    "VaccineAdministered": _vaccine_administered,
    "AdverseEventReported": _adverse_event_reported,
    "RecallInitiated": _recall_initiated,
}
