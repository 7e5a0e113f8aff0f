"""Generated adverts and persons written straight into the store, for the selection and review tests.

No crawl: each test states exactly the adverts, persons and histories it needs."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from outreach.crypto import PhoneVault
from outreach.store.adverts import FoundAdvert, FoundPhone, save_adverts, site_id
from outreach.store.models import Advert, Message, Person

_serial = itertools.count(1)


def number(index: int) -> str:
    """A valid Dutch mobile number that belongs to nobody in particular (generated)."""
    return f"+3162{4440000 + index:07d}"


@dataclass(frozen=True)
class Made:
    advert_id: int
    person_id: int | None


def make_advert(
    session: Session,
    vault: PhoneVault,
    now: datetime,
    *,
    phone: str | None = None,
    country: str = "NL",
    city: str | None = "Rotterdam",
    category: str | None = "vrouw",
    text: str = "Hoi, ik ben Mila. Bel voor een afspraak.",
    left_out: str | None = None,
    first_seen_days_ago: float = 0,
    site: str = "fixture",
) -> Made:
    serial = next(_serial)
    phones = [FoundPhone(phone, country, True)] if phone else []
    found = FoundAdvert(
        site=site,
        site_ad_id=f"T{serial}",
        url=f"http://127.0.0.1/advert/T{serial}",
        title=f"Advert {serial}",
        text=text,
        city=city,
        category=category,
        has_whatsapp=False,
        content_hash=hashlib.sha256(f"{serial}:{text}:{city}:{category}".encode()).hexdigest(),
        phones=phones,
        numbers_left_out=left_out,
    )
    saved = save_adverts(session, vault, [found], None, now, site_id(session, site))[0]
    advert = session.get(Advert, saved.advert_id)
    assert advert is not None
    advert.first_seen = now - timedelta(days=first_seen_days_ago)
    person = None
    if phone:
        person = session.query(Person).filter(Person.key == vault.key(phone)).one().id
    session.flush()
    return Made(advert.id, person)


def sent_first_contact(session: Session, person_id: int, advert_id: int, at: datetime, **extra: Any) -> int:
    """A first contact that went out at `at`, and the contact decision that goes with it."""
    person = session.get(Person, person_id)
    assert person is not None
    person.last_contacted_at = at
    values: dict[str, Any] = {
        "person_id": person_id,
        "advert_id": advert_id,
        "direction": "out",
        "kind": "first_contact",
        "status": "delivered",
        "language": "nl",
        "body": "Hoi, ik ben Sanne van Demo Outreach. Geen berichten meer? Antwoord STOP.",
        "created_at": at,
        "sent_at": at,
        "updated_at": at,
        **extra,
    }
    message = Message(**values)
    session.add(message)
    session.flush()
    return message.id
