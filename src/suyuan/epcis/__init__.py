"""GS1 EPCIS 2.0: our events as EPCIS JSON-LD (docs/epcis.md).

- :func:`epcis_document`, :func:`epcis_event`: ledger events as an ``EPCISDocument`` in the view
  a reader may see;
- :func:`trace_document`: a trace as one document;
- :func:`epc_uri`, :func:`code_from_epc`: trace codes as EPCIS identifiers and back;
- :func:`read_capture_document`, :func:`map_event`: EPCIS events captured as ours (or every
  reason not, :class:`UnsupportedFeatureError`), places and parties read by GLN
  (:func:`glns_named`); :func:`event_hash`: the CBV 2.0 event hash;
- :class:`Kept`, :func:`keep_members`, :func:`kept_members`: the members of captured events
  kept as sent, which the full view's export puts back;
- :func:`parse_event_query`, :class:`EventQuery`, :func:`page_token`: the query interface's
  parameters (:class:`QueryParameterError` names every one refused).

The mapping of the event catalogue is in ``_vocabulary`` and, for people, in docs/epcis.md.
"""

from suyuan.epcis._capture import (
    STANDARD_CONTEXTS,
    CaptureDocument,
    CaptureDocumentError,
    MappedEvent,
    UnknownGlnError,
    UnsupportedFeatureError,
    glns_named,
    map_event,
    read_capture_document,
)
from suyuan.epcis._document import (
    CONTEXT,
    EPCIS_CONTEXT,
    MEDIA_TYPE,
    NAMESPACE,
    epcis_document,
    epcis_event,
)
from suyuan.epcis._hash import epc_urn_to_digital_link, event_hash, prehash
from suyuan.epcis._identifiers import code_from_epc, epc_uri, location_uri, party_uri
from suyuan.epcis._kept import Kept, captured_event_id, keep_members, kept_members
from suyuan.epcis._query import EventQuery, QueryParameterError, page_token, parse_event_query
from suyuan.epcis._trace import trace_document
from suyuan.epcis._vocabulary import EVENT_TYPES, UNITS

__all__ = [
    "CONTEXT",
    "EPCIS_CONTEXT",
    "EVENT_TYPES",
    "MEDIA_TYPE",
    "NAMESPACE",
    "STANDARD_CONTEXTS",
    "UNITS",
    "CaptureDocument",
    "CaptureDocumentError",
    "EventQuery",
    "Kept",
    "MappedEvent",
    "QueryParameterError",
    "UnknownGlnError",
    "UnsupportedFeatureError",
    "captured_event_id",
    "code_from_epc",
    "epc_uri",
    "epc_urn_to_digital_link",
    "epcis_document",
    "epcis_event",
    "event_hash",
    "glns_named",
    "keep_members",
    "kept_members",
    "location_uri",
    "map_event",
    "page_token",
    "parse_event_query",
    "party_uri",
    "prehash",
    "read_capture_document",
    "trace_document",
]
