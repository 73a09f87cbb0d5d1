"""CSV and XLSX files of a table (suyuan.exports, docs/exports.md): read back as written, and
inert when opened in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from suyuan.exports import (
    ExportFormatError,
    Table,
    export_format,
    filename,
    neutralise,
    render,
    to_csv,
    to_xlsx,
)

TABLE = Table(
    ("产品", "数量", "单位", "已确认", "备注"),
    [
        ("小青菜", Decimal("500.5"), "kg", True, None),
        ('=HYPERLINK("http://evil.example","点我")', 3, "箱", False, "-2+3"),
        ("@SUM(A1)", 0.25, "+kg", None, "\tcmd"),
    ],
    sheet="货物",
)


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_a_bom_and_reads_back_row_for_row() -> None:
    data = to_csv(TABLE)

    assert data.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(data)
    assert rows[0] == ["产品", "数量", "单位", "已确认", "备注"]
    assert rows[1] == ["小青菜", "500.5", "kg", "true", ""]
    assert len(rows) == 4


def test_formula_cells_come_out_of_csv_as_quoted_text() -> None:
    rows = _csv_rows(to_csv(TABLE))

    assert rows[2][0] == '\'=HYPERLINK("http://evil.example","点我")'
    assert rows[2][4] == "'-2+3"
    assert rows[3][0] == "'@SUM(A1)" and rows[3][2] == "'+kg" and rows[3][4] == "'\tcmd"


def test_xlsx_opens_and_holds_the_rows_with_numbers_as_numbers() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(TABLE)))["货物"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]

    assert rows[0] == ["产品", "数量", "单位", "已确认", "备注"]
    assert rows[1] == ["小青菜", 500.5, "kg", "true", None]
    assert rows[2][1] == 3 and rows[3][1] == 0.25


def test_no_xlsx_cell_is_a_formula() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(TABLE)))["货物"]

    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["A3"].value == '\'=HYPERLINK("http://evil.example","点我")'
    assert sheet["A4"].value == "'@SUM(A1)"


def test_control_characters_do_not_break_the_workbook() -> None:
    table = Table(("a",), [("bell\x07here",)])

    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    assert sheet is not None
    assert sheet["A2"].value == "bell\ufffdhere"


def test_neutralise_leaves_ordinary_text_alone() -> None:
    assert neutralise("2024-05-06") == "2024-05-06"
    assert neutralise("浙A·12345") == "浙A·12345"
    assert neutralise("") == ""


def test_format_is_checked_naming_the_parameter() -> None:
    assert export_format(None) == "json"
    assert export_format("xlsx") == "xlsx"
    with pytest.raises(ExportFormatError) as err:
        export_format("pdf")
    assert err.value.field == "format" and err.value.value == "pdf"
    with pytest.raises(ExportFormatError):
        render(TABLE, "json")


def test_filenames_are_plain_ascii() -> None:
    assert filename("alerts", "csv", on=date(2026, 12, 6)) == "alerts-20261206.csv"
    name = filename('fsma204-(01)06901234100105(10)A/B"x', "xlsx", on=date(2026, 12, 6))
    assert name == "fsma204-_01_06901234100105_10_A_B_x-20261206.xlsx"
