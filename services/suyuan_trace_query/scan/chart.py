"""The temperature record as an inline SVG chart (docs/scan-page.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .words import when_text

# --- temperature chart ---------------------------------------------------------------------------

_CHART_WIDTH = 340
_CHART_HEIGHT = 160
_PAD_LEFT = 38
_PAD_RIGHT = 10
_PAD_TOP = 12
_PAD_BOTTOM = 26
_PLOT_HEIGHT = _CHART_HEIGHT - _PAD_TOP - _PAD_BOTTOM
_TICK_GAP = 12  # chart units between two temperature labels


@dataclass(frozen=True)
class _Scale:
    """Maps time and temperature to chart coordinates."""

    start: datetime
    seconds: float
    low: float
    high: float

    def x(self, at: datetime) -> float:
        share = (at - self.start).total_seconds() / self.seconds if self.seconds else 0.5
        return round(_PAD_LEFT + share * (_CHART_WIDTH - _PAD_LEFT - _PAD_RIGHT), 1)

    def y(self, celsius: float) -> float:
        share = (celsius - self.low) / (self.high - self.low)
        return round(_CHART_HEIGHT - _PAD_BOTTOM - share * _PLOT_HEIGHT, 1)


def temperature_chart(temperature: Mapping[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """Coordinates of the inline SVG chart: the readings as a line, the allowed band shaded,
    excursions as red dots; ``None`` without readings."""
    if not temperature or not temperature.get("readings"):
        return None
    readings = sorted((_reading(r) for r in temperature["readings"]), key=lambda r: r["at"])
    values = [r["celsius"] for r in readings]
    bounds = [b for r in readings for b in (r["min"], r["max"]) if b is not None]
    start, end = readings[0]["at"], readings[-1]["at"]
    scale = _Scale(
        start,
        (end - start).total_seconds(),
        min([*values, *bounds]) - 1.0,
        max([*values, *bounds]) + 1.0,
    )
    points = [(scale.x(r["at"]), scale.y(r["celsius"])) for r in readings]
    excursions = [
        {"x": px, "y": py, "label": f"{r['celsius']:g} °C · {when_text(r['at'])}"}
        for (px, py), r in zip(points, readings, strict=True)
        if _outside(r)
    ]
    return {
        "width": _CHART_WIDTH,
        "height": _CHART_HEIGHT,
        "line": " ".join(f"{px},{py}" for px, py in points),
        "points": [{"x": px, "y": py} for px, py in points],
        "band": _band(readings, scale),
        "excursions": excursions,
        "ticks": [{"y": scale.y(v), "label": f"{v:g} °C"} for v in _ticks(readings, values, scale)],
        "plot_left": _PAD_LEFT,
        "plot_right": _CHART_WIDTH - _PAD_RIGHT,
        "axis_y": _CHART_HEIGHT - _PAD_BOTTOM,
        "start": when_text(start),
        "end": when_text(end),
        "summary": _summary(readings, values, lang),
        "allowed": _allowed_text(readings),
    }


def _reading(reading: Mapping[str, Any]) -> dict[str, Any]:
    at = reading["at"]
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    low, high = reading.get("min"), reading.get("max")
    return {
        "at": moment,
        "celsius": float(reading["celsius"]),
        "min": None if low is None else float(low),
        "max": None if high is None else float(high),
    }


def _outside(reading: Mapping[str, Any]) -> bool:
    value, low, high = reading["celsius"], reading["min"], reading["max"]
    return (low is not None and value < low) or (high is not None and value > high)


def _band(readings: Sequence[Mapping[str, Any]], scale: _Scale) -> str | None:
    """Polygon of the allowed range along the time axis (each record may set its own)."""
    if any(r["min"] is None or r["max"] is None for r in readings):
        return None
    top = [(scale.x(r["at"]), scale.y(r["max"])) for r in readings]
    bottom = [(scale.x(r["at"]), scale.y(r["min"])) for r in reversed(readings)]
    if len(readings) == 1:  # one reading: a band across the whole plot
        left, right = _PAD_LEFT, _CHART_WIDTH - _PAD_RIGHT
        top = [(left, top[0][1]), (right, top[0][1])]
        bottom = [(right, bottom[0][1]), (left, bottom[0][1])]
    return " ".join(f"{px},{py}" for px, py in top + bottom)


def _ticks(
    readings: Sequence[Mapping[str, Any]], values: Sequence[float], scale: _Scale
) -> list[float]:
    """Labelled temperatures: the allowed limits first, then the lowest and highest reading,
    each only where its label does not overlap one already placed."""
    limits = [b for r in readings for b in (r["min"], r["max"]) if b is not None]
    kept: list[float] = []
    for mark in [*limits, min(values), max(values)]:
        if all(abs(scale.y(mark) - scale.y(other)) >= _TICK_GAP for other in kept):
            kept.append(mark)
    return sorted(kept)


def _summary(readings: Sequence[Mapping[str, Any]], values: Sequence[float], lang: str) -> str:
    outside = sum(1 for r in readings if _outside(r))
    low, high = f"{min(values):g} °C", f"{max(values):g} °C"
    if lang == "zh":
        verdict = f"{outside}次超出允许范围" if outside else "全程在允许范围内"
        return f"{len(readings)}次读数，最低 {low}，最高 {high}，{verdict}"
    verdict = f"{outside} outside the allowed range" if outside else "always within range"
    return f"{len(readings)} readings, lowest {low}, highest {high}, {verdict}"


def _allowed_text(readings: Sequence[Mapping[str, Any]]) -> str | None:
    ranges = {(r["min"], r["max"]) for r in readings if r["min"] is not None}
    if len(ranges) != 1:
        return None
    low, high = next(iter(ranges))
    return f"{low:g} ~ {high:g} °C" if high is not None else f"≥ {low:g} °C"
