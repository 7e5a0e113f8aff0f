"""One way to put an outbound message in the outbox: the row and its audit event, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.store.models import Message
from outreach.store.states import Direction, MessageStatus


def queue_message(
    session: Session,
    *,
    actor: str,
    now: datetime,
    event: Event = Event.MESSAGE_QUEUED,
    audit_fields: dict[str, Any] | None = None,
    **columns: Any,
) -> int:
    """Add an outbound message (status `queued` unless given) and its audit event; returns the message id."""
    message = Message(
        **{"direction": Direction.OUT, "status": MessageStatus.QUEUED, "created_at": now, "updated_at": now, **columns}
    )
    session.add(message)
    session.flush()
    fields = {"person_id": message.person_id, "kind": message.kind, **(audit_fields or {})}
    audit.record(session, event, actor, message_id=message.id, **fields)
    return message.id


def latest_organisation(session: Session, person_id: int) -> str | None:
    """Several organisations: the one that wrote to this person last; replies, opt-out confirmations and resends
    go from it, and a person's answer is routed to it."""
    return session.execute(
        select(Message.organisation)
        .where(Message.person_id == person_id, Message.direction == Direction.OUT)
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()
