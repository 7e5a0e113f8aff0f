"""Starting a crawl: a child process (`python -m crawler`), because Twisted's reactor cannot be restarted in one
process and long crawls grow memory. The child writes adverts to the store and its counts to the crawl run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from crawler.health import worst
from outreach import audit
from outreach.audit_events import Event
from outreach.errors import ConfigError
from outreach.reports.crawl_report import send_site_alerts, site_alerts
from outreach.settings import Settings
from outreach.store.db import PROJECT_ROOT, Store
from outreach.store.models import Advert, CrawlRun
from outreach.store.states import CrawlRunStatus
from outreach.store.types import utcnow
from outreach.support.notify import Notifier


@dataclass(frozen=True)
class CrawlOutcome:
    run_id: int
    ok: bool
    log_file: Path
    stats: dict[str, Any]
    error: str | None = None
    health: CrawlRunStatus = CrawlRunStatus.OK  # the worst site's (crawler/health.py); failed when the child failed

    def total(self, counter: str) -> int:
        return sum(int(site.get(counter, 0)) for site in self.stats.values() if isinstance(site, dict))


def run_crawl(
    settings: Settings,
    store: Store,
    actor: str,
    sites: list[str] | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> CrawlOutcome:
    """progress: called about once a second with the number of adverts this run has stored so far."""
    with store.session() as session:
        run = CrawlRun(status=CrawlRunStatus.RUNNING, stats={})
        session.add(run)
        session.flush()
        run_id = run.id
        audit.record(session, Event.CRAWL_STARTED, actor, run_id=run_id, sites=sites or "all")
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log_file = settings.log_dir / f"crawl-{run_id}.log"
    command = crawl_command(run_id, sites)
    error: str | None = None
    with log_file.open("w", encoding="utf-8") as log:
        child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, text=True
        )
        assert child.stdin is not None
        child.stdin.write(settings.for_child())
        child.stdin.close()

        def tick() -> None:
            stored = _adverts_stored(store, run_id)
            if stored is not None and progress is not None:
                progress(stored)

        returncode = _wait(child, settings.crawl.timeout_seconds, stop, tick if progress is not None else None)
        if returncode is None:
            error = f"crawl stopped after {settings.crawl.timeout_seconds}s; see {log_file}"
        elif stop is not None and stop.is_set():
            error = f"crawl stopped on request (shutdown); see {log_file}"
        elif returncode == 2:
            raise ConfigError(_last_error_line(log_file) or "crawl child rejected the configuration")
        elif returncode != 0:
            error = f"crawl child exited with {returncode}; see {log_file}"
    with store.session() as session:
        run_row = session.get(CrawlRun, run_id)
        assert run_row is not None
        stats = dict(run_row.stats)
        error = error or _browser_error(stats)
        sites = [str(site.get("health", CrawlRunStatus.OK)) for site in stats.values() if isinstance(site, dict)]
        health = CrawlRunStatus.FAILED if error else worst(sites)
        run_row.status = health
        run_row.finished_at = utcnow()
        audit.record(session, Event.CRAWL_FINISHED, actor, run_id=run_id, status=health, error=error)
        alerts = site_alerts(session, run_id)
    # After the commit: the run is on record before anyone hears of it, and no lock waits on SMTP or a webhook.
    send_site_alerts(alerts, Notifier(settings.notify, settings.organisation.name))
    return CrawlOutcome(run_id, error is None, log_file, stats, error, health)


# How long a stopping cycle waits for its crawl child to close its spiders after SIGTERM. A container's stop grace
# period must be longer (docker-compose.yml), or the child is killed mid-write.
CHILD_STOP_SECONDS = 60


def crawl_command(run_id: int, sites: list[str] | None = None) -> list[str]:
    """The crawl child's command line. It carries our pid: the child watches for us from its first moment, even
    if we die while it is still importing Scrapy."""
    command = [sys.executable, "-m", "crawler", "--run-id", str(run_id), "--parent-pid", str(os.getpid())]
    for site in sites or []:
        command += ["--site", site]
    return command


def _adverts_stored(store: Store, run_id: int) -> int | None:
    """For the progress bar only: a busy database gives no number this second rather than stopping the crawl."""
    try:
        with store.session() as session:
            return session.execute(select(func.count(Advert.id)).where(Advert.last_run_id == run_id)).scalar_one()
    except SQLAlchemyError:
        return None


def _wait(
    child: subprocess.Popen[str], timeout: float, stop: threading.Event | None, tick: Callable[[], None] | None = None
) -> int | None:
    """The child's exit code; on `stop`, SIGTERM first (Scrapy then closes its spiders and pipelines cleanly);
    None when it ran past the timeout and was killed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return child.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        if tick is not None:
            tick()
        if stop is not None and stop.is_set():
            child.terminate()
            try:
                return child.wait(timeout=CHILD_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait()
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            return None


def _browser_error(stats: dict[str, Any]) -> str | None:
    """A browser that could not start fails the whole crawl, not only its sites: every JavaScript site is lost
    until the installation is fixed, so the cycle and `outreach crawl` must not end "ok"."""
    for name, site in sorted(stats.items()):
        if isinstance(site, dict) and site.get("browser_failed"):
            return f"{name}: the browser could not start ({site['browser_failed']}); run: outreach config check"
    return None


def _last_error_line(log_file: Path) -> str | None:
    lines = [line.strip() for line in log_file.read_text(encoding="utf-8").splitlines() if line.startswith("error:")]
    return lines[-1].removeprefix("error:").strip() if lines else None
