"""GS1 Digital Link on our host (docs/codes.md "GS1 Digital Link"): a GS1 code's QR holds
``https://<host>/01/{gtin}/10/{lot}``, which opens the scan page in a browser and answers the
code's linkset to a resolver client; the old ``/c/…`` URLs keep working."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from suyuan.codes import legacy_scan_url, parse_trace_code, scan_url
from tests.integration.test_trace_api import BASE_URL, Query, start_query

LINKSET = "application/linkset+json"


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("digital-link")
    yield from start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp)


def _decode_qr(png: bytes, tmp_path: Path) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg (Debian zbar-tools) is not on PATH: make test installs it")
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    )
    return decoded.stdout.strip()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_a_printed_gs1_qr_is_a_digital_link_that_opens_the_scan_page(
    query: Query, tmp_path: Path
) -> None:
    lot = query.codes["sold lot"]
    png = query.get(f"/v1/codes/{quote(lot, safe='()')}/qr.png")
    assert png.status_code == 200, png.text

    url = _decode_qr(png.content, tmp_path)

    assert url == f"{BASE_URL}/01/06901234100105/10/LA20260506"
    page = query.client.get(_path(url), headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert lot in page.text
    assert page.text == query.client.get(f"/c/{quote(lot, safe='()')}").text


def test_a_slash_in_a_lot_travels_as_2f_and_opens_the_right_page(
    query: Query, tmp_path: Path
) -> None:
    png = query.get(f"/v1/codes/{quote(query.slash_code, safe='()')}/qr.png")
    url = _decode_qr(png.content, tmp_path)

    assert "/10/BR%2F2026%2F05" in url
    page = query.client.get(_path(url))
    assert page.status_code == 200
    assert query.slash_code.replace("&", "&amp;") in page.text


def test_serials_and_english_follow_the_standard_path(query: Query) -> None:
    unit = query.codes["cold-chain unit"]
    url = scan_url(BASE_URL, unit)

    assert url == f"{BASE_URL}/01/06901234102734/21/0301001"
    page = query.client.get(_path(url) + "?lang=en")
    assert page.status_code == 200
    assert '<html lang="en"' in page.text


def test_the_old_c_url_of_a_gs1_code_keeps_working(query: Query) -> None:
    lot = query.codes["sold lot"]
    page = query.client.get(_path(legacy_scan_url(BASE_URL, parse_trace_code(lot))))

    assert page.status_code == 200
    assert lot in page.text


def test_codes_that_are_not_gs1_keep_their_c_qr(query: Query, tmp_path: Path) -> None:
    certificate = query.codes["clean certificate"]
    drug = query.codes["drug dispensed once"]

    assert scan_url(BASE_URL, certificate) == f"{BASE_URL}/c/{certificate}"
    png = query.get(f"/v1/codes/{drug}/qr.png")
    assert _decode_qr(png.content, tmp_path) == f"{BASE_URL}/c/{drug}"


def test_a_resolver_client_gets_the_linkset(query: Query) -> None:
    lot = query.codes["sold lot"]
    anchor = f"{BASE_URL}/01/06901234100105/10/LA20260506"

    response = query.client.get(_path(anchor), headers={"Accept": LINKSET})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == LINKSET
    assert response.headers["Vary"] == "Accept"
    assert f'<{anchor}?linkType=all>; rel="linkset"' in response.headers["Link"]
    (links,) = response.json()["linkset"]
    assert links["anchor"] == anchor
    (default,) = links["https://gs1.org/voc/defaultLink"]
    assert default["href"] == f"{BASE_URL}/c/{quote(lot, safe='()')}"
    assert default["type"] == "text/html"
    (trace,) = links["https://gs1.org/voc/traceability"]
    assert trace["href"] == f"{BASE_URL}/v1/trace/{quote(lot, safe='()')}"
    assert query.client.get(_path(trace["href"])).json()["code"] == lot
    (epcis,) = links["https://gs1.org/voc/epcis"]
    document = query.client.get(_path(epcis["href"]))
    assert document.headers["content-type"] == epcis["type"] == "application/ld+json"
    assert document.json()["suyuan:trace"]["code"] == lot
    assert query.client.get(_path(anchor) + "?linkType=all").json() == response.json()


def test_attributes_in_the_query_string_do_not_change_the_code(query: Query) -> None:
    response = query.client.get(
        "/01/06901234100105/10/LA20260506?17=261231&linkType=all", headers={}
    )

    assert response.status_code == 200
    assert response.json()["linkset"][0]["anchor"].endswith("/01/06901234100105/10/LA20260506")


def test_a_link_type_redirects_to_its_link(query: Query) -> None:
    response = query.client.get(
        "/01/06901234100105/10/LA20260506?linkType=gs1:traceability", follow_redirects=False
    )

    assert response.status_code == 307
    assert response.headers["location"] == f"{BASE_URL}/v1/trace/(01)06901234100105(10)LA20260506"


def test_a_wrong_check_digit_is_refused_naming_it(query: Query) -> None:
    page = query.client.get("/01/06901234100106/10/LA20260506")
    linkset = query.client.get("/01/06901234100106/10/LA20260506", headers={"Accept": LINKSET})

    assert page.status_code == 400
    assert "check digit" in page.text
    assert linkset.status_code == 400
    assert linkset.json()["field"] == "code"
    assert "check digit" in linkset.json()["detail"]


def test_an_unrecorded_code_is_404_both_ways(query: Query) -> None:
    path = "/00/106141412345678908"

    assert query.client.get(path).status_code == 404
    assert query.client.get(path, headers={"Accept": LINKSET}).status_code == 404
