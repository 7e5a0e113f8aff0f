"""`outreach report`: the quarterly report for a municipality or a funder, as a PDF (counts only)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from
from outreach.errors import UsageError


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from exc


@app.command()
def report(
    from_: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD (local).")],
    to: Annotated[str, typer.Option("--to", help="Last day of the period, YYYY-MM-DD (local), included.")],
    out: Annotated[Path, typer.Option("--out", help="The PDF to write.")],
    language: Annotated[str | None, typer.Option(help="nl or en (default: web.language).")] = None,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """The report a coordinator hands to the municipality or a funder: the funnel, response and opt-out rates with
    their 95% intervals, languages, regions and sites reached, week by week, conversations, and a paragraph on
    method and privacy. Counts only; a group of 1 to 4 persons shows as "< 5". Written as a PDF, audited.

    Example: outreach report --from 2026-07-01 --to 2026-09-30 --out kwartaal-3.pdf
    """
    from outreach import audit
    from outreach.access.roles import visible_organisations, visible_regions
    from outreach.audit_events import Event
    from outreach.reports.quarterly import quarterly_report
    from outreach.store.db import Store
    from outreach.store.types import utcnow
    from outreach.support.local_time import midnight
    from outreach.web import i18n
    from outreach.web.report_pdf import report_pdf

    start, end = _day(from_, "--from"), _day(to, "--to")
    if end < start:
        raise UsageError("--to is before --from")
    settings = settings_from(config)
    chosen = language or settings.web.language
    if chosen not in i18n.LANGUAGES:
        raise UsageError(f"--language: choose one of {', '.join(i18n.LANGUAGES)}")
    who = actor_for(settings, actor)
    organisations = visible_organisations(settings, who)
    names = [unit.name for unit in settings.organisations if organisations and unit.key in organisations]
    zone = settings.sending.timezone
    since, until = midnight(start, zone), midnight(end + timedelta(days=1), zone)
    now = utcnow()
    with Store(settings.database_url) as store:
        with store.reading() as session:  # a count of months takes a while: no write lock meanwhile
            figures = quarterly_report(
                session,
                since,
                min(until, now),
                zone,
                ", ".join(names) or settings.organisation.name,
                organisations=organisations,
                regions=visible_regions(settings, organisations),
            )
        pdf = report_pdf(figures, chosen, zone, now)
        with store.session() as session:  # audited before the file exists: never a report without its event
            audit.record(
                session,
                Event.REPORT_MADE,
                who,
                where="cli",
                since=start.isoformat(),
                to=end.isoformat(),
                language=chosen,
            )
        partial = out.with_name(out.name + ".partial")
        try:
            partial.write_bytes(pdf)
            partial.replace(out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise UsageError(f"cannot write {out}: {exc.strerror}") from exc
    console.print(f"{out}: report {start.isoformat()} to {end.isoformat()} ({chosen}, {len(pdf) // 1024} KB)")
