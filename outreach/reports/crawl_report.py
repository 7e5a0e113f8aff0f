"""What the crawl runs recorded, for `outreach crawl --stats` and `outreach status` (the CLI wires these in).

Each CrawlRun's stats hold one dict of counters per site (see crawler/run_record.py): requests, responses by
status, adverts new/changed/gone, errors, pauses, why the site's crawl finished, and markup-change flags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.store.models import CrawlRun

# The counters a person reading `outreach crawl --stats` wants, in this order.
SUMMARY_COUNTERS = (
    "downloader/request_count",
    "listing_pages",
    "listing_entries",
    "adverts_seen",
    "adverts_with_phone",
    "adverts_new",
    "adverts_changed",
    "adverts_listed_unchanged",
    "adverts_gone",
    "details_skipped",
    "store_errors",
    "broken_pages",
    "politeness/pauses",
    "politeness/retried",
    "elapsed_time_seconds",
)

# What a supervisor reading a site alert needs to judge it at a glance.
ALERT_COUNTERS = ("listing_entries", "adverts_seen", "adverts_with_phone")


@dataclass(frozen=True)
class SiteRun:
    site: str
    finish_reason: str
    counters: dict[str, Any]
    responses_by_status: dict[int, int]
    abandoned: str | None
    markup_flags: list[str] = field(default_factory=list)
    health: str = "ok"  # ok, degraded or failed (crawler/health.py); runs recorded before it existed read ok
    problems: list[dict[str, Any]] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)  # detail pages given up after retries, tried again next run


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    sites: list[SiteRun]

    @property
    def duration_seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


def _site_run(site: str, stats: dict[str, Any]) -> SiteRun:
    prefix = "downloader/response_status_count/"
    return SiteRun(
        site=site,
        finish_reason=str(stats.get("finish_reason", "unknown")),
        counters={name: stats[name] for name in SUMMARY_COUNTERS if name in stats},
        responses_by_status={int(k.removeprefix(prefix)): int(v) for k, v in stats.items() if k.startswith(prefix)},
        abandoned=stats.get("abandoned"),
        markup_flags=list(stats.get("markup_flags", [])),
        health=str(stats.get("health", "ok")),
        problems=[problem for problem in stats.get("problems", []) if isinstance(problem, dict)],
        given_up=[str(url) for url in stats.get("given_up", [])],
    )


def summarise(run: CrawlRun) -> RunSummary:
    sites = [_site_run(name, stats) for name, stats in sorted(run.stats.items()) if isinstance(stats, dict)]
    return RunSummary(run.id, run.status, run.started_at, run.finished_at, sites)


def run_summary(session: Session, run_id: int | None = None) -> RunSummary | None:
    """`outreach crawl --stats`: one run (default: the latest)."""
    query = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1)
    if run_id is not None:
        query = select(CrawlRun).where(CrawlRun.id == run_id)
    run = session.execute(query).scalar_one_or_none()
    return summarise(run) if run is not None else None


def latest_sites(session: Session, recent_runs: int = 20) -> list[tuple[int, SiteRun]]:
    """Each site's latest crawl (with its run id), by site name: the health `outreach status` and the dashboard
    show."""
    latest: dict[str, tuple[int, SiteRun]] = {}
    runs = session.execute(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(recent_runs)).scalars()
    for run in runs:
        for site in summarise(run).sites:
            latest.setdefault(site.site, (run.id, site))
    return [latest[name] for name in sorted(latest)]


def site_warnings(session: Session, recent_runs: int = 20) -> dict[str, list[str]]:
    """`outreach status`: per site, what its latest crawl says needs a person's attention (lost adverts or
    fields, markup changes, abandoned crawls). Sites whose latest crawl was fine are left out."""
    warnings: dict[str, list[str]] = {}
    for _run_id, site in latest_sites(session, recent_runs):
        found = _problems(site)
        if found:
            warnings[site.site] = found
    return warnings


def _problems(site: SiteRun) -> list[str]:
    """What needs a person, one line each: the crawl's health problems, else its markup flags (runs recorded
    before health existed), and an abandoned crawl."""
    if site.problems:
        return [f"{problem['health']}: {problem['message']}" for problem in site.problems]
    return list(site.markup_flags) + ([f"abandoned: {site.abandoned}"] if site.abandoned else [])


def problem_rows(summary: RunSummary) -> list[tuple[str, str, str, str, str]]:
    """(site, health, problem, count, first example URL): the short table `outreach crawl` prints."""
    return [
        (
            site.site,
            str(problem.get("health", "")),
            str(problem.get("message", "")),
            str(problem.get("count", "")),
            str(problem.get("example") or "-"),
        )
        for site in summary.sites
        for problem in site.problems
    ]


def site_alerts(session: Session, run_id: int) -> list[dict[str, object]]:
    """After a crawl run: the details of each site whose crawl needs a person (it suddenly yields no adverts or no
    numbers: the site changed its layout; or the crawl was abandoned), to send as `site.needs_attention` once the
    run's transaction is committed: an e-mail or webhook call must never hold the database's write lock.

    Site names, counts and flags only: nothing here is about a person."""
    run = session.get(CrawlRun, run_id)
    if run is None:
        return []
    alerts: list[dict[str, object]] = []
    for site in summarise(run).sites:
        found = _problems(site)
        if found:
            counts = {name: site.counters.get(name, 0) for name in ALERT_COUNTERS}
            alerts.append({"site": site.site, "run_id": run_id, "health": site.health, "warnings": found, **counts})
    return alerts


def send_site_alerts(alerts: list[dict[str, object]], notify: Callable[[str, dict[str, object]], None]) -> int:
    for details in alerts:
        notify("site.needs_attention", details)
    return len(alerts)


def summary_rows(summary: RunSummary) -> list[tuple[str, str, str]]:
    """(site, what, value) rows for a table in `outreach crawl --stats`."""
    rows: list[tuple[str, str, str]] = []
    for site in summary.sites:
        rows.append((site.site, "health", site.health))
        rows.append((site.site, "finished", site.finish_reason))
        rows += [(site.site, name, str(value)) for name, value in site.counters.items()]
        rows += [
            (site.site, f"responses {status}", str(count)) for status, count in sorted(site.responses_by_status.items())
        ]
        if site.abandoned:
            rows.append((site.site, "abandoned", site.abandoned))
        rows += [(site.site, "markup warning", flag) for flag in site.markup_flags]
        rows += [(site.site, "given up (tried again next run)", url) for url in site.given_up]
    return rows
