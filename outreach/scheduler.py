"""Scheduled cycles: APScheduler only calls plain functions; a database lease makes sure no two cycles overlap,
whether started by the scheduler or by `outreach cycle`, and a crashed holder's lease simply expires.

The job store is APScheduler's SQLAlchemyJobStore in the same database (its table comes from our migrations), so
missed runs are known after a restart and coalesce into one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from outreach.errors import ConfigError, OutreachError
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, current_revision, head_revision, rows_changed
from outreach.store.locks import Lease
from outreach.store.models import Heartbeat
from outreach.store.types import utcnow
from outreach.store.upsert import insert_ignore

logger = logging.getLogger("outreach.scheduler")
CYCLE_LOCK = "cycle"


class CycleBusy(OutreachError):
    """Another cycle holds the lock: this one does not start."""


@contextmanager
def cycle_lock(store: Store, ttl: timedelta) -> Iterator[Lease]:
    """Hold the cycle lease while the block runs, renewing it from a thread; raise CycleBusy when it is taken."""
    lease = Lease(store, CYCLE_LOCK, ttl)
    if not lease.acquire():
        raise CycleBusy(f"another cycle is running ({lease.current_holder()}); this one did not start")
    done = threading.Event()

    def renew() -> None:
        while not done.wait(ttl.total_seconds() / 3):
            if not lease.renew():
                logger.error("the cycle lease was lost; another cycle may start")
                return

    renewer = threading.Thread(target=renew, name="cycle-lease", daemon=True)
    renewer.start()
    try:
        yield lease
    finally:
        done.set()
        renewer.join(timeout=10)
        lease.release()


def beat(store: Store, name: str, **state: Any) -> None:
    """Record that `name` is alive, merging `state` into what it said before."""
    now = utcnow()
    with store.session() as session:
        insert_ignore(session, Heartbeat, {"name": name, "beat_at": now, "state": {}}, ["name"])
        current = session.get(Heartbeat, name)
        merged = {**(current.state if current else {}), **{k: _plain(v) for k, v in state.items()}}
        rows_changed(session, update(Heartbeat).where(Heartbeat.name == name).values(beat_at=now, state=merged))


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def locked_cycle(settings: Settings, *, actor: str, stop: threading.Event | None = None, **options: Any) -> Any:
    """One cycle under the cycle lock, with its start and end on the `cycle` heartbeat."""
    from outreach.cycle import check_configuration, run_cycle

    # What would stop the cycle anyway is reported before the lock: keys, templates, site files, the schema.
    check_configuration(settings, options.get("sites"))
    require_current_schema(settings.database_url)
    store = Store(settings.database_url)
    try:
        with cycle_lock(store, timedelta(seconds=settings.schedule.lock_seconds)):
            beat(store, "cycle", started_at=utcnow(), finished_at=None, result="running", actor=actor)
            try:
                report = run_cycle(settings, actor=actor, stop=stop, **options)
            except Exception as exc:
                beat(store, "cycle", finished_at=utcnow(), result=f"failed: {exc}"[:300])
                raise
            result = "ok" if report.crawl_ok else f"crawl failed: {report.crawl_error}"
            beat(store, "cycle", finished_at=utcnow(), result=result, sent=sum(report.sent.values()))
            return report
    finally:
        store.close()


def require_current_schema(url: str) -> None:
    current, head = current_revision(url), head_revision()
    if current != head:
        raise ConfigError(f"database is at schema {current or 'none'}, the code needs {head}: run outreach db upgrade")


def scheduled_cycle(config_file: str | None) -> None:
    """The scheduler's cycle job (referenced by name, so the job store can keep it across restarts)."""
    settings = load_settings(Path(config_file) if config_file else None)
    try:
        locked_cycle(settings, actor="scheduler", stop=_STOP.get(config_file))
    except CycleBusy as exc:
        logger.warning("%s", exc)
    except OutreachError as exc:
        logger.error("scheduled cycle failed: %s", exc)


def scheduled_purge(config_file: str | None) -> None:
    from outreach.privacy import purge

    settings = load_settings(Path(config_file) if config_file else None)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            report = purge(session, settings.retention, utcnow(), "scheduler")
        store.drop_old_page_versions()
        beat(store, "purge", at=utcnow(), **report.__dict__)
    finally:
        store.close()


# The stop event of the scheduler running in this process, by config file: jobs are called by name with plain
# arguments, so this is how a SIGTERM reaches the cycle that is running.
_STOP: dict[str | None, threading.Event] = {}


def run_scheduler(settings: Settings, config_file: Path | None, *, heartbeat_seconds: float = 30.0) -> None:
    """Run until SIGTERM or SIGINT: then the message being sent is finished, the lock released, and we return."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    key = str(config_file) if config_file else None
    stop = _STOP.setdefault(key, threading.Event())
    stop.clear()
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=settings.schedule.timezone,
    )
    zone = settings.schedule.timezone
    every = settings.schedule.cycle_interval_seconds
    scheduler.add_job(
        "outreach.scheduler:scheduled_cycle",
        IntervalTrigger(seconds=every, timezone=zone)
        if every
        else CronTrigger.from_crontab(settings.schedule.cycle_cron, timezone=zone),
        id="cycle",
        args=[key],
        replace_existing=True,
    )
    scheduler.add_job(
        "outreach.scheduler:scheduled_purge",
        CronTrigger.from_crontab(settings.schedule.purge_cron, timezone=zone),
        id="purge",
        args=[key],
        replace_existing=True,
    )

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %s: finishing the current step, then stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    store = Store(settings.database_url)
    try:
        scheduler.start()
        while not stop.is_set():
            job = scheduler.get_job("cycle")
            next_run = job.next_run_time if job is not None else None
            beat(store, "scheduler", alive=True, next_cycle=next_run)
            stop.wait(heartbeat_seconds)
        scheduler.shutdown(wait=True)  # the running cycle sees `stop` and ends after its current message
        beat(store, "scheduler", alive=False, next_cycle=None, stopped_at=utcnow())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
