"""Region names of GB/T 2260 codes (suyuan.regions)."""

from __future__ import annotations

from suyuan.regions import region_name


def test_known_codes_have_their_names() -> None:
    assert region_name("330106") == "杭州市西湖区"
    assert region_name("330106", "en") == "Xihu District, Hangzhou"
    assert region_name("330000") == "浙江省"


def test_unknown_codes_keep_the_code_under_their_city_or_province() -> None:
    assert region_name("330199") == "杭州市 330199"
    assert region_name("339999") == "浙江省 339999"
    assert region_name("110101") == "110101"
    assert region_name(None) is None
