"""`outreach user add`: people who log in to the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from
from outreach.errors import UsageError

user_app = typer.Typer(help="Dashboard users.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The log-in name.")],
    role: Annotated[str, typer.Option(help="fieldworker or supervisor.")],
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file (scripts); else asked for.", dir_okay=False)
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="OUTREACH_USER_PASSWORD", hidden=True, help="Only from the environment, for scripts."),
    ] = None,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Add a dashboard user; the password is asked for twice unless given by file or OUTREACH_USER_PASSWORD.

    Example: outreach user add alice --role fieldworker
    """
    from outreach.access.users import add_user
    from outreach.store.db import Store

    settings = settings_from(config)
    if password_file is not None:
        try:
            secret = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"--password-file: cannot read {password_file}: {exc.strerror}") from exc
    elif password is not None:
        secret = password
    else:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            user_id = add_user(session, name, role, secret, actor_for(settings, actor))
    finally:
        store.close()
    console.print(f"added {role} {name} (user {user_id})", highlight=False)
