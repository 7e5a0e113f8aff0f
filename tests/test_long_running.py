"""A scheduler runs cycle after cycle in one process for months: a cycle must leave nothing open or growing behind
it. bench/scheduler_day.py found one connection to the provider left per cycle, closed only whenever the garbage
collector got round to the Twilio client (its objects refer to each other), and memory growing by steps from the
language detector loaded again every cycle, and then a database dialect kept by SQLAlchemy's ORM per cycle."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import QueuePool

from messaging.outbox.factory import make_outbox
from outreach.cycle.detectors import DetectorCache
from outreach.cycle.run import run_cycle
from outreach.cycle.scheduler import _RUNTIMES, job_store, runtime, scheduled_cycle
from outreach.cycle.stores import StoreCache
from outreach.people import optouts
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, upgrade
from outreach.store.models import Case
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import add_users, client_for, csrf_of, log_in, seed
from tests.messaging_world import config_file, messaging_settings
from testworld.twilio_gateway import TwilioGateway


def connections_to(port: int) -> int:
    """Established TCP connections of this process to 127.0.0.1:`port` (Linux: /proc)."""
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            ours.add(target[len("socket:[") : -1])
    count = 0
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state, inode = fields[2], fields[3], fields[9]
        established = state == "01"
        count += established and int(remote.split(":")[1], 16) == port and inode in ours
    return count


@contextmanager
def no_garbage_collection() -> Iterator[None]:
    """What is left open must be closed by the code, not by a collection that happens to run (one runs first, for
    what the test's own setup left)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_cycle_leaves_no_connection_to_the_provider_open(world_settings: Settings, gateway: TwilioGateway) -> None:
    port = urlparse(gateway.url).port
    assert port is not None
    with no_garbage_collection():
        report = run_cycle(world_settings, actor="scheduler")
        assert report.sent_total > 0  # the cycle did talk to the provider
        assert connections_to(port) == 0


def test_a_closed_outbox_has_closed_its_connection(world_settings: Settings, gateway: TwilioGateway) -> None:
    port = urlparse(gateway.url).port
    assert port is not None
    with no_garbage_collection(), Store(world_settings.database_url) as store:
        outbox = make_outbox(world_settings, store, "alice", optouts, dry_run=False)
        outbox.channels["sms"].sent_to("+31612345678", since=datetime(2026, 1, 1, tzinfo=UTC))
        assert connections_to(port) == 1  # the keep-alive connection the next request would reuse
        outbox.close()
        assert connections_to(port) == 0


def test_the_scheduler_loads_the_language_detector_once_not_every_cycle(world: World, tmp_path: Path) -> None:
    settings = world.cycle_settings(language={"detector": "py3langid"})
    config = config_file(settings, tmp_path)
    shared = runtime(config)
    try:
        scheduled_cycle(config)
        first = shared.detectors.get(settings)
        scheduled_cycle(config)
        assert world.gateway.messages  # the cycles ran (the first one sent)
        assert shared.detectors.loads == 1
        assert shared.detectors.get(settings) is first
    finally:
        _RUNTIMES.pop(config, None)


def live_dialects() -> int:
    gc.collect()
    return sum(isinstance(obj, Dialect) for obj in gc.get_objects())


def test_scheduled_cycles_leave_no_database_dialect_behind(world: World, tmp_path: Path) -> None:
    """The ORM caches a flush's statements per mapper, keyed by the engine's dialect: a new engine per cycle left one
    more dialect (with its compiled statements and type caches) in those caches every cycle, for hundreds of
    cycles."""
    settings = world.cycle_settings(language={"detector": "py3langid"})
    config = config_file(settings, tmp_path)
    try:
        scheduled_cycle(config)  # every advert new, every first contact sent
        scheduled_cycle(config)
        before = live_dialects()
        for _ in range(3):
            scheduled_cycle(config)  # each stores its crawl run and audit events through the ORM
        assert world.gateway.messages
        assert live_dialects() == before
    finally:
        _RUNTIMES.pop(config, None)


def test_loading_the_settings_again_leaves_nothing_for_the_garbage_collector(world: World, tmp_path: Path) -> None:
    """Every job of the scheduler loads its settings. A new Settings class per load (to bind the YAML file) left
    hundreds of objects in reference cycles and 150 KB of pydantic's validator outside Python's allocator, freed
    only by a full collection, which a long-running scheduler seldom makes."""
    config = Path(config_file(world.cycle_settings(), tmp_path))
    first = load_settings(config)
    with no_garbage_collection():
        again = [load_settings(config) for _ in range(3)]
        assert gc.collect() == 0
    assert all(type(settings) is type(first) for settings in again)
    assert again[0].database_url == first.database_url
    # The class is kept, the file is not: an edit applies at the next load, as before.
    written = yaml.safe_load(config.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**written, "dry_run": not first.dry_run}), encoding="utf-8")
    assert load_settings(config).dry_run is not first.dry_run


