"""Scan URLs: GS1 Digital Links on our host for GS1 codes, {PUBLIC_BASE_URL}/c/{code} for the
others (design.md §3, §8; docs/codes.md "Scan URLs")."""

from __future__ import annotations

import pytest

from suyuan.codes import (
    CodeKind,
    TraceCode,
    code_from_scan_url,
    legacy_scan_url,
    parse_trace_code,
    scan_url,
)
from suyuan.errors import CodeError

CERTIFICATE = TraceCode(CodeKind.CERTIFICATE, "0K3Q8ZJ5W2HG")
DRUG = TraceCode(CodeKind.DRUG, "81234560000012345678")
ITEM = TraceCode(CodeKind.GS1, "(01)09506000134352(10)ABC(21)123")


@pytest.mark.parametrize(
    ("base", "code", "url"),
    [
        ("https://trace.zj.example", CERTIFICATE, "https://trace.zj.example/c/0K3Q8ZJ5W2HG"),
        ("https://trace.zj.example/", CERTIFICATE, "https://trace.zj.example/c/0K3Q8ZJ5W2HG"),
        ("http://localhost:8001/app", DRUG, "http://localhost:8001/app/c/81234560000012345678"),
        ("", CERTIFICATE, "/c/0K3Q8ZJ5W2HG"),
    ],
)
def test_scan_url_of_a_code_without_digital_link_form_is_under_c(
    base: str, code: TraceCode, url: str
) -> None:
    assert scan_url(base, code) == url
    assert code_from_scan_url(url) == code


@pytest.mark.parametrize(
    ("base", "code", "url"),
    [
        (
            "https://trace.zj.example",
            ITEM,
            "https://trace.zj.example/01/09506000134352/10/ABC/21/123",
        ),
        (
            "http://localhost:8001/app/",
            TraceCode(CodeKind.GS1, "(01)09506000134352(10)A/B?%&"),
            "http://localhost:8001/app/01/09506000134352/10/A%2FB%3F%25%26",
        ),
        (
            "https://trace.zj.example",
            TraceCode(CodeKind.GS1, "(01)09506000134352(21)7"),
            "https://trace.zj.example/01/09506000134352/21/7",
        ),
        (
            "https://trace.zj.example",
            TraceCode(CodeKind.GS1, "(00)106141412345678908"),
            "https://trace.zj.example/00/106141412345678908",
        ),
        ("", ITEM, "/01/09506000134352/10/ABC/21/123"),
    ],
)
def test_scan_url_of_a_gs1_code_is_its_digital_link_on_our_host(
    base: str, code: TraceCode, url: str
) -> None:
    assert scan_url(base, code) == url
    assert code_from_scan_url(url) == code


def test_the_old_c_url_of_a_gs1_code_still_reads_back() -> None:
    url = legacy_scan_url("https://t.example", ITEM)

    assert url == "https://t.example/c/(01)09506000134352(10)ABC(21)123"
    assert code_from_scan_url(url) == ITEM


def test_scan_url_canonicalises_a_code_given_as_text() -> None:
    assert scan_url("https://t.example", "0k3q-8zj5-w2hg") == "https://t.example/c/0K3Q8ZJ5W2HG"
    assert (
        scan_url("https://t.example", "https://id.gs1.org/01/09506000134352/10/ABC?17=251231")
        == "https://t.example/01/09506000134352/10/ABC"
    )


