"""The facts a period's outcomes are counted from (outreach.reports.outcome_stats, funnel): the adverts first
seen in it with the persons behind them, the contacts that left us, the answers and opt-outs, read once as plain
rows (`load`); and everyone contacted from a start, each once under their first contact (`contacts`).

At 100,000 messages reading is most of the overview's cost, so the reading is lean: one read of the period's
messages in which the database flags what each row is, the driver's tuples instead of SQLAlchemy's Rows
(outreach.store.plain_rows), sites and cities kept as ids and spellings (named once per distinct value by the
counting), and rows picked by C loops (map, compress, zip) rather than a Python statement per row.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, repeat
from operator import and_ as bit_and
from operator import floordiv, is_not, itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, and_, case, literal, select
from sqlalchemy.orm import Session

from outreach.parsing.places import municipality
from outreach.store.models import Advert, AdvertPerson, AdvertReason, Message, OptOut, Person, Site
from outreach.store.plain_rows import plain_rows
from outreach.store.states import CONTACTS, KEYWORDS, LEFT_US, NOT_SENT, Direction, MessageKind, MessageStatus, StopKind
from outreach.store.types import epoch_micros, micros
from outreach.support.local_time import QUARTER_HOUR

_Query = TypeVar("_Query")


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
    # advert, person, the last cycle's reason for them (None: none stored): the numbers read from the cohort's adverts
    links: Sequence[tuple[int, int, str | None]]
    advert_sites: dict[int, int]  # advert -> site id, for the cohort's and the contacts' adverts
    advert_cities: dict[int, str | None]  # advert -> city, as spelled
    outbound: Sequence[MessageRow]  # the contacts that left us, in time order
    replies: Sequence[tuple[int, int]]  # person, at: what persons wrote, less bare keywords (STOP, START)
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
    adverts, links, where = _cohort(connection, since, until, regions, place)
    messages = _messages(connection, since, organisations)
    # the period's part of them (`until` None: all); the rest still names adverts' first languages
    period = messages[: len(messages) if until is None else bisect_left(messages, micros(until), key=itemgetter(AT))]
    contacted = _flagged(period, _COUNTED)
    _add_adverts(connection, where, set(map(itemgetter(ADVERT), contacted)))
    firsts = _flagged(messages, _FIRST)
    firsts.sort(key=itemgetter(ID), reverse=True)  # an advert's first message is written last: it stays
    sent = _flagged(messages, _SENT)
    directions = map({_OUT: Direction.OUT, 0: Direction.IN}.__getitem__, _bits(sent, _OUT))
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
        dict(zip(map(itemgetter(ADVERT), firsts), map(itemgetter(LANGUAGE), firsts), strict=True)),
        links,
        dict(zip(where, map(itemgetter(0), where.values()), strict=True)),
        dict(zip(where, map(itemgetter(1), where.values()), strict=True)),
        contacted,
        list(map(itemgetter(PERSON, AT), _flagged(period, _REPLY))),
        cast(list[tuple[int, int]], plain_rows(connection, opt_out_query)),
        Counter(zip(directions, quarters(sent, AT), strict=True)),
        place,
    )


# What a message row holds (`_messages`), by position: the message, then what it is, as bits of FLAGS counted by
# the database: a counted contact, a reply from a person (not a bare keyword), an advert's possible first message, a
# message sent or received (of the organisations), outbound, delivered. One integer instead of four strings and
# four flags: the read of a month took a fifth to a quarter less (BENCHMARKS.md, "Dashboard").
ID, PERSON, AT, LANGUAGE, ADVERT, FLAGS = range(6)
_COUNTED, _REPLY, _FIRST, _SENT, _OUT, _DELIVERED = (1 << bit for bit in range(6))


def _messages(connection: Connection, since: datetime, organisations: list[str] | None) -> list[MessageRow]:
    """Every message from `since` to now, in time order: the database sets the bits of FLAGS (a counted contact of
    the organisations, a reply from a person, a possible first message of an advert, sent or received by the
    organisations for the chart, outbound, delivered). One read instead of four, and C loops pick the rows by
    those bits: the four reads, or picking in Python, cost a third more."""
    dialect = connection.dialect.name
    ours: list[ColumnElement[bool]] = [] if organisations is None else [Message.organisation.in_(organisations)]
    flags: dict[int, ColumnElement[bool]] = {
        _COUNTED: and_(
            Message.direction == Direction.OUT,
            Message.kind.in_(CONTACTS),  # not answers, resends or opt-out confirmations
            Message.status.in_(LEFT_US),
            Message.person_id.is_not(None),
            *ours,
        ),
        _REPLY: and_(Message.direction == Direction.IN, Message.person_id.is_not(None), Message.kind.not_in(KEYWORDS)),
        _FIRST: and_(
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
            Message.advert_id.is_not(None),
        ),
        _SENT: and_(Message.status.not_in(NOT_SENT), *ours),
        _OUT: Message.direction == Direction.OUT,
        _DELIVERED: Message.status == MessageStatus.DELIVERED,
    }
    return plain_rows(
        connection,
        select(
            Message.id,
            Message.person_id,
            epoch_micros(dialect, Message.created_at),
            Message.language,
            Message.advert_id,
            sum((case((condition, bit), else_=0) for bit, condition in flags.items()), literal(0)),  # NULL: 0
        )
        .where(Message.created_at >= since)
        .order_by(Message.created_at, Message.id),
    )


def _flagged(rows: Sequence[MessageRow], flag: int) -> list[MessageRow]:
    """The rows with the bit `flag` set."""
    return list(compress(rows, _bits(rows, flag)))


def _bits(rows: Sequence[MessageRow], flag: int) -> Iterator[int]:
    """Each row's bit `flag` (the bit's value or 0)."""
    return map(bit_and, map(itemgetter(FLAGS), rows), repeat(flag))


def quarters(rows: Sequence[tuple[Any, ...]], column: int) -> Iterator[int]:
    """The quarter hour (since 1970) of each row's time in `column`."""
    return map(floordiv, map(itemgetter(column), rows), repeat(QUARTER_HOUR))


