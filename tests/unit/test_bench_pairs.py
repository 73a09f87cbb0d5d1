"""``python -m bench.pairs``: the ratios it reports are A/B pair by pair, and a malformed
``--a``/``--b`` is refused naming the option (bench/README.md, "Traces at once")."""

from __future__ import annotations

import pytest

from bench._suite import BenchError
from bench.pairs import _environment, _medians, main


def _pair(a_rate: float, b_rate: float) -> dict[str, dict[str, float]]:
    figures = {"p50_ms": 1.0, "p99_ms": 2.0, "server_cpu_ms_per_request": 3.0}
    return {"a": {"requests_per_s": a_rate, **figures}, "b": {"requests_per_s": b_rate, **figures}}


def test_the_ratio_is_the_median_of_the_pairs_ratios_not_the_ratio_of_the_medians() -> None:
    # The machine's speed drifted between pairs: the ratio of the medians would say 0.95.
    pairs = [_pair(100, 50), _pair(300, 290), _pair(200, 210)]

    medians = _medians(pairs, "requests_per_s")

    assert medians["ratio_a_b"] == pytest.approx(1.034, abs=0.001)
    assert medians["ratio_min"] == pytest.approx(0.952, abs=0.001)
    assert medians["ratio_max"] == pytest.approx(2.0)
    assert (medians["a"], medians["b"]) == (200, 210)


def test_an_environment_is_name_equals_value() -> None:
    assert _environment(["SUYUAN_PUBLIC_TRACE_THREADS=64", "X=a=b"], "--a") == {
        "SUYUAN_PUBLIC_TRACE_THREADS": "64",
        "X": "a=b",
    }
    with pytest.raises(BenchError, match="--b 'THREADS': expected NAME=VALUE"):
        _environment(["THREADS"], "--b")


def test_a_malformed_side_ends_with_status_1_and_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--a", "=2"]) == 1
    assert "--a '=2': expected NAME=VALUE" in capsys.readouterr().err
