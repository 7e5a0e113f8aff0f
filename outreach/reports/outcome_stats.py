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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import floordiv, is_not, itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, and_, select
from sqlalchemy.orm import Session

from outreach.parsing.places import municipality
from outreach.reports.rates import wilson_interval
from outreach.store.models import Advert, AdvertPerson, Message, OptOut, Person, Site
from outreach.store.plain_rows import plain_rows
from outreach.store.states import (
    CONTACTS,
    KEYWORDS,
    LEFT_US,
    NOT_SENT,
    Direction,
    MessageKind,
    MessageStatus,
    StopKind,
)
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


# A message as `load` reads it (the positions are below `load`): times are microseconds since 1970.
MessageRow = tuple[Any, ...]
# An advert of the cohort: id, first seen (microseconds since 1970), site id, city.
CohortAdvert = tuple[int, int, int, str | None]


@dataclass(frozen=True)
class Outcomes:
    """The raw facts of a period, oldest first: what `group` and `funnel` count from. Sites and cities stay ids and
    spellings here; `group` names a group (the site's name, the municipality) once per distinct value."""

    since: datetime
    until: datetime | None  # None: up to now
    regions: frozenset[str] | None  # the municipalities the cohort was limited to (None: all)
    sites: dict[int, str]  # site id -> name
    adverts: Sequence[CohortAdvert]  # the cohort, by first seen
    languages: dict[int, str | None]  # advert -> the template language of its first message (absent: none)
    links: Sequence[tuple[int, int]]  # advert, person: the numbers read from the cohort's adverts
    outbound: Sequence[MessageRow]  # the contacts that left us, in time order (person first)
    inbound: Sequence[tuple[int, int, str]]  # person, at, kind
    opt_outs: Sequence[tuple[int, int]]  # person, at
    # messages sent (not drafts or cancelled, of the organisations) and received from `since` to now, per
    # direction and quarter hour since 1970: the overview's chart
    sent: Counter[tuple[str, int]]
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
    messages = _messages(connection, since, organisations)
    # the period's part of them (`until` None: all); the rest still names adverts' first languages
    period = messages[: len(messages) if until is None else bisect_left(messages, micros(until), key=itemgetter(_AT))]
    firsts = _flagged(messages, _FIRST)
    firsts.sort(key=itemgetter(_ID), reverse=True)  # an advert's first message is written last: it stays
    sent = _flagged(messages, _SENT)
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
        dict(zip(map(itemgetter(_ADVERT), firsts), map(itemgetter(_LANGUAGE), firsts), strict=True)),
        links,
        _flagged(period, _COUNTED),
        list(map(itemgetter(_PERSON, _AT, _KIND), _flagged(period, _INBOUND))),
        cast(list[tuple[int, int]], plain_rows(connection, opt_out_query)),
        Counter(zip(map(itemgetter(_DIRECTION), sent), _quarters(sent, _AT), strict=True)),
        place,
    )


# What a message row holds (`_messages`), by position: the message, then whether it is a counted contact, an
# answer from a person, an advert's possible first message, a message sent or received.
_ID, _PERSON, _AT, _DIRECTION, _KIND, _STATUS, _LANGUAGE, _ADVERT, _SITE, _CITY = range(10)
_COUNTED, _INBOUND, _FIRST, _SENT = range(10, 14)


def _messages(connection: Connection, since: datetime, organisations: list[str] | None) -> list[MessageRow]:
    """Every message from `since` to now, in time order, as `Outbound` rows: the database says which are counted
    contacts (of the organisations), answers from a person, possible first messages of an advert, and messages
    sent or received (of the organisations) for the chart. One read instead of four, and C loops pick the rows by
    those flags: the four reads, or picking in Python, cost a third more."""
    dialect = connection.dialect.name
    ours: list[ColumnElement[bool]] = [] if organisations is None else [Message.organisation.in_(organisations)]
    return plain_rows(
        connection,
        select(
            Message.id,
            Message.person_id,
            epoch_micros(dialect, Message.created_at),
            Message.direction,
            Message.kind,
            Message.status,
            Message.language,
            Message.advert_id,
            Advert.site_id,
            Advert.city,
            and_(
                Message.direction == Direction.OUT,
                Message.kind.in_(CONTACTS),  # not answers, resends or opt-out confirmations
                Message.status.in_(LEFT_US),
                Message.person_id.is_not(None),
                *ours,
            ),
            and_(Message.direction == Direction.IN, Message.person_id.is_not(None)),
            and_(
                Message.direction == Direction.OUT,
                Message.kind == MessageKind.FIRST_CONTACT,
                Message.advert_id.is_not(None),
            ),
            and_(Message.status.not_in(NOT_SENT), *ours),
        )
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .where(Message.created_at >= since)
        .order_by(Message.created_at, Message.id),
    )


def _flagged(rows: Sequence[MessageRow], flag: int) -> list[MessageRow]:
    """The rows whose `flag` column is true."""
    return list(compress(rows, map(itemgetter(flag), rows)))


def _quarters(rows: Sequence[tuple[Any, ...]], column: int) -> Iterator[int]:
    """The quarter hour (since 1970) of each row's time in `column`."""
    return map(floordiv, map(itemgetter(column), rows), repeat(QUARTER_HOUR))


def _cohort(
    connection: Connection,
    since: datetime,
    until: datetime | None,
    regions: set[str] | None,
    place: Callable[[str | None], str | None],
) -> tuple[list[CohortAdvert], list[tuple[int, int]]]:
    """The adverts first seen in [since, until) in the regions, in that order (id, first seen, site, city), and the
    persons behind them (the funnel's cohort, read once with the rest)."""
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
    adverts = list(map(itemgetter(0, 1, 2, 3), dict(zip(ids, rows, strict=True)).values()))
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

    first: dict[int, MessageRow]  # person -> first contact
    delivered: set[int]
    replied: set[int]
    opted_out: set[int]


def contacts(data: Outcomes, start: int) -> Contacted:
    """Everyone contacted from `start` (microseconds since 1970). Remembered on `data` per start: the overview
    counts nine tables from three starts."""
    known = data.counted.get(start)
    if known is not None:
        return known
    rows = data.outbound[bisect_left(data.outbound, start, key=itemgetter(_AT)) :]  # in time order
    latest_first = rows[::-1]  # each person's earliest row is written last: it stays
    first = dict(zip(map(itemgetter(_PERSON), latest_first), latest_first, strict=True))
    delivered = {row[_PERSON] for row in rows if row[_STATUS] == MessageStatus.DELIVERED}
    replied = {
        person
        for person, at, kind in data.inbound
        if person in first and at >= first[person][_AT] and kind not in KEYWORDS
    }
    opted_out = {person for person, at in data.opt_outs if person in first and at >= first[person][_AT]}
    counted = data.counted[start] = Contacted(first, delivered, replied, opted_out)
    return counted


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
    found = _contact_values(by, list(contacted.first.values()))
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
        return list(_quarters(adverts, 1))
    if by == "lang":
        return list(map(data.languages.get, map(itemgetter(0), adverts)))
    return list(map(itemgetter(2 if by == "site" else 3), adverts))


def _contact_values(by: str, contacts: Sequence[MessageRow]) -> list[Any]:
    """Each contact's value for the grouping: its quarter hour, its advert's site id, its language or city."""
    if by in _TIMES:
        return list(_quarters(contacts, _AT))
    return list(map(itemgetter({"site": _SITE, "lang": _LANGUAGE, "region": _CITY}[by]), contacts))


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
