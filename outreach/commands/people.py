"""Blocking and unblocking numbers, and the blocklist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.access.masking import mask
from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, settings_from

NumberArgument = Annotated[str, typer.Argument(help="The phone number, in any common format (06..., +31 6 ...).")]
ReasonOption = Annotated[str, typer.Option(help="Why, for the audit log (required).")]
blocklist_app = typer.Typer(
    help="The blocklist: list it (masked), or import and export it as CSV.\n\nExample: outreach blocklist --csv",
    invoke_without_command=True,
)
app.add_typer(blocklist_app, name="blocklist")


@app.command()
def block(
    number: NumberArgument, reason: ReasonOption = "", config: ConfigOption = None, actor: ActorOption = None
) -> None:
    """Never message this number again; anything waiting for it is cancelled (audited).

    Example: outreach block "06 12 34 56 78" --reason "asked by phone not to be contacted"
    """
    from outreach.access.numbers import normalise_number
    from outreach.crypto import PhoneVault
    from outreach.people import blocklist
    from outreach.store.db import Store

    settings = settings_from(config)
    e164 = normalise_number(number, settings.default_region)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            cancelled = blocklist.block(
                session, PhoneVault.from_settings(settings), e164, actor_for(settings, actor), reason
            )
    finally:
        store.close()
    console.print(f"blocked {mask(e164)}; {cancelled} waiting message(s) cancelled", highlight=False)


@app.command()
def unblock(
    number: NumberArgument,
    reason: ReasonOption = "",
    opt_out: Annotated[
        bool, typer.Option("--opt-out", help="Lift the person's own opt-out instead (they asked us to).")
    ] = False,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Lift a block, or with --opt-out a person's opt-out (supervisors only; audited with the reason).

    Example: outreach unblock +31612345678 --reason "blocked the wrong number" --as bob
    Example: outreach unblock 0612345678 --opt-out --reason "asked by phone to hear from us again" --as bob
    """
    from outreach.access.numbers import normalise_number
    from outreach.access.roles import require_supervisor
    from outreach.crypto import PhoneVault
    from outreach.errors import OutreachError
    from outreach.people import blocklist
    from outreach.store.db import Store
    from outreach.store.states import StopKind

    settings = settings_from(config)
    who = actor_for(settings, actor)
    require_supervisor(settings, who, "lift an opt-out" if opt_out else "unblock a number")
    e164 = normalise_number(number, settings.default_region)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            kind = StopKind.OPT_OUT if opt_out else StopKind.BLOCK
            removed = blocklist.unblock(session, PhoneVault.from_settings(settings), e164, who, reason, kind=kind)
    finally:
        store.close()
    if not removed:
        raise OutreachError(f"{mask(e164)} is not {'opted out' if opt_out else 'blocked'}")
    console.print(f"{'opt-out lifted for' if opt_out else 'unblocked'} {mask(e164)}", highlight=False)


@blocklist_app.callback()
def blocklist_list(
    ctx: typer.Context,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for scripts.")] = False,
) -> None:
    """List the blocked numbers (masked).

    Example: outreach blocklist --csv
    """
    if ctx.invoked_subcommand is not None:
        return
    from outreach.commands.output import OutputFormat, emit
    from outreach.crypto import PhoneVault
    from outreach.people import blocklist
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            blocked = blocklist.listing(session, PhoneVault.from_settings(settings))
    finally:
        store.close()
    output = OutputFormat.choose(as_json, as_csv)
    if output is not OutputFormat.TABLE:
        rows = [
            {
                "number": mask(item.number) if item.number else None,
                "since": item.at.isoformat(timespec="seconds"),
                "by": item.actor,
                "reason": item.reason,
            }
            for item in blocked
        ]
        emit(output, rows, ("number", "since", "by", "reason"), foreign=("reason",))
        return
    from outreach.support.local_time import short

    table = Table(title=f"{len(blocked)} blocked")
    for column in ("number", "since", "by", "reason"):
        table.add_column(column)
    for item in blocked:
        number = mask(item.number) if item.number else "(data erased; key kept)"
        table.add_row(number, short(item.at, settings.sending.timezone), item.actor, item.reason or "")
    console.print(table)


@blocklist_app.command("import")
def blocklist_import(
    file: Annotated[Path, typer.Argument(help="CSV: number[,reason] per line.", exists=True, dir_okay=False)],
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Block every number in a CSV file; a bad line anywhere imports nothing and names the line.

    Example: outreach blocklist import blocked.csv
    """
    from outreach.crypto import PhoneVault
    from outreach.people import blocklist
    from outreach.store.db import Store

    settings = settings_from(config)
    entries = blocklist.read_csv_file(file, settings.default_region)
    who = actor_for(settings, actor)
    vault = PhoneVault.from_settings(settings)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            for e164, reason in entries:
                blocklist.block(session, vault, e164, who, reason or f"imported from {file.name}")
    finally:
        store.close()
    console.print(f"blocked {len(entries)} number(s) from {file}", highlight=False)


@blocklist_app.command("export")
def blocklist_export(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV (numbers in clear: keep it safe).")],
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Write the blocked numbers we still hold as CSV (supervisors only; audited).

    Example: outreach blocklist export blocked.csv --as bob
    """
    from outreach import audit
    from outreach.access.roles import require_supervisor
    from outreach.audit_events import Event
    from outreach.crypto import PhoneVault
    from outreach.people import blocklist
    from outreach.store.db import Store

    settings = settings_from(config)
    who = actor_for(settings, actor)
    require_supervisor(settings, who, "export numbers in clear")
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            blocked = blocklist.listing(session, PhoneVault.from_settings(settings))
            audit.record(session, Event.BLOCKLIST_EXPORTED, who, count=len(blocked))
    finally:
        store.close()
    file.write_text(blocklist.to_csv(blocked), encoding="utf-8")
    file.chmod(0o600)
    console.print(f"wrote {sum(1 for b in blocked if b.number)} number(s) to {file}", highlight=False)
