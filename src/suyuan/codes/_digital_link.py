"""GS1 Digital Link URIs on our own host (GS1 Digital Link standard 1.4, §4 URI syntax).

A GS1 code prints as ``{PUBLIC_BASE_URL}/01/{GTIN-14}/10/{lot}/21/{serial}`` (or ``/00/{SSCC}``):
a phone opens the scan page at that address, and any GS1 scanner or resolver reads the same
identifiers from it. The URI is built by ``biip`` from the code's element strings, so the
percent-encoding of a lot or serial (``/`` becomes ``%2F``) follows the standard. Codes that are
not GS1 (合格证 certificate codes, 药品追溯码) have no Digital Link form.
"""

from __future__ import annotations

from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message

from suyuan.codes._model import CodeKind, TraceCode
from suyuan.errors import CodeError

#: The primary keys a Digital Link on our host starts with: GTIN (01) and SSCC (00).
PRIMARY_KEYS = ("01", "00")

# biip renders on GS1's own resolver; the path after it is what the standard prescribes.
_GS1_RESOLVER = "https://id.gs1.org"


def digital_link_path(code: TraceCode) -> str:
    """The path of ``code``'s Digital Link, e.g. ``/01/09506000134352/10/AB%2FC``.

    Raises:
        CodeError: ``code`` is not a GS1 code (field ``code``).
    """
    if code.kind is not CodeKind.GS1:
        raise CodeError("code", code.value, "only GS1 codes have a GS1 Digital Link URI")
    message = GS1Message.parse_hri(code.value)
    uri = GS1DigitalLinkURI.from_element_strings(message.element_strings).as_canonical_uri()
    return uri.removeprefix(_GS1_RESOLVER)


def digital_link_uri(base_url: str, code: TraceCode) -> str:
    """``code``'s Digital Link on ``base_url`` (our public base URL, any scheme or path prefix).

    Raises:
        CodeError: ``code`` is not a GS1 code (field ``code``).
    """
    return base_url.rstrip("/") + digital_link_path(code)