def _cohort(
    connection: Connection,
    since: datetime,
    until: datetime | None,
    regions: set[str] | None,
    place: Callable[[str | None], str | None],
) -> tuple[list[CohortAdvert], list[tuple[int, int, str | None]], dict[int, tuple[int, str | None]]]:
    """The adverts first seen in [since, until) in the regions, in that order (id, first seen, site, city); the
    persons behind them with the last cycle's reason for each (the funnel's cohort, read once with the rest; the
    reasons in the same read spare PostgreSQL a second scan of the adverts); and the site and city of every advert
    first seen in the period, in the regions or not (the contacts' adverts, mostly)."""
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
                AdvertReason.reason,
            )
            .outerjoin(AdvertPerson, AdvertPerson.advert_id == Advert.id)
            .outerjoin(
                AdvertReason,
                and_(AdvertReason.advert_id == Advert.id, AdvertReason.person_id == AdvertPerson.person_id),
            )
            .where(Advert.first_seen >= since),
            Advert.first_seen,
            until,
        ),
    )
    where = dict(zip(map(itemgetter(0), rows), map(itemgetter(2, 3), rows), strict=True))
    if regions is not None:
        inside = {city: (place(city) or "").casefold() in regions for city in {row[3] for row in rows}}
        rows = list(compress(rows, map(inside.__getitem__, map(itemgetter(3), rows))))
    ids = list(map(itemgetter(0), rows))
    # One row per advert and person: an advert with two numbers comes twice. Sorted here, not by the database:
    # SQLite sorted the 20,000 rows in a temporary B-tree, PostgreSQL in memory, both slower than Python's sort.
    adverts = list(map(itemgetter(0, 1, 2, 3), dict(zip(ids, rows, strict=True)).values()))
    adverts.sort(key=itemgetter(1))
    persons = list(map(itemgetter(4), rows))
    links = list(compress(map(itemgetter(0, 4, 5), rows), map(is_not, persons, repeat(None))))
    return adverts, links, where


def _add_adverts(connection: Connection, where: dict[int, tuple[int, str | None]], adverts: set[int | None]) -> None:
    """Add the site and city of the contacts' adverts first seen before the period (a reminder, a second advert
    of a known person) to `where`. Asked by id, a few hundred at a time: joining the messages to the adverts
    made PostgreSQL hash the whole adverts table (40 ms at 57,000 adverts) for what the cohort mostly holds."""
    missing = sorted(advert for advert in adverts if advert is not None and advert not in where)
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        query = select(Advert.id, Advert.site_id, Advert.city).where(Advert.id.in_(chunk))
        where.update((advert, (site, city)) for advert, site, city in plain_rows(connection, query))


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
    rows = data.outbound[bisect_left(data.outbound, start, key=itemgetter(AT)) :]  # in time order
    latest_first = rows[::-1]  # each person's earliest row is written last: it stays
    first = dict(zip(map(itemgetter(PERSON), latest_first), latest_first, strict=True))
    delivered = set(compress(map(itemgetter(PERSON), rows), _bits(rows, _DELIVERED)))
    replied = {person for person, at in data.replies if person in first and at >= first[person][AT]}
    opted_out = {person for person, at in data.opt_outs if person in first and at >= first[person][AT]}
    counted = data.counted[start] = Contacted(first, delivered, replied, opted_out)
    return counted
