"""The append-only, hash-chained audit log. Every decision and action writes one event, in the same
transaction as the change it records."""

from __future__ import annotations

import functools
import getpass
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, Text, Update, bindparam, case, cast, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
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


# json.dumps(value, sort_keys=True, separators=(",", ":"), default=str) builds this very encoder on every call;
# built once, its output is the same and a walk of millions of events saves the building.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
_DECODE = json.JSONDecoder().decode


def event_hash(prev_hash: str, seq: int, created_at: datetime, actor: str, name: str, fields: dict[str, Any]) -> str:
    canonical = _CANONICAL([seq, created_at.isoformat(), actor, name, fields])
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def hash_of(event: AuditEvent, prev_hash: str | None = None) -> str:
    """What a stored event's hash must be: after its own prev_hash, or after `prev_hash`."""
    prev = event.prev_hash if prev_hash is None else prev_hash
    return event_hash(prev, event.seq, event.created_at, event.actor, event.name, event.fields)


def _canonical_tail(created_at: datetime, actor: str, name: str, fields: dict[str, Any]) -> str:
    """The canonical event after its sequence number: json.dumps([seq, created_at, actor, name, fields], sorted keys,
    no spaces) is "[" + seq + "," + this. Split so PostgreSQL can hash an event whose seq it chooses itself."""
    return json.dumps(
        [created_at.isoformat(), actor, name, fields], sort_keys=True, separators=(",", ":"), default=str
    )[1:]


# Core, not the ORM's bulk insert, which would read the parameters of the statements below as rows.
_TABLE = AuditEvent.metadata.tables[AuditEvent.__tablename__]
_SEQ_KEY = "uq_audit_events_seq"

# A transaction that appends waits for the one whose event it would follow, and tries again; more attempts than
# this means something else is wrong (a snapshot that never moves: REPEATABLE READ).
_APPEND_ATTEMPTS = 1000


def record(session: Session, name: Event, actor: str, **fields: Any) -> AuditEvent:
    """Append one event. Fields must hold no phone number or message text: ids, counts, codes, reasons.

    name: a member of the registry (outreach.audit_events), stored as its plain string. On PostgreSQL the returned
    event is not attached to the session (it was inserted by one statement)."""
    stored = str(name)
    created_at = utcnow().replace(microsecond=0)
    clean = json.loads(json.dumps(fields, default=str))
    if session.get_bind().dialect.name == "postgresql":
        return _append_postgres(session, created_at, actor, stored, clean)
    # SQLite: every write transaction holds the database's one write lock (BEGIN IMMEDIATE), so nobody else can
    # append between this read and the insert.
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
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


def _append_postgres(
    session: Session, created_at: datetime, actor: str, name: str, fields: dict[str, Any]
) -> AuditEvent:
    """One statement (_postgres_append): INSERT ... SELECT the next seq and the last hash, the event's hash computed
    by the server (sha256 over the same canonical text as event_hash), ON CONFLICT (seq) DO NOTHING.

    Two appenders that read the same last event both try its seq + 1; the unique seq makes the second wait for
    the first transaction and, once that committed, insert nothing: it tries again on a new snapshot, which shows
    the first one's event. So the chain never forks and has no gap, as under the advisory lock this replaces,
    with one round trip instead of three."""
    params = {
        "event_created_at": created_at,
        "event_actor": actor,
        "event_name": name,
        "event_fields": fields,
        "event_tail": _canonical_tail(created_at, actor, name, fields),
    }
    for _ in range(_APPEND_ATTEMPTS):
        row = session.execute(_postgres_append(), params).first()
        if row is not None:
            return AuditEvent(
                id=row.id,
                seq=row.seq,
                created_at=created_at,
                actor=actor,
                name=name,
                fields=fields,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
    raise RuntimeError(f"audit: no place in the chain after {_APPEND_ATTEMPTS} attempts")


@functools.cache
def _postgres_append() -> Any:
    """Built once: building the statement costs more than running it."""
    insert = _next_event(bindparam("event_tail", type_=String), bindparam("event_fields", type_=AuditEvent.fields.type))
    return insert.on_conflict_do_nothing(index_elements=["seq"]).returning(
        _TABLE.c.id, _TABLE.c.seq, _TABLE.c.prev_hash, _TABLE.c.hash
    )


def _next_event(tail: ColumnElement[str], fields: ColumnElement[Any]) -> Any:
    """INSERT INTO audit_events SELECT the event that follows the last one, hashed by the server."""
    latest = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1).subquery("latest")
    seq = (func.coalesce(select(latest.c.seq).scalar_subquery(), 0) + 1).label("seq")
    prev = func.coalesce(select(latest.c.hash).scalar_subquery(), GENESIS).label("prev_hash")
    following = select(seq, prev).subquery("following")
    canonical = following.c.prev_hash + "[" + cast(following.c.seq, String) + "," + tail
    digest = func.encode(func.sha256(func.convert_to(canonical, "UTF8")), "hex")
    return pg_insert(_TABLE).from_select(
        ["seq", "created_at", "actor", "name", "fields", "prev_hash", "hash"],
        select(
            following.c.seq,
            bindparam("event_created_at", type_=AuditEvent.created_at.type),
            bindparam("event_actor", type_=String),
            bindparam("event_name", type_=String),
            fields,
            following.c.prev_hash,
            digest,
        ),
    )


