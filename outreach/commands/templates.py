"""Commands around message templates: check (what the cycle enforces) and preview (what a person would get)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from outreach.commands.base import ConfigOption, app, console, settings_from
from outreach.errors import OutreachError, UsageError

templates_app = typer.Typer(help="The message templates: check them, preview them.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("check")
def check(config: ConfigOption = None) -> None:
    """Check every template the cycle can send: renders with the configured variables, names the organisation,
    says how to stop, fits templates.max_segments and contains none of templates.forbidden_words.

    `outreach cycle` refuses to start while this fails.

    Example: outreach templates check
    """
    from messaging.template_check import check_templates

    settings = settings_from(config)
    results = check_templates(settings)
    table = Table(title=f"Templates in {settings.templates_dir} (budget {settings.templates.max_segments} SMS parts)")
    for column in ("language", "channel", "kind", "variant", "encoding", "characters", "segments", "result"):
        table.add_column(column, justify="right" if column in ("characters", "segments") else "left")
    for result in results:
        table.add_row(
            result.language,
            result.channel,
            result.kind,
            result.variant,
            result.encoding,
            str(result.characters),
            str(result.segments),
            "[green]ok[/green]" if result.ok else "[red]" + escape("; ".join(result.problems)) + "[/red]",
        )
    console.print(table)
    failed = [result for result in results if not result.ok]
    if failed:
        raise OutreachError(f"{len(failed)} template(s) fail the check: " + ", ".join(result.name for result in failed))


@templates_app.command("preview")
def preview(
    lang: Annotated[str | None, typer.Option("--lang", help="Template language, e.g. ro.")] = None,
    advert: Annotated[
        int | None, typer.Option("--advert", help="Advert id: detect its language as the cycle would.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Show exactly what would be sent: the message body, its encoding and its SMS parts, per variant.

    Example: outreach templates preview --lang ro
    Example: outreach templates preview --advert 42
    """
    from messaging.segments import count_segments
    from messaging.templates import TemplateBook

    if (lang is None) == (advert is None):
        raise UsageError("give --lang or --advert (one of them)")
    settings = settings_from(config)
    book = TemplateBook(
        settings.templates_dir,
        settings.languages,
        settings.fallback_language,
        variant_seed=settings.templates.variant_seed,
    )
    person_id: int | None = None
    if advert is not None:
        lang, person_id = _advert_decision(settings, advert)
    chosen = book.template_language(lang)
    if chosen != lang:
        console.print(f"no template for {lang!r}: the fallback {chosen!r} is sent", highlight=False)
    variants = book.variants(chosen)
    if person_id is not None:
        assigned = book.render(chosen, settings.organisation, person_id=person_id).variant
        console.print(f"person {person_id} is assigned variant {assigned}", highlight=False)
        variants = [assigned]
    for variant in variants:
        body = book.render(chosen, settings.organisation, variant=variant).body
        count = count_segments(body)
        console.rule(
            f"sms/{chosen} variant {variant}: {count.encoding}, {count.characters} characters, "
            f"{count.segments} SMS part(s)"
        )
        console.print(escape(body), highlight=False)


def _advert_decision(settings: object, advert_id: int) -> tuple[str, int | None]:
    """The template language compose would choose for this advert, and the person it would be sent to."""
    from sqlalchemy import select

    from messaging.language import make_detector
    from outreach.settings import Settings
    from outreach.store.db import Store
    from outreach.store.models import Advert, AdvertPerson

    assert isinstance(settings, Settings)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            row = session.get(Advert, advert_id)
            if row is None:
                raise UsageError(f"no advert {advert_id}")
            text = f"{row.title}. {row.text}"
            person_id = session.execute(
                select(AdvertPerson.person_id)
                .where(AdvertPerson.advert_id == advert_id)
                .order_by(AdvertPerson.person_id)
                .limit(1)
            ).scalar_one_or_none()
    finally:
        store.close()
    decision = make_detector(settings).decide(text)
    confidence = f"{decision.confidence:.2f}"
    console.print(
        f"advert {advert_id}: detected {decision.language or '-'} (confidence {confidence}), "
        f"rule {decision.rule.value}, template {decision.template}",
        highlight=False,
    )
    return decision.template, person_id
