"""Trace codes and organisation codes (design.md §3).

Every traced thing carries a trace code; the ledger indexes events by its canonical text:

* :data:`CodeKind.CERTIFICATE` — 合格证 codes issued by Suyuan (Crockford base32 + ISO 7064 check);
* :data:`CodeKind.GS1` — SSCC, or GTIN + lot + serial, parsed with ``biip``;
* :data:`CodeKind.DRUG` — 20-digit 药品追溯码 (format only; the check algorithm is not public).

Organisations are identified by their USCC (统一社会信用代码, :func:`validate_uscc`). Invalid input
raises :class:`suyuan.errors.CodeError` naming the field, the value and the rule broken. User
documentation: ``docs/codes.md``.
"""

from suyuan.codes._certificate import is_valid_certificate_code, new_certificate_code
from suyuan.codes._digital_link import PRIMARY_KEYS, digital_link_path, digital_link_uri
from suyuan.codes._drug import drug_product_id
from suyuan.codes._gs1 import gs1_lot, gs1_lots, gs1_units_prefix
from suyuan.codes._model import CodeKind, TraceCode
from suyuan.codes._scan_url import code_from_scan_url, legacy_scan_url, scan_url
from suyuan.codes._trace_code import clear_code_cache, parse_trace_code
from suyuan.codes._uscc import new_uscc, validate_uscc

__all__ = [
    "PRIMARY_KEYS",
    "CodeKind",
    "TraceCode",
    "clear_code_cache",
    "code_from_scan_url",
    "digital_link_path",
    "digital_link_uri",
    "drug_product_id",
    "gs1_lot",
    "gs1_lots",
    "gs1_units_prefix",
    "is_valid_certificate_code",
    "legacy_scan_url",
    "new_certificate_code",
    "new_uscc",
    "parse_trace_code",
    "scan_url",
    "validate_uscc",
]
