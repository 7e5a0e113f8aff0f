"""Each organisation on its own schedule: a cycle for one organisation crawls as every cycle does, but queues and
sends only that organisation's messages, within its own send window; the scheduler runs one job per organisation;
a wrong organisation key or crontab is one line and exit code 2."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select, text

from outreach.cli import run
from outreach.cycle.scheduler import cycle_jobs
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.db import Store, upgrade
from outreach.store.models import AdvertReason, AuditEvent, Message
from outreach.targeting.contact_pass import select_and_queue
from tests.conftest import World, make_settings
from tests.messaging_world import config_file, messaging_settings, scheduler_child
from tests.test_contact_rhythm import Rhythm
from tests.test_organisations import ROTTERDAM, THE_HAGUE
from testworld.twilio_gateway import TwilioGateway


def _settings(world: World, **overrides: Any) -> Settings:
    return _settings_on(world.database_url, world.keys, world.folder, world.gateway, **overrides)


def _settings_on(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway, **overrides: Any
) -> Settings:
    return make_settings(
        database_url,
        keys,
        tmp_path,
        twilio=gateway.twilio_settings(),
        language={"detector": "langdetect"},  # lingua's load per cycle is not what these tests are about
        **overrides,
    )


def _closed_window() -> dict[str, str]:
    """A one-hour send window that starts two hours from now (local time): closed for this test's run."""
    now = datetime.now(ZoneInfo("Europe/Amsterdam"))
    start, end = now + timedelta(hours=2), now + timedelta(hours=3)
    return {"window_start": f"{start.hour:02d}:00", "window_end": f"{end.hour:02d}:00"}


def _messages(store: Store) -> list[tuple[str | None, str]]:
    with store.session() as session:
        rows = session.execute(
            select(Message.organisation, Message.status).where(Message.direction == "out").order_by(Message.id)
        ).all()
    return [(organisation, status) for organisation, status in rows]


