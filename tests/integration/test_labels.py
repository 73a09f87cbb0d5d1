"""Printable labels: ``GET /c/{code}/label.pdf`` and ``label.png`` (docs/labels.md).

A certificate is issued through ``POST /v1/certificates``; its label is fetched from the query
service at every documented size, the PDF's first page rendered to PNG with ``pdftoppm`` and the
QR read back with ``zbarimg``, as a printer and a phone would.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from suyuan.codes import scan_url
from suyuan.label_print import LABEL_SIZES
from tests.integration import test_food_chain
from tests.integration.test_food_chain import BASE_URL, Services

services = test_food_chain.services  # the capture and query APIs on one ledger (a fixture)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not on PATH: make test installs it (infra/scripts)")
    return found


def _decode(image: Path) -> str:
    decoded = subprocess.run(
        [_tool("zbarimg"), "--quiet", "--raw", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    return decoded.stdout.strip()


def _first_page_png(pdf: bytes, directory: Path) -> Path:
    source = directory / "label.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [_tool("pdftoppm"), "-r", "300", "-png", "-singlefile", str(source), directory / "page"],
        check=True,
    )
    return directory / "page.png"


def _pdf_text(pdf: bytes, directory: Path) -> str:
    source = directory / "text.pdf"
    source.write_bytes(pdf)
    out = subprocess.run(
        [_tool("pdftotext"), "-raw", str(source), "-"], capture_output=True, check=True
    )
    return out.stdout.decode("utf-8")


#: Sizes whose QR has room for the signed URL (docs/labels.md); smaller ones print the plain one.
SIGNED_SIZES = ("70x50", "100x70")


def _assert_scan_url(decoded: str, code: str, size: str) -> None:
    """The QR holds the scan URL: signed (``?cq=``, this service holds the issuer's custodial
    key) where the label has room for it, plain on the small sizes."""
    plain = scan_url(BASE_URL, code)
    if size in SIGNED_SIZES:
        assert decoded.startswith(f"{plain}?cq="), decoded
    else:
        assert decoded == plain


def _issue(s: Services) -> str:
    return s.issued(s.chain.farm, s.certificate_body([], product_name="小青菜"))


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_each_label_size_prints_a_pdf_whose_qr_decodes_to_the_scan_url(
    services: Services, tmp_path: Path, size: str
) -> None:
    code = _issue(services)

    response = services.query.get(f"/c/{code}/label.pdf", params={"size": size})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    page = Image.open(_first_page_png(response.content, tmp_path))
    width, height = LABEL_SIZES[size]
    # 300 dpi: the page is the label's size in millimetres
    assert abs(page.width - width / 25.4 * 300) <= 2 and abs(page.height - height / 25.4 * 300) <= 2
    _assert_scan_url(_decode(tmp_path / "page.png"), code, size)
    text = _pdf_text(response.content, tmp_path)
    for words in ("承诺达标合格证", "小青菜", "承诺声明", "签名/盖章", code):
        assert words in text.replace(" ", ""), f"{words} missing at {size}"


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_each_label_size_prints_a_png_whose_qr_decodes(
    services: Services, tmp_path: Path, size: str
) -> None:
    code = _issue(services)

    response = services.query.get(f"/c/{code}/label.png", params={"size": size, "dpi": "203"})

    assert response.status_code == 200, response.text
    image = tmp_path / "label.png"
    image.write_bytes(response.content)
    opened = Image.open(image)
    assert round(opened.info["dpi"][0]) == 203
    assert abs(opened.width - LABEL_SIZES[size][0] / 25.4 * 203) <= 1
    _assert_scan_url(_decode(image), code, size)


def test_the_pdf_embeds_its_chinese_font(services: Services, tmp_path: Path) -> None:
    code = _issue(services)
    pdf = tmp_path / "fonts.pdf"
    pdf.write_bytes(services.query.get(f"/c/{code}/label.pdf").content)

    fonts = subprocess.run(
        [_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout

    listed = fonts.splitlines()[2:]  # after the header
    assert listed and all("WenQuanYi" in line for line in listed), fonts  # no other font
    assert all(" yes " in line for line in listed), fonts  # embedded


def test_n_labels_are_n_pages(services: Services, tmp_path: Path) -> None:
    code = _issue(services)
    pdf = tmp_path / "many.pdf"
    pdf.write_bytes(
        services.query.get(f"/c/{code}/label.pdf", params={"copies": "12", "size": "40x30"}).content
    )

    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True)

    assert "Pages:           12" in info.stdout


def test_only_the_issuer_s_label_prints_the_contact(services: Services, tmp_path: Path) -> None:
    s = services
    code = _issue(s)
    farm_token = s.tokens[s.chain.farm.uscc]
    coop_token = s.tokens[s.chain.coop.uscc]

    def text(token: str | None) -> str:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = s.query.get(f"/c/{code}/label.pdf", headers=headers)
        assert response.status_code == 200
        return _pdf_text(response.content, tmp_path)

    own = s.query.get(
        f"/c/{code}/label.pdf", headers={"Authorization": f"Bearer {farm_token}"}
    ).headers
    assert "0571-63781234" in text(farm_token) and own["cache-control"] == "private, no-store"
    assert "0571-63781234" not in text(coop_token)
    assert "0571-63781234" not in text(None)
    assert "联系方式" not in text(None)


def test_a_voided_certificate_s_label_is_stamped(services: Services, tmp_path: Path) -> None:
    s = services
    code = _issue(s)
    assert s.void(s.chain.farm, code, {"reason": "重量填写错误"}).status_code == 201

    pdf = s.query.get(f"/c/{code}/label.pdf").content

    assert "已作废" in _pdf_text(pdf, tmp_path).replace(" ", "")


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"size": "50x50"}, "size must be one of 40x30, 60x40, 70x50, 100x70"),
        ({"copies": "0"}, "copies must be between 1 and 500"),
        ({"copies": "501"}, "copies must be between 1 and 500"),
        ({"copies": "two"}, "copies must be a whole number"),
    ],
)
def test_label_options_outside_the_list_are_refused_with_the_rule(
    services: Services, params: dict[str, str], rule: str
) -> None:
    code = _issue(services)

    response = services.query.get(f"/c/{code}/label.pdf", params=params)

    assert response.status_code == 422
    assert rule in response.text


def test_png_resolution_outside_the_list_is_refused(services: Services) -> None:
    code = _issue(services)

    response = services.query.get(f"/c/{code}/label.png", params={"dpi": "72"})

    assert response.status_code == 422
    assert "dpi must be one of 203, 300, 600" in response.text


def test_a_missing_font_is_a_clear_503(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code = _issue(services)
    monkeypatch.setenv("SUYUAN_LABEL_FONT", str(tmp_path / "none.ttf"))
    from suyuan import label_print

    label_print._font.cache_clear()
    label_print._pil_font.cache_clear()
    try:
        response = services.query.get(f"/c/{code}/label.png")
    finally:
        monkeypatch.delenv("SUYUAN_LABEL_FONT")
        label_print._font.cache_clear()
        label_print._pil_font.cache_clear()

    assert response.status_code == 503
    assert "no such font file" in response.text
