"""`outreach review`: the adverts the targeting policy holds for a person's decision."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from
from outreach.settings import Settings

review_app = typer.Typer(
    help="Held adverts (a hold keyword, no city, an unknown category): list, approve or reject."
    "\n\nExample: outreach review approve 12 --reason 'adult, checked the profile'",
    invoke_without_command=True,
)
app.add_typer(review_app, name="review")
IdArgument = Annotated[int, typer.Argument(help="The review id (first column of `outreach review`).")]
ReasonOption = Annotated[str, typer.Option(help="Why, for the audit log (required).")]


@review_app.callback()
def review_list(
    ctx: typer.Context,
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most N.")] = 200,
    actor: ActorOption = None,
) -> None:
    """List the held adverts waiting for a decision: masked numbers, a text snippet and the rule that held each.
    With several organisations a member sees their own organisation's (by the advert's region).

    Example: outreach review
    """
    if ctx.invoked_subcommand is not None:
        return
    from outreach.crypto import PhoneVault
    from outreach.store.db import Store
    from outreach.support.local_time import short
    from outreach.targeting.review import waiting

    settings = settings_from(config)
    regions = _own_regions(settings, actor)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            items = waiting(session, PhoneVault.from_settings(settings), limit, regions)
    finally:
        store.close()
    table = Table(title=f"{len(items)} held advert(s) waiting")
    for column in ("id", "advert", "held", "number", "city", "category", "held by", "text"):
        table.add_column(column, no_wrap=column not in ("text", "held by"))
    for item in items:
        table.add_row(
            str(item.id),
            f"{item.advert_id} ({escape(item.site)})",
            short(item.held_at, settings.sending.timezone),
            ", ".join(item.numbers) or "-",
            escape(item.city or "-"),
            escape(item.category or "-"),
            escape(item.rule),
            escape(item.snippet),
        )
    console.print(table)


def _own_regions(settings: Settings, actor: str | None) -> set[str] | None:
    """The municipalities whose held adverts this actor sees and decides on (None: all)."""
    from outreach.access.roles import visible_organisations, visible_regions

    return visible_regions(settings, visible_organisations(settings, actor_for(settings, actor)))


def _decide(held_id: int, *, approve: bool, reason: str, config: ConfigOption, actor: ActorOption) -> None:
    from messaging.template_check import require_templates_pass
    from outreach.store.db import Store
    from outreach.store.types import utcnow
    from outreach.targeting.contact_pass import first_contact_templates
    from outreach.targeting.review import decide

    settings = settings_from(config)
    who = actor_for(settings, actor)
    regions = _own_regions(settings, actor)
    detector = templates = None
    if approve and reason.strip():
        from messaging.language import make_detector

        require_templates_pass(settings)  # an approval sends through the same checked templates as a cycle
        detector, templates = make_detector(settings), first_contact_templates(settings)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            result = decide(
                session,
                held_id,
                approve=approve,
                actor=who,
                reason=reason,
                now=utcnow(),
                settings=settings,
                detector=detector,
                templates=templates,
                regions=regions,
            )
    finally:
        store.close()
    console.print(f"advert {result.advert_id}: {result.status}", highlight=False)
    if approve:
        where = "they go with the next `outreach send` or cycle" if settings.sending.mode == "auto" else "as drafts"
        console.print(f"{result.queued} message(s) queued; {where}", highlight=False)
    for why in result.not_queued:
        console.print(escape(f"not messaged: {why}"), highlight=False)


@review_app.command("approve")
def review_approve(
    held_id: IdArgument, reason: ReasonOption = "", config: ConfigOption = None, actor: ActorOption = None
) -> None:
    """Let a held advert through and queue its first message now (every send rule still applies; audited).

    Example: outreach review approve 7 --reason "read it: an adult, independent"
    """
    _decide(held_id, approve=True, reason=reason, config=config, actor=actor)


@review_app.command("reject")
def review_reject(
    held_id: IdArgument, reason: ReasonOption = "", config: ConfigOption = None, actor: ActorOption = None
) -> None:
    """Never message this advert as it reads now (a changed advert is held again; audited).

    Example: outreach review reject 7 --reason "suggests a minor: passed to the team"
    """
    _decide(held_id, approve=False, reason=reason, config=config, actor=actor)
