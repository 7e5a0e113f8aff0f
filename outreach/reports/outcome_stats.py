"""What the cycles achieved in a period, grouped by day, site, language or region: adverts found, persons
contacted, delivered, replied, opted out, and the response rate. Counts only; no personal data leaves here.
`outreach stats` and the dashboard's overview both count with this module, so they never disagree.

A person counts once per group, under their first contact or reminder of the period that left us (not a draft,
not cancelled, not failed before sending; answers, resends and opt-out confirmations are not contacts). "Replied"
is an inbound message after that contact which is not a bare STOP/START keyword; "opted out" is an opt-out
recorded after it. Days are local days in the sending time zone.

The rows of the longest period are read once (`load`); each grouping and each shorter period is counted from them
in memory (`group`), so the overview's nine tables cost one pass over the database.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.parsing.places import municipality
from outreach.reports.rates import wilson_interval
from outreach.store.models import Advert, Message, OptOut, Person, Site
from outreach.store.states import CONTACTS, KEYWORDS, LEFT_US, Direction, MessageKind, MessageStatus, StopKind
from outreach.store.types import epoch_micros, micros
from outreach.support.local_time import LocalDays

_Query = TypeVar("_Query")


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


@dataclass(frozen=True)
class Outcomes:
    """The raw facts of a period, oldest first: what `group` counts from."""

    since: datetime
    until: datetime | None  # None: up to now
    # Times are microseconds since 1970 (outreach.store.types.micros).
    # first seen, site, the template language of its first message (None: not messaged), municipality
    adverts: Sequence[tuple[int, str, str | None, str | None]]
    # person, at, status, language, site, region
    outbound: Sequence[tuple[int, int, str, str | None, str | None, str | None]]
    inbound: Sequence[tuple[int, int, str]]  # person, at, kind
    opt_outs: Sequence[tuple[int, int]]  # person, at
    # what `contacts` counted, per start
    counted: dict[int, list[Contact]] = field(default_factory=dict, compare=False, repr=False)


def load(
    session: Session,
    since: datetime,
    *,
    until: datetime | None = None,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> Outcomes:
    """The facts of [since, until); organisations: only their messages; regions: only adverts in these
    municipalities, case-folded (None: all). Times come as microseconds since 1970, counted by the database."""
    place = municipality_lookup()
    dialect = session.get_bind().dialect.name
    sent_at, first_seen = epoch_micros(dialect, Message.created_at), epoch_micros(dialect, Advert.first_seen)
    languages = _first_message_languages(session, since)
    adverts = [
        (seen, site, languages.get(advert), place(city))
        for advert, seen, site, city in session.execute(
            _before(
                select(Advert.id, first_seen, Site.name, Advert.city)
                .join(Site, Site.id == Advert.site_id)
                .where(Advert.first_seen >= since),
                Advert.first_seen,
                until,
            ).order_by(Advert.first_seen)
        )
    ]
    if regions is not None:
        adverts = [advert for advert in adverts if (advert[3] or "").casefold() in regions]
    outbound_query = (
        select(Message.person_id, sent_at, Message.status, Message.language, Site.name, Advert.city)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .where(
            Message.direction == Direction.OUT,
            Message.kind.in_(CONTACTS),  # not answers, resends or opt-out confirmations
            Message.person_id.is_not(None),
            Message.created_at >= since,
            Message.status.in_(LEFT_US),
        )
        .order_by(Message.created_at, Message.id)
    )
    outbound_query = _before(outbound_query, Message.created_at, until)
    if organisations is not None:
        outbound_query = outbound_query.where(Message.organisation.in_(organisations))
    outbound = [
        (person, at, status, language, site, place(city))
        for person, at, status, language, site, city in session.execute(outbound_query)
        if person is not None
    ]
    inbound = [
        (person, at, kind)
        for person, at, kind in session.execute(
            _before(
                select(Message.person_id, sent_at, Message.kind).where(
                    Message.direction == Direction.IN, Message.person_id.is_not(None), Message.created_at >= since
                ),
                Message.created_at,
                until,
            ).order_by(Message.created_at)
        )
        if person is not None
    ]
    opt_outs = [
        (person, at)
        for person, at in session.execute(
            _before(
                select(Person.id, epoch_micros(dialect, OptOut.created_at))
                .join(OptOut, OptOut.person_key == Person.key)
                .where(OptOut.kind == StopKind.OPT_OUT, OptOut.created_at >= since),
                OptOut.created_at,
                until,
            )
        )
    ]
    return Outcomes(since, until, adverts, outbound, inbound, opt_outs)


def _before(query: _Query, column: Any, until: datetime | None) -> _Query:
    """The query limited to `column < until` (unchanged for None: up to now)."""
    return query if until is None else cast(_Query, cast(Any, query).where(column < until))


def municipality_lookup() -> Callable[[str | None], str | None]:
    """outreach.parsing.places.municipality, remembered per spelling: a period has thousands of rows and a few
    cities."""
    known: dict[str | None, str | None] = {}

    def place(city: str | None) -> str | None:
        if city not in known:
            known[city] = municipality(city)
        return known[city]

    return place


# A person counted in a period: who, the time (microseconds since 1970), site, template language and region of
# their first contact in it, and whether they were delivered, replied and opted out after it.
Contact = tuple[int, int, str | None, str | None, str | None, bool, bool, bool]


def contacts(data: Outcomes, start: int) -> list[Contact]:
    """Everyone contacted from `start` (microseconds since 1970) to the period's end, once, under their first
    contact from then. Remembered on `data` per start: the overview counts nine tables from three starts."""
    known = data.counted.get(start)
    if known is not None:
        return known
    first: dict[int, tuple[int, int, str, str | None, str | None, str | None]] = {}
    delivered: set[int] = set()
    for row in islice(data.outbound, bisect_left(data.outbound, start, key=_time), None):  # in time order
        first.setdefault(row[0], row)
        if row[2] == MessageStatus.DELIVERED:
            delivered.add(row[0])
    replied = {
        person
        for person, at, kind in data.inbound
        if person in first and at >= first[person][1] and kind not in KEYWORDS
    }
    opted_out = {person for person, at in data.opt_outs if person in first and at >= first[person][1]}
    counted = data.counted[start] = [
        (person, at, site, language, region, person in delivered, person in replied, person in opted_out)
        for person, (_person, at, _status, language, site, region) in first.items()
    ]
    return counted


def _time(row: tuple[int, int, str, str | None, str | None, str | None]) -> int:
    return row[1]


def group(data: Outcomes, by: str, zone: str, since: datetime | None = None) -> list[OutcomeRow]:
    """Rows per group, sorted by group; since: a later start than the loaded period's (the overview's today)."""
    start = micros(max(since or data.since, data.since))
    key = _key_function(by, zone)
    rows: dict[str, OutcomeRow] = {}
    for seen, advert_site, advert_language, advert_region in data.adverts:
        if seen >= start:
            name = key(seen, advert_site, advert_language, advert_region)
            row = rows.get(name) or rows.setdefault(name, OutcomeRow(name))
            row.adverts_found += 1
    for _person, at, site, language, region, delivered, replied, opted_out in contacts(data, start):
        name = key(at, site, language, region)
        row = rows.get(name) or rows.setdefault(name, OutcomeRow(name))
        row.persons_contacted += 1
        row.delivered += delivered
        row.replied += replied
        row.opted_out += opted_out
    return [rows[name] for name in sorted(rows)]


def _key_function(by: str, zone: str) -> Callable[[int, str | None, str | None, str | None], str]:
    """The group a fact belongs to: its local day, site, template language or region ("-" when unknown)."""
    if by == "total":
        return lambda at, site, language, region: "all"
    if by in ("day", "week"):
        day_of = LocalDays(zone)
        named: dict[date, str] = {}  # the day's (or its week's Monday's) ISO date, once per day

        def day(at: int, site: str | None, language: str | None, region: str | None) -> str:
            local_day = day_of(at)
            name = named.get(local_day)
            if name is None:
                name = named[local_day] = (_monday(local_day) if by == "week" else local_day).isoformat()
            return name

        return day
    if by == "site":
        return lambda at, site, language, region: site or "-"
    if by == "lang":
        return lambda at, site, language, region: language or "-"
    if by == "region":
        return lambda at, site, language, region: region or "-"
    raise ValueError(f"unknown grouping {by!r}")


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


def _first_message_languages(session: Session, since: datetime) -> dict[int, str | None]:
    """Per advert, the template language of its first automatic message, for the adverts first seen since `since`
    (others may be missing). An advert's first message is composed after the crawl saved it, so only messages since
    `since` can be one: the index on messages.created_at reads the period, where a subquery per advert cost
    PostgreSQL a quarter of a second at 20,000 adverts."""
    languages: dict[int, str | None] = {}
    for advert, language in session.execute(
        select(Message.advert_id, Message.language)
        .where(
            Message.created_at >= since,
            Message.advert_id.is_not(None),
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
        )
        .order_by(Message.id)
    ):
        if advert is not None:
            languages.setdefault(advert, language)
    return languages
