"""The review queue: adverts the policy holds (a hold keyword, no city, an unknown category) wait for a person.

Approving lets the advert through the policy and queues its first message at once, through the same selection and
compose path as a cycle (opt-outs, the contact rhythm and the send policy still apply); rejecting keeps it from
being messaged while it reads as it does now. Both need a reason and are audited.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from messaging.language import LanguageDetector
from messaging.templates import TemplateBook
from outreach import audit
from outreach.access.masking import mask
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.errors import OutreachError, PermissionDenied, UsageError
from outreach.parsing.places import municipality
from outreach.settings import Settings
from outreach.store.db import rows_changed
from outreach.store.models import Advert, AdvertPerson, AdvertReason, HeldAdvert, Person, Site
from outreach.targeting.contact_pass import queue_selection
from outreach.targeting.reasons import Reason, describe
from outreach.targeting.selection import select_contacts, store_decisions

SNIPPET = 120


@dataclass(frozen=True)
class HeldItem:
    id: int
    advert_id: int
    site: str
    city: str | None
    category: str | None
    numbers: list[str]  # masked
    snippet: str
    rule: str
    held_at: datetime


@dataclass
class Decided:
    held_id: int
    advert_id: int
    status: str
    queued: int = 0  # messages queued (or drafted) by an approval
    not_queued: list[str] = field(default_factory=list)  # why not, per person


def in_regions(city: str | None, regions: set[str] | None) -> bool:
    """Is an advert in this city in these municipalities (case-folded; None: all)? The municipality is found as
    routing finds it (outreach.targeting.policy)."""
    if regions is None:
        return True
    place = municipality(city)
    return place is not None and place.casefold() in regions


def waiting(session: Session, vault: PhoneVault, limit: int = 200, regions: set[str] | None = None) -> list[HeldItem]:
    """Pending held adverts that the last cycle still held (listed, and nothing else stops them), oldest first;
    regions: only those in these municipalities (an organisation's members see their own)."""
    still_held = exists().where(AdvertReason.advert_id == HeldAdvert.advert_id, AdvertReason.reason == Reason.HELD)
    rows = session.execute(
        select(HeldAdvert, Advert, Site.name)
        .join(Advert, Advert.id == HeldAdvert.advert_id)
        .join(Site, Site.id == Advert.site_id)
        .where(HeldAdvert.status == "pending", Advert.gone_at.is_(None), still_held)
        .order_by(HeldAdvert.held_at, HeldAdvert.id)
        .limit(limit if regions is None else None)
    ).all()
    items: list[HeldItem] = []
    for held, advert, site in rows:
        if len(items) >= limit:
            break
        if not in_regions(advert.city, regions):
            continue
        encrypted = session.execute(
            select(Person.phone_encrypted)
            .join(AdvertPerson, AdvertPerson.person_id == Person.id)
            .where(AdvertPerson.advert_id == advert.id)
            .order_by(Person.id)
        ).scalars()
        text = " ".join(f"{advert.title}. {advert.text}".split())
        items.append(
            HeldItem(
                held.id,
                advert.id,
                site,
                advert.city,
                advert.category,
                [mask(vault.decrypt(value)) for value in encrypted],
                text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""),
                held.rule,
                held.held_at,
            )
        )
    return items


def decide(
    session: Session,
    held_id: int,
    *,
    approve: bool,
    actor: str,
    reason: str,
    now: datetime,
    settings: Settings,
    detector: LanguageDetector | None = None,
    templates: TemplateBook | None = None,
    regions: set[str] | None = None,
) -> Decided:
    """Approve or reject one held advert, in the caller's transaction; an approval queues what selection allows
    now (needs detector and templates). regions: the actor may decide only on adverts in these municipalities."""
    if not reason.strip():
        raise UsageError("--reason is required")
    held = session.get(HeldAdvert, held_id)
    if held is None:
        raise UsageError(f"no held advert {held_id} (see `outreach review`)")
    if regions is not None and not in_regions(session.get_one(Advert, held.advert_id).city, regions):
        raise PermissionDenied(f"held advert {held_id} is another organisation's to decide on")
    status = "approved" if approve else "rejected"
    changed = rows_changed(
        session,
        update(HeldAdvert)
        .where(HeldAdvert.id == held_id, HeldAdvert.status == "pending")
        .values(status=status, decided_at=now, decided_by=actor, decision_reason=reason),
    )
    if not changed:
        session.refresh(held)
        raise OutreachError(f"held advert {held_id} was already {held.status} by {held.decided_by}")
    audit.record(
        session,
        Event.REVIEW_APPROVED if approve else Event.REVIEW_REJECTED,
        actor,
        held_id=held_id,
        advert_id=held.advert_id,
        rule=held.rule,
        reason=reason,
    )
    result = Decided(held_id, held.advert_id, status)
    selection = select_contacts(session, settings, now=now, advert_ids=[held.advert_id], actor=actor)
    if approve:
        assert detector is not None and templates is not None
        # The cycle's own queuing path, in this transaction: a person a cycle contacted since the selection
        # above is not queued again, and the advert says so.
        queued = queue_selection(
            selection,
            lambda: nullcontext(session),
            settings=settings,
            detector=detector,
            templates=templates,
            now=now,
            actor=actor,
            draft=settings.sending.mode != "auto",
        )
        result.queued = sum(queued.first_contacts.values()) + queued.reminders
    else:
        store_decisions(session, selection.decisions, now)
    result.not_queued = [
        describe(d.reason, d.detail) for d in selection.decisions if d.reason not in (Reason.MESSAGED, Reason.REMINDED)
    ]
    return result
