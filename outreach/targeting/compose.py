"""From a selected advert to a queued message: detect the language, render, and write the outbox row and the
contact decision in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from messaging.language import LanguageDetector
from messaging.language.decision import LanguageDecision, Rule
from messaging.outbox.enqueue import queue_message
from messaging.templates import TemplateBook
from outreach.audit_events import Event
from outreach.settings import OrganisationSettings, Settings
from outreach.store.db import rows_changed
from outreach.store.models import Advert, Person
from outreach.store.states import MessageKind, MessageStatus
from outreach.targeting.selection import Candidate, ReminderCandidate


def enqueue_first_contact(
    session: Session,
    candidate: Candidate,
    *,
    settings: Settings,
    detector: LanguageDetector,
    templates: TemplateBook,
    now: datetime,
    actor: str,
    draft: bool = False,
) -> str | None:
    """Queue one first-contact message; returns its language, or None when another process contacted the
    person first (the conditional UPDATE on persons is the contact decision).

    draft: the message waits for a person (approve or assist mode) instead of going with the next drain."""
    advert = session.get(Advert, candidate.advert_id)
    assert advert is not None
    if advert.language_override:
        # A fieldworker read the advert and chose its language (`outreach advert language`).
        decision = LanguageDecision(advert.language_override, 1.0, Rule.OVERRIDE, advert.language_override)
    else:
        decision = detector.decide(advert.text or "", title=advert.title or "")
    advert.language = decision.language
    signature = settings.signature(candidate.organisation)
    rendered = templates.render(decision.template, signature, person_id=candidate.person_id)
    channel, content_sid, content_variables = whatsapp_first_contact(settings, advert, rendered.language, signature)
    cutoff = now - timedelta(days=settings.recontact_days)
    decided = rows_changed(
        session,
        update(Person)
        .where(
            Person.id == candidate.person_id,
            or_(Person.last_contacted_at.is_(None), Person.last_contacted_at < cutoff),
            # A reply or a pause that arrived after selection decides too, as for a reminder.
            Person.last_inbound_at.is_(None),
            Person.paused_reason.is_(None),
        )
        .values(last_contacted_at=now),
    )
    if not decided:
        return None
    queue_message(
        session,
        actor=actor,
        now=now,
        event=Event.MESSAGE_DRAFTED if draft else Event.MESSAGE_QUEUED,
        audit_fields={
            "advert_id": advert.id,
            "language": rendered.language,
            "variant": rendered.variant,
            "detected": decision.language,
            "rule": decision.rule.value,
            "channel": channel,
            "mode": settings.sending.mode,
            "organisation": candidate.organisation,
        },
        status=MessageStatus.DRAFT if draft else MessageStatus.QUEUED,
        person_id=candidate.person_id,
        advert_id=advert.id,
        channel=channel,
        content_sid=content_sid,
        content_variables=content_variables,
        kind=MessageKind.FIRST_CONTACT,
        language=rendered.language,
        language_detected=decision.language,
        language_confidence=round(decision.confidence, 3),
        language_rule=decision.rule.value,
        template_variant=rendered.variant,
        body=rendered.body,  # for WhatsApp: what the SMS fallback sends, and what the log shows
        fieldworker=signature.fieldworker,
        mode=settings.sending.mode,
        organisation=candidate.organisation,
    )
    return rendered.language


def whatsapp_first_contact(
    settings: Settings, advert: Advert, language: str, signature: OrganisationSettings
) -> tuple[str, str | None, dict[str, str] | None]:
    """WhatsApp for a first contact only behind `whatsapp.first_contact`, for an advert that offers WhatsApp, and
    only with an approved Content template for the language (Meta's rules: never a free-text body)."""
    whatsapp = settings.whatsapp
    content_sid = whatsapp.content_sids.get(language)
    if not (whatsapp.enabled and whatsapp.first_contact and advert.has_whatsapp and content_sid):
        return "sms", None, None
    return "whatsapp", content_sid, {"1": signature.fieldworker, "2": signature.name}


def enqueue_reminder(
    session: Session,
    candidate: ReminderCandidate,
    *,
    settings: Settings,
    templates: TemplateBook,
    now: datetime,
    actor: str,
    draft: bool = False,
) -> str | None:
    """Queue the one reminder of a contact round, in the first contact's language; None when it was decided
    already (another process, or the person wrote to us meanwhile).

    The conditional UPDATE on persons is the reminder decision: only for the round selection saw
    (last_contacted_at unchanged), only if no reminder belongs to it yet, and not after a reply or a pause."""
    decided = rows_changed(
        session,
        update(Person)
        .where(
            Person.id == candidate.person_id,
            Person.last_contacted_at == candidate.contacted_at,
            or_(Person.reminded_at.is_(None), Person.reminded_at < Person.last_contacted_at),
            Person.last_inbound_at.is_(None),
            Person.paused_reason.is_(None),
        )
        .values(reminded_at=now),
    )
    if not decided:
        return None
    signature = settings.signature(candidate.organisation)
    rendered = templates.render(candidate.language, signature)
    queue_message(
        session,
        actor=actor,
        now=now,
        event=Event.MESSAGE_DRAFTED if draft else Event.MESSAGE_QUEUED,
        audit_fields={
            "advert_id": candidate.advert_id,
            "language": rendered.language,
            "mode": settings.sending.mode,
            "organisation": candidate.organisation,
        },
        status=MessageStatus.DRAFT if draft else MessageStatus.QUEUED,
        person_id=candidate.person_id,
        advert_id=candidate.advert_id,
        channel="sms",
        kind=MessageKind.REMINDER,
        language=rendered.language,
        template_variant=rendered.variant,
        body=rendered.body,
        fieldworker=signature.fieldworker,
        mode=settings.sending.mode,
        organisation=candidate.organisation,
    )
    return rendered.language
