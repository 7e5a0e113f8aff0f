"""What the cycles achieved in a period, grouped by day, site, language or region: adverts found, persons
contacted, delivered, replied, opted out, and the response rate. Counts only; no personal data leaves here.
`outreach stats` and the dashboard's overview both count with this module, so they never disagree.

A person counts once per group, under their first outbound message of the period that left us (not a draft, not
cancelled, not failed before sending). "Replied" is an inbound message after that contact which is not a bare
STOP/START keyword; "opted out" is an opt-out recorded after it. Days are local days in the sending time zone.

The rows of the longest period are read once (`load`); each grouping and each shorter period is counted from them
in memory (`group`), so the overview's nine tables cost one pass over the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.places import municipality
from messaging.outbox import SENT_STATES
from outreach.store.models import Advert, Message, OptOut, Person, Site
from outreach.template_stats import NOT_A_REPLY

GROUPINGS = ("day", "site", "lang", "region", "total")
DELIVERED = ("delivered", "read")
LEFT_US = (*SENT_STATES, "read")


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

    def as_dict(self) -> dict[str, Any]:
        rate = self.response_rate
        return {**asdict(self), "response_rate": None if rate is None else round(rate, 4)}


@dataclass(frozen=True)
class Outcomes:
    """The raw facts of a period, oldest first: what `group` counts from."""

    since: datetime
    adverts: Sequence[tuple[datetime, str, str | None]]  # first seen, site, municipality
    # person, at, status, language, site, region
    outbound: Sequence[tuple[int, datetime, str, str | None, str | None, str | None]]
    inbound: Sequence[tuple[int, datetime, str]]  # person, at, kind
    opt_outs: Sequence[tuple[int, datetime]]  # person, at


def load(
    session: Session,
    since: datetime,
    *,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> Outcomes:
    """organisations: only their messages; regions: only adverts in these municipalities, case-folded (None: all)."""
    adverts = [
        (first_seen, site, municipality(city))
        for first_seen, site, city in session.execute(
            select(Advert.first_seen, Site.name, Advert.city)
            .join(Site, Site.id == Advert.site_id)
            .where(Advert.first_seen >= since)
            .order_by(Advert.first_seen)
        )
    ]
    if regions is not None:
        adverts = [advert for advert in adverts if (advert[2] or "").casefold() in regions]
    outbound_query = (
        select(Message.person_id, Message.created_at, Message.status, Message.language, Site.name, Advert.city)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .where(
            Message.direction == "out",
            Message.person_id.is_not(None),
            Message.created_at >= since,
            Message.status.in_(LEFT_US),
        )
        .order_by(Message.created_at, Message.id)
    )
    if organisations is not None:
        outbound_query = outbound_query.where(Message.organisation.in_(organisations))
    outbound = [
        (person, at, status, language, site, municipality(city))
        for person, at, status, language, site, city in session.execute(outbound_query)
        if person is not None
    ]
    inbound = [
        (person, at, kind)
        for person, at, kind in session.execute(
            select(Message.person_id, Message.created_at, Message.kind)
            .where(Message.direction == "in", Message.person_id.is_not(None), Message.created_at >= since)
            .order_by(Message.created_at)
        )
        if person is not None
    ]
    opt_outs = [
        (person, at)
        for person, at in session.execute(
            select(Person.id, OptOut.created_at)
            .join(OptOut, OptOut.person_key == Person.key)
            .where(OptOut.kind == "opt_out", OptOut.created_at >= since)
        )
    ]
    return Outcomes(since, adverts, outbound, inbound, opt_outs)


def group(data: Outcomes, by: str, zone: str, since: datetime | None = None) -> list[OutcomeRow]:
    """Rows per group, sorted by group; since: a later start than the loaded period's (the overview's today)."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    start = max(since or data.since, data.since)
    tz = ZoneInfo(zone)

    def key(at: datetime, site: str | None, language: str | None, region: str | None) -> str:
        if by == "total":
            return "all"
        value = {"day": at.astimezone(tz).date().isoformat(), "site": site, "lang": language, "region": region}[by]
        return value or "-"

    groups: dict[str, OutcomeRow] = {}

    def row(name: str) -> OutcomeRow:
        return groups.setdefault(name, OutcomeRow(name))

    for first_seen, site, region in data.adverts:
        if first_seen >= start:
            row(key(first_seen, site, None, region)).adverts_found += 1
    contacts: dict[int, tuple[datetime, str]] = {}  # person -> (first contact in the period, its group)
    delivered: set[int] = set()
    for person, at, status, language, site_name, region in data.outbound:
        if at < start:
            continue
        if person not in contacts:
            contacts[person] = (at, key(at, site_name, language, region))
            row(contacts[person][1]).persons_contacted += 1
        if status in DELIVERED and person not in delivered:
            delivered.add(person)
            row(contacts[person][1]).delivered += 1
    replied: set[int] = set()
    for person, at, kind in data.inbound:
        contact = contacts.get(person)
        if contact is None or person in replied or at < contact[0] or kind in NOT_A_REPLY:
            continue
        replied.add(person)
        row(contact[1]).replied += 1
    opted_out: set[int] = set()
    for person, at in data.opt_outs:
        contact = contacts.get(person)
        if contact is None or person in opted_out or at < contact[0]:
            continue
        opted_out.add(person)
        row(contact[1]).opted_out += 1
    return [groups[name] for name in sorted(groups)]


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
