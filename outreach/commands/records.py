"""Looking at one advert or person, and sending a message again by hand."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from outreach.commands.base import ActorOption, ConfigOption, access_in, actor_for, app, console, settings_from
from outreach.errors import OutreachError, UsageError
from outreach.people import optouts


@app.command()
def show(
    kind: Annotated[str, typer.Argument(help="advert or person")],
    ident: Annotated[str, typer.Argument(help="Advert id; person id or phone number (any common format).")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="An advert's address in full (supervisors; audited: its page shows the number)."),
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Everything about one advert or person: adverts, messages and statuses, replies, opt-out, audit trail.

    An advert's address is shown masked (the site only): the page behind it shows the number.

    Example: outreach show person "06 12 34 56 78"
    Example: outreach show advert 118 --json
    Example: outreach show advert 118 --reveal
    """
    from outreach import audit
    from outreach.access.lookup import find_person
    from outreach.access.numbers import normalise_number
    from outreach.audit_events import Event
    from outreach.crypto import PhoneVault
    from outreach.reports.inspect import advert_view, person_view
    from outreach.store.db import Store
    from outreach.store.models import Advert, Person

    if kind not in ("advert", "person"):
        raise UsageError("show advert ID, or show person ID|NUMBER")
    if reveal and kind != "advert":
        raise UsageError("--reveal shows an advert's address; a number in full: outreach log --reveal")
    settings = settings_from(config)
    vault = PhoneVault.from_settings(settings)
    store = Store(settings.database_url)
    data: dict[str, Any] | None = None
    try:
        with store.session() as session:
            access = access_in(session, settings, actor)
            if kind == "advert":
                if not ident.isdigit() or len(ident) > 9:
                    raise UsageError(f"an advert id is a number, got {ident!r}")
                shown = session.get(Advert, int(ident))
                if shown is None or not access.sees_advert(session, shown):
                    raise UsageError(f"no advert {ident}")
                if reveal:
                    access.require_supervisor("reveal an advert's address")
                data = advert_view(session, vault, int(ident), reveal_url=reveal)
                if reveal:
                    persons = [person["person"] for person in data["persons"]]
                    audit.record(session, Event.NUMBERS_REVEALED, access.actor, where="show", advert_id=shown.id,
                                 shown="advert address", person_ids=persons)  # fmt: skip
            else:
                if ident.isdigit() and len(ident) < 8:
                    person = session.get(Person, int(ident))
                else:
                    e164 = normalise_number(ident, settings.default_region)
                    person = find_person(session, vault, access, e164, where="show")
                if person is not None and access.sees_person(session, person.id):
                    data = person_view(session, vault, person)
    finally:
        store.close()
    if data is None:  # raised after the transaction: a search that found nobody is audited too
        raise UsageError(f"no person {ident}")
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    people = data.get("persons", [data])
    if kind == "advert":
        console.print(f"[bold]advert {data['advert']}[/bold] {data['site']}/{escape(str(data['ad']))} {data['city']}")
        revealed = " (revealed; audited)" if data["url_revealed"] else " (masked; --reveal: supervisors, audited)"
        console.print(escape(f"address: {data['url']}{revealed}"), highlight=False)
        console.print(escape(f"{data['title']}\n{data['text']}"))
        for why in data["why"]:
            who = f"person {why['person']}" if why["person"] else "no person"
            console.print(escape(f"why ({who}, {why['decided']}): {why['why']}"), highlight=False)
        if data["review"]:
            review = data["review"]
            decided = f" by {review['by']}: {review['reason']}" if review["by"] else ""
            console.print(escape(f"review {review['id']}: {review['status']} ({review['rule']}){decided}"))
    for person in people:
        console.rule(f"person {person['person']}  {person['number']}")
        flags = [f"{s['kind']} ({s['source']}, {s['by']})" for s in person["stopped"]]
        for label, value in (
            ("last contacted", person["last_contacted"]),
            ("stopped", ", ".join(flags) or "no"),
            ("waiting for a fieldworker", person["waiting_for_fieldworker"]),
            ("paused", person["paused"] or "no"),
        ):
            console.print(f"{label}: {value}", highlight=False)
        table = Table(title="messages")
        for column in ("id", "created", "dir", "kind", "status", "code", "text"):
            table.add_column(column)
        for m in person["messages"]:
            row = (m["id"], m["created"], m["direction"], m["kind"], m["status"], m["code"], m["text"][:80])
            table.add_row(*(escape(str(v)) if v is not None else "-" for v in row))
        console.print(table)
        for advert in person["adverts"]:
            why = "; ".join(advert["why"]) or "not decided yet"
            console.print(escape(f"advert {advert['id']} ({advert['site']}, {advert['city']}): {why}"), highlight=False)


@app.command()
def resend(
    message: Annotated[int | None, typer.Argument(help="Message id (from `outreach log`).")] = None,
    advert: Annotated[int | None, typer.Option(help="Or: the advert whose first contact to send again.")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log (required).")] = "",
    force: Annotated[bool, typer.Option("--force", help="Inside the re-contact window (supervisors).")] = False,
    config: ConfigOption = None,
    actor: ActorOption = None,
) -> None:
    """Send a message again by hand; refused for opted-out or blocked persons, and inside the re-contact window
    unless a supervisor forces it.

    Example: outreach resend 412 --reason "the first one was sent to the wrong template"
    """
    from messaging.outbox.factory import make_outbox
    from outreach.people.conversations import queue_resend
    from outreach.store.db import Store
    from outreach.store.models import Advert, Message

    settings = settings_from(config)
    who = actor_for(settings, actor)
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            access = access_in(session, settings, who)
            if force:
                access.require_supervisor("force a resend inside the re-contact window")
            original = session.get(Message, message) if message is not None else None
            if original is not None and not access.sees_message(original):
                raise UsageError(f"no outbound message {message}")
            shown = session.get(Advert, advert) if advert is not None else None
            if shown is not None and not access.sees_advert(session, shown):
                raise UsageError(f"advert {advert} has no first-contact message to send again")
            message_id = queue_resend(
                session, settings, actor=who, reason=reason, message_id=message, advert_id=advert, force=force
            )
        report = make_outbox(settings, store, who, optouts).send_one(message_id)
    finally:
        store.close()
    if not sum(report.sent.values()):
        raise OutreachError(f"message {message_id} was not sent: see `outreach log`")
    console.print(f"message {message_id} sent")
