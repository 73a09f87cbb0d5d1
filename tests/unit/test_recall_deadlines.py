"""Recall deadlines by level and the reconciliation of a holder's account (docs/recalls.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from suyuan.recall import (
    NOT_ACKNOWLEDGED,
    NOT_RECONCILED,
    Acknowledgement,
    HolderAccount,
    add_working_days,
    deadlines,
)

CHINA = timezone(timedelta(hours=8))
FRIDAY = datetime(2026, 5, 8, 17, 0, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("level", "hours", "finish"),
    [
        ("LEVEL_1", 24, datetime(2026, 5, 22, 17, 0, tzinfo=CHINA)),  # 10 working days
        ("LEVEL_2", 48, datetime(2026, 6, 5, 17, 0, tzinfo=CHINA)),
        ("LEVEL_3", 72, datetime(2026, 6, 19, 17, 0, tzinfo=CHINA)),
    ],
)
def test_deadlines_by_level(level: str, hours: int, finish: datetime) -> None:
    limits = deadlines(level, FRIDAY)
    assert limits.acknowledge_by == FRIDAY + timedelta(hours=hours)
    assert limits.finish_by == finish


def test_working_days_skip_the_weekend() -> None:
    assert add_working_days(FRIDAY, 1) == FRIDAY + timedelta(days=3)  # Monday
    assert add_working_days(FRIDAY + timedelta(days=1), 1) == FRIDAY + timedelta(days=3)


def _account(**reported: str | None) -> HolderAccount:
    values = {"on_hand": "0", "sold_on": "0", "returned": "0", "destroyed": "0", **reported}
    ack = Acknowledgement(
        "e",
        FRIDAY,
        "kg",
        *(
            None if values[n] is None else Decimal(str(values[n]))
            for n in ("on_hand", "sold_on", "returned", "destroyed")
        ),
        None,
    )
    return HolderAccount("org", None, None, (("120", "kg"),), ack, deadlines("LEVEL_1", FRIDAY))


def test_an_account_reconciles_when_everything_is_accounted_for_and_nothing_is_on_hand() -> None:
    done = _account(sold_on="1.25", returned="118.75")
    on_hand = _account(sold_on="20", on_hand="100")
    short = _account(sold_on="20", destroyed="90")
    unreported = _account(returned=None, sold_on="120")

    assert (done.remaining, done.reconciled, done.missing) == (Decimal(0), True, ())
    assert on_hand.missing == ("return or destroy the 100 kg on hand",)
    assert short.remaining == Decimal(10)
    assert "account for the difference" in short.missing[0]
    assert unreported.missing == ("report returned",)
    late = FRIDAY + timedelta(days=30)
    assert (done.overdue(late), short.overdue(late)) == (None, NOT_RECONCILED)


def test_a_holder_that_never_acknowledged_is_overdue_after_the_notify_window() -> None:
    silent = HolderAccount("org", None, None, (), None, deadlines("LEVEL_1", FRIDAY))
    assert silent.overdue(FRIDAY + timedelta(hours=23)) is None
    assert silent.overdue(FRIDAY + timedelta(hours=25)) == NOT_ACKNOWLEDGED


def test_an_event_dated_at_the_end_of_the_calendar_is_never_due() -> None:
    last = datetime(9999, 12, 31, 12, 0, tzinfo=CHINA)
    limits = deadlines("LEVEL_3", last)
    assert limits.acknowledge_by.year == limits.finish_by.year == 9999
    assert limits.finish_by > last
