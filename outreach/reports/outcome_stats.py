"""What the cycles achieved in a period, grouped by day, site, language or region: adverts found, persons
contacted, delivered, replied, opted out, and the response rate. Counts only; no personal data leaves here.
`outreach stats` and the dashboard's overview both count with this module, so they never disagree.

A person counts once per group, under their first contact or reminder of the period that left us (not a draft,
not cancelled, not failed before sending; answers, resends and opt-out confirmations are not contacts). "Replied"
is an inbound message after that contact which is not a bare STOP/START keyword; "opted out" is an opt-out
recorded after it. Days are local days in the sending time zone.

The rows of the longest period are read once (`load`, outreach.reports.outcome_facts), with the funnel's cohort;
each grouping and each shorter period is counted from them in memory (`group`), so the overview's nine tables and
its funnel cost one pass over the database. The counting per row is done by C loops (Counter, compress) and each
distinct value (a quarter hour, a site, a city) is named once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from itertools import compress
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from outreach.reports.outcome_facts import (
    ADVERT,
    AT,
    LANGUAGE,
    CohortAdvert,
    MessageRow,
    Outcomes,
    contacts,
    load,
    municipality_lookup,
    quarters,
)
from outreach.reports.rates import wilson_interval
from outreach.store.types import micros
from outreach.support.local_time import QUARTER_HOUR, LocalDays

# `load` and `Outcomes` live in outreach.reports.outcome_facts; named here too, where the counting's callers look.
__all__ = ["OutcomeRow", "Outcomes", "contacts", "group", "load", "municipality_lookup", "outcome_stats"]


@dataclass
class OutcomeRow:
    group: str
    adverts_found: int = 0
    persons_contacted: int = 0
    delivered: int = 0
    replied: int = 0
    opted_out: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.replied / self.persons_contacted if self.persons_contacted else None

    @property
    def opt_out_rate(self) -> float | None:
        return self.opted_out / self.persons_contacted if self.persons_contacted else None

    @property
    def response_interval(self) -> tuple[float, float]:
        """95% Wilson interval of the response rate (0-1 when nobody was contacted)."""
        return wilson_interval(self.replied, self.persons_contacted)

    @property
    def opt_out_interval(self) -> tuple[float, float]:
        return wilson_interval(self.opted_out, self.persons_contacted)

    def as_dict(self) -> dict[str, Any]:
        rate, opt_out = self.response_rate, self.opt_out_rate
        (low, high), (opt_low, opt_high) = self.response_interval, self.opt_out_interval
        return {
            **asdict(self),
            "response_rate": None if rate is None else round(rate, 4),
            "response_ci_low": round(low, 4),
            "response_ci_high": round(high, 4),
            "opt_out_rate": None if opt_out is None else round(opt_out, 4),
            "opt_out_ci_low": round(opt_low, 4),
            "opt_out_ci_high": round(opt_high, 4),
        }


_TIMES = ("day", "week")  # counted per quarter hour, named by the local day or week


def group(data: Outcomes, by: str, zone: str, since: datetime | None = None) -> list[OutcomeRow]:
    """Rows per group, sorted by group; since: a later start than the loaded period's (the overview's today).

    Facts are counted per distinct value (a quarter hour, site id, language, city) by C loops, then each value is
    named once (a local day, site name, municipality) and the values of one name are added up."""
    if by not in ("total", "site", "lang", "region", *_TIMES):
        raise ValueError(f"unknown grouping {by!r}")
    start = micros(max(since or data.since, data.since))
    adverts = data.adverts[bisect_left(data.adverts, start, key=itemgetter(1)) :]
    contacted = contacts(data, start)
    if by == "total":
        if not adverts and not contacted.first:
            return []
        return [
            OutcomeRow(
                "all",
                len(adverts),
                len(contacted.first),
                len(contacted.delivered),
                len(contacted.replied),
                len(contacted.opted_out),
            )
        ]
    name = _namer(data, by, zone)
    rows: dict[str, OutcomeRow] = {}

    def add(counts: Counter[Any], what: str) -> None:
        for value, number in counts.items():
            label = name(value)
            row = rows.get(label) or rows.setdefault(label, OutcomeRow(label))
            setattr(row, what, getattr(row, what) + number)

    add(Counter(_advert_values(data, by, adverts)), "adverts_found")
    persons = list(contacted.first)
    found = _contact_values(data, by, list(contacted.first.values()))
    add(Counter(found), "persons_contacted")
    for what, who in (
        ("delivered", contacted.delivered),
        ("replied", contacted.replied),
        ("opted_out", contacted.opted_out),
    ):
        add(Counter(compress(found, map(who.__contains__, persons))), what)
    return [rows[label] for label in sorted(rows)]


def _advert_values(data: Outcomes, by: str, adverts: Sequence[CohortAdvert]) -> list[Any]:
    """Each advert's value for the grouping: its quarter hour, site id, first message's language or city."""
    if by in _TIMES:
        return list(quarters(adverts, 1))
    if by == "lang":
        return list(map(data.languages.get, map(itemgetter(0), adverts)))
    return list(map(itemgetter(2 if by == "site" else 3), adverts))


def _contact_values(data: Outcomes, by: str, contacts: Sequence[MessageRow]) -> list[Any]:
    """Each contact's value for the grouping: its quarter hour, its advert's site id, its language or city."""
    if by in _TIMES:
        return list(quarters(contacts, AT))
    if by == "lang":
        return list(map(itemgetter(LANGUAGE), contacts))
    where = data.advert_sites if by == "site" else data.advert_cities
    return list(map(where.get, map(itemgetter(ADVERT), contacts)))


def _namer(data: Outcomes, by: str, zone: str) -> Callable[[Any], str]:
    """The group of a value: its local day or week (of a quarter hour), site name, template language or
    municipality ("-" when unknown)."""
    if by == "total":
        return lambda value: "all"
    if by in _TIMES:
        day_of = LocalDays(zone)

        def day(quarter: int) -> str:
            local_day = day_of(quarter * QUARTER_HOUR)
            return (_monday(local_day) if by == "week" else local_day).isoformat()

        return day
    if by == "site":
        return lambda site: data.sites.get(site) or "-"
    if by == "lang":
        return lambda language: language or "-"
    return lambda city: data.place(city) or "-"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def outcome_stats(
    session: Session,
    *,
    by: str,
    since: datetime,
    zone: str,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> list[OutcomeRow]:
    return group(load(session, since, organisations=organisations, regions=regions), by, zone)
