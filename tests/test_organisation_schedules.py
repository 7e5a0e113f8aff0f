"""Each organisation on its own schedule: a cycle for some organisations crawls and selects once, as every cycle
does, but queues only their messages and sends each one's within its own send window; the scheduler runs one job per
schedule, for the organisations on it; a wrong organisation key or crontab is one line and exit code 2."""

from __future__ import annotations

import signal
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select, text

from messaging.outbox.drain import Stop
from outreach.cli import run
from outreach.cycle.scheduler import _RUNTIMES, cycle_jobs, scheduled_cycle
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.db import Store, upgrade
from outreach.store.models import AdvertReason, AuditEvent, CrawlRun, Message
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
        assert [fields["organisations"] for fields in started] == [["den-haag"], ["rotterdam"], ["den-haag"]]


DORDRECHT = {
    **THE_HAGUE,
    "key": "dordrecht",
    "municipalities": ["Dordrecht", "Zoetermeer"],
    "from_number": "+15555550133",
}


def _cycle_events(store: Store) -> list[tuple[str, dict[str, Any]]]:
    with store.session() as session:
        rows = session.execute(
            select(AuditEvent.name, AuditEvent.fields)
            .where(AuditEvent.name.in_(("cycle.started", "cycle.finished")))
            .order_by(AuditEvent.seq)
        ).all()
    return [(name, fields) for name, fields in rows]


