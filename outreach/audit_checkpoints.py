"""Checkpoints of the audit chain: a full verification records up to which event it found the chain intact, and the
dashboard's /audit page then verifies only the events after the newest intact checkpoint, in bounded time.

What the page can and cannot see: an event edited after the checkpoint is found at once; an event edited before it
is found only by the next full verification (`outreach audit verify`, the scheduler's daily job), which walks the
whole chain from its first event and never reads this table. So that the checkpoint cannot hide an edit, the page
checks that the checkpoint's event still has the hash recorded with it (its content too), and that the checkpoint
matches the audit.verified event that recorded it in the chain.

Recording a checkpoint is a write, so it is audited: each one appends an audit.verified event (who, up to which
event, with how many problems). The event lies after its own checkpoint, so the page's walk covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.store.db import Store
from outreach.store.models import AuditCheckpoint, AuditEvent
from outreach.store.types import utcnow


@dataclass(frozen=True)
class Checkpoint:
    """A full verification's result, as the page shows it."""

    seq: int
    hash: str
    verified_at: datetime
    actor: str
    events: int
    problems: int
    first_problem: int | None


@dataclass(frozen=True)
class ChainStatus:
    """What the /audit page verified just now, and what it rests on.

    full: the newest full verification (None: none recorded). anchor: the newest intact one, after which `tail`
    was walked (None: the tail is the whole chain). anchor_problems: the anchor no longer matches the chain."""

    full: Checkpoint | None
    anchor: Checkpoint | None
    anchor_problems: list[audit.ChainProblem]
    tail: audit.Walk
    stale: bool

    @property
    def problems(self) -> list[audit.ChainProblem]:
        return [*self.anchor_problems, *self.tail.problems]


def record_checkpoint(session: Session, found: audit.Walk, actor: str) -> Checkpoint:
    """Record a full verification's result: a checkpoint row and its audit.verified event, in one transaction.
    `found` must be a walk of the whole chain (audit.walk without `after`)."""
    first = found.problems[0].seq if found.problems else None
    event = audit.record(
        session,
        Event.AUDIT_VERIFIED,
        actor,
        seq=found.last_seq,
        hash=found.last_hash,
        events=found.events,
        problems=len(found.problems),
        first_problem=first,
    )
    row = AuditCheckpoint(
        seq=found.last_seq,
        hash=found.last_hash,
        verified_at=event.created_at,
        actor=actor,
        events=found.events,
        problems=len(found.problems),
        first_problem=first,
        event_seq=event.seq,
    )
    session.add(row)
    session.flush()
    return _checkpoint(row)


def status(session: Session, max_age_days: int, now: datetime | None = None) -> ChainStatus:
    """Verify the chain after the newest intact checkpoint (the whole chain when there is none)."""
    newest = select(AuditCheckpoint).order_by(AuditCheckpoint.verified_at.desc(), AuditCheckpoint.id.desc()).limit(1)
    full = session.execute(newest).scalar_one_or_none()
    anchor = full if full is None or full.problems == 0 else None
    if anchor is None and full is not None:
        anchor = session.execute(newest.where(AuditCheckpoint.problems == 0)).scalar_one_or_none()
    anchor_problems = _check_anchor(session, anchor) if anchor is not None else []
    tail = audit.walk(session, after=(anchor.seq, anchor.hash) if anchor is not None else None)
    moment = now or utcnow()
    stale = full is None or (moment - full.verified_at).total_seconds() > max_age_days * 86400
    return ChainStatus(
        full=_checkpoint(full) if full else None,
        anchor=_checkpoint(anchor) if anchor else None,
        anchor_problems=anchor_problems,
        tail=tail,
        stale=stale,
    )


def _check_anchor(session: Session, anchor: AuditCheckpoint) -> list[audit.ChainProblem]:
    """The checkpoint still describes the chain: its event has the hash recorded then, that hash still follows from
    the event's content, and the audit.verified event that recorded the checkpoint says the same."""
    problems: list[audit.ChainProblem] = []
    if anchor.seq > 0:
        event = session.execute(select(AuditEvent).where(AuditEvent.seq == anchor.seq)).scalar_one_or_none()
        if event is None:
            problems.append(audit.ChainProblem(anchor.seq, "the checkpoint's event is missing"))
        elif event.hash != anchor.hash:
            problems.append(audit.ChainProblem(anchor.seq, "the checkpoint's event has another hash than verified"))
        elif audit.hash_of(event) != event.hash:
            problems.append(audit.ChainProblem(anchor.seq, "content was edited"))
    recorded = (
        session.execute(select(AuditEvent).where(AuditEvent.seq == anchor.event_seq)).scalar_one_or_none()
        if anchor.event_seq is not None
        else None
    )
    if (
        recorded is None
        or recorded.name != Event.AUDIT_VERIFIED
        or (recorded.fields.get("seq"), recorded.fields.get("hash")) != (anchor.seq, anchor.hash)
    ):
        problems.append(audit.ChainProblem(anchor.seq, "the checkpoint does not match the event that recorded it"))
    return problems


def _checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(
        seq=row.seq,
        hash=row.hash,
        verified_at=row.verified_at,
        actor=row.actor,
        events=row.events,
        problems=row.problems,
        first_problem=row.first_problem,
    )


def verify_in_full(store: Store, actor: str, *, record: bool = True) -> tuple[audit.Walk, Checkpoint | None]:
    """Walk the whole chain (ignoring every checkpoint), then record the result as a new checkpoint (unless not
    `record`: a restored backup whose schema predates checkpoints is verified before it is upgraded)."""
    with store.session() as session:
        found = audit.walk(session)
    if not record:
        return found, None
    with store.session() as session:
        return found, record_checkpoint(session, found, actor)
