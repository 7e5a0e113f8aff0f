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

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.parsing.places import municipality
from outreach.reports.rates import wilson_interval
from outreach.store.models import Advert, Message, OptOut, Person, Site
from outreach.store.states import CONTACTS, KEYWORDS, LEFT_US, Direction, MessageKind, MessageStatus, StopKind

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
    # first seen, site, the template language of its first message (None: not messaged), municipality
    adverts: Sequence[tuple[datetime, str, str | None, str | None]]
    # person, at, status, language, site, region
    outbound: Sequence[tuple[int, datetime, str, str | None, str | None, str | None]]
    inbound: Sequence[tuple[int, datetime, str]]  # person, at, kind
    opt_outs: Sequence[tuple[int, datetime]]  # person, at


def load(
    session: Session,
    since: datetime,
    *,
    until: datetime | None = None,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> Outcomes:
    """The facts of [since, until); organisations: only their messages; regions: only adverts in these
    municipalities, case-folded (None: all)."""
    place = municipality_lookup()
    adverts = [
        (first_seen, site, language, place(city))
        for first_seen, site, language, city in session.execute(
            _before(
                select(Advert.first_seen, Site.name, _first_message_language(), Advert.city)
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
        select(Message.person_id, Message.created_at, Message.status, Message.language, Site.name, Advert.city)
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
                select(Message.person_id, Message.created_at, Message.kind).where(
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
                select(Person.id, OptOut.created_at)
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


def group(data: Outcomes, by: str, zone: str, since: datetime | None = None) -> list[OutcomeRow]:
    """Rows per group, sorted by group; since: a later start than the loaded period's (the overview's today)."""
    start = max(since or data.since, data.since)
    key = _key_function(by, ZoneInfo(zone))
    adverts = Counter(key(at, site, language, region) for at, site, language, region in data.adverts if at >= start)
    contacted: Counter[str] = Counter()
    delivered: Counter[str] = Counter()
    replied: Counter[str] = Counter()
    opted_out: Counter[str] = Counter()
    contacts: dict[int, tuple[datetime, str]] = {}  # person -> (first contact in the period, its group)
    delivered_to: set[int] = set()
    for person, at, status, language, site, region in data.outbound:
        if at < start:
            continue
        contact = contacts.get(person)
        if contact is None:
            contact = contacts[person] = (at, key(at, site, language, region))
            contacted[contact[1]] += 1
        if status == MessageStatus.DELIVERED and person not in delivered_to:
            delivered_to.add(person)
            delivered[contact[1]] += 1
    answers: list[tuple[Iterable[tuple[int, datetime, str]], Counter[str], Callable[[str], bool]]] = [
        (data.inbound, replied, lambda kind: kind not in KEYWORDS),
        (((person, at, "") for person, at in data.opt_outs), opted_out, lambda kind: True),
    ]
    for events, counter, is_answer in answers:
        counted: set[int] = set()
        for person, at, kind in events:
            contact = contacts.get(person)
            if contact is not None and person not in counted and at >= contact[0] and is_answer(kind):
                counted.add(person)
                counter[contact[1]] += 1
    return [
        OutcomeRow(name, adverts[name], contacted[name], delivered[name], replied[name], opted_out[name])
        for name in sorted(set(adverts) | set(contacted))
    ]


def _key_function(by: str, tz: ZoneInfo) -> Callable[[datetime, str | None, str | None, str | None], str]:
    """The group a fact belongs to: its local day, site, template language or region ("-" when unknown)."""
    if by == "total":
        return lambda at, site, language, region: "all"
    if by == "day":
        return lambda at, site, language, region: at.astimezone(tz).date().isoformat()
    if by == "week":  # the Monday that starts the local week
        return lambda at, site, language, region: _monday(at.astimezone(tz).date()).isoformat()
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


def _first_message_language() -> Any:
    """The template language of the advert's first automatic message (None when it was not messaged)."""
    return (
        select(Message.language)
        .where(
            Message.advert_id == Advert.id,
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
        )
        .order_by(Message.id)
        .limit(1)
        .scalar_subquery()
    )
