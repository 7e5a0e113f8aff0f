"""Who gets a message: a mobile number, not opted out or blocked, not contacted within the re-contact window,
and advertising now (seen in this crawl run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from outreach.store.models import Advert, AdvertPerson, OptOut, Person


@dataclass(frozen=True)
class Candidate:
    person_id: int
    advert_id: int


def eligible(session: Session, *, now: datetime, recontact_days: int, mobile_countries: list[str]) -> list[Candidate]:
    """One candidate per person, with the advert to answer: their most recently seen advert that is still listed.

    Not only this run's adverts: an incremental crawl does not revisit unchanged adverts, and an advert found by a
    crawl-only run (`outreach crawl`) must still get its message in the next cycle."""
    cutoff = now - timedelta(days=recontact_days)
    rows = session.execute(
        select(Person.id, Advert.id)
        .join(AdvertPerson, AdvertPerson.person_id == Person.id)
        .join(Advert, Advert.id == AdvertPerson.advert_id)
        .where(
            Advert.gone_at.is_(None),
            Person.is_mobile.is_(True),
            Person.country.in_(mobile_countries),
            or_(Person.last_contacted_at.is_(None), Person.last_contacted_at < cutoff),
            ~exists().where(OptOut.person_key == Person.key),
            # Someone who wrote to us is a fieldworker's conversation now, never an automatic message.
            Person.last_inbound_at.is_(None),
            Person.paused_reason.is_(None),
            Person.invalid_at.is_(None),
        )
        .order_by(Person.id, Advert.last_seen.desc(), Advert.id.desc())
    ).all()
    chosen: dict[int, int] = {}
    for person, advert in rows:
        chosen.setdefault(person, advert)
    return [Candidate(person, advert) for person, advert in chosen.items()]
