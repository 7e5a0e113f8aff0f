"""Scheduled cycles: APScheduler only calls plain functions; a database lease makes sure no two cycles overlap,
whether started by the scheduler or by `outreach cycle`, and a crashed holder's lease simply expires.

The job store is APScheduler's SQLAlchemyJobStore in the same database (its table comes from our migrations), so
missed runs are known after a restart and coalesce into one.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update

from outreach.cycle.detectors import DetectorCache
from outreach.cycle.stores import StoreCache
from outreach.errors import ConfigError, OutreachError
from outreach.parsing.crontab import cron_trigger
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, current_revision, head_revision, rows_changed
from outreach.store.engine import make_engine
from outreach.store.locks import CYCLE_LOCK, Lease
from outreach.store.models import Heartbeat
from outreach.store.types import utcnow
from outreach.store.upsert import insert_ignore

logger = logging.getLogger("outreach.cycle.scheduler")


class CycleBusy(OutreachError):
    """Another cycle holds the lock: this one does not start."""


class SchedulerDied(OutreachError):
    """APScheduler's thread ended while the process was meant to run: no job would run again, so the scheduler
    stops (exit code 1) for the service manager to start it again, instead of beating "alive"."""


# How long a scheduled organisations' cycle waits for another one to finish (the jobs' misfire grace time): two
# cycle jobs due at the same time (organisations on different schedules) run one after the other instead of one
# being skipped.
WAIT_FOR_OTHER_CYCLE = timedelta(hours=1)


@contextmanager
def cycle_lock(
    store: Store, ttl: timedelta, *, wait: timedelta | None = None, stop: threading.Event | None = None
) -> Iterator[Lease]:
    """Hold the cycle lease while the block runs, renewing it from a thread; raise CycleBusy when it is taken (and
    still taken after `wait`, or when `stop` is set while waiting)."""
    lease = Lease(store, CYCLE_LOCK, ttl)
    deadline = time.monotonic() + (wait.total_seconds() if wait else 0)
    pause = stop or threading.Event()
    while not lease.acquire():
        if time.monotonic() >= deadline or pause.wait(2.0):
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


def beat(store: Store, name: str, drop: tuple[str, ...] = (), /, **state: Any) -> None:
    """Record that `name` is alive, merging `state` into what it said before, less the keys in `drop`."""
    now = utcnow()
    with store.session() as session:
        insert_ignore(session, Heartbeat, {"name": name, "beat_at": now, "state": {}}, ["name"])
        current = session.get(Heartbeat, name)
        kept = {key: value for key, value in (current.state if current else {}).items() if key not in drop}
        merged = {**kept, **{k: _plain(v) for k, v in state.items()}}
        rows_changed(session, update(Heartbeat).where(Heartbeat.name == name).values(beat_at=now, state=merged))


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def locked_cycle(
    settings: Settings,
    *,
    actor: str,
    stop: threading.Event | None = None,
    wait: timedelta | None = None,
    store: Store | None = None,
    **options: Any,
) -> Any:
    """One cycle under the cycle lock, with its start and end on the `cycle` heartbeat. wait: how long to wait for
    a running cycle to end (default: not at all). store: the database's Store, kept by the caller (the scheduler);
    None: one of the cycle's own, closed at the end."""
    from outreach.cycle.run import check_configuration, run_cycle

    # What would stop the cycle anyway is reported before the lock: keys, templates, site files, the organisation,
    # the schema.
    check_configuration(settings, options.get("sites"), options.get("organisations"))
    own_store = store is None
    store = store or Store(settings.database_url)
    try:
        require_current_schema(store.engine)
        with cycle_lock(store, timedelta(seconds=settings.schedule.lock_seconds), wait=wait, stop=stop):
            beat(
                store,
                "cycle",
                ("organisation",),  # one key, as an earlier version said: `organisations` below replaces it
                started_at=utcnow(),
                finished_at=None,
                result="running",
                problem=None,
                actor=actor,
                # Which organisations' cycle, so `outreach status` can say (null: all of them)
                organisations=options.get("organisations"),
            )
            try:
                report = run_cycle(settings, actor=actor, stop=stop, store=store, **options)
            except Exception as exc:
                beat(
                    store, "cycle", finished_at=utcnow(), result=f"failed: {exc}"[:300], problem=f"failed: {exc}"[:300]
                )
                raise
            problem = report.problem[:300]
            beat(store, "cycle", finished_at=utcnow(), result=problem or "ok", problem=problem, sent=report.sent_total)
            return report
    finally:
        if own_store:
            store.close()


