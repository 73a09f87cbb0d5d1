"""The printed label's layout (docs/labels.md): everything a 合格证 prints fits every label size,
inside the label, at a size a label printer still prints."""

from __future__ import annotations

import dataclasses

import pytest

from suyuan.foodchain import PURCHASER_COMMITMENT
from suyuan.label import CertificateLabel
from suyuan.label_print import (
    LABEL_SIZES,
    MIN_MODULE_MM,
    SEAL_TEXT,
    _layout,
    _qr,
    _width,
    plain_scan_url,
)

LONG = CertificateLabel(
    code="7K3M9PQRX2TZ",
    scan_url="https://suyuan.example.cn/c/7K3M9PQRX2TZ",
    product_name="有机小青菜（精品礼盒装）",
    category="蔬菜",
    quantity="1250.5 kg",
    origin="浙江省杭州市临安区太湖源镇白沙村绿野蔬菜专业合作社第三生产基地",
    issuer_type="收购者",
    issuer_name="杭州市临安区太湖源绿野蔬菜专业合作社联合社",
    issue_date="2026-12-06",
    commitment=PURCHASER_COMMITMENT,
    basis="委托检测合格",
    contact="0571-63781234 / 138 0571 6378",
)


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_a_long_certificate_fits_every_size_whole(size: str) -> None:
    width, height = LABEL_SIZES[size]

    layout = _layout(LONG, width, height)

    texts = [t.text for t in layout.texts]
    assert not any(t.endswith("…") for t in texts), "nothing cut off"
    assert LONG.code in texts and SEAL_TEXT in texts
    fields = [t for t in layout.texts if not t.centre and t.text != SEAL_TEXT]
    joined = "".join(t.text for t in sorted(fields, key=lambda t: (round(t.y, 3), t.x)))
    for words in (LONG.origin, LONG.issuer_name, LONG.contact, LONG.commitment):
        assert words is not None and words.replace(" ", "") in joined.replace(" ", ""), words
    for text in layout.texts:
        left = text.x - (_width(text.text, text.size) / 2 if text.centre else 0)
        assert left >= 0 and left + _width(text.text, text.size) <= width + 0.01, text
        assert 0 < text.y <= height, text
    field_sizes = {t.size for t in fields}
    assert min(field_sizes) >= 1.0  # about 2.8 pt: still legible from a 203 dpi printer
    qr = layout.qr
    assert qr.side / len(qr.modules) >= 0.3  # mm per module: two dots at 203 dpi and more


def test_text_beside_the_qr_stays_clear_of_it() -> None:
    width, height = LABEL_SIZES["60x40"]
    layout = _layout(LONG, width, height)
    qr = layout.qr
    for text in layout.texts:
        if text.centre or text.text == SEAL_TEXT:
            continue
        if qr.y <= text.y <= qr.y + qr.side:
            assert text.x + _width(text.text, text.size) <= qr.x, text


SIGNED = (
    LONG.scan_url + "?cq=" + "eyJiIjoiUVVBTElUWV9DT05UUk9MIiwiYyI6IjdLM005UFFSWDJUWiJ9" * 4 + ".sig"
)


@pytest.mark.parametrize(
    ("size", "signed"), [("40x30", False), ("60x40", False), ("70x50", True), ("100x70", True)]
)
def test_a_signed_qr_is_printed_only_where_its_modules_are_printable(
    size: str, signed: bool
) -> None:
    width, height = LABEL_SIZES[size]

    qr = _layout(dataclasses.replace(LONG, scan_url=SIGNED), width, height).qr

    assert qr.side / len(qr.modules) >= MIN_MODULE_MM
    assert qr.modules == _qr(SIGNED if signed else LONG.scan_url)


def test_the_plain_scan_url_drops_only_the_signed_value() -> None:
    assert plain_scan_url(SIGNED) == LONG.scan_url
    assert (
        plain_scan_url("https://x.cn/c/(01)0690?lang=en&cq=abc")
        == "https://x.cn/c/(01)0690?lang=en"
    )
