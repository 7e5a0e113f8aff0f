"""The overview's numbers: what the system did today and in the last 7 and 30 days, per day, and by language,
site and region. Counts only; no personal data leaves these queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlalchemy.orm import Session

from outreach.store.models import Advert, Message, OptOut, Site

# Outbound messages that count as "sent to someone" (drafts and cancelled ones never left).
NOT_SENT = ("draft", "cancelled")
PERIODS = (("today", 0), ("7 days", 7), ("30 days", 30))


@dataclass(frozen=True)
class Totals:
    label: str
    adverts_found: int
    persons_contacted: int
    delivered: int
    replies: int
    opt_outs: int
    replies_persons: int = 0  # persons who wrote back, for the response rate

    @property
    def response_rate(self) -> float | None:
        return self.replies_persons / self.persons_contacted if self.persons_contacted else None


@dataclass(frozen=True)
class Day:
    day: date
    messages: int
    replies: int


def period_start(now: datetime, days: int) -> datetime:
    """`today` is since UTC midnight; `7 days` is the last 7 calendar days including today."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=max(days - 1, 0))


def _count(session: Session, statement: Any) -> int:
    return int(session.execute(statement).scalar_one() or 0)


def totals(session: Session, label: str, since: datetime) -> Totals:
    outbound = (Message.direction == "out", Message.status.not_in(NOT_SENT), Message.created_at >= since)
    return Totals(
        label=label,
        adverts_found=_count(session, select(func.count(Advert.id)).where(Advert.first_seen >= since)),
        persons_contacted=_count(session, select(func.count(distinct(Message.person_id))).where(*outbound)),
        delivered=_count(
            session,
            select(func.count(Message.id)).where(
                Message.direction == "out", Message.status == "delivered", Message.created_at >= since
            ),
        ),
        replies=_count(
            session, select(func.count(Message.id)).where(Message.direction == "in", Message.created_at >= since)
        ),
        opt_outs=_count(
            session, select(func.count(OptOut.id)).where(OptOut.kind == "opt_out", OptOut.created_at >= since)
        ),
        replies_persons=_count(
            session,
            select(func.count(distinct(Message.person_id))).where(
                Message.direction == "in", Message.created_at >= since
            ),
        ),
    )


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp, the same on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC without a zone


def per_day(session: Session, now: datetime, days: int = 30) -> list[Day]:
    since = period_start(now, days)
    day = _day(session, Message.created_at)
    counts: dict[str, list[int]] = {}
    for when, direction, number in session.execute(
        select(day, Message.direction, func.count(Message.id))
        .where(Message.created_at >= since, Message.status.not_in(NOT_SENT))
        .group_by(day, Message.direction)
    ):
        counts.setdefault(str(when), [0, 0])[0 if direction == "out" else 1] += number
    first = since.date()
    return [
        Day(first + timedelta(days=i), *counts.get((first + timedelta(days=i)).isoformat(), [0, 0]))
        for i in range(days)
    ]


def breakdown(session: Session, since: datetime, by: str) -> list[tuple[str, int, int]]:
    """(value, messages sent, delivered) per language, site or region (city), most messages first."""
    column: Any = {"language": Message.language, "site": Site.name, "region": Advert.city}[by]
    delivered = func.sum(case((Message.status == "delivered", 1), else_=0))
    statement = (
        select(column, func.count(Message.id), delivered)
        .select_from(Message)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .where(Message.direction == "out", Message.status.not_in(NOT_SENT), Message.created_at >= since)
        .group_by(column)
        .order_by(func.count(Message.id).desc())
        .limit(15)
    )
    return [(value or "(unknown)", int(sent), int(ok or 0)) for value, sent, ok in session.execute(statement)]


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