def test_scan_url_refuses_an_invalid_code() -> None:
    with pytest.raises(CodeError) as caught:
        scan_url("https://t.example", "0K3Q8ZJ5W2HH")
    assert caught.value.field == "code"
    assert caught.value.rule.startswith("certificate code check character is 'H', expected 'G'")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://other-province.example/trace/c/0k3q-8zj5-w2hg", CERTIFICATE),
        ("https://t.example/c/0K3Q8ZJ5W2HG/", CERTIFICATE),
        ("https://t.example/c/0K3Q8ZJ5W2HG?lang=en#top", CERTIFICATE),
        ("HTTPS://T.EXAMPLE/C/0K3Q8ZJ5W2HG", CERTIFICATE),
        ("https://t.example/c/cert%3A0K3Q8ZJ5W2HG", CERTIFICATE),
        ("https://t.example/c/%2801%2909506000134352%2810%29ABC%2821%29123", ITEM),
        ("https://id.gs1.org/01/09506000134352/10/ABC/21/123", ITEM),
        ("https://brand.example/c/01/09506000134352/10/ABC/21/123", ITEM),  # "c" as a DL prefix
        ("https://id.gs1.org/01/09506000134352/10/ABC/21/123?17=251231&linkType=gs1:pip", ITEM),
    ],
)
def test_code_from_scan_url_reads_our_urls_and_digital_links(url: str, code: TraceCode) -> None:
    assert code_from_scan_url(url) == code


def test_parse_trace_code_also_reads_urls() -> None:
    assert parse_trace_code("https://t.example/c/0K3Q8ZJ5W2HG") == CERTIFICATE
    # scanners configured to send symbology identifiers put "]Q1" before a plain QR's text
    assert parse_trace_code("]Q1https://t.example/c/0K3Q8ZJ5W2HG") == CERTIFICATE


_NOT_A_SCAN_URL = (
    "not a scan URL ({base}/c/{code}) nor a GS1 Digital Link URI "
    "(https://{domain}/01/{GTIN}/10/{lot}/21/{serial})"
)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("", "must not be empty"),
        ("https://t.example/c/" + "A" * 2048, "must be at most 2048 characters (got 2068)"),
        (
            "ftp://t.example/c/0K3Q8ZJ5W2HG",
            "must be an http(s) URL or an absolute path such as /c/{code}",
        ),
        ("c/0K3Q8ZJ5W2HG", "must be an http(s) URL or an absolute path such as /c/{code}"),
        ("https:///c/0K3Q8ZJ5W2HG", "must be an http(s) URL or an absolute path such as /c/{code}"),
        ("http://[::1/c/0K3Q8ZJ5W2HG", "not a valid URL: Invalid IPv6 URL"),
        (
            "https://t.example/about",
            f"{_NOT_A_SCAN_URL}: Expected a primary identifier in the path, got '/about'.",
        ),
        (
            "https://t.example/c/",
            f"{_NOT_A_SCAN_URL}: Expected a primary identifier in the path, got '/c/'.",
        ),
        (
            "https://t.example/c/0K3Q8ZJ5W2HH",
            "certificate code check character is 'H', expected 'G' (ISO 7064 MOD 33,32): "
            "the code is mistyped",
        ),
        (
            "https://t.example/c/0K3Q%008ZJ5W2HG",
            "must not contain control characters (found U+0000 at position 5)",
        ),
        (
            "https://id.gs1.org/01/09506000134353",
            "GTIN (01) is invalid: Invalid GTIN check digit for '09506000134353': "
            "Expected 2, got 3.",
        ),
    ],
)
def test_each_broken_rule_is_named(url: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        code_from_scan_url(url, field="qr")
    assert caught.value.field == "qr"
    assert caught.value.rule == rule


def test_errors_show_the_url_not_only_the_code_inside() -> None:
    with pytest.raises(CodeError) as caught:
        code_from_scan_url("https://t.example/c/0K3Q8ZJ5W2HH")
    assert caught.value.field == "url"
    assert caught.value.value == "https://t.example/c/0K3Q8ZJ5W2HH"


def test_a_bad_digital_link_path_is_refused_as_given() -> None:
    with pytest.raises(CodeError) as caught:
        code_from_scan_url("/01/09506000134353/10/ABC")

    assert caught.value.value == "/01/09506000134353/10/ABC"
    assert "check digit" in caught.value.rule
