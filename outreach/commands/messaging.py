"""Commands around messages: send, serve (webhooks), approve, assist, inbox, reply."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from outreach.access.masking import mask
from outreach.commands.base import ActorOption, ConfigOption, access_in, actor_for, app, console, settings_from
from outreach.errors import OutreachError, UsageError
from outreach.people import optouts


@app.command()
def send(
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Everything but the provider call.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most N messages now.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Clear a sending pause (needs --reason).")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    actor: ActorOption = None,
) -> None:
    """Drain the outbox now within the send policy (window, pace, caps), then refresh delivery states.

    Example: outreach send --limit 20
    Example: outreach send --resume --reason "spoke to Twilio support, filter lifted"
    """
    from messaging.outbox.delivery import resume_sending
    from messaging.outbox.factory import make_outbox, queued_count
    from outreach.store.db import Store
    from outreach.support.progress import ProgressReport

    settings = settings_from(config)
    who = actor_for(settings, actor)
    store = Store(settings.database_url)
    try:
        if resume:
            if not reason.strip():
                raise UsageError("--resume needs --reason")
            with store.session() as session:
                cleared = resume_sending(session, who, reason)
            console.print(f"cleared {cleared} sending pause(s)")
        outbox = make_outbox(settings, store, who, optouts, dry_run or None)
        with ProgressReport("send", queued_count(store, limit)) as shown:
            report = outbox.drain(limit, progress=shown.update)
        statuses = outbox.refresh_statuses()
    finally:
        store.close()
    table = Table(title="Send" + (" (DRY RUN: nothing was sent)" if outbox.dry_run else ""))
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("sent", sum(report.sent.values())),
        ("failed", report.failed),
        ("cancelled (opted out or blocked)", report.cancelled),
        ("in doubt (unknown)", report.unknown),
        ("reconciled with the provider", report.reconciled),
        ("  of which found sent", report.reconciled_sent),
        ("retried after a rate limit", report.retried),
        ("fell back from WhatsApp to SMS", report.fell_back),
        ("delivery states updated", sum(statuses.values())),
    ):
        table.add_row(label, str(value))
    console.print(table)
    if report.failed_run:
        raise OutreachError(f"sending failed: {report.detail} ({report.left_queued} waiting)")
    if report.stopped is not None:
        console.print(f"stopped: {report.stopped.value} {report.detail}".rstrip(), highlight=False)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default web.port).")] = None,
) -> None:
    """Serve Twilio's webhooks (status callbacks, inbound messages) and /healthz, /readyz.

    Point the number's "a message comes in" webhook at <web.public_url>/twilio/inbound.

    Example: outreach serve --port 8080
    """
    import uvicorn

    from outreach.support.logs import configure_json_logging
    from outreach.web.app import create_app, server_options

    settings = settings_from(config)
    configure_json_logging("INFO", settings.default_region)
    uvicorn.run(create_app(settings), **server_options(settings, host, port))


def _draft_table(title: str, drafts: list[object], zone: str) -> Table:
    from outreach.people.conversations import Draft
    from outreach.support.local_time import short

    table = Table(title=title)
    for column in ("id", "created", "number", "lang", "advert", "message"):
        table.add_column(column, no_wrap=column in ("id", "number", "created"))
    for draft in drafts:
        assert isinstance(draft, Draft)
        table.add_row(
            str(draft.message_id),
            short(draft.created_at, zone),
            mask(draft.number),
            draft.language or "-",
            escape(draft.advert_title[:40]),
            escape(draft.body[:80] + ("…" if len(draft.body) > 80 else "")),
        )
    return table


@app.command()
def approve(
    ids: Annotated[list[int] | None, typer.Argument(help="Draft ids; none: list the drafts.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Approve every waiting draft.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve (needs --reason).")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Approve mode: a supervisor releases (or rejects) the batch of first contacts the cycle drafted.

    Example: outreach approve            (list the drafts)
    Example: outreach approve --all
    Example: outreach approve 12 14 --reject --reason "advert suggests a minor"
    """
    from outreach.crypto import PhoneVault
    from outreach.people import conversations
    from outreach.store.db import Store

    settings = settings_from(config)
    who = actor_for(settings, actor)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            access = access_in(session, settings, who)
            waiting = conversations.drafts(
                session, PhoneVault.from_settings(settings), None, organisations=access.organisations
            )
            own = {draft.message_id for draft in waiting}
            chosen = [d.message_id for d in waiting] if all_ else list(ids or [])
            if not all_ and (others := [str(i) for i in chosen if i not in own]):
                raise UsageError(f"no draft {', '.join(others)} waiting (outreach approve lists them)")
            if not chosen:
                title = f"{len(waiting)} draft(s) waiting"
                console.print(_draft_table(title, list(waiting[:200]), settings.sending.timezone))
                return
            if reject:
                done = conversations.reject(session, chosen, who, reason)
                console.print(f"rejected {done} draft(s)")
            else:
                done = conversations.approve(session, chosen, who)
                console.print(f"approved {done} draft(s); they go with the next `outreach send` or cycle")
    finally:
        store.close()


