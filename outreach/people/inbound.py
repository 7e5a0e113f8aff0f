"""What a person's message to us does: opt out, opt back in, or wait for a fieldworker.

Called by the webhook (outreach.web) after the signature check. Everything for one inbound message happens in one
transaction: the stored message (its text encrypted), the person's state, cancelled messages, the audit event and,
for an opt-out that Twilio did not answer itself, one confirmation in the person's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.intents import Intent, classify, twilio_answered
from messaging.outbox.enqueue import latest_organisation, queue_message
from messaging.templates import TemplateBook
from outreach import audit
from outreach.access.numbers import describe_number, normalise_number
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.errors import UsageError
from outreach.people import cases, optouts
from outreach.settings import Settings
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.models import Message, Person, User
from outreach.store.states import CONTACTS, PENDING, Direction, MessageKind, MessageStatus, StopKind
from outreach.store.types import utcnow

# What an inbound message is stored as: what it asks for, in the store's words.
KIND_OF_INTENT = {
    Intent.OPT_OUT: MessageKind.OPT_OUT,
    Intent.OPT_IN: MessageKind.OPT_IN,
    Intent.POSSIBLE_OPT_OUT: MessageKind.POSSIBLE_OPT_OUT,
    Intent.REPLY: MessageKind.REPLY,
}


@dataclass(frozen=True)
class Inbound:
    provider_sid: str
    from_address: str  # "+316..." or "whatsapp:+316..."
    body: str
    opt_out_type: str | None = None
    to_address: str = ""  # the number the person wrote to (Twilio's To), "+3197..." or "whatsapp:+3197..."


@dataclass(frozen=True)
class InboundResult:
    intent: Intent | None  # None: a duplicate delivery of a message we already have
    message_id: int | None
    person_id: int | None
    cancelled: int = 0
    confirmation_id: int | None = None


def _e164(address: str, default_region: str) -> tuple[str, str, bool] | None:
    try:
        e164 = normalise_number(address.removeprefix("whatsapp:"), default_region)
    except UsageError:
        return None
    country, mobile = describe_number(e164)
    return e164, country, mobile


def organisation_written_to(settings: Settings, to_address: str) -> str | None:
    """Several organisations: the one whose own number the person wrote to (None: not one of theirs, e.g. a
    shared number or a Messaging Service's)."""
    number = to_address.removeprefix("whatsapp:").strip()
    if not number:
        return None
    return next((unit.key for unit in settings.organisations if unit.from_number and unit.from_number == number), None)


def receive(
    session: Session,
    vault: PhoneVault,
    settings: Settings,
    inbound: Inbound,
    *,
    actor: str = "twilio",
    now: datetime | None = None,
) -> InboundResult:
    now = now or utcnow()
    if session.execute(select(Message.id).where(Message.provider_sid == inbound.provider_sid)).first():
        return InboundResult(None, None, None)  # Twilio retried the webhook: we have it already
    channel = "whatsapp" if inbound.from_address.startswith("whatsapp:") else "sms"
    number = _e164(inbound.from_address, settings.default_region)
    if number is None:
        # Not a number we could ever answer (short code, alphanumeric): keep the message for a person to read.
        pid = None
    else:
        e164, country, mobile = number
        pid = person_id(session, vault, FoundPhone(e164, country, mobile), now)
    intent = classify(inbound.body, inbound.opt_out_type)
    # Several organisations: a reply or opt-out belongs to the organisation whose number it was sent to, else to
    # the one that wrote to the person last.
    organisation = organisation_written_to(settings, inbound.to_address)
    if organisation is None and pid is not None:
        organisation = latest_organisation(session, pid)
    message = Message(
        person_id=pid,
        organisation=organisation,
        direction=Direction.IN,
        channel=channel,
        kind=KIND_OF_INTENT[intent],
        body=vault.encrypt(inbound.body),
        status=MessageStatus.RECEIVED,
        provider_sid=inbound.provider_sid,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    session.flush()
    audit.record(session, Event.MESSAGE_RECEIVED, actor, message_id=message.id, person_id=pid, intent=intent.value)
    person = session.get(Person, pid) if pid is not None else None
    if person is None:
        return InboundResult(intent, message.id, None)
    person.last_inbound_at = now
    cancelled, confirmation = 0, None
    if intent is Intent.OPT_OUT:
        cases.close_for_opt_out(session, person.id, now, actor)
        answered = channel == "sms" and twilio_answered(inbound.body, inbound.opt_out_type)
        source = "twilio-optout" if answered else "keyword"
        already = optouts.is_stopped(session, person.key)
        cancelled = optouts.stop(
            session, person.key, kind=StopKind.OPT_OUT, source=source, actor=actor, now=now, organisation=organisation
        )
        if not answered and channel == "sms" and not already:
            # Twilio answers its own keywords itself (with or without OptOutType); ours (STOPPEN, AFMELDEN ...) get
            # one confirmation from us, and only the first time.
            confirmation = _queue_confirmation(session, settings, person, organisation, now, actor)
    elif intent is Intent.OPT_IN:
        optouts.unstop(session, person.key, kind=StopKind.OPT_OUT, actor=actor, reason="the person sent START")
    else:
        if intent is Intent.POSSIBLE_OPT_OUT:
            person.paused_reason = "possible opt-out"
        person.needs_fieldworker_since = person.needs_fieldworker_since or now
        users = session.execute(select(User.name).where(User.disabled_at.is_(None))).scalars()
        cases.open_for_message(session, person.id, organisation, now, cases.signer_user(session, person.id, users))
        # No automatic message while a person reads the reply; the fieldworker answers by hand.
        cancelled = _cancel_automatic(session, person, now, actor)
    return InboundResult(intent, message.id, person.id, cancelled, confirmation)


def _cancel_automatic(session: Session, person: Person, now: datetime, actor: str) -> int:
    pending = (
        session.execute(
            select(Message).where(
                Message.person_id == person.id,
                Message.direction == Direction.OUT,
                Message.status.in_(PENDING),
                Message.kind.in_(CONTACTS),
            )
        )
        .scalars()
        .all()
    )
    for message in pending:
        message.status, message.error_message, message.updated_at = MessageStatus.CANCELLED, "the person replied", now
        audit.record(session, Event.MESSAGE_CANCELLED, actor, message_id=message.id, reason="the person replied")
    return len(pending)


def _language_of(session: Session, person: Person) -> str | None:
    return session.execute(
        select(Message.language)
        .where(Message.person_id == person.id, Message.direction == Direction.OUT, Message.language.is_not(None))
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _queue_confirmation(
    session: Session, settings: Settings, person: Person, organisation: str | None, now: datetime, actor: str
) -> int:
    """The one confirmation of an opt-out, from the organisation the person wrote to."""
    folder = settings.templates_dir / "sms" / MessageKind.OPT_OUT_CONFIRMATION
    languages = [lang for lang in settings.languages if (folder / f"{lang}.txt.j2").is_file()]
    book = TemplateBook(
        settings.templates_dir,
        languages or [settings.fallback_language],
        settings.fallback_language,
        "sms",
        MessageKind.OPT_OUT_CONFIRMATION,
    )
    rendered = book.render(_language_of(session, person), settings.signature(organisation))
    return queue_message(
        session,
        actor=actor,
        now=now,
        person_id=person.id,
        channel="sms",
        kind=MessageKind.OPT_OUT_CONFIRMATION,
        language=rendered.language,
        body=rendered.body,
        mode="auto",
        organisation=organisation,
    )
