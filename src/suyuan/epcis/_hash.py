"""The GS1 CBV 2.0 event hash (CBV 2.0, section "Event hash"; docs/epcis.md "Event hash").

An EPCIS event is written as a *pre-hash string*: ``eventType=…``, then its members in the
standard's canonical order (times in UTC at millisecond precision, EPC URNs and any GS1 Digital
Link as canonical Digital Link URIs on ``id.gs1.org``, CBV words and URNs as
``https://ref.gs1.org/cbv/…`` URIs, numbers without trailing zeros; list elements sorted), then
every other member (trading-partner lists and business transactions, each element as its type
then its value; certification info; extensions by their full IRI) sorted; ``eventID`` and
``recordTime`` are left out. The SHA-256 of that string, as
``ni:///sha-256;{hex}?ver=CBV2.0``, names the event whoever wrote it and however it was spelt.

Our own members (``suyuan:…``, the ledger's annotations added on export: position, proof, our
event type and payload) are left out too, so an event we export hashes as the event captured.
The reference implementation (RalphTro/epcis-event-hash-generator, release 1.9.3) is the
cross-check in the tests: the same pre-hash strings for its examples, GS1's and our exports.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"
OWN_PREFIX = "suyuan:"
_CBV = "https://ref.gs1.org/cbv/"
_VOC = "https://gs1.org/voc/"
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
_ORDER = (
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
)
_EPC_LISTS = frozenset({"epcList", "inputEPCList", "childEPCs", "outputEPCList"})
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
# Party and transaction lists: each element is its type, then its value.
_TYPED_LISTS = {
    "bizTransactionList": ("bizTransaction", "BTT-"),
    "sourceList": ("source", "SDT-"),
    "destinationList": ("destination", "SDT-"),
}
# GS1 Digital Link: primary keys, and the short names a link may use for keys and qualifiers.
_DL_KEYS = frozenset(
    {
        "01",
        "8006",
        "8010",
        "414",
        "417",
        "8017",
        "8018",
        "255",
        "00",
        "253",
        "401",
        "402",
        "8003",
        "8004",
    }
)
_DL_NAMES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
}
# Characters of a lot, serial or location extension in a canonical link (GS1 encodable
# character set 82 less those a URI path would escape), at most 20 of them.
_QUALIFIER = re.compile(r"[\"'\-.0-9;<=>?A-Z_a-z]{0,20}")


def event_hash(event: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> str:
    """The CBV 2.0 event hash ``ni:///sha-256;…?ver=CBV2.0`` of one EPCIS 2.0 JSON event.

    ``prefixes`` are the document's own JSON-LD prefixes (``{"example": "http://…/"}``), which
    name extension members by their full IRI.
    """
    digest = hashlib.sha256(prehash(event, prefixes).encode("utf-8")).hexdigest()
    return f"{HASH_PREFIX}{digest}{HASH_SUFFIX}"


def prehash(event: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> str:
    """The pre-hash string of an EPCIS 2.0 JSON event (see the module's description)."""
    names = prefixes or {}
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
    generic: list[str] = []
    for name in _ORDER:
        if name in rest:
            ordered, leftover = _ordered(name, rest.pop(name), names)
            parts.append(ordered)
            generic.extend(leftover)
    generic.extend(_generic(name, value, names) for name, value in rest.items())
    parts.extend(sorted(generic))
    return "".join(parts)


def _ordered(name: str, value: Any, prefixes: Mapping[str, str]) -> tuple[str, list[str]]:
    """One member of the canonical order, and what of it goes with the other members; a member
    not shaped as EPCIS says is written as any other member would be (the hash of a malformed
    event is still a hash)."""
    if name == "parentID" and not isinstance(value, dict | list):
        return f"parentID={_canonical(value)}", []
    if name in _EPC_LISTS:
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            return name + "".join(sorted(f"epc={_canonical(v)}" for v in value)), []
    elif name.endswith(("quantityList", "QuantityList")):
        if isinstance(value, list) and all(isinstance(q, dict) for q in value):
            elements = ["quantityElement" + _fields(q, _QUANTITY) for q in value]
            return name + "".join(sorted(elements)), []
    elif name in ("readPoint", "bizLocation"):
        if isinstance(value, dict) and "id" in value:
            extensions = sorted(_generic(k, v, prefixes) for k, v in value.items() if k != "id")
            return f"{name}id={_canonical(value['id'])}" + "".join(extensions), []
    elif name == "persistentDisposition":
        if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
            return name + "".join(
                "".join(sorted(f"{key}={_word(key, v)}" for v in value.get(key, ())))
                for key in ("set", "unset")
            ), []
    elif name == "sensorElementList":
        if isinstance(value, list) and all(_is_sensor_element(e) for e in value):
            return _sensor_elements(value, prefixes)
    elif not isinstance(value, dict | list):
        return f"{name}={_word(name, value)}", []
    return "", [_generic(name, value, prefixes)]


def _is_sensor_element(element: Any) -> bool:
    return (
        isinstance(element, dict)
        and isinstance(element.get("sensorMetadata", {}), dict)
        and isinstance(element.get("sensorReport", []), list)
        and all(isinstance(r, dict) for r in element.get("sensorReport", []))
    )


def _sensor_elements(
    elements: list[dict[str, Any]], prefixes: Mapping[str, str]
) -> tuple[str, list[str]]:
    """The sensor elements in the canonical order; their other members (an element's ``type``,
    extensions) as a second ``sensorElementList`` among the other members."""
    ordered = []
    others = []
    for element in elements:
        text = "sensorElement"
        if "sensorMetadata" in element:
            text += "sensorMetadata" + _fields(element["sensorMetadata"], _METADATA)
        reports = [
            "sensorReport" + _fields(_report_type(r), _REPORT)
            for r in element.get("sensorReport", ())
        ]
        ordered.append(text + "".join(sorted(reports)))
        rest = sorted(
            _generic(k, v, prefixes)
            for k, v in element.items()
            if k not in ("sensorMetadata", "sensorReport") and v is not None
        )
        if rest:
            others.append("sensorElement" + "".join(rest))
    leftover = ["sensorElementList" + "".join(sorted(others))] if others else []
    return "sensorElementList" + "".join(sorted(ordered)), leftover


def _report_type(report: Mapping[str, Any]) -> Mapping[str, Any]:
    """A sensor report's type as its GS1 Web Vocabulary IRI (``Temperature``, ``gs1:…``)."""
    kind = report.get("type")
    if isinstance(kind, str) and not kind.startswith(("http://", "https://")):
        return {**report, "type": _VOC + kind.removeprefix("gs1:")}
    return report


def _fields(obj: Mapping[str, Any], order: Sequence[str]) -> str:
    return "".join(
        f"{key}={_time(obj[key]) if key.lower().endswith('time') else _canonical(obj[key])}"
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
            text = ""
            if item.get("type") is not None:
                kind = str(item["type"])
                text = f"type={_canonical(kind if ':' in kind else _CBV + word + kind)}"
            items.append(f"{text}{member}={_canonical(item.get(member))}")
        return key + "".join(sorted(items))
    if isinstance(value, Mapping):
        return key + "".join(
            sorted(_generic(k, v, prefixes) for k, v in value.items() if v is not None)
        )
    if isinstance(value, list):
        return "".join(sorted(_generic(name, v, prefixes) for v in value))
    text = _time(value) if name.lower().endswith("time") else _canonical(value)
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
        return _digital_link(text) or text
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


def _digital_link(url: str) -> str | None:
    """The canonical form of a GS1 Digital Link on any host: on ``id.gs1.org``, keys by their
    GS1 application identifier, a GTIN in 14 digits, without query, fragment or consumer
    product variant (22), the lot left out when a serial names the instance. None when ``url``
    is no such link."""
    path = urlsplit(url).path
    segments = [_DL_NAMES.get(s, s) for s in path.strip("/").split("/")]
    start = next((i for i, s in enumerate(segments) if s in _DL_KEYS), None)
    if start is None or (len(segments) - start) % 2:
        return None
    pairs = [(segments[i], segments[i + 1]) for i in range(start, len(segments), 2)]
    key, value = pairs[0]
    if key == "01" and value.isdigit() and len(value) in (8, 12, 13):
        value = value.zfill(14)
    if not value[:4].isdigit():
        return None
    qualifiers = dict(pairs[1:])
    qualifiers.pop("22", None)
    if "21" in qualifiers:
        qualifiers.pop("10", None)
    if any(not _QUALIFIER.fullmatch(v) for v in qualifiers.values()):
        return None
    return f"{_GS1}/{key}/{value}" + "".join(f"/{q}/{v}" for q, v in qualifiers.items())


def epc_urn_to_digital_link(urn: str) -> str | None:
    """The canonical GS1 Digital Link of an EPC URN, EPC class or pattern URN (``sgtin``,
    ``sscc``, ``sgln``, ``grai``, ``giai``, ``gsrn``, ``gsrnp``, ``gdti``, ``sgcn``, ``pgln``,
    ``lgtin``, an ``sgtin`` pattern of a whole class), or None for any other."""
    scheme, _, rest = urn.rpartition(":")
    parts = rest.split(".")
    try:
        return _EPC_SCHEMES[scheme](parts)
    except (KeyError, ValueError, IndexError):
        return None


def _sgtin(parts: list[str]) -> str:
    company, item, serial = parts
    return f"{_GS1}/01/{_gtin(company, item)}/21/{serial}"


def _sgtin_pattern(parts: list[str]) -> str:
    company, item, serial = parts
    if serial != "*":
        raise ValueError(serial)
    return f"{_GS1}/01/{_gtin(company, item)}"


def _lgtin(parts: list[str]) -> str:
    company, item, lot = parts
    return f"{_GS1}/01/{_gtin(company, item)}/10/{lot}"


def _sscc(parts: list[str]) -> str:
    company, serial = parts
    digits = serial[:1] + company + serial[1:]
    return f"{_GS1}/00/{_with_check(digits)}"


def _sgln(parts: list[str]) -> str:
    company, location, extension = parts
    link = f"{_GS1}/414/{_with_check(company + location)}"
    return link if extension == "0" else f"{link}/254/{extension}"


def _keyed(ai: str, *, pad: str = "", serial: bool = True) -> Callable[[list[str]], str]:
    """A scheme whose key is company prefix + reference + check digit (``pad`` before it),
    then the serial when the key has one."""

    def convert(parts: list[str]) -> str:
        if serial:
            company, reference, number = parts
            return f"{_GS1}/{ai}/{pad}{_with_check(company + reference)}{number}"
        company, reference = parts
        return f"{_GS1}/{ai}/{_with_check(pad + company + reference)}"

    return convert


def _giai(parts: list[str]) -> str:
    company, asset = parts
    return f"{_GS1}/8004/{company}{asset}"


_EPC_SCHEMES: dict[str, Callable[[list[str]], str]] = {
    "urn:epc:id:sgtin": _sgtin,
    "urn:epc:idpat:sgtin": _sgtin_pattern,
    "urn:epc:class:lgtin": _lgtin,
    "urn:epc:id:sscc": _sscc,
    "urn:epc:id:sgln": _sgln,
    "urn:epc:id:giai": _giai,
    "urn:epc:id:grai": _keyed("8003", pad="0"),
    "urn:epc:id:gdti": _keyed("253"),
    "urn:epc:id:sgcn": _keyed("255"),
    "urn:epc:id:pgln": _keyed("417", serial=False),
    "urn:epc:id:gsrn": _keyed("8018", serial=False),
    "urn:epc:id:gsrnp": _keyed("8017", serial=False),
}


def _gtin(company: str, item: str) -> str:
    return _with_check(item[:1] + company + item[1:])


def _with_check(digits: str) -> str:
    """``digits`` followed by their GS1 check digit (mod 10, weights 3 and 1 from the right)."""
    if not digits.isdigit():
        raise ValueError(digits)
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return digits + str((10 - total % 10) % 10)
