"""`outreach audit`: the append-only, hash-chained record of every decision and action."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ConfigOption, actor_for, app, console, settings_from
from outreach.errors import OutreachError

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    config: ConfigOption = None,
    since_checkpoint: Annotated[
        bool,
        typer.Option(
            "--since-checkpoint",
            help="Verify only the events after the last intact checkpoint, as the dashboard's /audit page does "
            "(an edit before it is not seen); records no checkpoint.",
        ),
    ] = False,
) -> None:
    """Walk the hash chain and name every event that was edited, deleted or reordered.

    By default the whole chain, from its first event, whatever earlier checkpoints say; the result is recorded as a
    checkpoint (and an audit.verified event), after which the /audit page verifies only newer events. The
    scheduler runs this every day (schedule.audit_verify_cron).

    Example: outreach audit verify
    Example: outreach audit verify --since-checkpoint
    """
    from outreach import audit_checkpoints
    from outreach.store.db import Store, current_revision, head_revision

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        if since_checkpoint:
            with store.session() as session:
                found = audit_checkpoints.status(session, settings.schedule.audit_verify_max_age_days)
            problems = found.problems
            anchor = found.anchor
            since = f"after the checkpoint at event {anchor.seq}" if anchor else "(no intact checkpoint: all)"
            summary = f"audit chain intact: {found.tail.events} events {since}"
        else:
            # A restored backup is verified before `db upgrade` (docs/operations.md): its schema may predate
            # checkpoints, and then the result is only printed.
            current = current_revision(settings.database_url) == head_revision()
            walked, checkpoint = audit_checkpoints.verify_in_full(store, actor_for(settings, None), record=current)
            problems = walked.problems
            recorded = (
                f"checkpoint recorded at event {checkpoint.seq}"
                if checkpoint
                else "no checkpoint recorded: the schema is older than this version (outreach db upgrade)"
            )
            summary = f"audit chain intact: {walked.events} events; {recorded}"
    finally:
        store.close()
    if not problems:
        console.print(summary)
        return
    table = Table(title="Audit chain problems")
    table.add_column("event", justify="right")
    table.add_column("problem")
    for problem in problems:
        table.add_row(str(problem.seq), problem.problem)
    console.print(table)
    raise OutreachError(f"audit chain broken at {len(problems)} place(s); first at event {problems[0].seq}")