@app.command()
def assist(config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Assist mode: walk through the drafted first contacts one by one: send, edit, skip, reject or quit.

    Example: outreach assist --as sanne
    """
    from messaging.outbox.factory import make_outbox
    from outreach.crypto import PhoneVault
    from outreach.people import conversations
    from outreach.store.db import Store

    settings = settings_from(config)
    who = actor_for(settings, actor)
    store = Store(settings.database_url)
    try:
        outbox = make_outbox(settings, store, who, optouts)
        with store.session() as session:
            access = access_in(session, settings, who)
            waiting = conversations.drafts(
                session, PhoneVault.from_settings(settings), None, organisations=access.organisations
            )
        if not waiting:
            console.print("no drafts waiting")
        for index, draft in enumerate(waiting, 1):
            console.rule(f"{index}/{len(waiting)}  draft {draft.message_id}  {mask(draft.number)}  [{draft.language}]")
            console.print(f"[bold]{escape(draft.advert_title)}[/bold]\n{escape(draft.advert_text[:400])}")
            console.print(f"\n[green]message:[/green] {escape(draft.body)}")
            while True:
                choice = typer.prompt("[s]end  [e]dit  [k] skip  [r]eject  [q]uit", default="k").strip().lower()
                if choice == "e":
                    body = typer.prompt("new text", default=draft.body)
                    try:
                        with store.session() as session:
                            conversations.edit_draft(session, draft.message_id, body, settings, who)
                    except (UsageError, OutreachError) as exc:
                        console.print(f"[red]{escape(str(exc))}[/red]")
                    continue
                if choice == "s":
                    with store.session() as session:
                        conversations.approve(session, [draft.message_id], who)
                    report = outbox.send_one(draft.message_id)
                    console.print("sent" if sum(report.sent.values()) else "not sent: see `outreach log`")
                elif choice == "r":
                    reason = typer.prompt("reason")
                    with store.session() as session:
                        conversations.reject(session, [draft.message_id], who, reason)
                elif choice == "q":
                    return
                break
    finally:
        store.close()


@app.command()
def inbox(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for scripts.")] = False,
    actor: ActorOption = None,
) -> None:
    """Conversations waiting for a fieldworker: people who wrote to us (possible opt-outs flagged).

    Example: outreach inbox
    """
    from outreach.commands.output import OutputFormat, emit
    from outreach.crypto import PhoneVault
    from outreach.people import conversations
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            access = access_in(session, settings, actor)
            waiting = conversations.inbox(
                session, PhoneVault.from_settings(settings), organisations=access.organisations
            )
    finally:
        store.close()
    output = OutputFormat.choose(as_json, as_csv)
    if output is not OutputFormat.TABLE:
        rows = [
            {
                "person": item.person_id,
                "waiting_since": item.since.isoformat(timespec="seconds"),
                "number": mask(item.number),
                "flag": item.paused_reason,
                "last_message": item.last_text,
            }
            for item in waiting
        ]
        emit(output, rows, ("person", "waiting_since", "number", "flag", "last_message"), foreign=("last_message",))
        return
    from outreach.support.local_time import ago, short

    table = Table(title=f"{len(waiting)} conversation(s) waiting")
    for column in ("person", "waiting since", "number", "flag", "last message"):
        table.add_column(column, no_wrap=column != "last message")
    for item in waiting:
        table.add_row(
            str(item.person_id),
            f"{short(item.since, settings.sending.timezone)} ({ago(item.since)})",
            mask(item.number),
            item.paused_reason or "",
            escape(item.last_text[:160]),
        )
    console.print(table)


@app.command()
def reply(
    person: Annotated[int, typer.Argument(help="Person id (from `outreach inbox`).")],
    text: Annotated[str, typer.Argument(help="The answer, in your own words.")],
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Answer a person who wrote to us; sent at once, refused for opted-out or blocked persons.

    Example: outreach reply 42 "Hoi! Ja, je kunt langskomen op dinsdag. Groet, Sanne"
    """
    from messaging.outbox.factory import make_outbox
    from outreach.people import conversations
    from outreach.store.db import Store

    settings = settings_from(config)
    who = actor_for(settings, actor)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            if not access_in(session, settings, who).sees_person(session, person):
                raise UsageError(f"no person {person}")
            message_id = conversations.queue_reply(session, person, text, settings, who)
        report = make_outbox(settings, store, who, optouts).send_one(message_id)
    finally:
        store.close()
    if not sum(report.sent.values()):
        raise OutreachError(f"reply {message_id} was not sent: see `outreach log`")
    console.print(f"reply {message_id} sent")


@app.command("handled")
def handled(
    person: Annotated[int, typer.Argument(help="Person id (from `outreach inbox`).")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Also lift a 'possible opt-out' pause (after reading the message).")
    ] = False,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Mark a conversation as handled (it leaves the inbox).

    Example: outreach handled 42
    """
    from outreach.people import conversations
    from outreach.store.db import Store

    settings = settings_from(config)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            if not access_in(session, settings, actor).sees_person(session, person):
                raise UsageError(f"no person {person}")
            conversations.mark_handled(session, person, actor_for(settings, actor), resume=resume)
    finally:
        store.close()
    console.print(f"conversation with person {person} handled")


@app.command("escalate")
def escalate(config: ConfigOption = None) -> None:
    """Flag the conversations whose person waited longer than `cases.escalate_after_minutes` (office hours) and tell
    the supervisors through `notify` (ids and links only). The scheduler does this every
    `cases.check_every_minutes`.

    Example: outreach escalate
    """
    from outreach.cycle.escalate import run_escalation
    from outreach.store.db import Store

    settings = settings_from(config)
    with Store(settings.database_url) as store:
        flagged = run_escalation(settings, store)
    for item in flagged:
        console.print(f"conversation {item.case_id}: waited {item.waited_minutes} office minutes")
    console.print(f"{len(flagged)} conversation(s) waited too long" if flagged else "no conversation waits too long")
