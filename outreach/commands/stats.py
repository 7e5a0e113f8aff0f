"""`outreach stats`: what the messages achieve, for the organisation to learn from (no personal data shown)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from
from outreach.commands.output import OutputFormat, emit
from outreach.errors import PermissionDenied, UsageError

BY_CHOICES = ("total", "day", "week", "site", "lang", "region", "reason", "template", "funnel", "outcome")
OUTCOME_COLUMNS = (
    "adverts_found",
    "persons_contacted",
    "delivered",
    "replied",
    "opted_out",
    "response_rate",
    "response_ci_low",
    "response_ci_high",
    "opt_out_rate",
    "opt_out_ci_low",
    "opt_out_ci_high",
)
COLUMNS = {
    "template": (
        "language",
        "variant",
        "messaged",
        "replied",
        "replies",
        "opted_out",
        "response_rate",
        "ci_low",
        "ci_high",
    ),
    "reason": ("reason", "meaning", "adverts"),
    "funnel": ("stage", "count"),
    "outcome": ("outcome", "cases"),
}


@app.command()
def stats(
    by: Annotated[str, typer.Option("--by", help=f"Group by: {', '.join(BY_CHOICES)}.")] = "total",
    since: Annotated[str, typer.Option(help="Period start: 30d, 12h or YYYY-MM-DD.")] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for scripts.")] = False,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Adverts found, persons contacted, delivered, replied, opted out, the response and opt-out rates with their 95%
    (Wilson) intervals, per day, week, site, language (of the template sent) or region (municipality). `--by funnel`
    follows the adverts first seen in the period from found to replied (outreach/reports/funnel.py). `--by reason`
    counts the adverts the cycles of the period decided on, by the reason they were or were not messaged (as
    `outreach show` gives it). `--by template` compares template variants with a 95% (Wilson) interval over all
    time: overlapping intervals mean the difference may be chance.

    Example: outreach stats --by lang --since 7d
    """
    from outreach.access.roles import visible_organisations, visible_regions
    from outreach.reports.contact_log import parse_since
    from outreach.reports.funnel import funnel
    from outreach.reports.outcome_stats import load, outcome_stats
    from outreach.reports.template_stats import template_stats
    from outreach.store.db import Store
    from outreach.store.types import utcnow
    from outreach.targeting.reasons import describe, reason_counts

    if by not in BY_CHOICES:
        raise UsageError(f"--by {by!r}: choose one of {', '.join(BY_CHOICES)}")
    output = OutputFormat.choose(as_json, as_csv)
    start = parse_since(since) or utcnow()
    settings = settings_from(config)
    organisations = visible_organisations(settings, actor_for(settings, actor))  # several organisations: own data
    if organisations is not None and by in ("template", "reason"):
        raise PermissionDenied(f"--by {by} counts every organisation's adverts: umbrella supervisors only")
    store = Store(settings.database_url)
    try:
        with store.reading() as session:
            if by == "template":
                rows = [_variant_row(row) for row in template_stats(session)]
            elif by == "outcome":
                from outreach.reports.outcome_labels import label_counts

                counted = label_counts(session, start, organisations=organisations)
                rows = [{"outcome": label, "cases": count} for label, count in counted]
            elif by == "funnel":
                regions = visible_regions(settings, organisations)
                data = load(session, start, organisations=organisations, regions=regions)
                stages = funnel(data).as_dict()
                rows = [{"stage": stage, "count": count} for stage, count in stages.items()]
            elif by == "reason":
                counts = reason_counts(session, since=start)
                rows = [{"reason": key, "meaning": describe(key, None), "adverts": n} for key, n in counts.items()]
            else:
                found = outcome_stats(
                    session,
                    by=by,
                    since=start,
                    zone=settings.sending.timezone,
                    organisations=organisations,
                    regions=visible_regions(settings, organisations),
                )
                rows = [{by: row.group, **{k: v for k, v in row.as_dict().items() if k != "group"}} for row in found]
    finally:
        store.close()
    if output is not OutputFormat.TABLE:
        columns = COLUMNS.get(by, (by, *OUTCOME_COLUMNS))
        emit(output, rows, columns, foreign=(by,))
        return
    if by == "template":
        _print_variants(rows)
        return
    if by == "reason":
        _print_reasons(rows, start)
        return
    if by in ("outcome", "funnel"):
        name, count = COLUMNS[by]
        title = {
            "outcome": f"Outcomes of conversations labelled since {start.date().isoformat()}",
            "funnel": f"Adverts first seen since {start.date().isoformat()}, from found to replied",
        }[by]
        table = Table(title=title)
        table.add_column(name)
        table.add_column(count, justify="right")
        for row in rows:
            table.add_row(str(row[name]).replace("_", " "), str(row[count]))
        console.print(table)
        return
    table = Table(title=f"Outcomes since {start.date().isoformat()} by {by}")
    columns = (by, "adverts found", "contacted", "delivered", "replied", "opted out", "response rate (95% CI)")
    for column in (*columns, "opt-out rate (95% CI)"):
        table.add_column(column, justify="left" if column == by else "right")
    for row in rows:
        table.add_row(
            str(row[by]),
            *(str(row[k]) for k in ("adverts_found", "persons_contacted", "delivered", "replied", "opted_out")),
            _rate(row, "response"),
            _rate(row, "opt_out"),
        )
    console.print(table)
    if not rows:
        console.print("nothing found or sent in this period")


def _rate(row: dict[str, Any], name: str) -> str:
    rate = row[f"{name}_rate"]
    if rate is None:
        return "-"
    return f"{rate:.1%} ({row[f'{name}_ci_low']:.1%}-{row[f'{name}_ci_high']:.1%})"


def _variant_row(row: Any) -> dict[str, Any]:
    low, high = row.interval
    rate = row.response_rate
    return {
        "language": row.language,
        "variant": row.variant,
        "messaged": row.messaged,
        "replied": row.replied,
        "replies": row.replies,
        "opted_out": row.opted_out,
        "response_rate": None if rate is None else round(rate, 4),
        "ci_low": round(low, 4),
        "ci_high": round(high, 4),
    }


def _print_variants(rows: list[dict[str, Any]]) -> None:
    table = Table(title="First contacts by template variant")
    for column in ("language", "variant", "messaged", "replied", "replies", "opt-outs", "response rate", "95% CI"):
        table.add_column(column, justify="left" if column in ("language", "variant") else "right")
    for row in rows:
        rate = row["response_rate"]
        table.add_row(
            row["language"],
            row["variant"],
            *(str(row[k]) for k in ("messaged", "replied", "replies", "opted_out")),
            "-" if rate is None else f"{rate:.1%}",
            f"{row['ci_low']:.1%} - {row['ci_high']:.1%}",
        )
    console.print(table)
    if not rows:
        console.print("no first contacts with a template variant sent yet")


def _print_reasons(rows: list[dict[str, Any]], start: Any) -> None:
    table = Table(title=f"Adverts decided on since {start.date().isoformat()}, by reason")
    for column in ("reason", "meaning", "adverts"):
        table.add_column(column, justify="right" if column == "adverts" else "left")
    for row in rows:
        table.add_row(row["reason"], row["meaning"], str(row["adverts"]))
    console.print(table)
    if not rows:
        console.print("no cycle decided on an advert in this period")
