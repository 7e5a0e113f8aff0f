"""What a fieldworker may correct about an advert."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.commands.base import ActorOption, ConfigOption, access_in, actor_for, app, console, settings_from
from outreach.errors import UsageError

advert_app = typer.Typer(help="Correct what the crawl or the detector got wrong about an advert.", no_args_is_help=True)
app.add_typer(advert_app, name="advert")


@advert_app.command("language")
def language(
    advert: Annotated[int, typer.Argument(help="Advert id (from `outreach log` or `outreach show`).")],
    lang: Annotated[str, typer.Argument(help="A language with a template (e.g. ro), or `auto` to detect again.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log (required).")] = "",
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Set the language of one advert's message by hand; detection no longer decides for it (audited).

    Example: outreach advert language 118 ro --reason "Romanian, the detector said Italian"
    """
    from outreach.store.db import Store
    from outreach.store.models import Advert
    from outreach.targeting.advert_language import chosen_language, set_language

    if not reason.strip():
        raise UsageError("--reason is required")
    settings = settings_from(config)
    chosen_language(lang, settings)  # a language without a template is refused before the database is opened
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            row = session.get(Advert, advert)
            if row is None or not access_in(session, settings, actor).sees_advert(session, row):
                raise UsageError(f"no advert {advert}")
            set_language(session, row, lang, reason, settings, actor_for(settings, actor), where="cli")
    finally:
        store.close()
    console.print(f"advert {advert}: language {lang}")
