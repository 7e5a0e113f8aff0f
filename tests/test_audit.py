"""The audit chain verifies, and says which event was edited, removed or reordered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, update

from outreach import audit
from outreach.audit_events import Event
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent
from tests.conftest import World

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


@contextmanager
def _store_with_events(database_url: str, count: int = 5) -> Iterator[Store]:
    upgrade(database_url)
    with Store(database_url) as store:
        for index in range(count):
            with store.session() as session:
                audit.record(session, Event.SENDING_RESUMED, "alice", index=index)  # any registered name
        yield store


def test_an_untouched_chain_verifies(database_url: str) -> None:
    with _store_with_events(database_url) as store, store.session() as session:
        assert audit.verify(session) == []


def test_an_edited_event_is_found(database_url: str) -> None:
    with _store_with_events(database_url) as store:
        with store.session() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
        with store.session() as session:
            assert [(p.seq, p.problem) for p in audit.verify(session)] == [(3, "content was edited")]


@pytest.mark.parametrize(
    "edit",
    [
        {"actor": "mallory"},
        {"fields": {"index": 99}},  # the hash must cover what the event says, not only who did it
        {"name": "sending.paused"},
        {"created_at": datetime(2020, 1, 1, tzinfo=UTC)},
    ],
    ids=["actor", "fields", "name", "time"],
)
def test_each_part_of_an_event_edited_alone_is_found(database_url: str, edit: dict[str, object]) -> None:
    with _store_with_events(database_url) as store:
        with store.session() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(**edit))
        with store.session() as session:
            assert [(p.seq, p.problem) for p in audit.verify(session)] == [(3, "content was edited")]


def test_a_deleted_event_is_found(database_url: str) -> None:
    with _store_with_events(database_url) as store:
        with store.session() as session:
            session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        with store.session() as session:
            problems = audit.verify(session)
    assert {p.seq for p in problems} == {3}


def test_the_cli_says_the_chain_is_intact_and_names_an_edited_event(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from outreach.cli import run

    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump({"database_url": world.database_url, **world.keys}), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    with _store_with_events(world.database_url) as store:
        assert run(["audit", "verify", "--config", str(config)]) == 0
        assert "audit chain intact: 5 events" in capsys.readouterr().out
        with store.session() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(name="forged"))
        assert run(["audit", "verify", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert "content was edited" in captured.out
    assert captured.err.strip() == "error: audit chain broken at 1 place(s); first at event 4"


def test_a_long_chain_verifies(database_url: str) -> None:
    """Found by `make mutate`: a check of sequence numbers by identity (`is not`) holds for Python's cached small
    integers only; past 256 events every event would read as missing."""
    with _store_with_events(database_url, count=300) as store, store.session() as session:
        assert audit.verify(session) == []
