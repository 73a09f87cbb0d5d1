"""Which language an ``Accept-Language`` header asks for (docs/scan-page.md, "Language")."""

from __future__ import annotations

import pytest

from suyuan_http import accepted_language, answer_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, None),
        ("", None),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW", "zh"),
        ("fr-FR,fr;q=0.9,en;q=0.5,zh;q=0.4", "en"),  # French first: the best we speak
        ("zh;q=0.5, en;q=0.6", "en"),  # by weight, not by order
        ("en;q=0.8, zh;q=0.8", "en"),  # equal weights: the first
        ("en;q=0, zh;q=0.1", "zh"),  # q=0 refuses
        ("en;q=0", None),
        ("fr, de", None),
        ("*", "zh"),
        ("fr, *;q=0.1", "zh"),
        ("en;q=abc, zh;q=0.2", "zh"),  # an unreadable weight counts as a refusal
        ("EN-gb", "en"),
    ],
)
def test_accepted_language(header: str | None, language: str | None) -> None:
    assert accepted_language(header) == language


def test_outside_a_request_the_answer_is_chinese_unless_told() -> None:
    assert answer_language() == "zh"
    assert answer_language("en-US") == "en"
    assert answer_language("de") == "zh"
