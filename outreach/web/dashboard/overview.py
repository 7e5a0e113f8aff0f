"""The overview's numbers: what the system did today and in the last 7 and 30 days, per day, and by language,
site and region. Counts only; no personal data leaves these queries. The totals and breakdowns are
outreach.reports.outcome_stats' (the same as `outreach stats`); the chart counts messages per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from outreach.reports.outcome_stats import OutcomeRow, Outcomes, group
from outreach.store.models import Message
from outreach.store.states import NOT_SENT, Direction

PERIODS = (("today", 0), ("7 days", 7), ("30 days", 30))


@dataclass(frozen=True)
class Day:
    day: date
    messages: int
    replies: int


def period_start(now: datetime, days: int) -> datetime:
    """`today` is since UTC midnight; `7 days` is the last 7 calendar days including today."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=max(days - 1, 0))


def totals(data: Outcomes, zone: str, now: datetime) -> list[OutcomeRow]:
    """Today, 7 and 30 days (`data` loaded from 30 days back), counted as `outreach stats` counts."""
    result = []
    for label, days in PERIODS:
        (row,) = group(data, "total", zone, since=period_start(now, days)) or [OutcomeRow("all")]
        row.group = label
        result.append(row)
    return result


def breakdown(data: Outcomes, zone: str, by: str) -> list[OutcomeRow]:
    """Per language, site or region over the loaded period, most persons contacted first (at most 15 rows)."""
    rows = group(data, {"language": "lang"}.get(by, by), zone)
    return sorted(rows, key=lambda row: (-row.persons_contacted, -row.adverts_found, row.group))[:15]


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp, the same on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC without a zone


def per_day(session: Session, now: datetime, days: int = 30, *, organisations: list[str] | None = None) -> list[Day]:
    """Messages sent and received per UTC day; organisations: only theirs (None: all)."""
    since = period_start(now, days)
    day = _day(session, Message.created_at)
    counts: dict[str, list[int]] = {}
    statement = select(day, Message.direction, func.count(Message.id)).where(
        Message.created_at >= since, Message.status.not_in(NOT_SENT)
    )
    if organisations is not None:
        statement = statement.where(Message.organisation.in_(organisations))
    for when, direction, number in session.execute(statement.group_by(day, Message.direction)):
        counts.setdefault(str(when), [0, 0])[0 if direction == Direction.OUT else 1] += number
    first = since.date()
    return [
        Day(first + timedelta(days=i), *counts.get((first + timedelta(days=i)).isoformat(), [0, 0]))
        for i in range(days)
    ]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    kind: str
    title: str


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 200, 24


def chart_bars(days: list[Day]) -> tuple[list[Bar], int]:
    """Two bars per day (messages, replies), scaled to the chart; returns the bars and the scale's maximum."""
    top = max([1] + [max(d.messages, d.replies) for d in days])
    slot = (CHART_WIDTH - CHART_PAD) / max(len(days), 1)
    width = slot / 2 - 1
    usable = CHART_HEIGHT - CHART_PAD
    bars = []
    for i, d in enumerate(days):
        for j, (kind, value) in enumerate((("messages", d.messages), ("replies", d.replies))):
            height = usable * value / top
            bars.append(
                Bar(
                    x=round(CHART_PAD + i * slot + j * (width + 1), 1),
                    y=round(usable - height, 1),
                    height=round(height, 1),
                    kind=kind,
                    title=f"{d.day.isoformat()}: {value} {kind}",
                )
            )
    return bars, top
