"""What the cycles achieved in a period, grouped by day, site, language or region: adverts found, persons
contacted, delivered, replied, opted out, and the response rate. Counts only; no personal data leaves here.
`outreach stats` and the dashboard's overview both count with this module, so they never disagree.

A person counts once per group, under their first contact or reminder of the period that left us (not a draft,
not cancelled, not failed before sending; answers, resends and opt-out confirmations are not contacts). "Replied"
is an inbound message after that contact which is not a bare STOP/START keyword; "opted out" is an opt-out
recorded after it. Days are local days in the sending time zone.

The rows of the longest period are read once (`load`), with the funnel's cohort; each grouping and each shorter
period is counted from them in memory (`group`), so the overview's nine tables and its funnel cost one pass over the
database. The counting per row is done by C loops (map, zip, Counter) over plain rows, and each distinct value (a
quarter hour, a site, a city) is named once: at 100,000 messages the reading is most of the cost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import floordiv, is_not, itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from outreach.parsing.places import municipality
from outreach.reports.rates import wilson_interval
from outreach.store.models import Advert, AdvertPerson, Message, OptOut, Person, Site
from outreach.store.plain_rows import plain_rows
from outreach.store.states import CONTACTS, KEYWORDS, LEFT_US, Direction, MessageKind, MessageStatus, StopKind
from outreach.store.types import epoch_micros, micros
from outreach.support.local_time import QUARTER_HOUR, LocalDays

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


# An outbound contact: person, time (microseconds since 1970), status, template language, site id, city.
Outbound = tuple[int, int, str, str | None, int | None, str | None]
# An advert of the cohort: first seen (microseconds since 1970), site id, the template language of its first
# message (None: not messaged), city.
CohortAdvert = tuple[int, int, str | None, str | None]


@dataclass(frozen=True)
class Outcomes:
    """The raw facts of a period, oldest first: what `group` and `funnel` count from. Sites and cities stay ids and
    spellings here; `group` names a group (the site's name, the municipality) once per distinct value."""

    since: datetime
    until: datetime | None  # None: up to now
    regions: frozenset[str] | None  # the municipalities the cohort was limited to (None: all)
    sites: dict[int, str]  # site id -> name
    adverts: Sequence[CohortAdvert]  # the cohort, by first seen
    links: Sequence[tuple[int, int]]  # advert, person: the numbers read from the cohort's adverts
    outbound: Sequence[Outbound]  # in time order
    inbound: Sequence[tuple[int, int, str]]  # person, at, kind
    opt_outs: Sequence[tuple[int, int]]  # person, at
    place: Callable[[str | None], str | None] = field(compare=False, repr=False)  # city -> municipality
    # what `contacts` counted, per start
    counted: dict[int, Contacted] = field(default_factory=dict, compare=False, repr=False)


def load(
    session: Session,
    since: datetime,
    *,
    until: datetime | None = None,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> Outcomes:
    """The facts of [since, until); organisations: only their messages; regions: only adverts in these
    municipalities, case-folded (None: all). Times come as microseconds since 1970, counted by the database.

    Read through the connection as plain rows (the ORM's row handling cost a third of the reading), without the
    sites' names (a handful, read once) and with cities as spelled (named once per spelling)."""
    connection = session.connection()
    dialect = connection.dialect.name
    place = municipality_lookup()
    sites = dict(cast(list[tuple[int, str]], plain_rows(connection, select(Site.id, Site.name))))
    adverts, links = _cohort(connection, since, until, regions, place)
    outbound_query = (
        select(
            Message.person_id,
            epoch_micros(dialect, Message.created_at),
            Message.status,
            Message.language,
            Advert.site_id,
            Advert.city,
        )
        .outerjoin(Advert, Advert.id == Message.advert_id)
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
    inbound_query = _before(
        select(Message.person_id, epoch_micros(dialect, Message.created_at), Message.kind)
        .where(Message.direction == Direction.IN, Message.person_id.is_not(None), Message.created_at >= since)
        .order_by(Message.created_at),
        Message.created_at,
        until,
    )
    opt_out_query = _before(
        select(Person.id, epoch_micros(dialect, OptOut.created_at))
        .join(OptOut, OptOut.person_key == Person.key)
        .where(OptOut.kind == StopKind.OPT_OUT, OptOut.created_at >= since),
        OptOut.created_at,
        until,
    )
    return Outcomes(
        since,
        until,
        None if regions is None else frozenset(regions),
        sites,
        adverts,
        links,
        cast(list[Outbound], plain_rows(connection, outbound_query)),  # persons are not None (the query)
        cast(list[tuple[int, int, str]], plain_rows(connection, inbound_query)),
        cast(list[tuple[int, int]], plain_rows(connection, opt_out_query)),
        place,
    )


def _cohort(
    connection: Connection,
    since: datetime,
    until: datetime | None,
    regions: set[str] | None,
    place: Callable[[str | None], str | None],
) -> tuple[list[CohortAdvert], list[tuple[int, int]]]:
    """The adverts first seen in [since, until) in the regions, in that order, and the persons behind them (the
    funnel's cohort, read once with the rest). Everything per row is done by C loops (map, zip, compress): 20,000
    adverts cost the reading only."""
    dialect = connection.dialect.name
    rows = plain_rows(
        connection,
        _before(
            select(
                Advert.id,
                epoch_micros(dialect, Advert.first_seen),
                Advert.site_id,
                Advert.city,
                AdvertPerson.person_id,
            )
            .outerjoin(AdvertPerson, AdvertPerson.advert_id == Advert.id)
            .where(Advert.first_seen >= since),
            Advert.first_seen,
            until,
        ).order_by(Advert.first_seen, Advert.id),
    )
    if regions is not None:
        inside = {city: (place(city) or "").casefold() in regions for city in {row[3] for row in rows}}
        rows = list(compress(rows, map(inside.__getitem__, map(itemgetter(3), rows))))
    ids = list(map(itemgetter(0), rows))
    # One row per advert and person: an advert with two numbers comes twice, in a row (same first seen and id).
    unique = list(dict(zip(ids, rows, strict=True)).values())
    languages = _first_message_languages(connection, since)
    adverts = list(
        zip(
            map(itemgetter(1), unique),
            map(itemgetter(2), unique),
            map(languages.get, map(itemgetter(0), unique)),
            map(itemgetter(3), unique),
            strict=True,
        )
    )
    persons = list(map(itemgetter(4), rows))
    links = list(compress(zip(ids, persons, strict=True), map(is_not, persons, repeat(None))))
    return adverts, links


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


@dataclass(frozen=True)
class Contacted:
    """Everyone contacted from a start to the period's end, once: their first contact from then; and who of them
    was delivered (any contact from then), replied and opted out (after that first contact)."""

    first: dict[int, Outbound]  # person -> first contact
    delivered: set[int]
    replied: set[int]
    opted_out: set[int]


def contacts(data: Outcomes, start: int) -> Contacted:
    """Everyone contacted from `start` (microseconds since 1970). Remembered on `data` per start: the overview
    counts nine tables from three starts."""
    known = data.counted.get(start)
    if known is not None:
        return known
    rows = data.outbound[bisect_left(data.outbound, start, key=_time) :]  # in time order
    latest_first = rows[::-1]
    first = dict(
        zip(map(itemgetter(0), latest_first), latest_first, strict=True)
    )  # the earliest row is written last: it stays
    delivered = {row[0] for row in rows if row[2] == MessageStatus.DELIVERED}
    replied = {
        person
        for person, at, kind in data.inbound
        if person in first and at >= first[person][1] and kind not in KEYWORDS
    }
    opted_out = {person for person, at in data.opt_outs if person in first and at >= first[person][1]}
    counted = data.counted[start] = Contacted(first, delivered, replied, opted_out)
    return counted


def _time(row: Outbound) -> int:
    return row[1]


def _seen(row: CohortAdvert) -> int:
    return row[0]


# Where each grouping reads its value: (in an advert of the cohort, in an outbound contact). A time is counted
# per quarter hour and named by its local day or week.
_COLUMNS = {"total": (0, 0), "day": (0, 1), "week": (0, 1), "site": (1, 4), "lang": (2, 3), "region": (3, 5)}
_TIMES = ("day", "week")


def group(data: Outcomes, by: str, zone: str, since: datetime | None = None) -> list[OutcomeRow]:
    """Rows per group, sorted by group; since: a later start than the loaded period's (the overview's today).

    Facts are counted per distinct value (a quarter hour, site id, language, city) by C loops, then each value is
    named once (a local day, site name, municipality) and the values of one name are added up."""
    if by not in _COLUMNS:
        raise ValueError(f"unknown grouping {by!r}")
    start = micros(max(since or data.since, data.since))
    name = _namer(data, by, zone)
    in_advert, in_contact = _COLUMNS[by]
    rows: dict[str, OutcomeRow] = {}

    def add(counts: Counter[Any], what: str) -> None:
        for value, number in counts.items():
            label = name(value)
            row = rows.get(label) or rows.setdefault(label, OutcomeRow(label))
            setattr(row, what, getattr(row, what) + number)

    def values(facts: Sequence[Any], column: int) -> list[Any]:
        if by == "total":
            return [None] * len(facts)
        found = map(itemgetter(column), facts)
        return list(map(floordiv, found, repeat(QUARTER_HOUR)) if by in _TIMES else found)

    add(Counter(values(data.adverts[bisect_left(data.adverts, start, key=_seen) :], in_advert)), "adverts_found")
    contacted = contacts(data, start)
    persons = list(contacted.first)
    found = values(list(contacted.first.values()), in_contact)
    add(Counter(found), "persons_contacted")
    for what, who in (
        ("delivered", contacted.delivered),
        ("replied", contacted.replied),
        ("opted_out", contacted.opted_out),
    ):
        add(Counter(compress(found, map(who.__contains__, persons))), what)
    return [rows[label] for label in sorted(rows)]


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


def _first_message_languages(connection: Connection, since: datetime) -> dict[int, str | None]:
    """Per advert, the template language of its first automatic message, for the adverts first seen since `since`
    (others may be missing). An advert's first message is composed after the crawl saved it, so only messages since
    `since` can be one: the index on messages.created_at reads the period, where a subquery per advert cost
    PostgreSQL a quarter of a second at 20,000 adverts."""
    rows = plain_rows(
        connection,
        select(Message.advert_id, Message.language)
        .where(
            Message.created_at >= since,
            Message.advert_id.is_not(None),
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
        )
        .order_by(Message.id.desc()),  # the first message is written last: it stays
    )
    return dict(zip(cast(list[int], map(itemgetter(0), rows)), map(itemgetter(1), rows), strict=True))
