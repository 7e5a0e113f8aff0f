"""What people do with messages by hand: approve or reject drafts, edit a draft, answer a reply.

Each action is one transaction with its audit event; sending itself always goes through the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from messaging.outbox.enqueue import latest_organisation, queue_message
from outreach import audit
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.errors import N_, OutreachError, UsageError
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.db import rows_changed
from outreach.store.models import Advert, Message, Person
from outreach.store.states import Direction, MessageKind, MessageStatus
from outreach.store.types import utcnow

WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Draft:
    message_id: int
    person_id: int
    created_at: datetime
    language: str | None
    body: str
    advert_title: str
    advert_text: str
    number: str
    organisation: str | None = None
    advert_id: int | None = None
    kind: str | None = None


def _draft_filter(organisations: Sequence[str] | None) -> list[ColumnElement[bool]]:
    """Drafts, of these organisations only (None: all). In the query, not after it: with several organisations a
    limit applied first would show one organisation the others' drafts' share of the limit, or nothing."""
    found: list[ColumnElement[bool]] = [Message.status == MessageStatus.DRAFT]
    if organisations is not None:
        found.append(Message.organisation.in_(organisations))
    return found


def drafts(
    session: Session,
    vault: PhoneVault,
    limit: int | None = 100,
    *,
    organisations: Sequence[str] | None = None,
    after: int = 0,
    offset: int = 0,
    ids: Collection[int] | None = None,
) -> list[Draft]:
    """The drafts waiting, oldest first: of `organisations` (None: all), with an id above `after`, among `ids`
    when given."""
    statement = (
        select(Message, Person.phone_encrypted, Advert.title, Advert.text)
        .join(Person, Person.id == Message.person_id)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .where(*_draft_filter(organisations), Message.id > after)
        .order_by(Message.id)
        .offset(offset)
        .limit(limit)
    )
    if ids is not None:
        statement = statement.where(Message.id.in_(list(ids)))
    rows = session.execute(statement).all()
    return [
        Draft(
            message.id,
            message.person_id or 0,
            message.created_at,
            message.language,
            message.body,
            title or "",
            text or "",
            vault.decrypt(encrypted),
            message.organisation,
            message.advert_id,
            message.kind,
        )
        for message, encrypted, title, text in rows
    ]


def count_drafts(session: Session, organisations: Sequence[str] | None = None) -> int:
    return session.execute(select(func.count(Message.id)).where(*_draft_filter(organisations))).scalar_one()


def seen_mark(body: str) -> str:
    """What a page that shows a draft sends back with its approval: the draft is approved only while it still says
    what was shown (a colleague may have rewritten it meanwhile)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def approve(session: Session, message_ids: list[int], actor: str, shown: Mapping[int, str] | None = None) -> int:
    """draft -> queued; the next drain sends them. With `shown` (id -> the text a page showed), a draft is approved
    only while it still says that: the condition is in the UPDATE, so a rewrite that commits first wins."""
    now = utcnow()
    approved = 0
    for message_id in message_ids:
        still = [Message.body == shown[message_id]] if shown is not None else []
        if rows_changed(
            session,
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.DRAFT, *still)
            .values(status=MessageStatus.QUEUED, approved_by=actor, updated_at=now),
        ):
            audit.record(session, Event.MESSAGE_APPROVED, actor, message_id=message_id)
            approved += 1
    return approved


def reject(session: Session, message_ids: list[int], actor: str, reason: str) -> int:
    """draft -> cancelled. The person counts as not contacted: a later cycle may select them again."""
    if not reason.strip():
        raise UsageError("--reason is required to reject")
    now = utcnow()
    rejected = 0
    for message_id in message_ids:
        message = session.get(Message, message_id)
        if message is None or message.status != MessageStatus.DRAFT:
            continue
        message.status, message.error_message, message.updated_at = MessageStatus.CANCELLED, f"rejected: {reason}", now
        person = session.get(Person, message.person_id) if message.person_id else None
        if person is not None and person.last_contacted_at == message.created_at:
            person.last_contacted_at = None
        audit.record(session, Event.MESSAGE_REJECTED, actor, message_id=message_id, reason=reason)
        rejected += 1
    return rejected


def edit_draft(session: Session, message_id: int, body: str, settings: Settings, actor: str) -> None:
    """A fieldworker's own words, as long as they still say who we are and how to stop (invariant 4)."""
    message = session.get(Message, message_id)
    if message is None or message.status != MessageStatus.DRAFT:
        raise OutreachError(f"message {message_id} is not a draft")
    require_identity_and_stop(body, settings, message.organisation)
    message.body, message.updated_at = " ".join(body.split()), utcnow()
    audit.record(session, Event.MESSAGE_EDITED, actor, message_id=message_id)


def require_identity_and_stop(body: str, settings: Settings, organisation_key: str | None = None) -> None:
    """The message names the organisation that sends it (its own name, with several organisations) and says how to
    stop."""
    signature = settings.signature(organisation_key)
    organisation, stop = signature.name, signature.stop_keyword
    if organisation.casefold() not in body.casefold() or stop.casefold() not in body.casefold():
        raise UsageError(
            N_("a message must name %(organisation)s and say how to stop (%(stop)s)"),
            organisation=organisation,
            stop=stop,
        )


