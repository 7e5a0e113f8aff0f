"""`outreach audit`: the append-only, hash-chained record of every decision and action."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import func, select

from outreach.commands.base import ConfigOption, app, console, settings_from
from outreach.errors import OutreachError

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(config: ConfigOption = None) -> None:
    """Walk the hash chain and name every event that was edited, deleted or reordered.

    Example: outreach audit verify
    """
    from outreach import audit
    from outreach.store.db import Store
    from outreach.store.models import AuditEvent

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            problems = audit.verify(session)
            count = session.execute(select(func.count(AuditEvent.id))).scalar_one()
    finally:
        store.close()
    if not problems:
        console.print(f"audit chain intact: {count} events")
        return
    table = Table(title="Audit chain problems")
    table.add_column("event", justify="right")
    table.add_column("problem")
    for problem in problems:
        table.add_row(str(problem.seq), problem.problem)
    console.print(table)
    raise OutreachError(f"audit chain broken at {len(problems)} place(s); first at event {problems[0].seq}")
