"""`outreach stats`: what the messages achieve, for the organisation to learn from (no personal data shown)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ConfigOption, app, console, settings_from
from outreach.errors import UsageError


@app.command()
def stats(
    by: Annotated[str, typer.Option("--by", help="Group by: template (language and variant).")] = "template",
    config: ConfigOption = None,
) -> None:
    """Per template variant: persons messaged, persons who replied, replies, opt-outs and the response rate with
    its 95% (Wilson) confidence interval. Overlapping intervals: the difference may be chance, keep both.

    Example: outreach stats --by template
    """
    from outreach.store.db import Store
    from outreach.template_stats import template_stats

    if by != "template":
        raise UsageError(f"--by {by!r}: only 'template' is supported")
    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            rows = template_stats(session)
    finally:
        store.close()
    table = Table(title="First contacts by template variant")
    for column in ("language", "variant", "messaged", "replied", "replies", "opt-outs", "response rate", "95% CI"):
        table.add_column(column, justify="left" if column in ("language", "variant") else "right")
    for row in rows:
        low, high = row.interval
        rate = row.response_rate
        table.add_row(
            row.language,
            row.variant,
            str(row.messaged),
            str(row.replied),
            str(row.replies),
            str(row.opted_out),
            "-" if rate is None else f"{rate:.1%}",
            f"{low:.1%} - {high:.1%}",
        )
    console.print(table)
    if not rows:
        console.print("no first contacts with a template variant sent yet")
