"""One way to put an outbound message in the outbox: the row and its audit event, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach import audit
from outreach.store.models import Message


def queue_message(
    session: Session,
    *,
    actor: str,
    now: datetime,
    event: str = "message.queued",
    audit_fields: dict[str, Any] | None = None,
    **columns: Any,
) -> int:
    """Add an outbound message (status `queued` unless given) and its audit event; returns the message id."""
    message = Message(**{"direction": "out", "status": "queued", "created_at": now, "updated_at": now, **columns})
    session.add(message)
    session.flush()
    fields = {"person_id": message.person_id, "kind": message.kind, **(audit_fields or {})}
    audit.record(session, event, actor, message_id=message.id, **fields)
    return message.id
