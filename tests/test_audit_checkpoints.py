"""Checkpoints of the audit chain (issue 21, item 3): a full verification records how far it found the chain intact,
and the /audit page verifies only the events after it. The page finds an edit after the checkpoint; for an edit
before it, it says what it verified and claims nothing more, and the next full verification finds it; a checkpoint
that no longer matches the chain is reported, not trusted."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from outreach import audit, audit_checkpoints
from outreach.access.users import add_user
from outreach.audit_events import Event
from outreach.store.db import Store
from outreach.store.models import AuditCheckpoint, AuditEvent, Heartbeat
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import client_for, log_in
from tests.messaging_world import messaging_settings

# About what the database stores and returns (JSON, times, server-side cursors): on PostgreSQL in the fast run too.
pytestmark = pytest.mark.postgres

PASSWORD = "checkpoint-test-password-1"


@dataclass
class Chain:
    store: Store
    client: TestClient
    config: str
    store_url: str

    def page(self) -> str:
        answer = self.client.get("/audit")
        assert answer.status_code == 200
        return html.unescape(answer.text)  # the problems name "the checkpoint's event"

    def append(self, count: int) -> None:
        for index in range(count):
            with self.store.session() as session:
                audit.record(session, Event.SENDING_RESUMED, "alice", index=index)

    def edit(self, seq: int, **values: object) -> None:
        with self.store.session() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(**values))

    def full_verify(self) -> audit_checkpoints.Checkpoint:
        recorded = audit_checkpoints.verify_in_full(self.store, "carol")[1]
        assert recorded is not None
        return recorded

    def head(self) -> int:
        with self.store.session() as session:
            return session.execute(select(func.max(AuditEvent.seq))).scalar_one()


@pytest.fixture
def chain(world: World, tmp_path: Path) -> Iterator[Chain]:
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    with store.session() as session:
        add_user(session, "bob", "supervisor", PASSWORD, actor="test")
    config = tmp_path / "checkpoints.yaml"
    config.write_text(yaml.safe_dump({"database_url": world.database_url, **world.keys}), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    with client_for(create_app(settings)) as client:
        assert log_in(client, "bob", PASSWORD).status_code == 303
        made = Chain(store, client, str(config), world.database_url)
        made.append(6)
        yield made


def test_without_a_checkpoint_the_page_verifies_the_whole_chain_and_says_none_was_recorded(chain: Chain) -> None:
    page = chain.page()
    assert "No full verification of the chain has been recorded" in page
    assert f"The chain verifies: {chain.head()} events" in page


def test_the_page_walks_only_the_events_after_the_checkpoint(chain: Chain) -> None:
    checkpoint = chain.full_verify()
    chain.append(3)
    with chain.store.session() as session:
        found = audit_checkpoints.status(session, max_age_days=2)
    assert found.anchor is not None and found.anchor.seq == checkpoint.seq
    # The three new ones and the audit.verified event that recorded the checkpoint: nothing before it.
    assert found.tail.events == chain.head() - checkpoint.seq == 4
    assert found.problems == [] and not found.stale
    page = chain.page()
    assert "verified in full on" in page and f"up to event {checkpoint.seq}." in page
    assert "Events since then verified now: 4 events, none edited, none missing." in page
    assert "found by the next full verification, not by this page" in page


def test_an_edit_after_the_checkpoint_is_reported_by_the_page(chain: Chain, capsys: pytest.CaptureFixture[str]) -> None:
    from outreach.cli import run

    checkpoint = chain.full_verify()
    chain.append(3)
    edited = checkpoint.seq + 2
    chain.edit(edited, actor="mallory")
    page = chain.page()
    assert "Events since then verified now: 1 problem." in page
    assert f"event {edited}: content was edited" in page
    assert "The chain verifies" not in page
    capsys.readouterr()
    assert run(["audit", "verify", "--since-checkpoint", "--config", chain.config]) == 1
    assert f"first at event {edited}" in capsys.readouterr().err


def test_an_edit_before_the_checkpoint_is_not_claimed_fine_and_the_next_full_verification_finds_it(
    chain: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    from outreach.cli import run

    checkpoint = chain.full_verify()
    chain.edit(2, fields={"index": 99})
    page = chain.page()
    # It says what it verified, and that this does not cover an edit before the checkpoint.
    assert f"up to event {checkpoint.seq}." in page and "not by this page" in page
    assert "The chain verifies" not in page
    assert run(["audit", "verify", "--since-checkpoint", "--config", chain.config]) == 0  # the tail only: as the page
    assert run(["audit", "verify", "--config", chain.config]) == 1  # the whole chain, whatever the checkpoint said
    assert "content was edited" in capsys.readouterr().out
    page = chain.page()
    assert "found 1 problem, at event 2" in page
    with chain.store.session() as session:
        newest = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one()
    assert (newest.problems, newest.first_problem) == (1, 2)


def test_a_chain_rewritten_after_its_checkpoint_is_reported_by_the_page(chain: Chain) -> None:
    """Someone edits event 3 and hashes every later event again, so the chain is consistent in itself: a full
    verification (which trusts no checkpoint) finds nothing, but the checkpoint remembers the old hash."""
    checkpoint = chain.full_verify()
    chain.append(2)
    with chain.store.session() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.seq >= 3).order_by(AuditEvent.seq)).scalars()
        prev = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == 2)).scalar_one()
        for event in rows:
            if event.seq == 3:
                event.actor = "mallory"
            event.prev_hash = prev
            event.hash = prev = audit.hash_of(event, prev)
    with chain.store.session() as session:
        assert audit.verify(session) == []
        found = audit_checkpoints.status(session, max_age_days=2)
    assert [(p.seq, p.problem) for p in found.problems] == [
        (checkpoint.seq, "the checkpoint's event has another hash than verified"),
        (checkpoint.seq + 1, "link to the previous event is broken"),
    ]
    assert "The checkpoint no longer matches the chain" in chain.page()


@pytest.mark.parametrize("rehashed", [True, False], ids=["hash-recomputed", "hash-kept"])
def test_the_checkpoint_event_itself_edited_is_reported_by_the_page(chain: Chain, rehashed: bool) -> None:
    """The walk after the checkpoint starts from the hash recorded with it, so an edit of the checkpoint's own
    event (its hash recomputed or not) would go unseen there: the page checks that event itself."""
    checkpoint = chain.full_verify()
    chain.append(2)
    with chain.store.session() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.seq == checkpoint.seq)).scalar_one()
        event.actor = "mallory"
        if rehashed:
            event.hash = audit.hash_of(event)
    with chain.store.session() as session:
        found = audit_checkpoints.status(session, max_age_days=2)
    assert found.tail.problems == []
    expected = "the checkpoint's event has another hash than verified" if rehashed else "content was edited"
    assert [(p.seq, p.problem) for p in found.anchor_problems] == [(checkpoint.seq, expected)]
    page = chain.page()
    assert "The checkpoint no longer matches the chain" in page and f"event {checkpoint.seq}: {expected}" in page


def test_a_checkpoint_row_moved_forward_does_not_match_the_event_that_recorded_it(chain: Chain) -> None:
    chain.full_verify()
    chain.append(2)
    with chain.store.session() as session:
        head = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        session.execute(update(AuditCheckpoint).values(seq=head.seq, hash=head.hash))
    page = chain.page()
    assert "The checkpoint no longer matches the chain" in page
    assert "the checkpoint does not match the event that recorded it" in page


def test_the_page_warns_when_the_last_full_verification_is_old(chain: Chain) -> None:
    chain.full_verify()
    assert "No full verification in the last" not in chain.page()
    with chain.store.session() as session:
        row = session.execute(select(AuditCheckpoint)).scalar_one()
        row.verified_at -= timedelta(days=3)
    assert "No full verification in the last 2 days" in chain.page()


def test_the_scheduler_job_verifies_in_full_and_records_a_checkpoint(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    from outreach.cycle.scheduler import scheduled_audit_verify

    scheduled_audit_verify(chain.config)
    assert not [r for r in caplog.records if "audit.broken" in r.getMessage()]  # an intact chain: nobody is told
    chain.edit(4, name="forged")
    caplog.set_level(logging.WARNING, logger="outreach.support.notify")
    scheduled_audit_verify(chain.config)
    told = [r.getMessage() for r in caplog.records if "notification audit.broken" in r.getMessage()]
    assert len(told) == 1 and '"first": 4' in told[0] and '"problems": 1' in told[0] and "/audit" in told[0]
    with chain.store.session() as session:
        row = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one()
        beat = session.get(Heartbeat, "audit-verify")
        recorded = session.execute(select(AuditEvent).where(AuditEvent.seq == row.event_seq)).scalar_one()
    assert (row.actor, row.problems, row.first_problem) == ("scheduler", 1, 4)
    assert beat is not None and beat.state["problems"] == 1
    assert (recorded.name, recorded.actor, recorded.fields["seq"], recorded.fields["problems"]) == (
        "audit.verified",
        "scheduler",
        row.seq,
        1,
    )


def test_a_database_whose_schema_predates_checkpoints_is_verified_without_recording_one(
    chain: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    """A restored backup is verified before `db upgrade` (docs/operations.md, backups)."""
    from outreach.cli import run
    from outreach.store.db import downgrade, upgrade

    before = chain.head()
    chain.store.close()
    downgrade(chain.store_url, "0011_advert_url_encrypted")
    capsys.readouterr()
    assert run(["audit", "verify", "--config", chain.config]) == 0
    assert f"audit chain intact: {before} events; no checkpoint recorded" in capsys.readouterr().out
    assert chain.head() == before  # no audit.verified event either
    upgrade(chain.store_url)
