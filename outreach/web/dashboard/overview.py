"""The overview's numbers: what the system did today and in the last 7 and 30 days, per day, and by language,
site and region. Counts only; no personal data leaves these queries. The totals and breakdowns are
outreach.reports.outcome_stats' (the same as `outreach stats`); the chart counts messages per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from outreach.errors import N_
from outreach.reports.funnel import Funnel, funnel
from outreach.reports.outcome_facts import Outcomes, load
from outreach.reports.outcome_stats import OutcomeRow, group
from outreach.store.states import Direction
from outreach.support.local_time import QUARTER_HOUR, LocalDays, day_start, local
from outreach.web.dashboard.charts import Bar, grouped_bars

PERIODS = ((N_("today"), 0), (N_("7 days"), 7), (N_("30 days"), 30))


@dataclass(frozen=True)
class Day:
    day: date
    messages: int
    replies: int


@dataclass(frozen=True)
class OverviewFigures:
    """Everything the overview counts, at one moment (`counted_at`, UTC)."""

    counted_at: datetime
    totals: list[OutcomeRow]
    funnel: Funnel
    days: list[Day]
    breakdowns: dict[str, list[OutcomeRow]]


def count_figures(
    session: Session,
    now: datetime,
    zone: str,
    *,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> OverviewFigures:
    """Today, 7 and 30 days, the funnel and the breakdowns of the last 30 days, and the messages per day; for the
    given organisations and regions (None: all)."""
    data = load(session, period_start(now, zone, 30), organisations=organisations, regions=regions)
    return OverviewFigures(
        counted_at=now,
        totals=totals(data, zone, now),
        funnel=funnel(data),
        days=days_of(data, zone, 30),
        breakdowns={by: breakdown(data, zone, by) for by in ("language", "site", "region")},
    )


def period_start(now: datetime, zone: str, days: int) -> datetime:
    """`today` is since local midnight in `zone`; `7 days` is the last 7 local calendar days including today (the
    days `outreach stats` counts)."""
    return day_start(now, zone, max(days - 1, 0))


def totals(data: Outcomes, zone: str, now: datetime) -> list[OutcomeRow]:
    """Today, 7 and 30 days (`data` loaded from 30 days back), counted as `outreach stats` counts."""
    result = []
    for label, days in PERIODS:
        (row,) = group(data, "total", zone, since=period_start(now, zone, days)) or [OutcomeRow("all")]
        row.group = label
        result.append(row)
    return result


def breakdown(data: Outcomes, zone: str, by: str, limit: int = 15) -> list[OutcomeRow]:
    """Per language, site or region over the loaded period, most persons contacted first (at most `limit` rows)."""
    rows = group(data, {"language": "lang"}.get(by, by), zone)
    return sorted(rows, key=lambda row: (-row.persons_contacted, -row.adverts_found, row.group))[:limit]


def per_day(
    session: Session, now: datetime, zone: str, days: int = 30, *, organisations: list[str] | None = None
) -> list[Day]:
    """Messages sent and received per local day in `zone`; organisations: only theirs (None: all)."""
    since = period_start(now, zone, days)
    return days_of(load(session, since, organisations=organisations), zone, days)


def days_of(data: Outcomes, zone: str, days: int) -> list[Day]:
    """Messages sent and received per local day in `zone`, `days` days from the start of `data`'s period (counted
    per quarter hour by outcome_stats.load; every zone's offset is whole quarter hours, so each lands on its day)."""
    day_of = LocalDays(zone)
    counts: dict[date, list[int]] = {}
    for (direction, quarter), number in data.sent.items():
        counts.setdefault(day_of(quarter * QUARTER_HOUR), [0, 0])[0 if direction == Direction.OUT else 1] += number
    first = local(data.since, zone).date()
    return [Day(first + timedelta(days=i), *counts.get(first + timedelta(days=i), [0, 0])) for i in range(days)]


def chart_bars(days: list[Day]) -> tuple[list[Bar], int]:
    """Two bars per day (messages, replies), scaled to the chart; returns the bars and the scale's maximum."""
    return grouped_bars([(d.day, (d.messages, d.replies)) for d in days], ("messages", "replies"))
