"""`outreach log` and `outreach export`: the contact log for people (a table) and scripts (JSON, CSV, a file)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, access_in, actor_for, app, console
from outreach.commands.output import OutputFormat, emit
from outreach.errors import OutreachError, UsageError
from outreach.settings import load_settings

SinceOption = Annotated[str | None, typer.Option(help="From: 7d, 12h or YYYY-MM-DD.")]
SiteOption = Annotated[str | None, typer.Option(help="Only this site.")]
LangOption = Annotated[str | None, typer.Option(help="Only messages in this language (template).")]
StatusOption = Annotated[str | None, typer.Option(help="Only this status (queued, sent, delivered, ...).")]
RegionOption = Annotated[str | None, typer.Option(help="Only adverts in this city or municipality.")]
RevealOption = Annotated[bool, typer.Option("--reveal", help="Show numbers in full (supervisors; audited).")]
DatabaseOption = Annotated[str | None, typer.Option("--database", help="Database URL instead of the configured one.")]


@app.command()
def log(
    config: ConfigOption = None,
    since: SinceOption = None,
    site: SiteOption = None,
    lang: LangOption = None,
    status: StatusOption = None,
    region: RegionOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the newest N messages.")] = 50,
    reveal: RevealOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for scripts.")] = False,
    database: DatabaseOption = None,
    actor: ActorOption = None,
) -> None:
    """The contact log: newest messages first, phone numbers masked.

    Example: outreach log --since 7d --lang ro --status delivered
    """
    from outreach import audit
    from outreach.access.roles import visible_organisations
    from outreach.audit_events import Event
    from outreach.crypto import PhoneVault
    from outreach.reports.contact_log import COLUMNS, FOREIGN, LogFilter, parse_since, rows
    from outreach.store.db import Store

    output = OutputFormat.choose(as_json, as_csv)
    settings = load_settings(config, **({"database_url": database} if database else {}))
    who = actor_for(settings, actor)
    wanted = LogFilter(
        parse_since(since), site, lang, status, region, limit, organisations=visible_organisations(settings, who)
    )
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            if reveal:
                access_in(session, settings, who).require_supervisor("reveal numbers")
            found = rows(session, PhoneVault.from_settings(settings), wanted, reveal=reveal)
            if reveal:
                audit.record(session, Event.NUMBERS_REVEALED, who, where="log", message_ids=[r["id"] for r in found])
    finally:
        store.close()
    if output is not OutputFormat.TABLE:
        emit(output, found, COLUMNS, FOREIGN)
        return
    table = Table(title="Contact log")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column in ("number", "created", "status"))
    for row in found:
        table.add_row(*("-" if row[c] is None else str(row[c]) for c in COLUMNS))
    console.print(table)


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write (refuses to overwrite).")],
    since: SinceOption = "30d",
    until: Annotated[str | None, typer.Option(help="Up to (not including): 12h, 1d or YYYY-MM-DD.")] = None,
    site: SiteOption = None,
    lang: LangOption = None,
    status: StatusOption = None,
    region: RegionOption = None,
    reveal: RevealOption = False,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Write the contact log of a period to a CSV file, numbers masked unless --reveal (supervisors). The export
    itself is audited before it is written: who, which period and filters, how many rows.

    Example: outreach export --since 2026-11-01 --until 2026-12-01 --out november.csv
    """
    from outreach import audit
    from outreach.access.roles import visible_organisations
    from outreach.audit_events import Event
    from outreach.crypto import PhoneVault
    from outreach.reports.contact_log import COLUMNS, FOREIGN, LogFilter, count, iter_rows, parse_since
    from outreach.store.db import Store
    from outreach.support.csv_safety import csv_writer
    from outreach.support.progress import ProgressReport

    settings = load_settings(config)
    who = actor_for(settings, actor)
    wanted = LogFilter(
        parse_since(since),
        site,
        lang,
        status,
        region,
        limit=None,
        until=parse_since(until),
        organisations=visible_organisations(settings, who),
    )
    if wanted.since and wanted.until and wanted.until <= wanted.since:
        raise UsageError("--until must be later than --since")
    if out.exists():
        raise UsageError(f"{out} exists; choose another file")
    store = Store(settings.database_url)
    written = 0
    try:
        # Audited before a single row is written: a file with full numbers never exists without its event.
        with store.session() as session:
            if reveal:
                access_in(session, settings, who).require_supervisor("export full numbers")
            total = count(session, wanted)
            audit.record(
                session,
                Event.CONTACT_LOG_EXPORTED,
                who,
                rows=total,
                revealed=reveal,
                since=wanted.since,
                until=wanted.until,
                filters={"site": site, "lang": lang, "status": status, "region": region},
            )
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent or ".")
        partial = Path(name)
        try:
            with (
                open(handle, "w", newline="", encoding="utf-8") as file,
                store.reading() as session,  # a long export takes no write lock
                ProgressReport("export", total) as shown,
            ):
                writer = csv_writer(file, COLUMNS, FOREIGN)
                writer.writeheader()
                for row in iter_rows(session, PhoneVault.from_settings(settings), wanted, reveal=reveal):
                    writer.writerow(row)
                    written += 1
                    shown.update(written)
            partial.rename(out)  # complete or nothing: a full disk or an error removes the partial file
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        raise OutreachError(f"could not write {out}: {exc.strerror or exc}") from exc
    finally:
        store.close()
    console.print(f"wrote {written} messages to {out}" + (" (numbers in full)" if reveal else ""), highlight=False)
