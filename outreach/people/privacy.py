"""What the organisation owes the people in its database: keep little, for a short time, and show or erase it all
on request. The opt-out or block key always stays, so an erased person is never contacted again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.settings import RetentionSettings
from outreach.store.db import rows_changed
from outreach.store.models import Advert, AdvertPerson, Message, OptOut, Person, Site
from outreach.store.states import Direction, StopKind


@dataclass(frozen=True)
class PurgeReport:
    adverts: int
    uncontacted_persons: int
    messages: int
    persons: int


PURGE_STEPS = 4


def purge(
    session: Session,
    retention: RetentionSettings,
    now: datetime,
    actor: str,
    progress: Callable[[int], None] | None = None,
) -> PurgeReport:
    """Delete what the retention settings no longer allow us to keep, in one transaction of PURGE_STEPS deletes.
    progress: called with the number of steps done."""
    step = progress or (lambda done: None)
    advert_cutoff = now - timedelta(days=retention.advert_days)
    contact_cutoff = now - timedelta(days=retention.contact_days)
    adverts = rows_changed(session, delete(Advert).where(Advert.last_seen < advert_cutoff))
    step(1)
    has_messages = exists().where(Message.person_id == Person.id)
    uncontacted = rows_changed(
        session,
        delete(Person).where(Person.last_contacted_at.is_(None), ~has_messages, Person.last_seen < advert_cutoff),
    )
    step(2)
    messages = rows_changed(session, delete(Message).where(Message.created_at < contact_cutoff))
    step(3)
    persons = rows_changed(
        session,
        delete(Person).where(
            Person.last_seen < contact_cutoff,
            or_(Person.last_contacted_at.is_(None), Person.last_contacted_at < contact_cutoff),
            ~has_messages,
        ),
    )
    step(4)
    report = PurgeReport(adverts, uncontacted, messages, persons)
    audit.record(session, Event.RETENTION_PURGED, actor, **report.__dict__)
    return report


def _person(session: Session, vault: PhoneVault, e164: str) -> Person | None:
    return session.execute(select(Person).where(Person.key == vault.key(e164))).scalar_one_or_none()


def export_subject(session: Session, vault: PhoneVault, e164: str, actor: str) -> dict[str, Any]:
    """Everything held about one number (GDPR art. 15), as plain data.

    The adverts' addresses are in it in full: where the organisation found the person's data is part of what
    article 15 entitles them to (its source), and the export already holds the number itself. It is for an umbrella
    supervisor only (`outreach subject export`) and audited with the number of addresses it gave out."""
    key = vault.key(e164)
    person = _person(session, vault, e164)
    data: dict[str, Any] = {"number": e164, "person": None, "adverts": [], "messages": [], "opt_outs": []}
    data["opt_outs"] = [
        {"kind": o.kind, "source": o.source, "reason": o.reason, "at": o.created_at.isoformat()}
        for o in session.execute(select(OptOut).where(OptOut.person_key == key)).scalars()
    ]
    if person is not None:
        data["person"] = {
            "id": person.id,
            "country": person.country,
            "first_seen": person.first_seen.isoformat(),
            "last_seen": person.last_seen.isoformat(),
            "last_contacted_at": person.last_contacted_at.isoformat() if person.last_contacted_at else None,
            "last_inbound_at": person.last_inbound_at.isoformat() if person.last_inbound_at else None,
        }
        for advert, site in session.execute(
            select(Advert, Site.name)
            .join(AdvertPerson, AdvertPerson.advert_id == Advert.id)
            .join(Site, Site.id == Advert.site_id)
            .where(AdvertPerson.person_id == person.id)
        ):
            data["adverts"].append(
                {
                    "site": site,
                    "url": vault.decrypt(advert.url_encrypted),
                    "title": advert.title,
                    "text": advert.text,
                    "city": advert.city,
                    "first_seen": advert.first_seen.isoformat(),
                    "last_seen": advert.last_seen.isoformat(),
                }
            )
        for message in session.execute(
            select(Message).where(Message.person_id == person.id).order_by(Message.id)
        ).scalars():
            data["messages"].append(
                {
                    "direction": message.direction,
                    "channel": message.channel,
                    "status": message.status,
                    "text": vault.decrypt(message.body) if message.direction == Direction.IN else message.body,
                    "at": message.created_at.isoformat(),
                }
            )
    audit.record(
        session,
        Event.SUBJECT_EXPORTED,
        actor,
        person_key=key[:12],
        found=person is not None,
        advert_addresses=len(data["adverts"]),
    )
    return data


def erase_subject(session: Session, vault: PhoneVault, e164: str, actor: str, reason: str) -> bool:
    """Remove everything about a number (GDPR art. 17) but the opt-out key, which is recorded if missing, so the
    person is never contacted again. Adverts that show only this number go too."""
    key = vault.key(e164)
    if not optouts.is_stopped(session, key):
        optouts.stop(session, key, kind=StopKind.OPT_OUT, source="erasure", actor=actor, reason=reason)
    person = _person(session, vault, e164)
    if person is None:
        audit.record(session, Event.SUBJECT_ERASED, actor, person_key=key[:12], found=False, reason=reason)
        return False
    others = exists().where(and_(AdvertPerson.advert_id == Advert.id, AdvertPerson.person_id != person.id))
    own_adverts = select(AdvertPerson.advert_id).where(AdvertPerson.person_id == person.id)
    session.execute(delete(Message).where(Message.person_id == person.id))
    session.execute(delete(Advert).where(Advert.id.in_(own_adverts), ~others))
    session.execute(delete(AdvertPerson).where(AdvertPerson.person_id == person.id))
    session.delete(person)
    audit.record(session, Event.SUBJECT_ERASED, actor, person_key=key[:12], found=True, reason=reason)
    return True
