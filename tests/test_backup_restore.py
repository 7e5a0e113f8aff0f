"""A PostgreSQL backup (pg_dump) restored into a fresh database is a working installation: the audit chain verifies
and every opt-out and block still stops messages. The commands are the ones docs/operations.md gives."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.cycle.run import run_cycle
from outreach.people.inbound import Inbound, receive
from outreach.store.db import Store, current_revision, head_revision
from outreach.store.models import AuditEvent, Message, OptOut, Person
from tests.conftest import _postgres_database, make_settings
from tests.messaging_world import config_file
from testworld.fixture_site import FixtureSite
from testworld.twilio_gateway import TwilioGateway

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


@contextmanager
def postgres_database() -> Iterator[str]:
    databases = _postgres_database()
    try:
        yield next(databases)
    finally:
        databases.close()


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it (without the +psycopg driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def opt_out_keys(store: Store) -> set[tuple[str, str]]:
    with store.session() as session:
        return {(row.person_key, row.kind) for row in session.execute(select(OptOut)).scalars()}


def test_a_restored_backup_verifies_and_keeps_every_opt_out(
    keys: dict[str, str],
    tmp_path: Path,
    fixture_site: FixtureSite,
    gateway: TwilioGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fixture_site.write_site_file(tmp_path / "sites")
    with postgres_database() as live_url, postgres_database() as fresh_url:
        settings = make_settings(live_url, keys, tmp_path, twilio=gateway.twilio_settings())
        config = config_file(settings, tmp_path)
        assert run(["db", "upgrade", "--config", config]) == 0
        report = run_cycle(settings, actor="alice")
        assert sum(report.sent.values()) > 3
        stopper, blocked, other = (message.to for message in gateway.messages[:3])
        vault = PhoneVault.from_settings(settings)
        with Store(live_url) as store:
            with store.session() as session:
                receive(session, vault, settings, Inbound("SM" + "c" * 32, stopper, "STOP", "STOP"))
            assert run(["block", blocked, "--reason", "asked by phone", "--config", config]) == 0
            stopped_before = opt_out_keys(store)
            assert len(stopped_before) == 2
            with store.session() as session:
                events_before = session.execute(select(func.count(AuditEvent.id))).scalar_one()
                person_of = {
                    number: session.execute(select(Person.id).where(Person.key == vault.key(number))).scalar_one()
                    for number in (stopper, blocked, other)
                }

        backup = tmp_path / "outreach.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={backup}", libpq_url(live_url)], check=True)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={libpq_url(fresh_url)}", str(backup)], check=True)

        restored = settings.model_copy(update={"database_url": fresh_url})
        (tmp_path / "restored").mkdir()
        restored_config = config_file(restored, tmp_path / "restored", supervisors=())  # adds no event
        capsys.readouterr()
        assert run(["audit", "verify", "--config", restored_config]) == 0
        assert f"audit chain intact: {events_before} events" in capsys.readouterr().out
        assert current_revision(fresh_url) == head_revision()
        with Store(fresh_url) as restored_store:
            assert opt_out_keys(restored_store) == stopped_before

            sent_before = len(gateway.messages)
            for number in (stopper, blocked):
                assert run(["reply", str(person_of[number]), "Hoi", "--config", restored_config]) == 1
                assert "opted out or is blocked" in capsys.readouterr().err
            assert len(gateway.messages) == sent_before
            # The same installation still messages someone who did not opt out: the refusals above are not an outage.
            assert run(["reply", str(person_of[other]), "Hoi", "--as", "alice", "--config", restored_config]) == 0
            assert [message.to for message in gateway.messages[sent_before:]] == [other]
            with restored_store.session() as session:
                to_stopped = session.execute(
                    select(func.count(Message.id)).where(
                        Message.person_id.in_([person_of[stopper], person_of[blocked]]), Message.direction == "out"
                    )
                ).scalar_one()
        assert to_stopped == 2  # only the first contacts sent before they stopped