def last_inbound(session: Session, person_id: int, column: Any) -> Any:
    """`column` of the person's latest message to us (None: they never wrote)."""
    return session.execute(
        select(column)
        .where(Message.person_id == person_id, Message.direction == Direction.IN)
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def reply_channel(session: Session, person: Person, settings: Settings, now: datetime) -> str:
    """The channel an answer to `person` leaves by: WhatsApp when the person last wrote by WhatsApp and its 24-hour
    window is still open (and WhatsApp is on), else SMS."""
    last_inbound_channel = last_inbound(session, person.id, Message.channel)
    in_window = person.last_inbound_at is not None and now - person.last_inbound_at < WHATSAPP_WINDOW
    return "whatsapp" if settings.whatsapp.enabled and last_inbound_channel == "whatsapp" and in_window else "sms"


def queue_reply(session: Session, person_id: int, body: str, settings: Settings, actor: str) -> int:
    """A fieldworker's answer to a person who wrote to us; WhatsApp inside its 24-hour window, else SMS."""
    person = session.get(Person, person_id)
    if person is None:
        raise UsageError(N_("no person %(person)s"), person=person_id)
    if optouts.is_stopped(session, person.key):
        raise OutreachError(N_("person %(person)s opted out or is blocked: no message can be sent"), person=person_id)
    if not body.strip():
        raise UsageError(N_("the reply is empty"))
    now = utcnow()
    channel = reply_channel(session, person, settings, now)
    person.needs_fieldworker_since = None
    return queue_message(
        session,
        actor=actor,
        now=now,
        person_id=person_id,
        channel=channel,
        kind=MessageKind.REPLY,
        body=body.strip(),
        fieldworker=actor,
        mode="manual",
        organisation=latest_organisation(session, person_id),
    )


@dataclass(frozen=True)
class Waiting:
    person_id: int
    since: datetime
    number: str
    paused_reason: str | None
    last_text: str


def inbox(
    session: Session, vault: PhoneVault, limit: int = 50, *, organisations: Sequence[str] | None = None
) -> list[Waiting]:
    """The persons waiting for a fieldworker, longest waiting first; of `organisations` (persons one of them wrote
    to or heard from; None: all), chosen in the query so that another organisation's persons do not use up the
    limit."""
    statement = select(Person).where(Person.needs_fieldworker_since.is_not(None))
    if organisations is not None:
        statement = statement.where(
            select(Message.id).where(Message.person_id == Person.id, Message.organisation.in_(organisations)).exists()
        )
    persons = session.execute(statement.order_by(Person.needs_fieldworker_since).limit(limit)).scalars().all()
    waiting = []
    for person in persons:
        last = last_inbound(session, person.id, Message.body)
        assert person.needs_fieldworker_since is not None
        waiting.append(
            Waiting(
                person.id,
                person.needs_fieldworker_since,
                vault.decrypt(person.phone_encrypted),
                person.paused_reason,
                vault.decrypt(last) if last else "",
            )
        )
    return waiting


def mark_handled(session: Session, person_id: int, actor: str, *, resume: bool = False) -> None:
    person = session.get(Person, person_id)
    if person is None:
        raise UsageError(N_("no person %(person)s"), person=person_id)
    person.needs_fieldworker_since = None
    if resume:
        person.paused_reason = None
    audit.record(session, Event.CONVERSATION_HANDLED, actor, person_id=person_id, resumed=resume)


def queue_resend(
    session: Session,
    settings: Settings,
    *,
    actor: str,
    reason: str,
    message_id: int | None = None,
    advert_id: int | None = None,
    force: bool = False,
) -> int:
    """A fieldworker sends a message again by hand: never to an opted-out or blocked person, and inside the
    re-contact window only when forced (a supervisor's decision, checked by the caller)."""
    if not reason.strip():
        raise UsageError("--reason is required")
    if message_id is not None:
        original = session.get(Message, message_id)
        if original is None or original.direction != Direction.OUT or original.person_id is None:
            raise UsageError(f"no outbound message {message_id}")
        person_id, advert, body, language = original.person_id, original.advert_id, original.body, original.language
    elif advert_id is not None:
        original = session.execute(
            select(Message)
            .where(
                Message.advert_id == advert_id,
                Message.direction == Direction.OUT,
                Message.kind == MessageKind.FIRST_CONTACT,
            )
            .order_by(Message.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if original is None or original.person_id is None:
            raise UsageError(f"advert {advert_id} has no first-contact message to send again")
        person_id, advert, body, language = original.person_id, advert_id, original.body, original.language
    else:
        raise UsageError("name a message or an advert")
    person = session.get(Person, person_id)
    assert person is not None
    if optouts.is_stopped(session, person.key):
        raise OutreachError(N_("person %(person)s opted out or is blocked: no message can be sent"), person=person_id)
    now = utcnow()
    window = timedelta(days=settings.recontact_days)
    if person.last_contacted_at is not None and now - person.last_contacted_at < window and not force:
        raise OutreachError(
            N_(
                "person %(person)s was contacted on %(day)s, inside the re-contact window of %(days)s days; "
                "a supervisor may force it with a reason"
            ),
            person=person_id,
            day=f"{person.last_contacted_at:%Y-%m-%d}",
            days=settings.recontact_days,
        )
    person.last_contacted_at = now
    return queue_message(
        session,
        actor=actor,
        now=now,
        event=Event.MESSAGE_RESEND,
        audit_fields={"reason": reason, "forced": force},
        person_id=person_id,
        advert_id=advert,
        channel="sms",
        kind=MessageKind.RESEND,
        language=language,
        body=body,
        fieldworker=actor,
        mode="manual",
        organisation=latest_organisation(session, person_id),
    )