def test_a_scheduled_cycle_leaves_no_garbage_waiting_for_a_collection(world: World, tmp_path: Path) -> None:
    """A cycle leaves objects that refer to each other (the outbox's statements, the Twilio client, the template
    book's Jinja environment). Python collects them only in a full collection, which in the scheduler came once in
    dozens of cycles: its memory grew by every cycle's leftovers until then (bench/scheduler_day.py)."""
    config = config_file(world.cycle_settings(language={"detector": "py3langid"}), tmp_path)
    try:
        scheduled_cycle(config)  # every advert new, every first contact sent
        with no_garbage_collection():
            scheduled_cycle(config)
            assert gc.collect() == 0
        assert world.gateway.messages
    finally:
        _RUNTIMES.pop(config, None)


def test_the_scheduler_closes_its_connections_between_jobs_but_keeps_its_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    stores = StoreCache()
    with stores.use(url) as cycle:
        with stores.use(url) as escalation:  # the escalation check, beside a cycle
            assert escalation is cycle
            with escalation.session() as session:
                session.execute(select(Case.id)).all()
        pool = cycle.engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedin() == 1  # not closed while the cycle runs
    assert pool.checkedin() == 0  # closed when the last job ended
    with stores.use(url) as next_cycle:
        assert next_cycle is cycle
    with stores.use(f"sqlite:///{tmp_path / 'moved.db'}") as moved:
        assert moved is not cycle


def test_a_changed_language_configuration_loads_a_new_detector() -> None:
    cache = DetectorCache()
    settings = load_settings(language={"detector": "py3langid"})
    first = cache.get(settings)
    assert cache.get(load_settings(language={"detector": "py3langid"})) is first
    other = 0.5 if settings.language.min_confidence != 0.5 else 0.6  # any value but the shipped one
    changed = cache.get(load_settings(language={"detector": "py3langid", "min_confidence": other}))
    assert changed is not first and cache.loads == 2


def test_an_answer_sent_from_the_dashboard_leaves_no_connection_to_the_provider_open(world: World) -> None:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store)
    with store.session() as session:
        case = session.execute(select(Case.id).where(Case.person_id == seeded.replier_id)).scalar_one()
    port = urlparse(world.gateway.url).port
    assert port is not None
    with client_for(create_app(settings)) as client, no_garbage_collection():
        log_in(client, "alice")
        csrf = csrf_of(client.get(f"/cases/{case}").text)
        sent = client.post(f"/cases/{case}/reply", data={"csrf": csrf, "body": "Hoi, bel ons gerust. Demo Outreach"})
        assert sent.status_code == 303 and "queued" not in sent.headers["location"]  # handed to the gateway
        assert connections_to(port) == 0


def test_the_job_store_waits_for_a_write_lock_held_longer_than_five_seconds(tmp_path: Path) -> None:
    """On SQLite (PostgreSQL waits for row locks without a timeout). sqlite3's own wait is 5 s: a lock held longer
    by a crawl or a webhook, and APScheduler's thread died on "database is locked"."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    jobs = job_store(url)
    with Store(url) as store, store.engine.connect() as holder:
        holder.exec_driver_sql("UPDATE heartbeats SET name = name")  # BEGIN IMMEDIATE: the write lock, till commit
        release = threading.Timer(6.0, holder.commit)
        release.start()
        try:
            started = time.monotonic()
            with jobs.engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM apscheduler_jobs WHERE id = 'none'")
            assert time.monotonic() - started >= 5.5  # it waited for the lock, and got it
        finally:
            release.join()
            jobs.engine.dispose()
