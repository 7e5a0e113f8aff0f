"""`outreach log` and `outreach export`: the contact log for people (a table) and scripts (JSON, CSV, a file)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console
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
    from outreach.contact_log import COLUMNS, LogFilter, parse_since, rows
    from outreach.crypto import PhoneVault
    from outreach.roles import require_supervisor, visible_organisations
    from outreach.store.db import Store

    output = OutputFormat.choose(as_json, as_csv)
    settings = load_settings(config, **({"database_url": database} if database else {}))
    who = actor_for(settings, actor)
    if reveal:
        require_supervisor(settings, who, "reveal numbers")
    wanted = LogFilter(
        parse_since(since), site, lang, status, region, limit, organisations=visible_organisations(settings, who)
    )
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            found = rows(session, PhoneVault.from_settings(settings), wanted, reveal=reveal)
            if reveal:
                audit.record(session, "numbers.revealed", who, where="log", message_ids=[r["id"] for r in found])
    finally:
        store.close()
    if output is not OutputFormat.TABLE:
        emit(output, found, COLUMNS)
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
    itself is audited: who, which period and filters, how many rows.

    Example: outreach export --since 2026-11-01 --until 2026-12-01 --out november.csv
    """
    from outreach import audit
    from outreach.contact_log import COLUMNS, LogFilter, count, iter_rows, parse_since
    from outreach.crypto import PhoneVault
    from outreach.progress import ProgressReport
    from outreach.roles import require_supervisor, visible_organisations
    from outreach.store.db import Store

    settings = load_settings(config)
    who = actor_for(settings, actor)
    if reveal:
        require_supervisor(settings, who, "export full numbers")
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
        with store.session() as session:
            total = count(session, wanted)
            partial = out.with_name(out.name + ".partial")
            try:
                with partial.open("x", newline="", encoding="utf-8") as file, ProgressReport("export", total) as shown:
                    writer = csv.DictWriter(file, fieldnames=COLUMNS, extrasaction="ignore")
                    writer.writeheader()
                    for row in iter_rows(session, PhoneVault.from_settings(settings), wanted, reveal=reveal):
                        writer.writerow(row)
                        written += 1
                        shown.update(written)
                partial.rename(out)  # a full disk or a kill leaves a .partial file, never a short export
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise OutreachError(f"could not write {out}: {exc.strerror or exc}") from exc
            audit.record(
                session,
                "contact_log.exported",
                who,
                rows=written,
                revealed=reveal,
                since=wanted.since,
                until=wanted.until,
                filters={"site": site, "lang": lang, "status": status, "region": region},
            )
    finally:
        store.close()
    console.print(f"wrote {written} messages to {out}" + (" (numbers in full)" if reveal else ""), highlight=False)
