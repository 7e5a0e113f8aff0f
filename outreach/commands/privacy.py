"""Privacy operations: the retention purge and subject requests (export, erase)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from outreach.commands.base import ActorOption, ConfigOption, access_in, actor_for, app, console, settings_from
from outreach.errors import UsageError

subject_app = typer.Typer(help="Requests of one person about their data (GDPR art. 15 and 17).", no_args_is_help=True)
app.add_typer(subject_app, name="subject")


@app.command()
def purge(config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Delete what the retention settings no longer allow us to keep (opt-out and block keys stay).

    Example: outreach purge
    """
    from outreach.people.privacy import PURGE_STEPS
    from outreach.people.privacy import purge as run_purge
    from outreach.store.db import Store
    from outreach.store.types import utcnow
    from outreach.support.progress import ProgressReport

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session, ProgressReport("purge (steps)", PURGE_STEPS) as shown:
            report = run_purge(session, settings.retention, utcnow(), actor_for(settings, actor), shown.update)
        store.drop_old_page_versions()
    finally:
        store.close()
    console.print(
        f"purged {report.adverts} adverts, {report.uncontacted_persons} never-contacted persons, "
        f"{report.messages} messages and {report.persons} persons",
        highlight=False,
    )


@subject_app.command("export")
def export(
    number: Annotated[str, typer.Argument(help="The phone number, in any common format.")],
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Everything held about one number, as JSON on stdout (supervisors; audited).

    It holds the adverts' addresses in full (their source is the person's to know; each page shows the number).

    Example: outreach subject export "06 12 34 56 78" > subject.json --as bob
    """
    from outreach.access.numbers import normalise_number
    from outreach.crypto import PhoneVault
    from outreach.people.privacy import export_subject
    from outreach.store.db import Store

    settings = settings_from(config)
    e164 = normalise_number(number, settings.default_region)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            access = access_in(session, settings, actor)
            access.require_umbrella("answer a subject request")
            access.require_supervisor("answer a subject request (it holds the adverts' addresses in full)")
            data = export_subject(session, PhoneVault.from_settings(settings), e164, actor_for(settings, actor))
    finally:
        store.close()
    print(json.dumps(data, ensure_ascii=False, indent=2))


@subject_app.command("erase")
def erase(
    number: Annotated[str, typer.Argument(help="The phone number, in any common format.")],
    reason: Annotated[str, typer.Option(help="Why (e.g. the request's reference), for the audit log.")] = "",
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Remove everything about one number but its opt-out key, so it is never contacted again (audited).

    Example: outreach subject erase +31612345678 --reason "request 2026-14"
    """
    from outreach.access.numbers import normalise_number
    from outreach.crypto import PhoneVault
    from outreach.people.privacy import erase_subject
    from outreach.store.db import Store

    if not reason.strip():
        raise UsageError("--reason is required")
    settings = settings_from(config)
    e164 = normalise_number(number, settings.default_region)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            access_in(session, settings, actor).require_umbrella("answer a subject request")
            found = erase_subject(session, PhoneVault.from_settings(settings), e164, actor_for(settings, actor), reason)
        store.drop_old_page_versions()
    finally:
        store.close()
    console.print("erased; the opt-out key stays" if found else "nothing held about that number; opt-out key recorded")
