"""Running it: the scheduler and the status overview."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from
from outreach.errors import DataLost
from outreach.reports.crawl_report import RunSummary
from outreach.store.states import CrawlRunStatus


@app.command()
def scheduler(config: ConfigOption = None) -> None:
    """Run cycles and the retention purge on the schedule in `schedule:` until SIGTERM or Ctrl-C. With
    `organisations:`, one cycle job per schedule: the organisations on the same cycle_cron (or on none: the shared
    schedule) share one job, which crawls and selects once for them all.

    A cycle never overlaps another (a database lock, also against `outreach cycle`); missed runs coalesce into one.

    Example: outreach scheduler --config /etc/outreach/outreach.yaml
    """
    from outreach.cycle.scheduler import cycle_jobs, run_scheduler
    from outreach.support.logs import configure_json_logging

    settings = settings_from(config)
    configure_json_logging("INFO", settings.default_region)  # as `serve`: JSON lines, no personal data
    for chatty in ("apscheduler", "alembic"):  # "Running job ..." every run, migration plugins: noise in a log
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for job_id, (_organisations, trigger) in cycle_jobs(settings).items():
        console.print(f"scheduler: {job_id} on {trigger}", highlight=False)
    console.print(f"scheduler: time zone {settings.schedule.timezone}; Ctrl-C stops", highlight=False)
    run_scheduler(settings, config)
    console.print("scheduler stopped")


@app.command()
def status(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Is it running, what did the last cycle do, and what is waiting for a person.

    Example: outreach status --json
    """
    from outreach.reports.status import status as read_status
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            data = read_status(session)
    finally:
        store.close()
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    table = Table(title="outreach status", show_header=False)
    table.add_column("what")
    table.add_column("state")
    beat = data["scheduler"]
    scheduler_state = beat["running"] if beat else ""
    shown = {"silent": "NOT BEATING (killed or hung?)", "died": f"DIED: {beat and beat.get('problem')}"}
    said = shown.get(scheduler_state, scheduler_state)
    table.add_row(
        "scheduler",
        f"{said}, last beat {beat['last_beat']}, next cycle {beat.get('next_cycle')}" if beat else "never ran",
    )
    cycle = data["last_cycle"] or {}
    table.add_row(
        "last cycle",
        f"{cycle.get('result')}: {cycle.get('started_at')} - {cycle.get('finished_at')}, {cycle.get('sent', 0)} sent"
        if cycle
        else "none yet",
    )
    running = data["cycle_running"]
    table.add_row("cycle running", f"{running['holder']} since {running['since']}" if running else "no")
    waiting = data["messages_waiting"]
    table.add_row("messages waiting", ", ".join(f"{count} {state}" for state, count in waiting.items()))
    table.add_row(
        "conversations waiting", f"{data['conversations_waiting']} ({data['possible_opt_outs']} possible opt-outs)"
    )
    pause = data["sending_paused"]
    table.add_row("sending", f"PAUSED since {pause['since']}: {pause['reason']}" if pause else "not paused")
    failing = data["sites_failing"]
    table.add_row(
        "sites",
        "; ".join(f"{site}: {', '.join(problems)}" for site, problems in failing.items()) if failing else "no warnings",
    )
    console.print(table)


@app.command()
def crawl(
    config: ConfigOption = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="Only this site (repeatable).")] = None,
    stats: Annotated[
        bool, typer.Option("--stats", help="Show the last crawl run's record instead of crawling.")
    ] = False,
    run_id: Annotated[int | None, typer.Option("--run", help="With --stats: this run instead of the last.")] = None,
    actor: ActorOption = None,
) -> None:
    """Crawl the enabled sites now (no messages), or show what a crawl run recorded.

    Example: outreach crawl --site kinky
    Example: outreach crawl --stats
    """
    from outreach.cycle.crawl import run_crawl
    from outreach.cycle.run import check_configuration
    from outreach.errors import OutreachError
    from outreach.reports.crawl_report import run_summary, summary_rows
    from outreach.store.db import Store
    from outreach.support.progress import ProgressReport

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        if not stats:
            check_configuration(settings, site)
            with ProgressReport("crawl (adverts stored)") as shown:
                outcome = run_crawl(settings, store, actor_for(settings, actor), site, progress=shown.update)
            run_id = outcome.run_id
            console.print(f"crawl log: {outcome.log_file}", highlight=False)
        with store.session() as session:
            summary = run_summary(session, run_id)
    finally:
        store.close()
    if summary is None:
        raise OutreachError("no crawl run recorded yet")
    table = Table(title=f"crawl run {summary.run_id}: {summary.status}")
    for column in ("site", "what", "value"):
        table.add_column(column)
    for row in summary_rows(summary):
        table.add_row(*row)
    console.print(table)
    print_problems(summary)
    if not stats and not outcome.ok:
        raise OutreachError(outcome.error or "crawl failed")
    if not stats and summary.status == CrawlRunStatus.FAILED:
        raise OutreachError(
            f"crawl run {summary.run_id} failed: nothing could be read from {_sites_in(summary, 'failed')}"
        )
    if not stats and summary.status == CrawlRunStatus.DEGRADED:
        raise DataLost(
            f"crawl run {summary.run_id} degraded: adverts or fields were lost on {_sites_in(summary, 'degraded')}"
        )


def _sites_in(summary: RunSummary, health: str) -> str:
    return ", ".join(site.site for site in summary.sites if site.health == health)


def print_problems(summary: RunSummary) -> None:
    """The reasons a crawl is not ok, one short table with the first example URL of each."""
    from outreach.reports.crawl_report import problem_rows

    rows = problem_rows(summary)
    if not rows:
        return
    table = Table(title=f"crawl run {summary.run_id}: what was lost or looks wrong")
    for column in ("site", "health", "problem", "count", "first example"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


config_app = typer.Typer(help="The installation's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Check the whole installation: settings, keys, database and schema, Twilio settings, site files, the browser
    (started once when an enabled site needs JavaScript), templates.

    Example: outreach config check --config /etc/outreach/outreach.yaml
    """
    from outreach.config.check import check_installation

    settings = settings_from(config)
    results = check_installation(settings)
    table = Table(title="configuration check")
    for column in ("part", "result", "detail"):
        table.add_column(column)
    for part, ok, detail in results:
        table.add_row(part, "[green]ok[/green]" if ok else "[red]FAIL[/red]", detail)
    console.print(table)
    failed = [part for part, ok, _ in results if not ok]
    if failed:
        from outreach.errors import ConfigError

        raise ConfigError(f"configuration check failed: {', '.join(failed)}")


@config_app.command("reference")
def config_reference() -> None:
    """Print the configuration reference (Markdown) generated from the settings classes.

    Example: outreach config reference > docs/configuration.md
    """
    from outreach.config.reference import render

    print(render(), end="")