def test_a_cycle_for_one_organisation_sends_only_its_messages_and_leaves_the_others_queued(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.site.write_site_file(tmp_path / "sites")
    upgrade(world.database_url)
    hague_closed = {**THE_HAGUE, **_closed_window()}
    settings = _settings(world, organisations=[ROTTERDAM, hague_closed])
    config = config_file(settings, tmp_path)
    store = world.store()
    # The Hague's cycle, outside its own window: its messages are queued, nothing is sent, Rotterdam's
    # adverts wait for Rotterdam's cycle.
    assert run(["cycle", "--organisation", "den-haag", "--config", config]) == 0
    assert world.gateway.messages == []
    after_hague = _messages(store)
    assert after_hague and {m for m in after_hague} == {("den-haag", "queued")}
    with store.session() as session:
        reasons = session.execute(select(AdvertReason.reason, AdvertReason.detail)).all()
    assert ("other_organisation", "rotterdam") in reasons and ("outside_window", None) in reasons

    # Rotterdam's cycle sends Rotterdam's messages only; The Hague's (older, so first in line) stay queued.
    assert run(["cycle", "--organisation", "rotterdam", "--config", config]) == 0
    senders = {message.from_ for message in world.gateway.messages}
    assert senders == {ROTTERDAM["from_number"]}
    after_rotterdam = _messages(store)
    assert after_rotterdam[: len(after_hague)] == after_hague
    rotterdam = after_rotterdam[len(after_hague) :]
    assert rotterdam and {organisation for organisation, _ in rotterdam} == {"rotterdam"}
    assert {status for _, status in rotterdam} <= {"sent", "delivered"}

    # The Hague's window opens (its own window removed from the configuration): its cycle sends what waited.
    settings = _settings(world, organisations=[ROTTERDAM, THE_HAGUE])
    config = config_file(settings, tmp_path)
    sent_before = len(world.gateway.messages)
    assert run(["cycle", "--organisation", "den-haag", "--config", config]) == 0
    new = world.gateway.messages[sent_before:]
    assert len(new) == len(after_hague) and {m.from_ for m in new} == {THE_HAGUE["from_number"]}
    assert all(status in ("sent", "delivered") for _, status in _messages(store))
    # Each person once, across both organisations' cycles.
    assert len({m.to for m in world.gateway.messages}) == len(world.gateway.messages)
    with store.session() as session:
        started = session.execute(
            select(AuditEvent.fields).where(AuditEvent.name == "cycle.started").order_by(AuditEvent.seq)
        ).scalars()
        assert [fields["organisation"] for fields in started] == ["den-haag", "rotterdam", "den-haag"]


def test_an_unknown_organisation_or_a_bad_crontab_is_one_line_and_exit_2(
    keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    settings = _settings_on(url, keys, tmp_path, gateway, organisations=[ROTTERDAM, THE_HAGUE])
    config = config_file(settings, tmp_path)
    capsys.readouterr()
    assert run(["cycle", "--organisation", "utrecht", "--config", config]) == 2
    err = capsys.readouterr().err
    assert err == "error: unknown organisation 'utrecht' (organisations: rotterdam, den-haag)\n"

    alone = _settings_on(url, keys, tmp_path, gateway)
    assert run(["cycle", "--organisation", "rotterdam", "--config", config_file(alone, tmp_path)]) == 2
    assert capsys.readouterr().err == "error: unknown organisation 'rotterdam' (organisations: none configured)\n"

    data = yaml.safe_load(settings.for_child())
    data["organisations"][0]["cycle_cron"] = "61 * * * *"
    bad = tmp_path / "bad-cron.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    bad.chmod(0o600)
    for command in (["cycle", "--organisation", "rotterdam"], ["scheduler"]):
        assert run([*command, "--config", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "organisations.0.cycle_cron" in err and "not a crontab" in err, err


def test_the_scheduler_has_one_cycle_job_per_organisation_on_its_own_schedule(
    keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    own = {**ROTTERDAM, "cycle_cron": "15 9-17 * * *"}
    settings = _settings_on(url, keys, tmp_path, gateway, organisations=[own, THE_HAGUE])
    jobs = cycle_jobs(settings)
    assert {job_id: organisation for job_id, (organisation, _) in jobs.items()} == {
        "cycle:rotterdam": "rotterdam",
        "cycle:den-haag": "den-haag",
    }
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert jobs["cycle:rotterdam"][1].get_next_fire_time(None, monday_noon).strftime("%H:%M") == "12:15"
    # The Hague follows the shared schedule.cycle_cron (default: every half hour from 8 to 22).
    assert jobs["cycle:den-haag"][1].get_next_fire_time(None, monday_noon).strftime("%H:%M") == "12:00"
    assert set(cycle_jobs(_settings_on(url, keys, tmp_path, gateway))) == {"cycle"}


def _leave_a_single_cycle_job(database_url: str, config: str) -> None:
    """The `cycle` job a configuration without organisations leaves in the job store (due next New Year)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    earlier = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=database_url)})
    earlier.add_job(
        "outreach.cycle.scheduler:scheduled_cycle", CronTrigger.from_crontab("0 3 1 1 *"), id="cycle", args=[config]
    )
    earlier.start(paused=True)
    assert {job.id for job in earlier.get_jobs()} == {"cycle"}
    earlier.shutdown()


@pytest.mark.slow
def test_scheduled_cycles_of_two_organisations_on_one_schedule_both_run_one_after_the_other(
    world: World, tmp_path: Path
) -> None:
    """Both organisations every 2 s: neither job is skipped for good because the other holds the cycle lock; the
    job left by the configuration before organisations is removed."""
    world.site.write_site_file(tmp_path / "sites")
    upgrade(world.database_url)
    settings = _settings(
        world,
        organisations=[ROTTERDAM, THE_HAGUE],
        schedule={"cycle_interval_seconds": 2},
    )
    config = config_file(settings, tmp_path)
    store = world.store()
    _leave_a_single_cycle_job(world.database_url, config)
    child = scheduler_child(config, tmp_path / "scheduler.log")
    try:
        deadline = time.monotonic() + 150
        wanted = {ROTTERDAM["from_number"], THE_HAGUE["from_number"]}
        while time.monotonic() < deadline and {m.from_ for m in world.gateway.messages} != wanted:
            time.sleep(0.5)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)
        output = (tmp_path / "scheduler.log").read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, output
    assert {m.from_ for m in world.gateway.messages} == wanted, output
    with store.session() as session:
        jobs = set(session.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        events = session.execute(
            select(AuditEvent.name, AuditEvent.fields)
            .where(AuditEvent.name.in_(("cycle.started", "cycle.finished")))
            .order_by(AuditEvent.seq)
        ).all()
    assert jobs == {"cycle:rotterdam", "cycle:den-haag", "purge", "audit-verify", "escalation"}
    names = [name for name, _ in events]
    # One cycle at a time: every start is followed by its own finish before the next start.
    assert names == ["cycle.started", "cycle.finished"] * (len(names) // 2), names
    assert {fields["organisation"] for _, fields in events} == {"rotterdam", "den-haag"}
    assert len({m.to for m in world.gateway.messages}) == len(world.gateway.messages)


def test_an_organisations_cycle_sends_the_reminder_of_a_first_contact_from_before_organisations(world: World) -> None:
    """A first contact made before `organisations:` was configured has no organisation: its reminder belongs to
    the organisation of the advert's region, not to nobody (which no organisation's cycle would ever queue)."""
    single = messaging_settings(world, language={"detector": "py3langid"})
    rhythm = Rhythm(world, single)
    made = rhythm.advert(0, 1, city="Schiedam")
    rhythm.at(0)
    assert rhythm.kinds_sent(1) == ["first_contact"]
    rhythm.settings = _settings(world, organisations=[ROTTERDAM, THE_HAGUE])
    for key, reminders in (("den-haag", 0), ("rotterdam", 1)):
        queued = select_and_queue(
            rhythm.store,
            rhythm.settings,
            now=rhythm.start + timedelta(days=5.1),
            actor="scheduler",
            detector=rhythm.detector,
            templates=rhythm.templates,
            organisation=key,
        )
        assert queued.reminders == reminders, key
    assert rhythm.reason(made) == ("reminded", None)
    with rhythm.store.session() as session:
        kinds = session.execute(select(Message.kind, Message.organisation).order_by(Message.id)).all()
    assert kinds == [("first_contact", None), ("reminder", "rotterdam")]


def test_a_message_without_an_organisation_is_sent_by_an_organisations_cycle(world: World) -> None:
    """Queued before organisations were configured (or an answer to someone no organisation wrote to): some
    organisation's outbox sends it, from the shared number; no scheduled cycle would otherwise."""
    from messaging.outbox.factory import make_outbox
    from outreach.crypto import PhoneVault
    from tests.messaging_world import numbers, queue

    settings = _settings(world, organisations=[ROTTERDAM, THE_HAGUE])
    upgrade(world.database_url)
    store = world.store()
    (number,) = numbers(1)
    queue(store, PhoneVault.from_settings(settings), number)
    report = make_outbox(settings, store, "test", optouts, False, organisation="den-haag").drain()
    assert sum(report.sent.values()) == 1
    assert [(m.to, m.from_) for m in world.gateway.messages] == [(number, settings.twilio.from_number)]
