"""The `outreach` command. Every error reaches the user as one line with exit code 1 (failure) or 2 (usage or
configuration); never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from outreach.audit import default_actor
from outreach.commands import adverts as _adverts  # noqa: F401 - registers its commands on app
from outreach.commands import audit as _audit  # noqa: F401 - registers its commands on app
from outreach.commands import contact_log as _contact_log  # noqa: F401 - registers its commands on app
from outreach.commands import messaging as _messaging  # noqa: F401 - registers its commands on app
from outreach.commands import operations as _operations  # noqa: F401 - registers its commands on app
from outreach.commands import people as _people  # noqa: F401 - registers its commands on app
from outreach.commands import privacy as _privacy  # noqa: F401 - registers its commands on app
from outreach.commands import records as _records  # noqa: F401 - registers its commands on app
from outreach.commands import report as _report  # noqa: F401 - registers its commands on app
from outreach.commands import review as _review  # noqa: F401 - registers its commands on app
from outreach.commands import sites as _sites  # noqa: F401 - registers its commands on app
from outreach.commands import stats as _stats  # noqa: F401 - registers its commands on app
from outreach.commands import templates as _templates  # noqa: F401 - registers its commands on app
from outreach.commands import users as _users  # noqa: F401 - registers its commands on app
from outreach.commands.base import ActorOption, ConfigOption, actor_for, app, console, db_app, keys_app, settings_from
from outreach.errors import OutreachError
from outreach.store.states import CrawlRunStatus

if TYPE_CHECKING:
    from outreach.demo import DemoWorld


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create the schema or upgrade it to the newest migration.

    Example: outreach db upgrade
    """
    from outreach.crypto import PhoneVault
    from outreach.store.db import current_revision, upgrade

    settings = settings_from(config)
    upgrade(settings.database_url, vault=PhoneVault.if_configured(settings))
    console.print(f"database at revision {current_revision(settings.database_url)}")


@db_app.command("downgrade")
def db_downgrade(
    config: ConfigOption = None,
    to: Annotated[str, typer.Option("--to", help="Target revision (default -1: the one before the current).")] = "-1",
) -> None:
    """Undo the newest migration (or down to --to): the way back when an upgrade must be rolled back.

    Take a backup first (docs/operations.md): undoing a migration drops what it added.

    Example: outreach db downgrade
    """
    from outreach.crypto import PhoneVault
    from outreach.store.db import current_revision, downgrade

    settings = settings_from(config)
    before = current_revision(settings.database_url)
    downgrade(settings.database_url, to, vault=PhoneVault.if_configured(settings))
    console.print(f"database at revision {current_revision(settings.database_url)} (was {before})")


@keys_app.command("new")
def keys_new() -> None:
    """Print a new HMAC key and Fernet key for a fresh installation (store them in files with mode 0600).

    Example: outreach keys new
    """
    from outreach.crypto import new_keys

    hmac_key, fernet_key = new_keys()
    console.print(f"OUTREACH_HMAC_KEY={hmac_key}\nOUTREACH_FERNET_KEY={fernet_key}", highlight=False)


