"""What the cycles achieved in a period, grouped by day, site, language or region: adverts found, persons
contacted, delivered, replied, opted out, and the response rate. Counts only; no personal data leaves here.

A person counts once per group, under their first outbound message of the period that left us (not a draft, not
cancelled). "Replied" is an inbound message after that contact which is not a bare STOP/START keyword; "opted out"
is an opt-out recorded after it. Days are local days in the sending time zone.
"""

from __future__ import annotations

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


def outcome_stats(session: Session, *, by: str, since: datetime, zone: str) -> list[OutcomeRow]:
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    tz = ZoneInfo(zone)

    def day(moment: datetime) -> str:
        return moment.astimezone(tz).date().isoformat()

    groups: dict[str, OutcomeRow] = {}

    def row(key: str | None) -> OutcomeRow:
        name = key or "-"
        return groups.setdefault(name, OutcomeRow(name))

    for first_seen, site, city, message_language in session.execute(
        select(Advert.first_seen, Site.name, Advert.city, _first_message_language())
        .join(Site, Site.id == Advert.site_id)
        .where(Advert.first_seen >= since)
    ):
        key = {"day": day(first_seen), "site": site, "region": municipality(city), "lang": message_language}
        row(key.get(by, "all")).adverts_found += 1

    contacts: dict[int, tuple[datetime, str]] = {}  # person -> (time of first contact in the period, group)
    delivered: set[int] = set()
    for person, created, status, language, site, city in session.execute(
        select(Message.person_id, Message.created_at, Message.status, Message.language, Site.name, Advert.city)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .where(
            Message.direction == "out",
            Message.person_id.is_not(None),
            Message.created_at >= since,
            Message.status.in_((*SENT_STATES, "read")),
        )
        .order_by(Message.created_at, Message.id)
    ):
        if person is None:
            continue
        if person not in contacts:
            key = {"day": day(created), "site": site, "region": municipality(city), "lang": language}
            contacts[person] = (created, key.get(by, "all") or "-")
            row(contacts[person][1]).persons_contacted += 1
        if status in DELIVERED and person not in delivered:
            delivered.add(person)
            row(contacts[person][1]).delivered += 1

    replied: set[int] = set()
    for person, created, kind in session.execute(
        select(Message.person_id, Message.created_at, Message.kind).where(
            Message.direction == "in", Message.person_id.is_not(None), Message.created_at >= since
        )
    ):
        contact = contacts.get(person) if person is not None else None
        if person is None or contact is None or person in replied or created < contact[0] or kind in NOT_A_REPLY:
            continue
        replied.add(person)
        row(contact[1]).replied += 1

    opted_out: set[int] = set()
    for person, created in session.execute(
        select(Person.id, OptOut.created_at)
        .join(OptOut, OptOut.person_key == Person.key)
        .where(OptOut.kind == "opt_out", OptOut.created_at >= since)
    ):
        contact = contacts.get(person)
        if contact is None or person in opted_out or created < contact[0]:
            continue
        opted_out.add(person)
        row(contact[1]).opted_out += 1
    return [groups[key] for key in sorted(groups)]


def _first_message_language() -> Any:
    """The template language of the advert's first outbound message (None when it was not messaged)."""
    return (
        select(Message.language)
        .where(Message.advert_id == Advert.id, Message.direction == "out")
        .order_by(Message.id)
        .limit(1)
        .scalar_subquery()
    )
