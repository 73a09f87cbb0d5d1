"""The notices core: which alerts an organisation is told of, and the list's cursors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from suyuan.errors import InvalidInputError
from suyuan.foodchain import ALERT_KINDS, Alert
from suyuan.notices import (
    AGAINST,
    HELD,
    SUPPLIED,
    Notice,
    alert_notices,
    decode_cursor,
    encode_cursor,
    notice_kinds,
    public_alert_kinds,
)
from suyuan.verdict import RULES

AT = datetime(2026, 5, 6, 9, 30, tzinfo=timezone(timedelta(hours=8)))
BUYER, FARM, OTHER = "91330105MA2AAAAAA1", "93330185MA2BBBBBB2", "91330106MA2CCCCCC3"


class Holders:
    """Who held each code, as :class:`suyuan.authority.Custody` answers it."""

    def __init__(self, held: dict[str, set[str]]) -> None:
        self._held = held

    def holders(self, code: str) -> set[str]:
        return self._held.get(code, set())


def alert(kind: str = "missing_certificate", **changes: object) -> Alert:
    fields: dict[str, object] = {
        "kind": kind,
        "event_id": "0f3c1b7e-8a4d-4c2b-9e1f-5a6b7c8d9e0f",
        "codes": ("lot-1", "lot-2"),
        "organisation": BUYER,
        "organisation_name": "杭州农副产品物流中心",
        "region": "330105",
        "opened_at": AT,
        "summary": f"no certificate; supplier {FARM}",
        "outstanding": ("present a valid 合格证, or return or destroy",),
        "counterparty": FARM,
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def test_an_alert_kind_without_a_public_verdict_rule_is_never_a_notice() -> None:
    private = alert("serious_adverse_event")
    custody = Holders({"lot-1": {BUYER, FARM}})

    assert "serious_adverse_event" not in RULES
    assert alert_notices([private], BUYER, custody) == []  # type: ignore[arg-type]
    assert alert_notices([private], FARM, custody) == []  # type: ignore[arg-type]
    assert "serious_adverse_event" not in notice_kinds()


def test_every_public_alert_kind_is_a_filter_value() -> None:
    assert set(public_alert_kinds()) == {k for k in ALERT_KINDS if k in RULES}
    assert notice_kinds()[0] == "recall"


def test_how_each_organisation_stands_to_an_alert() -> None:
    custody = Holders({"lot-1": {FARM, BUYER}, "lot-2": {BUYER}})

    [against] = alert_notices([alert()], BUYER, custody)  # type: ignore[arg-type]
    [held] = alert_notices([alert()], FARM, custody)  # type: ignore[arg-type]
    [supplied] = alert_notices([alert()], FARM, Holders({}))  # type: ignore[arg-type]

    assert (against.relation, against.codes, against.summary) == (
        AGAINST,
        ("lot-1", "lot-2"),
        f"no certificate; supplier {FARM}",
    )
    assert (held.relation, held.codes, held.summary, held.outstanding) == (
        HELD,
        ("lot-1",),
        None,
        (),
    )
    assert (supplied.relation, supplied.summary) == (SUPPLIED, None)
    assert alert_notices([alert()], OTHER, custody) == []  # type: ignore[arg-type]


def test_advice_is_the_holders_advice_while_open_and_none_once_closed() -> None:
    custody = Holders({})
    [open_] = alert_notices([alert()], BUYER, custody)  # type: ignore[arg-type]
    [closed] = alert_notices(  # type: ignore[arg-type]
        [alert(closed_at=AT, closed_reason="disposed")], BUYER, custody
    )

    assert open_.advice("zh") == "请补齐所缺证明或完成核查，问题解决前不宜销售。"
    assert (closed.status, closed.state, closed.advice("zh")) == ("closed", "ok", None)


def test_a_cursor_round_trips_and_a_made_up_one_is_refused() -> None:
    notice = Notice(
        notice_id="recall:x",
        kind="recall",
        status="open",
        relation=HELD,
        at=AT,
        event_id="x",
        codes=(),
        rule="recall_open",
        state="recalled",
    )

    assert decode_cursor(encode_cursor(notice)) == (AT, "recall:x")
    for bad in ("", "%%%", "bm90IGpzb24", "WzEsMl0", "WyIyMDI2LTA1LTA2VDA5OjMwOjAwIiwieCJd"):
        with pytest.raises(InvalidInputError) as refused:
            decode_cursor(bad)
        assert refused.value.field == "cursor"