@keys_app.command("rotate")
def keys_rotate(config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Re-encrypt every stored number and reply under the current fernet_key, without stopping anything.

    First make a new key (`outreach keys new`), set it as fernet_key and move the old one to
    fernet_previous_keys; run this; then remove the old key.

    Example: outreach keys rotate
    """
    from outreach.crypto import PhoneVault
    from outreach.people.keys import rotate_keys
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        report = rotate_keys(store, PhoneVault.from_settings(settings), actor_for(settings, actor))
    finally:
        store.close()
    console.print(
        f"re-encrypted {report.numbers} numbers, {report.message_texts} message texts and "
        f"{report.advert_addresses} advert addresses under the current key; "
        "you can now remove fernet_previous_keys"
    )


@app.command()
def cycle(
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Do everything but send.")] = False,
    site: Annotated[list[str] | None, typer.Option("--site", help="Only this site (repeatable).")] = None,
    organisation: Annotated[
        list[str] | None,
        typer.Option(
            "--organisation",
            help="With several organisations: queue and send only this one's messages (repeatable: these ones', "
            "after one crawl, each within its own send window).",
        ),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Run one crawl-and-message cycle now.

    Example: outreach cycle --dry-run --site kinky
    """
    from outreach.cycle.scheduler import locked_cycle

    settings = settings_from(config)
    # The same lock as the scheduler's: a second cycle exits at once with one line.
    report = locked_cycle(
        settings,
        actor=actor_for(settings, actor),
        dry_run=dry_run or None,
        sites=site,
        organisations=organisation or None,
    )
    _print_cycle(report)
    if not report.ok:
        raise OutreachError(report.problem)


def _not_messaged(reasons: dict[str, int]) -> int:
    return sum(count for reason, count in reasons.items() if reason not in ("messaged", "reminded"))


def _print_cycle(report: object) -> None:
    from outreach.cycle.run import CycleReport
    from outreach.store.states import MessageStatus

    assert isinstance(report, CycleReport)
    title = f"Cycle {report.run_id}" + (" (DRY RUN: nothing was sent)" if report.dry_run else "")
    table = Table(
        title=title + ("" if report.crawl_health == CrawlRunStatus.OK else f"; crawl {report.crawl_health.upper()}")
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("adverts seen", report.adverts_seen),
        ("new adverts", report.adverts_new),
        ("adverts with a phone number", report.adverts_with_phone),
        ("persons eligible", report.eligible),
        (
            "messages queued" if report.mode == "auto" else f"drafts waiting ({report.mode} mode)",
            sum(report.queued.values()),
        ),
        ("reminders queued" if report.mode == "auto" else "reminders drafted", report.reminders),
        ("adverts not messaged (see `outreach show advert`)", _not_messaged(report.not_messaged)),
        ("messages sent", sum(report.sent.values())),
        ("messages in doubt, found sent at the provider (reconciled)", report.reconciled_sent),
        ("messages failed", report.failed),
        ("messages in doubt (unknown)", report.unknown),
        ("messages delivered", report.statuses.get(MessageStatus.DELIVERED, 0)),
    ):
        table.add_row(label, str(value))
    for language, count in sorted(report.sent.items()):
        table.add_row(f"  sent in {language}", str(count))
    console.print(table)
    for problem in report.crawl_problems:
        console.print(f"crawl {report.crawl_health}: {problem} (outreach crawl --stats)", highlight=False)
    if report.send_stopped is not None and not report.send_failure:
        # Named organisations' drains: each one's own reason, as one stopping does not stop the next.
        why = "; ".join(f"{key}: {stop.value}" for key, stop in report.send_stopped_by.items())
        console.print(f"sending stopped: {why or report.send_stopped.value}", highlight=False)
    console.print(f"crawl log: {report.log_file}", highlight=False)


@app.command()
def demo(
    actor: ActorOption = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="After the cycle, keep the world running: the dashboard with demo users, simulated people who "
            "answer, until Ctrl-C.",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="With --serve: the dashboard's port on 127.0.0.1 (0: a free one).")
    ] = 0,
    answer_every: Annotated[
        float,
        typer.Option(
            min=0, envvar="OUTREACH_DEMO_ANSWER_EVERY", help="With --serve: seconds between two simulated answers."
        ),
    ] = 40.0,
    folder: Annotated[
        Path | None, typer.Option("--dir", file_okay=False, help="Folder of the demo database (default var/demo).")
    ] = None,
    adverts: Annotated[int, typer.Option(min=20, max=5000, hidden=True, help="Adverts on the fixture site.")] = 300,
) -> None:
    """One full cycle against the bundled fixture ad site and the test SMS gateway, on a fresh SQLite database
    under var/demo/. Nothing leaves this machine.

    With --serve (the playground), the fixture world keeps running after the cycle: the dashboard on 127.0.0.1,
    demo users whose passwords are printed once, and simulated people who answer some of the messages over the
    next minutes, so the dashboard can be tried without a Twilio account. Ctrl-C stops everything.

    Example: outreach demo
    Example: outreach demo --serve --port 8080
    """
    from outreach.demo import DEMO_FOLDER, check_port_free, demo_world

    if serve and port:
        check_port_free(port)  # before the cycle, not a minute later
    console.print("Starting the fixture ad site and the Twilio-compatible test gateway on 127.0.0.1 ...")
    who = actor or default_actor()
    with demo_world(folder or DEMO_FOLDER, actor=who, adverts=adverts) as world:
        result = world.result
        _print_cycle(result.report)
        matches = result.gateway_numbers == result.expected_numbers
        console.print(
            f"gateway received messages for {len(result.gateway_numbers)} numbers; ground truth expects "
            f"{len(result.expected_numbers)}: {'match' if matches else 'MISMATCH'}",
            highlight=False,
        )
        console.print(f"database:     {result.database}", highlight=False)
        console.print(f"ground truth: {result.ground_truth}", highlight=False)
        console.print(f"contact log:  .venv/bin/outreach log --config {result.config_file}", highlight=False)
        if not matches:
            raise OutreachError("demo messages do not match the ground truth")
        if serve:
            _playground(world, who, port, answer_every)


def _playground(world: DemoWorld, actor: str, port: int, answer_every: float) -> None:
    """`outreach demo --serve`: keep the demo world running until SIGINT or SIGTERM, then stop it and exit 0."""
    from datetime import datetime

    from outreach.demo import Playground, stop_signals, wait
    from outreach.web.app import create_app

    def say(text: str) -> None:
        console.print(f"{datetime.now():%H:%M:%S}  {text}", highlight=False)
        sys.stdout.flush()

    serving = Playground(world, create_app, actor=actor, port=port, answer_every=answer_every, say=say)
    with stop_signals() as stopped, serving as playground:
        console.print(
            f"\nPlayground: the dashboard runs at {playground.url}/ (in Dutch; English from the language menu)."
            f"\ntest gateway: {world.gateway.url}",
            highlight=False,
        )
        console.print("Log in as one of these users (the passwords are shown only now):", highlight=False)
        for user in playground.users:
            console.print(f"  {user.name:<20} {user.role:<12} password: {user.password}", highlight=False)
        console.print(
            f"{len(playground.answers)} simulated people will answer, one every {answer_every:g} s; answer them "
            f"under Gesprekken ({playground.url}/cases): an answer leaves for the test gateway at once. "
            "Ctrl-C stops everything.",
            highlight=False,
        )
        sys.stdout.flush()
        wait(stopped)
        console.print("stopping the playground ...", highlight=False)
    console.print("playground stopped", highlight=False)


def _error(message: str) -> None:
    """One line, never wrapped, on stderr."""
    print("error: " + " ".join(message.split()), file=sys.stderr)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr."""
    try:
        app(args=argv, prog_name="outreach")  # standalone mode: usage errors print and exit 2 themselves
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OutreachError as exc:
        _error(str(exc))
        return exc.exit_code
    except SQLAlchemyError as exc:
        first_line = str(exc).splitlines()[0]
        _error(f"database: {exc.__class__.__name__}: {first_line}")
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    return 0


def main() -> None:
    # Everything this process and its children create (the SQLite file and its WAL, crawl logs, exports, the
    # demo's files) is its owner's alone: numbers, message texts and keys are in them.
    os.umask(0o077)
    sys.exit(run())


__all__ = ["app", "main", "run"]
