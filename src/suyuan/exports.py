"""Tables as CSV and XLSX files, safe to open in a spreadsheet (docs/exports.md).

- CSV is UTF-8 with a byte-order mark: without it Excel reads the bytes as the local code page
  and Chinese comes out garbled. Every field is quoted.
- XLSX is written with openpyxl; numbers stay numbers, everything else is text.
- Formula injection (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return is prefixed with a single quote, so a spreadsheet shows it as text
  instead of running it (a product name ``=HYPERLINK(…)`` stays a product name).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from suyuan.errors import InvalidInputError

#: Values of the ``format`` query parameter; ``json`` is the default answer.
FORMATS = ("json", "csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: First characters a spreadsheet takes for a formula (OWASP CSV Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: An XLSX cell holds at most 32 767 characters; a sheet name at most 31.
MAX_XLSX_CELL = 32_767
MAX_SHEET_NAME = 31
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

Cell = str | int | float | bool | Decimal | date | datetime | None


class ExportFormatError(InvalidInputError):
    """A ``format`` that is none of :data:`FORMATS`."""


@dataclass(frozen=True, slots=True)
class Table:
    """Rows under named columns; ``sheet`` names the XLSX worksheet."""

    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]
    sheet: str = "export"


def export_format(value: str | None) -> str:
    """``value`` checked against :data:`FORMATS` (``None`` is ``json``).

    Raises:
        ExportFormatError: any other value (field ``format``).
    """
    if value is None:
        return "json"
    if value not in FORMATS:
        raise ExportFormatError("format", value, f"must be one of: {', '.join(FORMATS)}")
    return value


def neutralise(text: str) -> str:
    """``text`` with a single quote in front when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(value: Cell) -> str:
    """How a value is written as text: ``None`` empty, booleans ``true``/``false``, decimals
    without exponent, dates in ISO 8601; text neutralised (:func:`neutralise`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 500.000 is written 500, as in the JSON
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return neutralise(value)


def to_csv(table: Table) -> bytes:
    """``table`` as CSV: UTF-8 with BOM, a header row, every field quoted, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([cell_text(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    """``table`` as an XLSX workbook of one sheet: a header row, then the rows.

    Numbers (not booleans) are written as numbers, everything else as neutralised text; XML's
    forbidden control characters become U+FFFD and text is cut at the cell limit.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_name(table.sheet))
    sheet.append([_xlsx_text(c) for c in table.columns])
    for row in table.rows:
        sheet.append([_xlsx_value(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(table: Table, fmt: str) -> bytes:
    """``table`` in ``fmt`` (``csv`` or ``xlsx``).

    Raises:
        ExportFormatError: ``fmt`` is neither.
    """
    if fmt == "csv":
        return to_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table)
    raise ExportFormatError("format", fmt, "must be csv or xlsx")


def filename(stem: str, fmt: str, *, on: date | None = None) -> str:
    """A safe download name: ``{stem}-{YYYYMMDD}.{fmt}``, ASCII letters, digits, ``._-`` only."""
    day = (on or date.today()).strftime("%Y%m%d")
    safe = _UNSAFE_FILENAME.sub("_", stem).strip("._") or "export"
    return f"{safe[:80]}-{day}.{fmt}"


def joined(values: Iterable[object], sep: str = "; ") -> str:
    """Several values in one cell (a list flattened)."""
    return sep.join(str(v) for v in values if v is not None and v != "")


def _xlsx_value(value: Cell) -> Cell:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    return _xlsx_text(cell_text(value))


def _xlsx_text(text: str) -> str:
    cleaned: str = ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(text))
    return cleaned[:MAX_XLSX_CELL]


def _sheet_name(name: str) -> str:
    # Excel forbids these in sheet names
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")
    return (cleaned or "export")[:MAX_SHEET_NAME]
