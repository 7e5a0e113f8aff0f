"""Everything about one advert or one person, for `outreach show`: adverts, messages, replies, opt-out, audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.access.masking import mask, mask_url
from outreach.crypto import PhoneVault
from outreach.errors import UsageError
from outreach.store.models import (
    Advert,
    AdvertPerson,
    AdvertReason,
    AuditEvent,
    HeldAdvert,
    Message,
    OptOut,
    Person,
    Site,
)
from outreach.store.states import Direction
from outreach.targeting.reasons import describe


def _messages(session: Session, vault: PhoneVault, person_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "created": m.created_at.isoformat(timespec="seconds"),
            "direction": m.direction,
            "kind": m.kind,
            "channel": m.channel,
            "status": m.status,
            "code": m.error_code,
            "language": m.language,
            "text": vault.decrypt(m.body) if m.direction == Direction.IN else m.body,
        }
        for m in session.execute(select(Message).where(Message.person_id == person_id).order_by(Message.id)).scalars()
    ]


def _audit(session: Session, person_id: int, message_ids: set[int], limit: int = 100) -> list[dict[str, Any]]:
    """The person's audit trail among the newest events (fields are JSON, filtered here the same on both
    databases)."""
    events = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(20_000)).scalars()
    found = [e for e in events if e.fields.get("person_id") == person_id or e.fields.get("message_id") in message_ids]
    return [{"seq": e.seq, "at": e.created_at.isoformat(), "actor": e.actor, "event": e.name} for e in found[:limit]]


def _why(session: Session, advert_id: int, person_id: int | None = None) -> list[dict[str, Any]]:
    """Why the last cycle did or did not message this advert (per person): the stored reasons."""
    query = select(AdvertReason).where(AdvertReason.advert_id == advert_id).order_by(AdvertReason.id)
    if person_id is not None:
        query = query.where(AdvertReason.person_id == person_id)
    return [
        {
            "person": r.person_id,
            "reason": r.reason,
            "detail": r.detail,
            "why": describe(r.reason, r.detail),
            "decided": r.decided_at.isoformat(timespec="seconds"),
        }
        for r in session.execute(query).scalars()
    ]


def _review(session: Session, advert_id: int) -> dict[str, Any] | None:
    held = session.execute(select(HeldAdvert).where(HeldAdvert.advert_id == advert_id)).scalar_one_or_none()
    if held is None:
        return None
    return {
        "id": held.id,
        "status": held.status,
        "rule": held.rule,
        "held": held.held_at.isoformat(timespec="seconds"),
        "by": held.decided_by,
        "reason": held.decision_reason,
    }


def person_view(session: Session, vault: PhoneVault, person: Person) -> dict[str, Any]:
    adverts = session.execute(
        select(Advert, Site.name)
        .join(AdvertPerson, AdvertPerson.advert_id == Advert.id)
        .join(Site, Site.id == Advert.site_id)
        .where(AdvertPerson.person_id == person.id)
        .order_by(Advert.last_seen.desc())
    ).all()
    stops = session.execute(select(OptOut).where(OptOut.person_key == person.key)).scalars().all()
    messages = _messages(session, vault, person.id)
    return {
        "person": person.id,
        "number": mask(vault.decrypt(person.phone_encrypted)),
        "first_seen": person.first_seen.isoformat(timespec="seconds"),
        "last_contacted": person.last_contacted_at.isoformat(timespec="seconds") if person.last_contacted_at else None,
        "waiting_for_fieldworker": person.needs_fieldworker_since is not None,
        "paused": person.paused_reason,
        "invalid_number": person.invalid_at is not None,
        "stopped": [{"kind": s.kind, "source": s.source, "by": s.actor, "reason": s.reason} for s in stops],
        "adverts": [
            {
                "id": a.id,
                "site": site,
                "ad": a.site_ad_id,
                "title": a.title,
                "city": a.city,
                "why": [w["why"] for w in _why(session, a.id, person.id)],
            }
            for a, site in adverts
        ],
        "messages": messages,
        "audit": _audit(session, person.id, {m["id"] for m in messages}),
    }


def advert_view(session: Session, vault: PhoneVault, advert_id: int, *, reveal_url: bool = False) -> dict[str, Any]:
    """The advert with its address masked (the site only); `reveal_url` is for the caller that checked the role
    and records the reveal (the page behind the address shows the number)."""
    row = session.execute(
        select(Advert, Site.name).join(Site, Site.id == Advert.site_id).where(Advert.id == advert_id)
    ).first()
    if row is None:
        raise UsageError(f"no advert {advert_id}")
    advert, site = row
    persons = session.execute(
        select(Person)
        .join(AdvertPerson, AdvertPerson.person_id == Person.id)
        .where(AdvertPerson.advert_id == advert.id)
    ).scalars()
    address = vault.decrypt(advert.url_encrypted)
    return {
        "advert": advert.id,
        "site": site,
        "ad": advert.site_ad_id,
        "url": address if reveal_url else mask_url(address),
        "url_revealed": reveal_url,
        "title": advert.title,
        "text": advert.text,
        "city": advert.city,
        "category": advert.category,
        "language": advert.language,
        "language_override": advert.language_override,
        "first_seen": advert.first_seen.isoformat(timespec="seconds"),
        "last_seen": advert.last_seen.isoformat(timespec="seconds"),
        "why": _why(session, advert.id),
        "review": _review(session, advert.id),
        "persons": [person_view(session, vault, person) for person in persons],
    }