def require_current_schema(database: str | Engine) -> None:
    current, head = current_revision(database), head_revision()
    if current != head:
        raise ConfigError(f"database is at schema {current or 'none'}, the code needs {head}: run outreach db upgrade")


class Turns:
    """First come, first served among the organisations' cycle jobs of one scheduler: without it, an organisation
    whose next run is due when its cycle ends takes the cycle lock again before a waiting one polls, and the other
    never gets a turn."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._line: deque[object] = deque()

    @contextmanager
    def turn(self, stop: threading.Event | None, wait: timedelta) -> Iterator[bool]:
        """Yield True when it is this caller's turn, False when `wait` passed or `stop` was set first."""
        ticket = object()
        deadline = time.monotonic() + wait.total_seconds()
        with self._changed:
            self._line.append(ticket)
            while self._line[0] is not ticket and not (stop is not None and stop.is_set()):
                if time.monotonic() >= deadline:
                    break
                self._changed.wait(1.0)
            mine = self._line[0] is ticket
        try:
            yield mine
        finally:
            with self._changed:
                self._line.remove(ticket)
                self._changed.notify_all()


@dataclass
class Runtime:
    """What a scheduler running in this process shares with the jobs it calls: the stop event its SIGTERM sets
    (finish the current message, then stop), the order in which organisation cycles take their turns, and the
    language detector and the database Store the jobs keep between them."""

    stop: threading.Event = field(default_factory=threading.Event)
    turns: Turns = field(default_factory=Turns)
    detectors: DetectorCache = field(default_factory=DetectorCache)
    stores: StoreCache = field(default_factory=StoreCache)


# APScheduler's persistent job store keeps jobs only as a name with picklable arguments, so a job finds its
# scheduler's runtime here, by config file. The one piece of module state; run_scheduler fills it.
_RUNTIMES: dict[str | None, Runtime] = {}


def runtime(config_file: str | None) -> Runtime:
    return _RUNTIMES.setdefault(config_file, Runtime())


def scheduled_cycle(config_file: str | None, organisations: list[str] | str | None = None) -> None:
    """The scheduler's cycle job (referenced by name, so the job store can keep it across restarts); with several
    organisations, one job per schedule (cycle_jobs), for the organisations on it, each job waiting its turn rather
    than being skipped while another job's cycle runs. organisations: a plain key in a job stored by the version
    with one job per organisation."""
    if isinstance(organisations, str):  # else each of its letters would be taken for a key
        organisations = [organisations]
    settings = load_settings(Path(config_file) if config_file else None)
    shared = runtime(config_file)
    stop = shared.stop
    try:
        detector = shared.detectors.get(settings)
        with shared.stores.use(settings.database_url) as store:
            if organisations is None:
                locked_cycle(settings, actor="scheduler", stop=stop, detector=detector, store=store)
                return
            with shared.turns.turn(stop, WAIT_FOR_OTHER_CYCLE) as mine:
                if not mine:
                    logger.warning("the cycle of %s did not get a turn; it runs at its next time", organisations)
                    return
                # The lease is still needed: `outreach cycle` or another host's scheduler may hold it.
                locked_cycle(
                    settings,
                    actor="scheduler",
                    stop=stop,
                    wait=WAIT_FOR_OTHER_CYCLE,
                    organisations=organisations,
                    detector=detector,
                    store=store,
                )
    except CycleBusy as exc:
        logger.warning("%s", exc)
    except OutreachError as exc:
        logger.error("scheduled cycle failed: %s", exc)
    finally:
        collect_garbage()


def collect_garbage() -> None:
    """A full garbage collection after each cycle. A cycle leaves objects that refer to each other (the outbox's
    claim statements, the Twilio client, the template book's Jinja environment), which only a full collection
    frees; Python starts one only when the objects waiting for it reach a quarter of the process's long-lived ones,
    which in the scheduler did not happen once in 24 cycles of bench/scheduler_day.py, and its memory grew by every
    cycle's leftovers until then."""
    started = time.perf_counter()
    freed = gc.collect()
    logger.debug("garbage collection after the cycle: %d objects in %.3f s", freed, time.perf_counter() - started)