def test_one_cycle_for_the_organisations_on_one_schedule_crawls_once_and_sends_each_within_its_own_window(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scheduler's job for The Hague and Rotterdam (one schedule): one crawl and one selection; The Hague's
    messages are queued but wait for its window (its drain comes first and stops there), Rotterdam's are sent from
    Rotterdam's number; Dordrecht, on another schedule, is left to its own job."""
    world.site.write_site_file(tmp_path / "sites")
    upgrade(world.database_url)
    hague_closed = {**THE_HAGUE, **_closed_window()}
    settings = _settings(world, organisations=[ROTTERDAM, hague_closed, DORDRECHT])
    config = config_file(settings, tmp_path)
    store = world.store()
    try:
        scheduled_cycle(config, ["den-haag", "rotterdam"])
    finally:
        _RUNTIMES.pop(config, None)
    with store.session() as session:
        crawls = session.execute(select(func.count(CrawlRun.id))).scalar_one()
        reasons = session.execute(select(AdvertReason.reason, AdvertReason.detail)).all()
    assert crawls == 1
    messages = _messages(store)
    assert {organisation for organisation, _ in messages} == {"den-haag", "rotterdam"}
    assert {status for organisation, status in messages if organisation == "den-haag"} == {"queued"}
    rotterdam = [status for organisation, status in messages if organisation == "rotterdam"]
    assert set(rotterdam) <= {"sent", "delivered"}
    assert {m.from_ for m in world.gateway.messages} == {ROTTERDAM["from_number"]}
    assert len(world.gateway.messages) == len(rotterdam)
    assert ("other_organisation", "dordrecht") in reasons and ("outside_window", None) in reasons
    assert ("messaged", None) in reasons
    (started_name, started), (finished_name, finished) = _cycle_events(store)
    assert (started_name, finished_name) == ("cycle.started", "cycle.finished")
    assert started["organisations"] == finished["organisations"] == ["den-haag", "rotterdam"]
    assert finished["stopped"] == {"den-haag": Stop.WINDOW.value} and finished["sent"] == len(rotterdam)
    assert finished["queued"] == len(messages)

    # The same cycle by hand, `outreach cycle --organisation` repeated: it says whose drain stopped, and why.
    capsys.readouterr()
    assert run(["cycle", "--organisation", "den-haag", "--organisation", "rotterdam", "--config", config]) == 0
    assert f"sending stopped: den-haag: {Stop.WINDOW.value}\n" in capsys.readouterr().out
    assert len(world.gateway.messages) == len(rotterdam)
    # ... and again once The Hague's window opened: its messages go, from its own number.
    settings = _settings(world, organisations=[ROTTERDAM, THE_HAGUE, DORDRECHT])
    config = config_file(settings, tmp_path)
    assert run(["cycle", "--organisation", "den-haag", "--organisation", "rotterdam", "--config", config]) == 0
    assert "sending stopped" not in capsys.readouterr().out
    with store.session() as session:
        assert session.execute(select(func.count(CrawlRun.id))).scalar_one() == 3
    assert {status for organisation, status in _messages(store)} <= {"sent", "delivered"}
    hague = [m for m in world.gateway.messages if m.from_ == THE_HAGUE["from_number"]]
    assert len(hague) == sum(organisation == "den-haag" for organisation, _ in _messages(store)) > 0
    assert len({m.to for m in world.gateway.messages}) == len(world.gateway.messages)


def test_two_cycle_jobs_due_at_once_take_turns_under_the_cycle_lease(world: World, tmp_path: Path) -> None:
    """Two jobs (organisations on different schedules) due at the same moment: neither is skipped, one runs after
    the other."""
    world.site.write_site_file(tmp_path / "sites")
    upgrade(world.database_url)
    settings = _settings(world, organisations=[ROTTERDAM, THE_HAGUE])
    config = config_file(settings, tmp_path)
    # Rotterdam's as a job stored by the version with one job per organisation would call it: a plain key.
    jobs = [threading.Thread(target=scheduled_cycle, args=(config, key)) for key in ("rotterdam", ["den-haag"])]
    try:
        for job in jobs:
            job.start()
        for job in jobs:
            job.join(timeout=300)
    finally:
        _RUNTIMES.pop(config, None)
    events = _cycle_events(world.store())
    assert [name for name, _ in events] == ["cycle.started", "cycle.finished"] * 2, events
    assert sorted(fields["organisations"] for name, fields in events if name == "cycle.started") == [
        ["den-haag"],
        ["rotterdam"],
    ]
    assert {m.from_ for m in world.gateway.messages} == {ROTTERDAM["from_number"], THE_HAGUE["from_number"]}


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


UTRECHT = {**THE_HAGUE, "key": "utrecht", "municipalities": ["Utrecht"], "from_number": "+15555550133"}
LEIDEN = {**THE_HAGUE, "key": "leiden", "municipalities": ["Leiden"], "from_number": "+15555550144"}


def test_the_scheduler_has_one_cycle_job_per_schedule_for_the_organisations_on_it(
    keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    own = {**ROTTERDAM, "cycle_cron": "15 9-17 * * *"}
    same = {**UTRECHT, "cycle_cron": " 15  09-17 * * * "}  # the same crontab, written differently
    shared_text = {**LEIDEN, "cycle_cron": "*/30 8-22 * * *"}  # the shared schedule.cycle_cron, written out
    settings = _settings_on(url, keys, tmp_path, gateway, organisations=[own, THE_HAGUE, same, shared_text])
    jobs = cycle_jobs(settings)
    assert {job_id: organisations for job_id, (organisations, _) in jobs.items()} == {
        "cycle:rotterdam+utrecht": ["rotterdam", "utrecht"],
        "cycle:den-haag+leiden": ["den-haag", "leiden"],
    }
    # Weekdays as numbers or names, in any case, as a range or a list: one schedule; another weekday: another.
    weekdays = [
        {**unit, "cycle_cron": cron}
        for unit, cron in zip(
            (ROTTERDAM, THE_HAGUE, UTRECHT, LEIDEN),
            ("0 9 * * 1-5", "0 9 * * mon-fri", "00 9 * * MON,TUE,WED,THU,FRI", "0 9 * * 0-4"),
            strict=True,
        )
    ]
    by_weekday = _settings_on(url, keys, tmp_path, gateway, organisations=weekdays)
    assert {job_id: organisations for job_id, (organisations, _) in cycle_jobs(by_weekday).items()} == {
        "cycle:rotterdam+den-haag+utrecht": ["rotterdam", "den-haag", "utrecht"],
        "cycle:leiden": ["leiden"],
    }
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert jobs["cycle:rotterdam+utrecht"][1].get_next_fire_time(None, monday_noon).strftime("%H:%M") == "12:15"
    # The Hague follows the shared schedule.cycle_cron (default: every half hour from 8 to 22).
    assert jobs["cycle:den-haag+leiden"][1].get_next_fire_time(None, monday_noon).strftime("%H:%M") == "12:00"
    assert set(cycle_jobs(_settings_on(url, keys, tmp_path, gateway))) == {"cycle"}

    # An interval replaces the shared crontab: Leiden's own crontab is then a schedule of its own.
    every = _settings_on(
        url,
        keys,
        tmp_path,
        gateway,
        organisations=[own, THE_HAGUE, same, shared_text],
        schedule={"cycle_interval_seconds": 600},
    )
    assert {job_id: organisations for job_id, (organisations, _) in cycle_jobs(every).items()} == {
        "cycle:rotterdam+utrecht": ["rotterdam", "utrecht"],
        "cycle:den-haag": ["den-haag"],
        "cycle:leiden": ["leiden"],
    }

    # So many organisations on one schedule that their keys do not fit the job store's id: the first and a count.
    many = [{**THE_HAGUE, "key": f"organisation-{n:03d}", "municipalities": [f"M{n}"]} for n in range(25)]
    crowded = _settings_on(url, keys, tmp_path, gateway, organisations=many)
    ((job_id, (organisations, _)),) = cycle_jobs(crowded).items()
    assert job_id == "cycle:organisation-000+24 more" and organisations == [unit["key"] for unit in many]


def _leave_a_single_cycle_job(
    database_url: str, config: str, job_id: str = "cycle", args: list[Any] | None = None
) -> None:
    """The `cycle` job a configuration without organisations leaves in the job store (due next New Year); or
    another cycle job of an earlier configuration."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    earlier = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=database_url)})
    earlier.add_job(
        "outreach.cycle.scheduler:scheduled_cycle",
        CronTrigger.from_crontab("0 3 1 1 *"),
        id=job_id,
        args=args or [config],
    )
    earlier.start(paused=True)
    assert job_id in {job.id for job in earlier.get_jobs()}
    earlier.shutdown()


@pytest.mark.slow
def test_two_organisations_on_one_schedule_share_one_job_with_one_crawl_a_round(world: World, tmp_path: Path) -> None:
    """Both organisations every 2 s: one job for both, each round one crawl and both organisations' messages, each
    from its own number; the jobs left by earlier configurations (the single `cycle` before organisations, and one
    per organisation) are removed."""
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
    _leave_a_single_cycle_job(world.database_url, config, "cycle:den-haag", [config, "den-haag"])
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
            .where(AuditEvent.name.in_(("cycle.started", "cycle.finished", "crawl.started")))
            .order_by(AuditEvent.seq)
        ).all()
    assert jobs == {"cycle:rotterdam+den-haag", "purge", "audit-verify", "escalation"}
    names = [name for name, _ in events]
    # One cycle at a time, each with one crawl: every start is followed by its own crawl and finish.
    assert names == ["cycle.started", "crawl.started", "cycle.finished"] * (len(names) // 3), names
    cycles = [fields for name, fields in events if name.startswith("cycle.")]
    assert all(fields["organisations"] == ["rotterdam", "den-haag"] for fields in cycles), cycles
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
            organisations=[key],
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
