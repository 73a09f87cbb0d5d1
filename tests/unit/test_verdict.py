"""One verdict function: its order, its words, its table in docs/verdicts.md, and the trace's
use of it (a certificate and its goods share their state)."""

from __future__ import annotations

from pathlib import Path

import pytest

from suyuan.verdict import (
    CONSUMER,
    DRUG,
    FOOD,
    HOLDER,
    RULES,
    STATES,
    VACCINE,
    Finding,
    advice,
    judge,
    verdict_json,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "verdicts.md"


def test_the_worst_finding_decides_and_findings_come_worst_first() -> None:
    verdict = judge(
        [
            Finding("certificate_replaced", event_id="v"),
            Finding("temperature_excursion", event_id="t"),
            Finding("recall_open", detail="超标", event_id="r"),
            Finding("inspection_failed", event_id="i"),
        ]
    )

    assert verdict.state == "recalled" and verdict.level == "danger"
    assert [f.rule_id for f in verdict.findings] == [
        "recall_open",
        "inspection_failed",
        "temperature_excursion",
        "certificate_replaced",
    ]


@pytest.mark.parametrize(
    ("rule_id", "state", "level"),
    [
        ("inspection_failed", "frozen", "danger"),
        ("vaccine_use_blocked", "blocked", "danger"),
        ("expired", "expired", "danger"),
        ("missing_certificate", "attention", "caution"),
        ("certificate_replaced", "replaced", "caution"),
    ],
)
def test_each_state_has_its_colour(rule_id: str, state: str, level: str) -> None:
    verdict = judge([Finding(rule_id)])
    assert (verdict.state, verdict.level) == (state, level)


def test_a_closed_recall_is_a_note_on_an_ok_verdict() -> None:
    verdict = judge([Finding("recall_closed", detail="已处置")])

    assert verdict.state == "ok" and verdict.findings == ()
    assert [n.rule.zh for n in verdict.notes] == ["召回已结束"]


def test_nothing_found_is_ok_and_the_same_finding_counts_once() -> None:
    assert judge([]).state == "ok"
    twice = judge([Finding("expired", event_id="e"), Finding("expired", event_id="e")])
    assert len(twice.findings) == 1


def test_advice_follows_the_product_and_the_reader() -> None:
    food = advice("recalled", FOOD, CONSUMER, "zh")
    vaccine = advice("recalled", VACCINE, CONSUMER, "zh")
    drug = advice("recalled", DRUG, CONSUMER, "zh")
    holder = advice("recalled", FOOD, HOLDER, "zh")

    assert "请勿食用" in food and "退货" in food
    assert "食用" not in vaccine and "接种单位" in vaccine
    assert "药师" in drug and "食用" not in drug
    assert "停止销售" in holder and "数量" in holder
    for state in STATES:
        for kind in (FOOD, VACCINE, DRUG):
            for reader in (CONSUMER, HOLDER):
                assert advice(state, kind, reader, "zh") and advice(state, kind, reader, "en")


def test_json_carries_rule_words_and_source() -> None:
    body = verdict_json(judge([Finding("recall_open", detail="超标", event_id="r")], VACCINE))

    assert body["state"] == "recalled" and body["product"] == "vaccine"
    assert body["findings"][0]["source"] == RULES["recall_open"].source
    assert body["findings"][0]["detail"] == "超标"
    assert "接种单位" in body["advice"]["zh"]["consumer"]


def test_docs_list_every_rule_with_its_state() -> None:
    rows = {}
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Rules")
    for line in lines[start:]:
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1].split(" ")[0]
    assert rows == {rule_id: rule.state for rule_id, rule in RULES.items()}


def test_an_unknown_rule_or_product_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        judge([Finding("made_up")])
    with pytest.raises(KeyError):
        judge([], "furniture")