def scheduled_purge(config_file: str | None) -> None:
    from outreach.people.privacy import purge

    settings = load_settings(Path(config_file) if config_file else None)
    with runtime(config_file).stores.use(settings.database_url) as store:
        with store.session() as session:
            report = purge(session, settings.retention, utcnow(), "scheduler")
        store.drop_old_page_versions()
        beat(store, "purge", at=utcnow(), **report.__dict__)


def scheduled_audit_verify(config_file: str | None) -> None:
    """Every day (schedule.audit_verify_cron): the whole audit chain verified from its first event and the result
    recorded as a checkpoint, after which the dashboard's /audit page verifies only newer events."""
    from outreach import audit_checkpoints
    from outreach.support.notify import Notifier

    settings = load_settings(Path(config_file) if config_file else None)
    with runtime(config_file).stores.use(settings.database_url) as store:
        walked, _ = audit_checkpoints.verify_in_full(store, "scheduler")
        if walked.problems:
            logger.error(
                "audit chain broken at %d place(s); first at event %d", len(walked.problems), walked.problems[0].seq
            )
            # The supervisors must hear of it, not only the log: a broken chain means the record was edited.
            notify = Notifier(settings.notify, settings.signature(None).name)
            link = f"{settings.web.public_url.rstrip('/')}/audit"
            notify("audit.broken", {"problems": len(walked.problems), "first": walked.problems[0].seq, "link": link})
        found = {"events": walked.events, "problems": len(walked.problems), "seq": walked.last_seq}
        beat(store, "audit-verify", at=utcnow(), **found)


def scheduled_escalation(config_file: str | None) -> None:
    """Every `cases.check_every_minutes`: cases waiting too long are flagged and the supervisors told."""
    from outreach.cycle.escalate import run_escalation

    settings = load_settings(Path(config_file) if config_file else None)
    with runtime(config_file).stores.use(settings.database_url) as store:
        try:
            flagged = run_escalation(settings, store)
            if flagged:
                logger.warning("%d case(s) waited too long: supervisors notified", len(flagged))
        except OutreachError as exc:
            logger.error("escalation check failed: %s", exc)


def cycle_jobs(settings: Settings) -> dict[str, tuple[list[str] | None, Any]]:
    """The scheduler's cycle jobs by id, each with its organisations and trigger: one `cycle`, or with several
    organisations one job per schedule for the organisations on it (the same cycle_cron, or none: the shared
    schedule), in the order they are configured: `cycle:KEY` for one organisation, `cycle:KEY1+KEY2` for several.
    Each job crawls and selects once for its organisations."""
    from apscheduler.triggers.interval import IntervalTrigger

    zone = settings.schedule.timezone
    every = settings.schedule.cycle_interval_seconds

    def trigger(cron: str) -> Any:
        if cron:
            return cron_trigger(cron, timezone=zone)
        if every:
            return IntervalTrigger(seconds=every, timezone=zone)
        return cron_trigger(settings.schedule.cycle_cron, timezone=zone)

    if not settings.organisations:
        return {"cycle": (None, trigger(""))}
    # Crontabs are compared as APScheduler reads them (`0 9 * * 1-5` is `00 09 * * mon-fri`); an organisation's
    # cycle_cron that reads as the shared cycle_cron (and no interval replaces it) fires with it.
    shared = "" if every else settings.schedule.cycle_cron
    groups: dict[str, tuple[Any, list[str]]] = {}
    for unit in settings.organisations:
        made = trigger(unit.cycle_cron.strip() or shared)
        groups.setdefault(str(made), (made, []))[1].append(unit.key)
    return {_group_id(keys): (keys, made) for made, keys in groups.values()}


def _group_id(keys: list[str]) -> str:
    """A cycle job's id: its organisations' keys, or when they are too many for the job store's id (191
    characters) the first one and how many more. Unique: each organisation is in one job."""
    joined = "cycle:" + "+".join(keys)
    return joined if len(joined) <= 191 else f"cycle:{keys[0]}+{len(keys) - 1} more"


