"""The FSMA 204 sortable spreadsheet of the demo's lots (suyuan.fsma204, docs/exports.md)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from suyuan.exports import to_csv
from suyuan.fsma204 import COLUMNS, fsma204_table
from suyuan.trace import Tracer
from suyuan_demo import DemoData
from tests.demo_ledger import load_demo


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoData, Tracer]:
    path: Path = tmp_path_factory.mktemp("demo") / "ledger.sqlite"
    data, store = load_demo(f"sqlite:///{path}")
    return data, Tracer(store)


def _rows(tracer: Tracer, code: str) -> list[dict[str, str]]:
    table = fsma204_table(tracer.trace(code, full=True))
    assert table.columns == COLUMNS
    return list(csv.DictReader(io.StringIO(to_csv(table).decode("utf-8-sig"), newline="")))


def test_the_sold_lot_is_packed_shipped_in_its_case_received_and_shipped_on(
    loaded: tuple[DemoData, Tracer],
) -> None:
    data, tracer = loaded
    lot = data.codes["sold lot"]

    rows = _rows(tracer, lot)

    assert [(r["Critical tracking event"], r["Event type"]) for r in rows] == [
        ("initial packing", "CertificateIssued"),
        ("shipping", "Shipped"),
        ("receiving", "Received"),
        ("shipping", "Shipped"),
        ("receiving", "Received"),
    ]
    # the case it travelled in stands for the lot; the sale to a consumer is not a CTE
    assert {r["Traceability lot code"] for r in rows} == {lot}
    assert [r["Quantity"] for r in rows] == ["500", "500", "500", "120", "120"]
    assert [r["Reference document number"] for r in rows[1:]] == [
        "ZJYD202605060031",
        "ZJYD202605060031",
        "HZNF-0506-118",
        "HZNF-0506-118",
    ]
    packer = rows[0]["Location USCC"]
    assert {r["Traceability lot code source USCC"] for r in rows} == {packer}
    assert rows[1]["Location USCC"] == packer
    assert rows[2]["Previous source / subsequent recipient USCC"] == packer
    assert rows[3]["Previous source / subsequent recipient USCC"] == rows[4]["Location USCC"]
    assert all(r["Product description"].startswith("小青菜") for r in rows)


def test_a_cut_of_meat_shows_the_slaughter_as_its_transformation(
    loaded: tuple[DemoData, Tracer],
) -> None:
    data, tracer = loaded

    rows = _rows(tracer, data.codes["meat cut"])

    [slaughter] = [r for r in rows if r["Critical tracking event"] == "transformation"]
    assert slaughter["Traceability lot code"] == data.codes["meat cut"]
    assert slaughter["Transformation inputs"].endswith(" 42 头")  # the pigs that went in
    assert slaughter["Quantity"] and slaughter["Unit of measure"] == "kg"  # the cut that came out
    assert slaughter["Traceability lot code source USCC"] == slaughter["Location USCC"]
