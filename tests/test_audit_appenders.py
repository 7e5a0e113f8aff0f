"""Appenders at once: the chain neither forks nor leaves a gap. On PostgreSQL each event is one INSERT ... SELECT
whose hash the server computes, and appenders that read the same last event queue on its unique seq; on SQLite
every writer holds the database's write lock."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update

from outreach import audit
from outreach.audit_events import Event
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent, Message

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres

THREADS = 4
TRANSACTIONS = 25


class _RolledBack(Exception):
    pass


def _sent_fields(message_id: int, moved: bool) -> dict[str, object]:
    return {"message_id": message_id, "late": not moved}


def test_appenders_at_once_leave_one_unbroken_chain_without_gaps(database_url: str) -> None:
    upgrade(database_url)
    errors: list[BaseException] = []
    with Store(database_url) as store:

        def append(worker: int) -> None:
            try:
                for index in range(TRANSACTIONS):
                    try:
                        with store.session() as session:
                            audit.record(session, Event.SENDING_PAUSED, f"worker-{worker}", index=index)
                            audit.record(session, Event.SENDING_RESUMED, f"worker-{worker}", text="é ☃ \"'")
                            if index % 5 == 0:  # a transaction that appended and then failed
                                raise _RolledBack
                    except _RolledBack:
                        pass
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        workers = [threading.Thread(target=append, args=(n,)) for n in range(THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert errors == []
        kept = THREADS * (TRANSACTIONS - TRANSACTIONS // 5) * 2
        with store.session() as session:
            assert audit.verify(session) == []
            seqs = session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()
        assert seqs == list(range(1, kept + 1))


def test_the_server_computed_hash_is_the_one_verify_recomputes(database_url: str) -> None:
    """Each part of the canonical text is hashed as Python's event_hash has it, first event included."""
    upgrade(database_url)
    with Store(database_url) as store:
        with store.session() as session:
            first = audit.record(session, Event.SENDING_PAUSED, "alice", reason="x" * 300, count=3, none=None)
            second = audit.record(session, Event.SENDING_RESUMED, "bob", nested={"b": [1, 2], "a": {"z": 1.5}})
        with store.session() as session:
            stored = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        assert [(event.seq, event.hash) for event in stored] == [(1, first.hash), (2, second.hash)]
        assert stored[0].prev_hash == audit.GENESIS and stored[1].prev_hash == first.hash
        for event in stored:
            assert event.created_at <= datetime.now(UTC)
            assert event.hash == audit.event_hash(
                event.prev_hash, event.seq, event.created_at, event.actor, event.name, event.fields
            )


def test_changes_recorded_with_their_event_in_one_statement_keep_the_chain_whole(database_url: str) -> None:
    """PostgreSQL: the outbox records a send and its event in one statement (audit.record_change). When another
    appender took the seq first, the statement fails whole and runs again: every change has exactly one event."""
    if not database_url.startswith("postgresql"):
        pytest.skip("record_change is PostgreSQL's")
    upgrade(database_url)
    per_worker = 30
    with Store(database_url) as store:
        with store.session() as session:
            ids = [
                session.execute(insert(Message).values(body="-", status="sending").returning(Message.id)).scalar_one()
                for _ in range(THREADS * per_worker)
            ]
        change = (
            update(Message)
            .where(Message.id == bindparam("changed_id"), Message.status == "sending")
            .values(status="sent")
            .returning(Message.id)
        )
        errors: list[BaseException] = []
        applied: list[bool] = []

        def send(worker: int) -> None:
            try:
                with store.engine.connect() as connection:
                    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                    for message_id in ids[worker::THREADS]:
                        fields = functools.partial(_sent_fields, message_id)
                        params = {"changed_id": message_id}
                        actor = f"sender-{worker}"
                        applied.append(
                            audit.record_change(connection, change, params, Event.MESSAGE_SENT, actor, fields)
                        )
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        def other(worker: int) -> None:
            try:
                for index in range(per_worker):
                    with store.session() as session:
                        audit.record(session, Event.SENDING_PAUSED, f"other-{worker}", index=index)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=send, args=(n,)) for n in range(THREADS)]
        workers += [threading.Thread(target=other, args=(n,)) for n in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert errors == []
        assert applied == [True] * len(ids)
        with store.session() as session:
            assert audit.verify(session) == []
            sent = session.execute(select(AuditEvent.fields).where(AuditEvent.name == "message.sent")).scalars().all()
            assert sorted(fields["message_id"] for fields in sent) == ids
            assert not any(fields["late"] for fields in sent)
            assert set(session.execute(select(Message.status)).scalars()) == {"sent"}
        # Again, now that nothing is `sending`: the event says the change did not apply.
        with store.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            fields = functools.partial(_sent_fields, ids[0])
            assert not audit.record_change(connection, change, {"changed_id": ids[0]}, Event.MESSAGE_SENT, "x", fields)
        with store.session() as session:
            last = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
            assert last.fields == {"message_id": ids[0], "late": True}
            assert audit.verify(session) == []
