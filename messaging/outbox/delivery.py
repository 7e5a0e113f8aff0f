"""Provider states applied to our messages: from status callbacks and from polling, one function.

A state only ever moves forward (queued < sent < delivered/undelivered/failed), so duplicate and out-of-order
callbacks change nothing. An error code carries a consequence: an opt-out, an invalid number, or a sending pause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from messaging.outbox.ports import StopList
from messaging.twilio_codes import Outcome, outcome_of
from outreach import audit
from outreach.audit_events import Event
from outreach.store.db import rows_changed
from outreach.store.models import Message, Person, SendingPause
from outreach.store.states import RANK, Direction, MessageStatus, StopKind
from outreach.store.types import utcnow

logger = logging.getLogger(__name__)

# Twilio's message states in ours. The keys are the provider's own words (its `canceled` has one l) and stay
# strings; the values are our states.
PROVIDER_STATES: Mapping[str, MessageStatus] = MappingProxyType(
    {
        "accepted": MessageStatus.SENT,
        "scheduled": MessageStatus.SENT,
        "queued": MessageStatus.SENT,
        "sending": MessageStatus.SENT,
        "sent": MessageStatus.SENT,
        "delivered": MessageStatus.DELIVERED,
        "read": MessageStatus.DELIVERED,
        "undelivered": MessageStatus.UNDELIVERED,
        "failed": MessageStatus.FAILED,
        "canceled": MessageStatus.FAILED,
    }
)

Notify = Callable[[str, dict[str, object]], None]


def log_notify(event: str, fields: dict[str, object]) -> None:
    logger.warning("notify %s %s", event, fields)


@dataclass(frozen=True)
class StatusChange:
    message_id: int
    before: str
    after: MessageStatus
    consequence: Outcome | None


def apply_status(
    session: Session,
    message_id: int,
    provider_status: str,
    error_code: int | None,
    *,
    actor: str,
    stops: StopList,
    provider_sid: str | None = None,
    notify: Notify = log_notify,
) -> StatusChange | None:
    """Move one message forward to the provider's state; None when that would not move it forward."""
    target = PROVIDER_STATES.get(provider_status)
    if target is None:
        return None
    # A sender may record its own answer between our read and our write: then read again and decide again, so a
    # "delivered" that overtook the sender's "sent" is never lost.
    for _ in range(5):
        message = session.get(Message, message_id, populate_existing=True)
        if message is None or message.direction != Direction.OUT:
            return None
        before = message.status
        if RANK[target] <= RANK.get(MessageStatus(before), 3):
            return None
        now = utcnow()
        values: dict[str, object] = {
            "status": target,
            "provider_status": provider_status,
            "error_code": error_code,
            "updated_at": now,
        }
        if message.provider_sid is None and provider_sid:
            values["provider_sid"] = provider_sid
        if message.sent_at is None:
            values["sent_at"] = now
        if rows_changed(
            session, update(Message).where(Message.id == message_id, Message.status == before).values(**values)
        ):
            break
    else:
        return None
    consequence = error_consequence(session, message, error_code, actor=actor, notify=notify, stops=stops)
    audit.record(
        session,
        Event.MESSAGE_STATUS,
        actor,
        message_id=message_id,
        before=before,
        status=target,
        code=error_code,
        consequence=consequence,
    )
    return StatusChange(message_id, before, target, consequence)


def error_consequence(
    session: Session, message: Message, code: int | None, *, actor: str, notify: Notify, stops: StopList
) -> Outcome | None:
    """What a provider error code means for the person or for all sending; returns it when it meant something."""
    if code is None:
        return None
    outcome = outcome_of(code)
    person = session.get(Person, message.person_id) if message.person_id is not None else None
    if outcome is Outcome.OPT_OUT and person is not None:
        stops.stop(
            session,
            person.key,
            kind=StopKind.OPT_OUT,
            source=f"twilio-{code}",
            actor=actor,
            organisation=message.organisation,
        )
    elif outcome is Outcome.INVALID_NUMBER and person is not None:
        person.invalid_at = person.invalid_at or utcnow()
    elif outcome is Outcome.SPAM_FILTERED:
        pause_sending(session, f"twilio {code}: carriers filtered message {message.id} as spam", code, actor, notify)
    else:
        return None
    return outcome


def active_pause(session: Session) -> SendingPause | None:
    return session.execute(
        select(SendingPause).where(SendingPause.cleared_at.is_(None)).order_by(SendingPause.id).limit(1)
    ).scalar_one_or_none()


def pause_sending(session: Session, reason: str, code: int | None, actor: str, notify: Notify) -> None:
    """Stop all sending until a supervisor resumes it (`outreach send --resume`)."""
    if active_pause(session) is not None:
        return
    session.add(SendingPause(reason=reason, code=code, created_by=actor))
    audit.record(session, Event.SENDING_PAUSED, actor, reason=reason, code=code)
    notify("sending.paused", {"reason": reason, "code": code})


def resume_sending(session: Session, actor: str, reason: str) -> int:
    """Clear every active pause; returns how many."""
    pauses = session.execute(select(SendingPause).where(SendingPause.cleared_at.is_(None))).scalars().all()
    for pause in pauses:
        pause.cleared_at, pause.cleared_by, pause.clear_reason = utcnow(), actor, reason
    if pauses:
        audit.record(session, Event.SENDING_RESUMED, actor, reason=reason, pauses=len(pauses))
    return len(pauses)
