"""The figures of a report a coordinator hands to a municipality or a funder: a period's funnel, response and
opt-out rates with their 95% intervals, the languages, regions and sites reached, week by week, and what became of
the conversations. Counts only: no number, name or advert text reaches a report, and a count of 1 to 4 persons is
shown as "< 5" (SMALL), so nobody can be singled out in a small region or language.

The figures are outreach.reports' own (outcome_stats, funnel, rates): the same definitions as `outreach stats`
and the dashboard's /stats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.reports import outcome_stats
from outreach.reports.funnel import Funnel, funnel
from outreach.reports.outcome_facts import PERSON
from outreach.reports.outcome_labels import label_counts
from outreach.reports.outcome_stats import OutcomeRow
from outreach.store.models import Message, Person
from outreach.store.states import Direction

SMALLEST_SHOWN = 5  # a group of fewer persons is shown as "< 5", and its rates not at all
SMALL = "< 5"


def shown(count: int) -> int | str:
    """A count as a report may show it: 0 and 5 or more as they are, 1 to 4 as "< 5"."""
    return SMALL if 0 < count < SMALLEST_SHOWN else count


@dataclass(frozen=True)
class GroupFigures:
    """One language, region, site or week: counts as shown (SMALL for 1-4), rates only for 5 persons or more."""

    group: str
    contacted: int | str
    replied: int | str
    opted_out: int | str
    response_rate: float | None
    response_interval: tuple[float, float] | None
    opt_out_rate: float | None

    @classmethod
    def of(cls, row: OutcomeRow) -> GroupFigures:
        enough = row.persons_contacted >= SMALLEST_SHOWN
        return cls(
            group=row.group,
            contacted=shown(row.persons_contacted),
            replied=shown(row.replied),
            opted_out=shown(row.opted_out),
            response_rate=row.response_rate if enough else None,
            response_interval=row.response_interval if enough else None,
            opt_out_rate=row.opt_out_rate if enough else None,
        )


@dataclass(frozen=True)
class Conversations:
    """What became of the persons who wrote back."""

    replied: int | str  # persons contacted in the period who wrote back
    inbound_messages: int | str  # messages they sent (not bare keywords)
    still_waiting: int | str  # of all persons, those waiting for a fieldworker's answer now
    outcomes: list[tuple[str, int | str]]  # outcome label, cases labelled in the period


@dataclass(frozen=True)
class QuarterlyReport:
    since: datetime
    until: datetime
    organisation: str
    funnel: dict[str, int | str]
    opted_out: int | str
    total: GroupFigures
    languages: list[GroupFigures]
    regions: list[GroupFigures]
    sites: list[GroupFigures]
    weeks: list[GroupFigures]
    conversations: Conversations


def _groups(rows: list[OutcomeRow]) -> list[GroupFigures]:
    """Most persons first; groups where nobody was contacted are left out (adverts found only)."""
    ordered = sorted(rows, key=lambda row: (-row.persons_contacted, row.group))
    return [GroupFigures.of(row) for row in ordered if row.persons_contacted > 0]


def quarterly_report(
    session: Session,
    since: datetime,
    until: datetime,
    zone: str,
    organisation: str,
    *,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> QuarterlyReport:
    data = outcome_stats.load(session, since, until=until, organisations=organisations, regions=regions)
    stages: Funnel = funnel(data)
    (total,) = outcome_stats.group(data, "total", zone) or [OutcomeRow("all")]
    contacted = {row[PERSON] for row in data.outbound}
    inbound = [person for person, _at in data.replies if person in contacted]
    waiting = select(func.count(Person.id)).where(Person.needs_fieldworker_since.is_not(None))
    if organisations is not None:
        waiting = waiting.where(
            Person.id.in_(
                select(Message.person_id).where(
                    Message.organisation.in_(organisations), Message.direction == Direction.OUT
                )
            )
        )
    return QuarterlyReport(
        since=since,
        until=until,
        organisation=organisation,
        funnel={stage: shown(count) for stage, count in stages.stages()},
        opted_out=shown(stages.opted_out),
        total=GroupFigures(
            "all",
            shown(total.persons_contacted),
            shown(total.replied),
            shown(total.opted_out),
            total.response_rate if total.persons_contacted >= SMALLEST_SHOWN else None,
            total.response_interval if total.persons_contacted >= SMALLEST_SHOWN else None,
            total.opt_out_rate if total.persons_contacted >= SMALLEST_SHOWN else None,
        ),
        languages=_groups(outcome_stats.group(data, "lang", zone)),
        regions=_groups(outcome_stats.group(data, "region", zone)),
        sites=_groups(outcome_stats.group(data, "site", zone)),
        weeks=[GroupFigures.of(row) for row in outcome_stats.group(data, "week", zone)],
        conversations=Conversations(
            replied=shown(total.replied),
            inbound_messages=shown(len(inbound)),
            still_waiting=shown(session.execute(waiting).scalar_one()),
            outcomes=[
                (label, shown(count))
                for label, count in label_counts(session, since, until, organisations=organisations)
            ],
        ),
    )
