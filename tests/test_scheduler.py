"""Scheduled cycles: never two at once (a database lock that also survives a crashed holder), a persistent job
store, a heartbeat for `outreach status`, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from outreach.cli import run
from outreach.cycle.scheduler import _RUNTIMES, SchedulerDied, beat, job_store, run_scheduler, runtime
from outreach.reports.status import status
from outreach.store.locks import Lease
from outreach.store.models import AuditEvent, Heartbeat, Message
from outreach.store.types import utcnow
from tests.conftest import World
from tests.messaging_world import config_file, messaging_settings, numbers, outbox_for, queue, scheduler_child
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import GatewayMessage

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


def test_a_second_cycle_exits_at_once_while_one_runs(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.cycle_settings()
    other = Lease(world.store(), "cycle", timedelta(minutes=5), holder="host:123:scheduler")
    assert other.acquire()
    assert run(["cycle", "--config", config_file(settings, tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: another cycle is running (host:123:scheduler); this one did not start"


def test_the_lock_of_a_crashed_cycle_expires_and_the_next_cycle_runs(world: World, tmp_path: Path) -> None:
    settings = world.cycle_settings()
    store = world.store()
    crashed = Lease(store, "cycle", timedelta(seconds=30), holder="host:999:dead")
    assert crashed.acquire(now=utcnow() - timedelta(minutes=10))  # its lease ran out long ago
    # The crashed cycle's heartbeat, as the version with one organisation per cycle wrote it.
    beat(store, "cycle", started_at=utcnow(), result="running", organisation="rotterdam")
    assert run(["cycle", "--config", config_file(settings, tmp_path)]) == 0
    assert world.gateway.messages and crashed.current_holder() is None
    with store.session() as session:
        last = session.get(Heartbeat, "cycle")
        assert last is not None and last.state["result"] == "ok" and last.state["finished_at"]
        assert "organisation" not in last.state and last.state["organisations"] is None  # all of them


def test_the_scheduler_keeps_its_jobs_in_the_database_beats_and_stops_on_sigterm(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(world)
    config = config_file(settings, tmp_path)
    child = scheduler_child(config, tmp_path / "scheduler.log")
    store = world.store()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store.session() as session:
            beat = session.get(Heartbeat, "scheduler")
            if beat is not None and beat.state.get("alive"):
                break
        time.sleep(0.2)
    else:
        child.kill()
        child.wait()
        pytest.fail(f"the scheduler never beat: {(tmp_path / 'scheduler.log').read_text()}")
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    output = (tmp_path / "scheduler.log").read_text()
    assert child.returncode == 0, output
    with store.session() as session:
        jobs = set(session.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        state = session.execute(select(Heartbeat.state).where(Heartbeat.name == "scheduler")).scalar_one()
    assert jobs == {"cycle", "purge", "audit-verify", "escalation"}
    assert state["alive"] is False
    capsys.readouterr()
    assert run(["status", "--json", "--config", config]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["scheduler"]["alive"] is False and shown["cycle_running"] is None


def test_a_shutdown_finishes_the_current_message_and_sends_no_more(world: World) -> None:
    settings = messaging_settings(world)
    store = world.store()
    outbox = outbox_for(settings, store)
    from outreach.crypto import PhoneVault

    vault = PhoneVault.from_settings(settings)
    for number in numbers(5):
        queue(store, vault, number)
    stop = threading.Event()
    outbox.stop = stop
    world.gateway.on_create = lambda message: stop.set()  # SIGTERM arrives while the first message is being sent
    report = outbox.drain()
    assert sum(report.sent.values()) == 1 and report.stopped is not None and report.stopped.name == "SHUTDOWN"
    assert len(world.gateway.messages) == 1


@pytest.mark.slow
def test_scheduled_cycles_on_a_short_interval_never_overlap_and_sigterm_mid_cycle_leaves_nothing_sending(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real `outreach scheduler` runs a cycle every 2 s; each cycle may send 15 messages. While the first cycle
    sends, `outreach cycle` from the CLI is refused. SIGTERM arrives in the middle of the second cycle's sending."""
    cap = 15
    settings = world.cycle_settings(
        sending={**WORLD_SENDING, "cycle_cap": cap, "per_second": 20},
        schedule={"cycle_interval_seconds": 2},
        language={"detector": "langdetect"},  # lingua's 3 s load per cycle is not what this test is about
    )
    config = config_file(settings, tmp_path)
    first_sent, cli_tried = threading.Event(), threading.Event()
    child: subprocess.Popen[str] | None = None

    def on_create(message: GatewayMessage) -> None:
        count = len(world.gateway.messages)
        if count == 1:
            first_sent.set()
            cli_tried.wait(12)  # hold the first cycle in its sending step (below the client's 15 s timeout)
        elif count == cap + 5 and child is not None:
            child.send_signal(signal.SIGTERM)

    world.gateway.on_create = on_create
    child = scheduler_child(config, tmp_path / "scheduler.log")
    try:
        assert first_sent.wait(120), "the scheduler's first cycle sent nothing"
        capsys.readouterr()
        assert run(["cycle", "--config", config, "--as", "alice"]) == 1
        assert "another cycle is running" in capsys.readouterr().err
        cli_tried.set()
        child.wait(timeout=180)
        output = (tmp_path / "scheduler.log").read_text()
    finally:
        cli_tried.set()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, output
    store = world.store()
    with store.session() as session:
        names = list(
            session.execute(
                select(AuditEvent.name)
                .where(AuditEvent.name.in_(("cycle.started", "cycle.finished")))
                .order_by(AuditEvent.seq)
            ).scalars()
        )
        statuses = list(session.execute(select(Message.status)).scalars())
    # Two cycles, one after the other: every start is followed by its own finish before the next start.
    assert names == ["cycle.started", "cycle.finished"] * 2, names
    sent_at_gateway = [message.to for message in world.gateway.messages]
    # SIGTERM came with message cap+5: that message (and at most the one already claimed) is finished, no more.
    assert len(sent_at_gateway) in (cap + 5, cap + 6) and len(set(sent_at_gateway)) == len(sent_at_gateway)
    assert statuses.count("sending") == 0 and statuses.count("unknown") == 0
    assert sum(status in ("sent", "delivered") for status in statuses) == len(sent_at_gateway)
    assert statuses.count("queued") > 0  # the rest waits for the next cycle, nothing was dropped
    assert Lease(store, "cycle", timedelta(minutes=5)).current_holder() is None


