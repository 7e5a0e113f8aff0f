"""The geometry of the dashboard's charts, drawn as inline SVG by the templates (no JavaScript, no inline style):
grouped bars over days or weeks, and a rate with its 95% interval against the manual-fieldwork reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from outreach.reports.rates import MANUAL_RESPONSE_RATE

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 200, 24
RATE_WIDTH = 160  # px for a rate of 0 to RATE_SCALE
RATE_SCALE = 0.5  # the rate bars run from 0% to 50%: response rates are far below, so the differences show


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str
    day: date
    value: int


def grouped_bars(points: Sequence[tuple[date, Sequence[int]]], kinds: Sequence[str]) -> tuple[list[Bar], int]:
    """One group of bars per point (a day, a week), one bar per kind, scaled to the chart; the bars and the scale's
    maximum."""
    top = max([1] + [max(values, default=0) for _day, values in points])
    slot = (CHART_WIDTH - CHART_PAD) / max(len(points), 1)
    width = slot / len(kinds) - 1
    usable = CHART_HEIGHT - CHART_PAD
    bars = []
    for i, (day, values) in enumerate(points):
        for j, (kind, value) in enumerate(zip(kinds, values, strict=True)):
            height = usable * value / top
            bars.append(
                Bar(
                    x=round(CHART_PAD + i * slot + j * (width + 1), 1),
                    y=round(usable - height, 1),
                    width=round(width, 1),
                    height=round(height, 1),
                    kind=kind,
                    day=day,
                    value=value,
                )
            )
    return bars, top


@dataclass(frozen=True)
class RateBar:
    """A rate as a bar with its interval as a whisker, in px of RATE_WIDTH; None when nobody was contacted."""

    rate: float
    low: float
    high: float
    width: float
    low_x: float
    high_x: float
    reference_x: float


def rate_bar(rate: float | None, interval: tuple[float, float]) -> RateBar | None:
    if rate is None:
        return None

    def x(value: float) -> float:
        return round(min(value, RATE_SCALE) / RATE_SCALE * RATE_WIDTH, 1)

    low, high = interval
    return RateBar(rate, low, high, x(rate), x(low), x(high), x(MANUAL_RESPONSE_RATE))
