"""The overview's numbers: what the system did today and in the last 7 and 30 days, per day, and by language,
site and region. Counts only; no personal data leaves these queries. The totals and breakdowns are
outreach.reports.outcome_stats' (the same as `outreach stats`); the chart counts messages per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from outreach.errors import N_
from outreach.reports.funnel import Funnel, funnel
from outreach.reports.outcome_stats import OutcomeRow, Outcomes, group, load
from outreach.store.models import Message
from outreach.store.plain_rows import plain_rows
from outreach.store.states import NOT_SENT, Direction
from outreach.store.types import micros
from outreach.support.local_time import LocalDays, day_start, local
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
        funnel=funnel(session, data, regions=regions),
        days=per_day(session, now, zone, organisations=organisations),
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


def _hour(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC hour of a timestamp as 'YYYY-MM-DD HH', the same on both databases: the database counts per hour,
    Python adds the hours up into local days (zones an hour or whole hours from UTC; a zone with a half-hour offset
    would put up to 30 minutes of messages on the neighbouring day)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff': its first 13 characters are strftime's '%Y-%m-%d %H', at
    # a fraction of the cost
    return func.substr(column, 1, 13)


def per_day(
    session: Session, now: datetime, zone: str, days: int = 30, *, organisations: list[str] | None = None
) -> list[Day]:
    """Messages sent and received per local day in `zone`; organisations: only theirs (None: all)."""
    since = period_start(now, zone, days)
    hour = _hour(session, Message.created_at)
    day_of = LocalDays(zone)
    counts: dict[date, list[int]] = {}
    statement = select(hour, Message.direction, func.count(Message.id)).where(
        Message.created_at >= since, Message.status.not_in(NOT_SENT)
    )
    if organisations is not None:
        statement = statement.where(Message.organisation.in_(organisations))
    for when, direction, number in plain_rows(session.connection(), statement.group_by(hour, Message.direction)):
        day = day_of(micros(datetime.fromisoformat(when).replace(tzinfo=UTC)))
        counts.setdefault(day, [0, 0])[0 if direction == Direction.OUT else 1] += number
    first = local(since, zone).date()
    return [Day(first + timedelta(days=i), *counts.get(first + timedelta(days=i), [0, 0])) for i in range(days)]


def chart_bars(days: list[Day]) -> tuple[list[Bar], int]:
    """Two bars per day (messages, replies), scaled to the chart; returns the bars and the scale's maximum."""
    return grouped_bars([(d.day, (d.messages, d.replies)) for d in days], ("messages", "replies"))
