"""Scheduled cycles: never two at once (a database lock that also survives a crashed holder), a persistent job
store, a heartbeat for `outreach status`, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from outreach.cli import run
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.locks import Lease
from outreach.store.models import Heartbeat
from outreach.store.types import utcnow
from tests.messaging_world import config_file, messaging_settings, numbers, outbox_for, queue
from tests.world.twilio_gateway import TwilioGateway


def test_a_second_cycle_exits_at_once_while_one_runs(
    world_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(world_settings.database_url)
    other = Lease(store, "cycle", timedelta(minutes=5), holder="host:123:scheduler")
    assert other.acquire()
    assert run(["cycle", "--config", config_file(world_settings, tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: another cycle is running (host:123:scheduler); this one did not start"
    store.close()


def test_the_lock_of_a_crashed_cycle_expires_and_the_next_cycle_runs(
    world_settings: Settings, tmp_path: Path, gateway: TwilioGateway
) -> None:
    store = Store(world_settings.database_url)
    crashed = Lease(store, "cycle", timedelta(seconds=30), holder="host:999:dead")
    assert crashed.acquire(now=utcnow() - timedelta(minutes=10))  # its lease ran out long ago
    assert run(["cycle", "--config", config_file(world_settings, tmp_path)]) == 0
    assert gateway.messages and crashed.current_holder() is None
    with store.session() as session:
        beat = session.get(Heartbeat, "cycle")
        assert beat is not None and beat.state["result"] == "ok" and beat.state["finished_at"]
    store.close()


def test_the_scheduler_keeps_its_jobs_in_the_database_beats_and_stops_on_sigterm(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(database_url, keys, tmp_path, gateway)
    config = config_file(settings, tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "outreach", "scheduler", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    store = Store(settings.database_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store.session() as session:
            beat = session.get(Heartbeat, "scheduler")
            if beat is not None and beat.state.get("alive"):
                break
        time.sleep(0.2)
    else:
        child.kill()
        pytest.fail(f"the scheduler never beat: {child.communicate()[0]}")
    child.send_signal(signal.SIGTERM)
    output, _ = child.communicate(timeout=30)
    assert child.returncode == 0, output
    with store.session() as session:
        jobs = set(session.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        state = session.execute(select(Heartbeat.state).where(Heartbeat.name == "scheduler")).scalar_one()
    assert jobs == {"cycle", "purge"}
    assert state["alive"] is False
    capsys.readouterr()
    assert run(["status", "--json", "--config", config]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["scheduler"]["alive"] is False and shown["cycle_running"] is None
    store.close()


def test_a_shutdown_finishes_the_current_message_and_sends_no_more(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    settings = messaging_settings(database_url, keys, tmp_path, gateway)
    store = Store(settings.database_url)
    outbox = outbox_for(settings, store)
    from outreach.crypto import PhoneVault

    vault = PhoneVault.from_settings(settings)
    for number in numbers(5):
        queue(store, vault, number)
    stop = threading.Event()
    outbox.stop = stop
    gateway.on_create = lambda message: stop.set()  # SIGTERM arrives while the first message is being sent
    report = outbox.drain()
    assert sum(report.sent.values()) == 1 and report.stopped is not None and report.stopped.name == "SHUTDOWN"
    assert len(gateway.messages) == 1
    store.close()
