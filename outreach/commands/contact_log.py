"""`outreach log`: the contact log for people (a table) and scripts (JSON, CSV)."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console
from outreach.errors import UsageError
from outreach.settings import load_settings


@app.command()
def log(
    config: ConfigOption = None,
    since: Annotated[str | None, typer.Option(help="7d, 12h or YYYY-MM-DD.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    lang: Annotated[str | None, typer.Option(help="Only messages in this language (template).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status (queued, sent, delivered, ...).")] = None,
    region: Annotated[str | None, typer.Option(help="Only adverts in this city or municipality.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the newest N messages.")] = 50,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show numbers in full (supervisors; audited).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for scripts.")] = False,
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL instead of the configured one.")
    ] = None,
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

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
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
    if as_json:
        for row in found:
            print(json.dumps(row, ensure_ascii=False))
        return
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(found)
        return
    table = Table(title="Contact log")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column in ("number", "created", "status"))
    for row in found:
        table.add_row(*("-" if row[c] is None else str(row[c]) for c in COLUMNS))
    console.print(table)