def record_change(
    connection: Connection,
    change: Update,
    params: dict[str, Any],
    name: Event,
    actor: str,
    fields: Callable[[bool], dict[str, Any]],
) -> bool:
    """PostgreSQL, on a connection in autocommit: apply `change` (an UPDATE ... RETURNING, of one row at most) and
    append its event in one statement, which commits by itself. fields(changed): the event's fields, which may
    say whether the change applied. Returns whether it did.

    This statement cannot insert nothing and try again as `record` does: its change would stay without an event.
    It inserts without ON CONFLICT, so when another appender took the seq first the whole statement fails, the
    change with it, and runs again on a new snapshot."""
    stored = str(name)
    created_at = utcnow().replace(microsecond=0)
    changed, unchanged = (json.loads(json.dumps(fields(applied), default=str)) for applied in (True, False))
    values = {
        **params,
        "event_created_at": created_at,
        "event_actor": actor,
        "event_name": stored,
        "event_fields_changed": changed,
        "event_fields_unchanged": unchanged,
        "event_tail_changed": _canonical_tail(created_at, actor, stored, changed),
        "event_tail_unchanged": _canonical_tail(created_at, actor, stored, unchanged),
    }
    statement = _postgres_change_append(change)
    for _ in range(_APPEND_ATTEMPTS):
        try:
            row = connection.execute(statement, values).one()
        except IntegrityError as exc:
            connection.rollback()
            if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != _SEQ_KEY:
                raise
            continue
        return bool(row.changed)
    raise RuntimeError(f"audit: no place in the chain after {_APPEND_ATTEMPTS} attempts")


@functools.lru_cache(maxsize=16)
def _postgres_change_append(change: Update) -> Any:
    """WITH changed AS (change) INSERT INTO audit_events SELECT ... RETURNING seq, whether `change` changed a row.
    Cached per change statement: the outbox's is one statement for every outbox (messaging/outbox/drain.py _SENT),
    so one entry, not one per cycle."""
    changed = change.cte("changed")
    applied = select(changed).exists()
    tail = case((applied, bindparam("event_tail_changed", type_=String)), else_=bindparam("event_tail_unchanged"))
    fields = case(
        (applied, bindparam("event_fields_changed", type_=AuditEvent.fields.type)),
        else_=bindparam("event_fields_unchanged", type_=AuditEvent.fields.type),
    )
    return _next_event(tail, fields).add_cte(changed).returning(_TABLE.c.seq, applied.label("changed"))


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class Walk:
    """What one walk of the chain (or of its tail) found: its problems, how many events it read, and the last
    event it read (seq 0 and GENESIS when none)."""

    problems: list[ChainProblem]
    events: int
    last_seq: int
    last_hash: str


def verify(session: Session, batch: int = 5000) -> list[ChainProblem]:
    """Walk the whole chain from its first event; report every event whose hash or link does not match."""
    return walk(session, batch=batch).problems


def walk(session: Session, *, after: tuple[int, str] | None = None, batch: int = 5000) -> Walk:
    """Walk the chain from its first event, or only the events after `after` (a seq and the hash that event must
    have: a checkpoint), and report every event whose hash or link does not match.

    Plain rows in batches of `batch` (a server-side cursor on PostgreSQL), not ORM objects all at once: a national
    installation's year holds millions of events, which must walk in constant memory (bench/national.py). The
    fields are read as their stored JSON text and decoded here, by the decoder the JSON column itself uses
    (json.loads), into the same values: SQLAlchemy's and psycopg's per-row handling cost a third of the walk."""
    problems: list[ChainProblem] = []
    last_seq, prev = after or (0, GENESIS)
    expected_seq, events = last_seq + 1, 0
    statement = select(
        AuditEvent.seq,
        AuditEvent.created_at,
        AuditEvent.actor,
        AuditEvent.name,
        cast(AuditEvent.fields, Text),
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    if after is not None:
        statement = statement.where(AuditEvent.seq > after[0])
    # The option on the statement: on the connection it would stay, and the session's next UPDATE ran on a cursor.
    result = session.connection().execute(statement.order_by(AuditEvent.seq).execution_options(stream_results=True))
    for rows in result.partitions(batch):
        for seq, created_at, actor, name, fields, prev_hash, stored_hash in rows:
            if seq != expected_seq:
                problems.append(ChainProblem(seq, f"expected event {expected_seq}: missing or reordered"))
            if prev_hash != prev:
                problems.append(ChainProblem(seq, "link to the previous event is broken"))
            if event_hash(prev_hash, seq, created_at, actor, name, _DECODE(fields)) != stored_hash:
                problems.append(ChainProblem(seq, "content was edited"))
            prev, expected_seq, last_seq = stored_hash, seq + 1, seq
            events += 1
    return Walk(problems, events, last_seq, prev)