class _LockedJobStore(MemoryJobStore):  # type: ignore[misc]  # APScheduler has no types
    """A job store whose database stays locked: APScheduler calls get_next_run_time outside its own try, so the
    exception ends its thread, as "database is locked" did under load (bench/scheduler_day.py)."""

    def get_next_run_time(self) -> None:
        raise OperationalError("SELECT next_run_time", {}, Exception("database is locked"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread that dies
def test_a_scheduler_whose_jobs_thread_died_says_so_and_exits(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(world)
    ends = threading.Timer(20.0, runtime(None).stop.set)  # without the check it would beat "alive" until stopped
    ends.start()
    try:
        with pytest.raises(SchedulerDied):
            run_scheduler(settings, None, heartbeat_seconds=0.2, jobs=_LockedJobStore())
    finally:
        ends.cancel()
        _RUNTIMES.pop(None, None)
    config = config_file(settings, tmp_path)
    capsys.readouterr()
    assert run(["status", "--json", "--config", config]) == 0
    shown = json.loads(capsys.readouterr().out)["scheduler"]
    assert shown["alive"] is False and shown["running"] == "died" and "APScheduler" in shown["problem"]
    assert run(["status", "--config", config]) == 0
    assert "DIED: APScheduler's thread ended" in " ".join(capsys.readouterr().out.split())


def test_status_says_a_scheduler_that_stopped_beating_is_not_running(world: World) -> None:
    store = world.store()
    beat(store, "scheduler", alive=True, next_cycle=None, beat_every_seconds=30.0)
    with store.session() as session:
        last = session.execute(select(Heartbeat.beat_at).where(Heartbeat.name == "scheduler")).scalar_one()
        assert status(session, now=last + timedelta(seconds=90))["scheduler"]["running"] == "alive"
        # Killed with SIGKILL, or hung: its last beat still says alive.
        assert status(session, now=last + timedelta(seconds=150))["scheduler"]["running"] == "silent"


def _stored_cycle_jobs(database_url: str) -> dict[str, list[Any]]:
    """The cycle jobs in the job store, each with the arguments after the config file (its organisations)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    stored = BackgroundScheduler(jobstores={"default": job_store(database_url)})
    stored.start(paused=True)
    try:
        return {job.id: list(job.args[1:]) for job in stored.get_jobs() if job.id.startswith("cycle")}
    finally:
        stored.shutdown()


def test_a_restart_after_organisations_changed_schedule_leaves_each_in_exactly_one_cycle_job(
    world: World, tmp_path: Path
) -> None:
    """The job store outlives the configuration: each restart replaces the cycle jobs of the new one (their
    organisations are their arguments) and removes every other, so no organisation is in two jobs or in none."""
    from tests.test_organisation_schedules import _leave_a_single_cycle_job
    from tests.test_organisations import ROTTERDAM, THE_HAGUE

    never = "0 3 1 1 *"  # due next New Year: no cycle runs during the test
    hague_alone = {**THE_HAGUE, "cycle_cron": "0 4 1 1 *"}

    def restart(*organisations: dict[str, Any]) -> dict[str, list[Any]]:
        settings = messaging_settings(world, organisations=list(organisations), schedule={"cycle_cron": never})
        config = Path(config_file(settings, tmp_path))
        ends = threading.Timer(1.0, runtime(str(config)).stop.set)
        ends.start()
        try:
            run_scheduler(settings, config, heartbeat_seconds=0.2)
        finally:
            ends.cancel()
            _RUNTIMES.pop(str(config), None)
        return _stored_cycle_jobs(world.database_url)

    config = config_file(messaging_settings(world), tmp_path)
    # A job of the version before shared jobs: The Hague's alone, its organisation a plain string.
    _leave_a_single_cycle_job(world.database_url, config, "cycle:den-haag", [config, "den-haag"])
    assert restart(ROTTERDAM, THE_HAGUE) == {"cycle:rotterdam+den-haag": [["rotterdam", "den-haag"]]}
    # The Hague moves to its own schedule: the shared job goes, one job each.
    assert restart(ROTTERDAM, hague_alone) == {"cycle:rotterdam": [["rotterdam"]], "cycle:den-haag": [["den-haag"]]}
    # ... and back: one job for both again.
    assert restart(ROTTERDAM, THE_HAGUE) == {"cycle:rotterdam+den-haag": [["rotterdam", "den-haag"]]}
    # The Hague removed: Rotterdam's job alone; The Hague back, with the shared crontab written out as its own: one
    # job for both.
    assert restart(ROTTERDAM) == {"cycle:rotterdam": [["rotterdam"]]}
    assert restart(ROTTERDAM, {**THE_HAGUE, "cycle_cron": never}) == {
        "cycle:rotterdam+den-haag": [["rotterdam", "den-haag"]]
    }
    with world.store().session() as session:
        assert session.execute(select(AuditEvent.id).where(AuditEvent.name == "cycle.started")).first() is None
