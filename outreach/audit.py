"""The append-only, hash-chained audit log. Every decision and action writes one event, in the same
transaction as the change it records."""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from outreach.audit_events import Event
from outreach.store.models import AuditEvent
from outreach.store.types import utcnow

GENESIS = "0" * 64


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def event_hash(prev_hash: str, seq: int, created_at: datetime, actor: str, name: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(
        [seq, created_at.isoformat(), actor, name, fields], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def record(session: Session, name: Event, actor: str, **fields: Any) -> AuditEvent:
    """Append one event. Fields must hold no phone number or message text: ids, counts, codes, reasons.

    name: a member of the registry (outreach.audit_events), stored as its plain string."""
    stored = str(name)
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so two transactions never chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7061727)"))
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    created_at = utcnow().replace(microsecond=0)
    clean = json.loads(json.dumps(fields, default=str))
    event = AuditEvent(
        seq=seq,
        created_at=created_at,
        actor=actor,
        name=stored,
        fields=clean,
        prev_hash=prev,
        hash=event_hash(prev, seq, created_at, actor, stored, clean),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def verify(session: Session, batch: int = 5000) -> list[ChainProblem]:
    """Walk the chain; report every event whose hash or link does not match.

    Plain rows in batches of `batch` (a server-side cursor on PostgreSQL), not ORM objects all at once: a national
    installation's year holds millions of events, which must walk in constant memory (bench/national.py)."""
    problems: list[ChainProblem] = []
    prev, expected_seq = GENESIS, 1
    rows = session.execute(
        select(
            AuditEvent.seq,
            AuditEvent.created_at,
            AuditEvent.actor,
            AuditEvent.name,
            AuditEvent.fields,
            AuditEvent.prev_hash,
            AuditEvent.hash,
        )
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    for seq, created_at, actor, name, fields, prev_hash, stored_hash in rows:
        if seq != expected_seq:
            problems.append(ChainProblem(seq, f"expected event {expected_seq}: missing or reordered"))
        if prev_hash != prev:
            problems.append(ChainProblem(seq, "link to the previous event is broken"))
        if event_hash(prev_hash, seq, created_at, actor, name, fields) != stored_hash:
            problems.append(ChainProblem(seq, "content was edited"))
        prev, expected_seq = stored_hash, seq + 1
    return problems
