"""Opt-out (the person asked) and block (a fieldworker decided): different states changed through one function
each way, which also cancels everything still waiting to be sent and writes the audit event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.store.db import rows_changed
from outreach.store.models import Message, OptOut, Person
from outreach.store.states import PENDING, Direction, MessageKind, MessageStatus, StopKind
from outreach.store.types import utcnow
from outreach.store.upsert import insert_ignore


def is_stopped(session: Session, person_key: str) -> bool:
    return bool(session.execute(select(exists().where(OptOut.person_key == person_key))).scalar())


def stopped_kinds(session: Session, person_key: str) -> set[str]:
    """{"opt_out"}, {"block"}, both, or nothing."""
    return set(session.execute(select(OptOut.kind).where(OptOut.person_key == person_key)).scalars())


def has_stop(person_key: ColumnElement[str], kind: StopKind) -> ColumnElement[bool]:
    """In SQL: the person (by key, usually a column) has a stop of this kind; for a check inside a larger statement
    (the outbox's claim reads it in the statement that claims the message)."""
    return exists().where(OptOut.person_key == person_key, OptOut.kind == kind)


def stop(
    session: Session,
    person_key: str,
    *,
    kind: StopKind,
    source: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    organisation: str | None = None,
) -> int:
    """Record an opt-out or block (idempotent) and cancel the person's waiting messages; returns how many.

    organisation: the one that recorded it (several organisations), which alone sees and lifts it; None: the
    umbrella's (outreach.access.roles)."""
    kind = StopKind(kind)  # a plain string from outside mypy's view (tests, scripts) is checked here
    now = now or utcnow()
    insert_ignore(
        session,
        OptOut,
        {
            "person_key": person_key,
            "kind": kind,
            "source": source,
            "actor": actor,
            "reason": reason,
            "created_at": now,
            "organisation": organisation,
        },
        ["person_key", "kind"],
    )
    person_ids = select(Person.id).where(Person.key == person_key).scalar_subquery()
    waiting = [Message.person_id.in_(person_ids), Message.status.in_(PENDING), Message.direction == Direction.OUT]
    if kind is StopKind.OPT_OUT:
        # The confirmation of an opt-out is the one message it lets through: a second STOP before it went out
        # must not cancel it, or the person would have no answer at all.
        waiting.append(Message.kind != MessageKind.OPT_OUT_CONFIRMATION)
    cancelled = rows_changed(
        session,
        update(Message)
        .where(*waiting)
        .values(status=MessageStatus.CANCELLED, error_message=f"{kind}: {source}", updated_at=now),
    )
    where = {"organisation": organisation} if organisation else {}
    audit.record(session, Event.stopped(kind), actor, person_key=person_key[:12], source=source, reason=reason, **where)
    return cancelled


def unstop(session: Session, person_key: str, *, kind: StopKind, actor: str, reason: str) -> bool:
    """Undo an opt-out or block; only with a reason, which the audit log keeps."""
    if not reason.strip():
        raise ValueError("a reason is required")
    kind = StopKind(kind)
    removed = rows_changed(session, delete(OptOut).where(OptOut.person_key == person_key, OptOut.kind == kind))
    if removed:
        audit.record(session, Event.unstopped(kind), actor, person_key=person_key[:12], reason=reason)
    return bool(removed)
