"""The GS1 CBV 2.0 event hash (CBV 2.0, section "Event hash"; docs/epcis.md "Event hash").

An EPCIS event is written as a *pre-hash string*: ``eventType=…``, then its members in the
standard's canonical order (times in UTC at millisecond precision, EPC URNs and any GS1 Digital
Link as canonical Digital Link URIs on ``id.gs1.org``, CBV words and URNs as
``https://ref.gs1.org/cbv/…`` URIs, numbers without trailing zeros; list elements sorted), then
every other member (trading-partner lists, business transactions, extensions) sorted; ``eventID``
and ``recordTime`` are left out. The SHA-256 of that string, as
``ni:///sha-256;{hex}?ver=CBV2.0``, names the event whoever wrote it and however it was spelt.

Our own members (``suyuan:…``, the ledger's annotations added on export: position, proof, our
event type and payload) are left out too, so an event we export hashes as the event captured.
The reference implementation (RalphTro/epcis-event-hash-generator) is the cross-check in the
tests.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"
OWN_PREFIX = "suyuan:"
_CBV = "https://ref.gs1.org/cbv/"
_GS1 = "https://id.gs1.org"
_IGNORED = frozenset({"eventID", "recordTime", "type", "@context"})

# Members whose bare-word values are CBV terms, with the term's prefix.
_WORD_PREFIXES = {"bizStep": "BizStep-", "disposition": "Disp-", "set": "Disp-", "unset": "Disp-"}
_URN_PREFIXES = {
    "urn:epcglobal:cbv:bizstep:": "BizStep-",
    "urn:epcglobal:cbv:disp:": "Disp-",
    "urn:epcglobal:cbv:btt:": "BTT-",
    "urn:epcglobal:cbv:sdt:": "SDT-",
    "urn:epcglobal:cbv:er:": "ER-",
}
_EPC_LISTS = ("epcList", "parentID", "inputEPCList", "childEPCs")
_QUANTITY = ("epcClass", "quantity", "uom")
_METADATA = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
_REPORT = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
# Party and transaction lists: each element is its value with its type as a child.
_TYPED_LISTS = {
    "bizTransactionList": ("bizTransaction", "BTT-"),
    "sourceList": ("source", "SDT-"),
    "destinationList": ("destination", "SDT-"),
}
_DL_KEYS = frozenset({"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8018"})


def event_hash(event: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> str:
    """The CBV 2.0 event hash ``ni:///sha-256;…?ver=CBV2.0`` of one EPCIS 2.0 JSON event.

    ``prefixes`` are the document's own JSON-LD prefixes (``{"example": "http://…/"}``), which
    name extension members by their full IRI.
    """
    digest = hashlib.sha256(prehash(event, prefixes).encode("utf-8")).hexdigest()
    return f"{HASH_PREFIX}{digest}{HASH_SUFFIX}"


def prehash(event: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> str:
    """The pre-hash string of an EPCIS 2.0 JSON event (see the module's description)."""
    rest = {
        k: v
        for k, v in event.items()
        if k not in _IGNORED and not k.startswith(OWN_PREFIX) and v is not None
    }
    parts = [f"eventType={event.get('type', '')}"]
    for name in ("eventTime", "eventTimeZoneOffset"):
        if name in rest:
            value = rest.pop(name)
            parts.append(f"{name}={_time(value) if name == 'eventTime' else _scalar(value)}")
    for name in (
        "epcList",
        "parentID",
        "inputEPCList",
        "childEPCs",
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "action",
        "transformationID",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "sensorElementList",
    ):
        if name in rest:
            parts.append(_ordered(name, rest.pop(name)))
    generic = [_generic(name, value, prefixes or {}) for name, value in rest.items()]
    parts.extend(sorted(generic))
    return "".join(parts)


def _ordered(name: str, value: Any) -> str:
    """One member of the canonical order; a member not shaped as EPCIS says is written as any
    other member would be (the hash of a malformed event is still a hash)."""
    if name == "parentID" and not isinstance(value, dict | list):
        return f"parentID={_canonical(value)}"
    if name in _EPC_LISTS or name == "outputEPCList":
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            return name + "".join(sorted(f"epc={_canonical(v)}" for v in value))
    elif name.endswith("QuantityList"):
        if isinstance(value, list) and all(isinstance(q, dict) for q in value):
            elements = ["quantityElement" + _fields(q, _QUANTITY) for q in value]
            return name + "".join(sorted(elements))
    elif name in ("readPoint", "bizLocation"):
        if isinstance(value, dict) and set(value) <= {"id"}:
            return name + _fields(value, ("id",))
    elif name == "persistentDisposition":
        if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
            return name + "".join(
                "".join(sorted(f"{key}={_word(key, v)}" for v in value.get(key, ())))
                for key in ("set", "unset")
            )
    elif name == "sensorElementList":
        if isinstance(value, list) and all(_is_sensor_element(e) for e in value):
            return name + "".join(sorted(_sensor_element(e) for e in value))
    elif not isinstance(value, dict | list):
        return f"{name}={_word(name, value)}"
    return _generic(name, value, {})


def _is_sensor_element(element: Any) -> bool:
    return (
        isinstance(element, dict)
        and isinstance(element.get("sensorMetadata", {}), dict)
        and isinstance(element.get("sensorReport", []), list)
        and all(isinstance(r, dict) for r in element.get("sensorReport", []))
    )


def _sensor_element(element: Mapping[str, Any]) -> str:
    text = "sensorElement"
    if "sensorMetadata" in element:
        text += "sensorMetadata" + _fields(element["sensorMetadata"], _METADATA)
    reports = [
        "sensorReport" + _fields(_report_type(r), _REPORT) for r in element.get("sensorReport", ())
    ]
    return text + "".join(sorted(reports))


def _report_type(report: Mapping[str, Any]) -> Mapping[str, Any]:
    kind = report.get("type")
    if isinstance(kind, str) and ":" not in kind:
        return {**report, "type": f"gs1:{kind}"}
    return report


def _fields(obj: Mapping[str, Any], order: Sequence[str]) -> str:
    # Times named ``time`` alone are kept as written, as the reference implementation does.
    return "".join(
        f"{key}={_time(obj[key]) if key.endswith('Time') else _canonical(obj[key])}"
        for key in order
        if obj.get(key) is not None
    )


def _generic(name: str, value: Any, prefixes: Mapping[str, str]) -> str:
    key = _iri(name, prefixes)
    if (
        name in _TYPED_LISTS
        and isinstance(value, list)
        and all(isinstance(item, dict) for item in value)
    ):
        member, word = _TYPED_LISTS[name]
        items = []
        for item in value:
            text = f"{member}={_canonical(item.get(member))}"
            if item.get("type") is not None:
                kind = str(item["type"])
                text += f"type={_canonical(kind if ':' in kind else _CBV + word + kind)}"
            items.append(text)
        return key + "".join(sorted(items))
    if isinstance(value, Mapping):
        return key + "".join(
            sorted(_generic(k, v, prefixes) for k, v in value.items() if v is not None)
        )
    if isinstance(value, list):
        return "".join(sorted(_generic(name, v, prefixes) for v in value))
    text = _time(value) if "time" in name.lower()[1:] else _canonical(value)
    return f"{key}={text}"


def _iri(name: str, prefixes: Mapping[str, str]) -> str:
    prefix, colon, local = name.partition(":")
    if colon and prefix in prefixes:
        return "{" + prefixes[prefix] + "}" + local
    return name


def _word(name: str, value: Any) -> str:
    text = _canonical(value)
    word = _WORD_PREFIXES.get(name)
    if word and ":" not in text:
        return _CBV + word + text
    return text


def _time(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _canonical(value: Any) -> str:
    """A value as the hash writes it: CBV URIs, canonical Digital Links, canonical numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(str(value))
    text = str(value).strip()
    for urn, word in _URN_PREFIXES.items():
        if text.startswith(urn):
            return _CBV + word + text[len(urn) :]
    if text.startswith("urn:epc:"):
        return epc_urn_to_digital_link(text) or text
    if text.startswith(("http://", "https://")):
        return _digital_link(text)
    return _number(text) if _NUMBER.fullmatch(text) else text


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _number(text: str) -> str:
    """A number as the reference writes it: as a float, without a trailing ``.0``."""
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):  # 1e999 in JSON: kept as written
        return text
    return str(int(value)) if value == int(value) else str(value)


def _digital_link(url: str) -> str:
    """A GS1 Digital Link on any host, on ``id.gs1.org`` and without its query."""
    segments = urlsplit(url).path.strip("/").split("/")
    # The path may sit under a prefix on the host: it starts at the first GS1 key.
    for start, segment in enumerate(segments):
        if segment in _DL_KEYS and (len(segments) - start) % 2 == 0:
            return _GS1 + "/" + "/".join(segments[start:])
    return url


def epc_urn_to_digital_link(urn: str) -> str | None:
    """The canonical GS1 Digital Link of an EPC URN (``urn:epc:id:sgtin:…``, ``sscc``, ``sgln``,
    ``giai``, ``pgln``, ``urn:epc:class:lgtin:…``), or None for any other (patterns included)."""
    scheme, _, rest = urn.rpartition(":")
    parts = rest.split(".")
    try:
        if scheme == "urn:epc:id:sgtin" and len(parts) == 3:
            return f"{_GS1}/01/{_gtin(parts[0], parts[1])}/21/{parts[2]}"
        if scheme == "urn:epc:class:lgtin" and len(parts) == 3:
            return f"{_GS1}/01/{_gtin(parts[0], parts[1])}/10/{parts[2]}"
        if scheme == "urn:epc:id:sscc" and len(parts) == 2:
            digits = parts[1][:1] + parts[0] + parts[1][1:]
            return f"{_GS1}/00/{digits}{_check_digit(digits)}"
        if scheme == "urn:epc:id:sgln" and len(parts) == 3:
            gln = parts[0] + parts[1]
            link = f"{_GS1}/414/{gln}{_check_digit(gln)}"
            return link if parts[2] == "0" else f"{link}/254/{parts[2]}"
        if scheme == "urn:epc:id:pgln" and len(parts) == 2:
            gln = parts[0] + parts[1]
            return f"{_GS1}/417/{gln}{_check_digit(gln)}"
        if scheme == "urn:epc:id:giai" and len(parts) == 2:
            return f"{_GS1}/8004/{parts[0]}{parts[1]}"
    except ValueError:
        return None
    return None


def _gtin(company: str, item: str) -> str:
    digits = item[:1] + company + item[1:]
    return digits + _check_digit(digits)


def _check_digit(digits: str) -> str:
    if not digits.isdigit():
        raise ValueError(digits)
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)
