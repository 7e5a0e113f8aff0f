"""The Typer app, the console and the options every command shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from outreach.access.roles import Access, access_for
from outreach.audit import default_actor
from outreach.settings import Settings, load_settings

app = typer.Typer(
    name="outreach",
    help="Reach people who advertise online with a help offer: crawl, dedup, message, review.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="The keys that protect stored phone numbers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")

# Piped output (scripts, logs) gets a wide table instead of Rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 200)
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", envvar="OUTREACH_CONFIG", help="Settings file (default config/outreach.yaml)."),
]
ActorOption = Annotated[str | None, typer.Option("--as", help="Who runs this, for the audit log (default: OS user).")]


def settings_from(config: Path | None) -> Settings:
    return load_settings(config)


def actor_for(settings: Settings, given: str | None) -> str:
    return given or settings.actor or default_actor()


def access_in(session: Session, settings: Settings, given: str | None) -> Access:
    """What this command's actor may see and do: the dashboard's rule (outreach.access.roles)."""
    return access_for(session, settings, actor_for(settings, given))
