"""``python -m bench.batches``: every event of each stream is written (a rejection ends the run
with status 1), each size is reported against the first, and bad sizes are refused."""

from __future__ import annotations

import json

import pytest

from bench.batches import main


def test_a_small_run_reports_both_streams_for_every_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--sizes", "8,40", "--events", "40", "--runs", "1"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["receipts"] == 10
    for kind in ("farm", "receipts", "tested"):
        by_size = report["medians"][kind]
        assert set(by_size) == {"8", "40"}
        assert by_size["8"]["ratio_to_first_size"] == 1.0
        assert by_size["40"]["cpu_us_per_event"] > 0
        ratio = by_size["40"]["cpu_us_per_event"] / by_size["8"]["cpu_us_per_event"]
        assert by_size["40"]["ratio_to_first_size"] == pytest.approx(ratio, abs=0.001)


@pytest.mark.parametrize("sizes", ["500,x", "0,500", ""])
def test_sizes_must_be_positive_numbers(sizes: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--sizes", sizes])

    assert stopped.value.code == 2
    assert "--sizes" in capsys.readouterr().err