def job_store(url: str) -> Any:
    """APScheduler's job store on an engine of ours: on SQLite with the busy timeout and BEGIN IMMEDIATE of every
    other connection. On SQLAlchemy's default engine (sqlite3 waits 5 s for a lock), a job-store update while a
    crawl or a webhook held the write lock longer failed, and the exception ended APScheduler's thread: the process
    went on beating "alive" and never ran another cycle (bench/scheduler_day.py, on a loaded machine)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    return SQLAlchemyJobStore(engine=make_engine(url))


def jobs_thread_alive(scheduler: Any) -> bool:
    """Whether the BackgroundScheduler's own thread (the one that finds due jobs and hands them to the workers) still
    runs. An exception from the job store outside APScheduler's own try (update_job, get_next_run_time: "database is
    locked") ends it, and nothing in APScheduler says so: its state stays "running"."""
    thread = getattr(scheduler, "_thread", None)  # set by BackgroundScheduler.start
    return thread is not None and thread.is_alive()


def run_scheduler(
    settings: Settings, config_file: Path | None, *, heartbeat_seconds: float = 30.0, jobs: Any = None
) -> None:
    """Run until SIGTERM or SIGINT: then the message being sent is finished, the lock released, and we return.
    Raise SchedulerDied when APScheduler's thread ends on its own. jobs: the job store (default: job_store())."""
    from apscheduler.schedulers.background import BackgroundScheduler

    key = str(config_file) if config_file else None
    stop = runtime(key).stop
    stop.clear()
    scheduler = BackgroundScheduler(
        jobstores={"default": jobs if jobs is not None else job_store(settings.database_url)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=settings.schedule.timezone,
    )
    zone = settings.schedule.timezone
    cycles = cycle_jobs(settings)
    for job_id, (organisations, trigger) in cycles.items():
        scheduler.add_job(
            "outreach.cycle.scheduler:scheduled_cycle",
            trigger,
            id=job_id,
            args=[key, organisations] if organisations is not None else [key],
            replace_existing=True,
        )
    scheduler.add_job(
        "outreach.cycle.scheduler:scheduled_purge",
        cron_trigger(settings.schedule.purge_cron, timezone=zone),
        id="purge",
        args=[key],
        replace_existing=True,
    )

    scheduler.add_job(
        "outreach.cycle.scheduler:scheduled_audit_verify",
        cron_trigger(settings.schedule.audit_verify_cron, timezone=zone),
        id="audit-verify",
        args=[key],
        replace_existing=True,
    )

    from apscheduler.triggers.interval import IntervalTrigger

    scheduler.add_job(
        "outreach.cycle.scheduler:scheduled_escalation",
        IntervalTrigger(minutes=settings.cases.check_every_minutes, timezone=zone),
        id="escalation",
        args=[key],
        replace_existing=True,
    )

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %s: finishing the current step, then stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    store = Store(settings.database_url)
    try:
        # Paused first: a cycle job of an earlier configuration (the single `cycle` before organisations, a removed
        # organisation's, or one for organisations now on other schedules) is still in the job store and must go
        # before it can run; a job of this configuration's replaced the one of the same id (its organisations).
        scheduler.start(paused=True)
        for job in scheduler.get_jobs():
            if (job.id == "cycle" or job.id.startswith("cycle:")) and job.id not in cycles:
                scheduler.remove_job(job.id)
        scheduler.resume()
        while not stop.is_set():
            if not jobs_thread_alive(scheduler):
                died = "APScheduler's thread ended (see the log): no job runs any more"
                logger.error("%s; stopping, for the service manager to start the scheduler again", died)
                stop.set()  # a cycle still running ends after its current message
                scheduler.shutdown(wait=True)
                beat(store, "scheduler", alive=False, next_cycle=None, stopped_at=utcnow(), problem=died)
                raise SchedulerDied(died)
            runs = [job.next_run_time for job in scheduler.get_jobs() if job.id in cycles and job.next_run_time]
            beat(
                store,
                "scheduler",
                alive=True,
                next_cycle=min(runs) if runs else None,
                problem=None,
                beat_every_seconds=heartbeat_seconds,
            )
            stop.wait(heartbeat_seconds)
        scheduler.shutdown(wait=True)  # the running cycle sees `stop` and ends after its current message
        beat(store, "scheduler", alive=False, next_cycle=None, stopped_at=utcnow())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
