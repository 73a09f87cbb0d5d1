"""Our identifiers as the URIs EPCIS 2.0 carries (docs/epcis.md "Identifiers").

- A GS1 code is its GS1 Digital Link URI on GS1's canonical domain ``https://id.gs1.org`` (the
  form EPCIS 2.0 §8.2 accepts beside EPC URNs), whatever host serves it: an identity must not
  change with the deployment.
- Codes that are not GS1 (合格证 certificate codes, 药品追溯码) and organisations (USCC) have no
  GS1 identifier: they are URNs in our own namespace, ``urn:suyuan:cert:…``, ``urn:suyuan:drug:…``,
  ``urn:suyuan:org:…``.
- A place is its GLN's Digital Link (``https://id.gs1.org/414/{gln}``) when it has one, else
  ``urn:suyuan:region:{GB/T 2260 code}``.
"""

from __future__ import annotations

from urllib.parse import unquote

from suyuan.codes import CodeKind, TraceCode, digital_link_path, parse_trace_code
from suyuan.errors import CodeError
from suyuan.events.model import Location

GS1_DOMAIN = "https://id.gs1.org"
URN_PREFIX = "urn:suyuan:"
_KIND_URNS = {CodeKind.CERTIFICATE: "cert", CodeKind.DRUG: "drug"}
_URN_KINDS = {name: kind for kind, name in _KIND_URNS.items()}


def epc_uri(code: str | TraceCode) -> str:
    """The EPC URI of a trace code (canonical text or parsed).

    Raises:
        CodeError: ``code`` is text that is not a valid trace code.
    """
    parsed = code if isinstance(code, TraceCode) else parse_trace_code(code, field="code")
    if parsed.kind is CodeKind.GS1:
        return GS1_DOMAIN + digital_link_path(parsed)
    return f"{URN_PREFIX}{_KIND_URNS[parsed.kind]}:{parsed.value}"


def code_from_epc(uri: str, *, field: str = "epc") -> TraceCode:
    """The trace code an EPC URI names: ``urn:suyuan:cert:…`` / ``urn:suyuan:drug:…``, or a GS1
    Digital Link URI on any domain (also any other spelling :func:`parse_trace_code` reads).

    Raises:
        CodeError: naming ``field``: not an identifier of a trace code, or the code breaks a rule
            of its kind.
    """
    text = unquote(uri.strip()) if uri.lower().startswith(URN_PREFIX) else uri
    if text.lower().startswith(URN_PREFIX):
        kind_name, _, value = text[len(URN_PREFIX) :].partition(":")
        kind = _URN_KINDS.get(kind_name.lower())
        if kind is None:
            raise CodeError(
                field, uri, "not a trace code URI (urn:suyuan:cert:…, urn:suyuan:drug:…)"
            )
        parsed = parse_trace_code(f"{kind.value}:{value}", field=field)
        return parsed
    return parse_trace_code(uri, field=field)


def party_uri(uscc: str) -> str:
    """An organisation (by USCC) as a source/destination party."""
    return f"{URN_PREFIX}org:{uscc}"


def location_uri(location: Location, *, precise: bool = True) -> str:
    """A place as a readPoint/bizLocation id: its GLN when it has one and ``precise`` (the view
    may show the place), else its region."""
    if precise and location.gln:
        return f"{GS1_DOMAIN}/414/{location.gln}"
    return region_uri(location.region_code)


def region_uri(region_code: str) -> str:
    """An administrative region (GB/T 2260) as a location id."""
    return f"{URN_PREFIX}region:{region_code}"
