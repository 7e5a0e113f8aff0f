"""`outreach user ...`: people who log in to the dashboard, and who among them are supervisors (the one list of
supervisors, for the dashboard and the CLI alike: outreach.access.roles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from
from outreach.errors import UsageError

user_app = typer.Typer(help="Dashboard users and supervisors.", no_args_is_help=True)
app.add_typer(user_app, name="user")
NameArgument = Annotated[str, typer.Argument(help="The log-in name.")]


@user_app.command("add")
def user_add(
    name: NameArgument,
    role: Annotated[str, typer.Option(help="fieldworker or supervisor.")],
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file (scripts); else asked for.", dir_okay=False)
    ] = None,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Add a dashboard user (supervisors only; the installation's first supervisor by anyone). The password is
    asked for twice, or read from a file: never from the command line, where the process list would show it.

    Example: outreach user add alice --role fieldworker --as bob
    """
    from outreach.access.accounts import require_manager
    from outreach.access.users import add_user
    from outreach.store.db import Store

    settings = settings_from(config)
    who = actor_for(settings, actor)
    store = Store(settings.database_url)
    try:
        with store.session() as session:  # refused before the password is asked for
            require_manager(session, settings, who, new_role=role)
        if password_file is not None:
            try:
                secret = password_file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise UsageError(f"--password-file: cannot read {password_file}: {exc.strerror}") from exc
        else:
            secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        with store.session() as session:
            require_manager(session, settings, who, new_role=role)
            user_id = add_user(session, name, role, secret, who)
    finally:
        store.close()
    console.print(f"added {role} {name} (user {user_id})", highlight=False)


@user_app.command("list")
def user_list(config: ConfigOption = None, actor: ActorOption = None) -> None:
    """The dashboard users, their roles, whether they are disabled, and their open sessions (supervisors only).

    Example: outreach user list --as bob
    """
    from outreach.access.accounts import accounts, require_manager
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            require_manager(session, settings, actor_for(settings, actor))
            found = accounts(session)
    finally:
        store.close()
    table = Table(title=f"{len(found)} user(s)")
    for column in ("name", "role", "state", "sessions", "created (UTC)", "by"):
        table.add_column(column)
    for account in found:
        state = "disabled" if account.disabled else "must change password" if account.must_change_password else "ok"
        created = account.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(account.name, account.role, state, str(account.sessions), created, account.created_by)
    console.print(table)


@user_app.command("disable")
def user_disable(name: NameArgument, config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Disable a user: no more log-ins, and open sessions end at their next request (supervisors; audited).

    Example: outreach user disable alice --as bob
    """
    from outreach.access.accounts import disable
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            ended = disable(session, settings, name, actor_for(settings, actor))
    finally:
        store.close()
    console.print(f"disabled {name}; {ended} session(s) ended", highlight=False)


@user_app.command("enable")
def user_enable(name: NameArgument, config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Enable a disabled user again (supervisors; audited).

    Example: outreach user enable alice --as bob
    """
    from outreach.access.accounts import enable
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            enable(session, settings, name, actor_for(settings, actor))
    finally:
        store.close()
    console.print(f"enabled {name}", highlight=False)


@user_app.command("passwd")
def user_passwd(name: NameArgument, config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Reset a password to a one-time password, shown once here: it logs in only to choose a new password. Open
    sessions end (supervisors; audited).

    Example: outreach user passwd alice --as bob
    """
    from outreach.access.accounts import reset_password
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            one_time = reset_password(session, settings, name, actor_for(settings, actor))
    finally:
        store.close()
    console.print(f"one-time password for {name} (shown only now): {one_time}", highlight=False)
    console.print("they choose their own password when they log in with it", highlight=False)


@user_app.command("role")
def user_role(
    name: NameArgument,
    role: Annotated[str, typer.Argument(help="fieldworker or supervisor.")],
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Change a user's role; only a supervisor makes a supervisor, and the last supervisor stays one (audited).

    Example: outreach user role alice supervisor --as bob
    """
    from outreach.access.accounts import set_role
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            set_role(session, settings, name, role, actor_for(settings, actor))
    finally:
        store.close()
    console.print(f"{name} is now a {role}", highlight=False)
