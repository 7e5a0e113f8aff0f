"""Conversations as cases, through Starlette's TestClient on SQLite and PostgreSQL: a reply opens a case, the list
filters it, a fieldworker takes it and answers (the answer reaches the test gateway at once, without a cycle),
writes notes and labels, closes and reopens it; a STOP closes it; two fieldworkers taking it at once: one wins."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from outreach.access.users import add_user
from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.errors import OutreachError
from outreach.people import cases, conversations
from outreach.people.inbound import Inbound, receive
from outreach.reports.quarterly import quarterly_report
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Case, CaseLabel, CaseNote, Message, Person
from outreach.store.states import CaseStatus, Direction, MessageKind
from outreach.store.types import utcnow
from tests.conftest import World
from tests.dashboard_world import PASSWORDS, Seeded, add_users, client_for, csrf_of, log_in, seed
from tests.messaging_world import audit_count, config_file, messaging_settings


@dataclass
class Desk:
    settings: Settings
    store: Store
    seeded: Seeded
    client: TestClient
    world: World

    def case_id(self) -> int:
        with self.store.session() as session:
            return session.execute(select(Case.id).where(Case.person_id == self.seeded.replier_id)).scalar_one()

    def post(self, path: str, **data: str) -> object:
        csrf = csrf_of(self.client.get(f"/cases/{self.case_id()}").text)
        return self.client.post(path, data={"csrf": csrf, **data})


@pytest.fixture
def desk(world: World) -> Iterator[Desk]:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    with store.session() as session:
        add_user(session, "carol", "fieldworker", "carol-field-password", actor="test")
    seeded = seed(settings, store)
    from outreach.web.app import create_app

    with client_for(create_app(settings)) as client:
        yield Desk(settings, store, seeded, client, world)


def test_a_reply_opens_a_case_that_the_list_shows_and_filters(desk: Desk) -> None:
    log_in(desk.client, "alice")
    page = desk.client.get("/cases").text
    assert f'href="/cases/{desk.case_id()}"' in page and "waiting" in page and "nobody yet" in page
    assert desk.seeded.numbers[0] not in page  # masked
    assert f"/cases/{desk.case_id()}" not in desk.client.get("/cases?view=mine").text
    assert f"/cases/{desk.case_id()}" in desk.client.get("/cases?view=unassigned").text
    assert f"/cases/{desk.case_id()}" not in desk.client.get("/cases?waiting=2").text  # it waits a minute, not 2 h
    assert desk.client.get("/cases?view=everything").status_code == 400
    assert desk.client.get("/cases?label=no-such-label").status_code == 400
    assert audit_count(desk.store, "case.opened") == 1


def test_a_fieldworker_takes_a_case_answers_at_once_and_labels_it(desk: Desk) -> None:
    log_in(desk.client, "alice")
    case = desk.case_id()
    assert desk.post(f"/cases/{case}/assign", action="take").status_code == 303  # type: ignore[attr-defined]
    assert f"/cases/{case}" in desk.client.get("/cases?view=mine").text
    answer = "Hoi, je kunt ons dinsdag bellen. Groet, Demo Outreach"
    sent = desk.post(f"/cases/{case}/reply", body=answer)
    assert sent.status_code == 303 and "sent=" in sent.headers["location"]  # type: ignore[attr-defined]
    # Handed to the gateway within the request: no cycle, no `outreach send`.
    assert [m.body for m in desk.world.gateway.sent_to()[desk.seeded.numbers[0]]][-1] == answer
    page = desk.client.get(sent.headers["location"]).text  # type: ignore[attr-defined]
    assert "Your answer was handed to the provider: sent." in page and "answered" in page
    labels = {"label-1": "informatie gegeven", "label-3": "afspraak gemaakt"}
    assert desk.post(f"/cases/{case}/labels", **labels).status_code == 303  # type: ignore[attr-defined]
    assert desk.post(f"/cases/{case}/labels", **{"label-1": "made up"}).status_code == 400  # type: ignore[attr-defined]
    with desk.store.session() as session:
        stored = set(session.execute(select(CaseLabel.label).where(CaseLabel.case_id == case)).scalars())
    assert stored == {"informatie gegeven", "afspraak gemaakt"}
    assert f"/cases/{case}" in desk.client.get("/cases?view=open&label=afspraak+gemaakt").text
    assert desk.post(f"/cases/{case}/close").status_code == 303  # type: ignore[attr-defined]
    assert f"/cases/{case}" in desk.client.get("/cases?view=closed").text
    assert desk.post(f"/cases/{case}/close", action="reopen").status_code == 303  # type: ignore[attr-defined]
    assert audit_count(desk.store, "case.closed") == 1 and audit_count(desk.store, "case.reopened") == 1


def test_notes_are_stored_encrypted_and_shown_with_author(desk: Desk) -> None:
    log_in(desk.client, "alice")
    case = desk.case_id()
    note = "Belt morgen terug over de afspraak."
    assert desk.post(f"/cases/{case}/note", note=note).status_code == 303  # type: ignore[attr-defined]
    page = desk.client.get(f"/cases/{case}").text
    assert note in page and "alice" in page
    with desk.store.session() as session:
        stored = session.execute(select(CaseNote.body)).scalar_one()
    assert note not in stored and PhoneVault.from_settings(desk.settings).decrypt(stored) == note


def test_bad_input_gets_a_clear_message_and_changes_nothing(desk: Desk) -> None:
    log_in(desk.client, "alice")
    case = desk.case_id()

    def outbound() -> int:
        with desk.store.session() as session:
            return session.execute(
                select(func.count(Message.id)).where(Message.direction == Direction.OUT)
            ).scalar_one()

    before = outbound()
    empty = desk.post(f"/cases/{case}/reply", body="   ")
    assert empty.status_code == 400 and "the reply is empty" in empty.text  # type: ignore[attr-defined]
    long = desk.post(f"/cases/{case}/reply", body="lange tekst " * 80)
    assert long.status_code == 400 and "SMS parts" in long.text  # type: ignore[attr-defined]
    long_note = desk.post(f"/cases/{case}/note", note="x" * 5000)
    assert long_note.status_code == 400 and "at most 4000 characters" in long_note.text  # type: ignore[attr-defined]
    huge = desk.post(f"/cases/{case}/note", note="x" * 100_000)  # past the request limit: refused before reading
    assert huge.status_code == 413 and "request body too large" in huge.text  # type: ignore[attr-defined]
    forged = desk.client.post(f"/cases/{case}/reply", data={"csrf": "forged", "body": "Hallo"})
    assert forged.status_code == 403
    assert desk.client.get("/cases/999999").status_code == 404
    assert desk.client.get("/cases/99999999999999").status_code == 404
    assert desk.post("/cases/999999/reply", body="Hallo").status_code == 404  # type: ignore[attr-defined]
    assert outbound() == before
    with desk.store.session() as session:
        assert session.execute(select(func.count(CaseNote.id))).scalar_one() == 0


def test_a_stop_closes_the_case_and_an_answer_is_refused(desk: Desk) -> None:
    vault = PhoneVault.from_settings(desk.settings)
    with desk.store.session() as session:
        receive(session, vault, desk.settings, Inbound("SM" + "8" * 32, desk.seeded.numbers[0], "STOP"))
    log_in(desk.client, "alice")
    case = desk.case_id()
    page = desk.client.get(f"/cases/{case}").text
    assert (
        "closed" in page and "opted out or is blocked" in page and 'action="/cases/' + str(case) + '/reply"' not in page
    )
    refused = desk.post(f"/cases/{case}/reply", body="Hallo")
    assert refused.status_code == 400 and "opted out or is blocked" in refused.text  # type: ignore[attr-defined]
    # Writing again reopens the closed case.
    with desk.store.session() as session:
        receive(session, vault, desk.settings, Inbound("SM" + "9" * 32, desk.seeded.numbers[0], "Sorry, vraag nog"))
        assert session.get(Case, case).status == CaseStatus.OPEN  # type: ignore[union-attr]


def test_closing_the_case_of_a_possible_opt_out_can_resume_the_automatic_messages(desk: Desk) -> None:
    """ "stop sturen aub" pauses the person; the fieldworker who found it was not a no resumes them on closing."""
    vault = PhoneVault.from_settings(desk.settings)
    number, person = desk.seeded.numbers[1], desk.seeded.person_ids[1]
    with desk.store.session() as session:
        receive(session, vault, desk.settings, Inbound("SM" + "4" * 32, number, "stop sturen aub"))
        case = session.execute(select(Case.id).where(Case.person_id == person)).scalar_one()
    log_in(desk.client, "alice")
    page = desk.client.get(f"/cases/{case}").text
    assert "paused: possible opt-out" in page and 'name="resume"' in page
    assert desk.post(f"/cases/{case}/close", resume="yes").status_code == 303  # type: ignore[attr-defined]
    with desk.store.session() as session:
        stored = session.get(Person, person)
        assert stored is not None and stored.paused_reason is None and stored.needs_fieldworker_since is None
        assert session.get(Case, case).status == CaseStatus.CLOSED  # type: ignore[union-attr]
    assert audit_count(desk.store, "conversation.handled") == 1
    # Closing without the box leaves a pause alone.
    with desk.store.session() as session:
        receive(session, vault, desk.settings, Inbound("SM" + "3" * 32, number, "stop sturen aub"))
    assert desk.post(f"/cases/{case}/close").status_code == 303  # type: ignore[attr-defined]
    with desk.store.session() as session:
        assert session.get(Person, person).paused_reason == "possible opt-out"  # type: ignore[union-attr]


def test_of_two_fieldworkers_taking_a_case_at_once_exactly_one_gets_it(desk: Desk) -> None:
    case = desk.case_id()
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def take(name: str) -> None:
        start.wait()
        try:
            with desk.store.session() as session:
                cases.take(session, case, name)
            outcomes[name] = "took"
        except OutreachError as exc:
            outcomes[name] = str(exc)

    threads = [threading.Thread(target=take, args=(name,)) for name in ("alice", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()).count("took") == 1, outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "took")
    loser = next(name for name in outcomes if name != winner)
    assert outcomes[loser] == f"{winner} has this case already."
    with desk.store.session() as session:
        assert session.get(Case, case).assigned_to == winner  # type: ignore[union-attr]
    # In the browser the loser is told who has it.
    log_in(desk.client, loser, PASSWORDS.get(loser, "carol-field-password"))
    refused = desk.post(f"/cases/{case}/assign", action="take")
    assert refused.status_code == 400 and f"{winner} has this case already." in refused.text  # type: ignore[attr-defined]


def test_only_a_supervisor_gives_a_case_to_a_colleague(desk: Desk) -> None:
    case = desk.case_id()
    log_in(desk.client, "alice")
    assert desk.post(f"/cases/{case}/assign", action="give", to="carol").status_code == 403  # type: ignore[attr-defined]
    desk.client.post("/logout", data={"csrf": csrf_of(desk.client.get("/cases").text)})
    log_in(desk.client, "bob")
    assert desk.post(f"/cases/{case}/assign", action="give", to="nobody").status_code == 400  # type: ignore[attr-defined]
    assert desk.post(f"/cases/{case}/assign", action="give", to="carol").status_code == 303  # type: ignore[attr-defined]
    with desk.store.session() as session:
        assert session.get(Case, case).assigned_to == "carol"  # type: ignore[union-attr]


def test_a_case_goes_to_the_user_who_signed_the_first_message(desk: Desk) -> None:
    """The seeded first messages are signed by the settings' fieldworker; a user of that name gets the case."""
    vault = PhoneVault.from_settings(desk.settings)
    signer = desk.settings.organisation.fieldworker
    with desk.store.session() as session:
        add_user(session, signer.lower(), "fieldworker", "signer-field-password", actor="test")
        first = session.execute(
            select(Message.fieldworker).where(
                Message.person_id == desk.seeded.person_ids[1], Message.kind == MessageKind.FIRST_CONTACT
            )
        ).scalar_one()
        receive(session, vault, desk.settings, Inbound("SM" + "6" * 32, desk.seeded.numbers[1], "Wie is dit?"))
        assigned = session.execute(
            select(Case.assigned_to).where(Case.person_id == desk.seeded.person_ids[1])
        ).scalar_one()
    assert assigned == (signer.lower() if first else None)


def test_outcome_labels_are_counted_in_stats_the_stats_page_and_the_report(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_in(desk.client, "alice")
    case = desk.case_id()
    labels = {"label-1": "informatie gegeven", "label-2": "doorverwezen"}
    assert desk.post(f"/cases/{case}/labels", **labels).status_code == 303  # type: ignore[attr-defined]
    page = desk.client.get("/stats?days=30").text
    table = page.split('id="outcome-table"')[1].split("</table>")[0]
    assert "<td>doorverwezen</td><td>1</td>" in table and "<td>informatie gegeven</td><td>1</td>" in table
    capsys.readouterr()
    config = config_file(desk.settings, tmp_path)
    assert run(["stats", "--by", "outcome", "--json", "--config", config]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"outcome": "doorverwezen", "cases": 1}, {"outcome": "informatie gegeven", "cases": 1}]
    with desk.store.session() as session:
        figures = quarterly_report(session, utcnow() - timedelta(days=30), utcnow(), "Europe/Amsterdam", "Demo")
    assert figures.conversations.outcomes == [("doorverwezen", "< 5"), ("informatie gegeven", "< 5")]


def test_the_cli_inbox_chooses_an_organisations_persons_before_the_limit(desk: Desk) -> None:
    """Persons of another organisation who waited longer must not use up the list (`outreach inbox`)."""
    replier = desk.seeded.replier_id
    with desk.store.session() as session:
        session.execute(update(Message).values(organisation="utrecht"))
        session.execute(update(Message).where(Message.person_id == replier).values(organisation="rotterdam"))
        session.execute(
            update(Person).where(Person.id != replier).values(needs_fieldworker_since=utcnow() - timedelta(hours=5))
        )
    vault = PhoneVault.from_settings(desk.settings)
    with desk.store.session() as session:
        assert [w.person_id for w in conversations.inbox(session, vault, 1, organisations=["rotterdam"])] == [replier]
        assert replier not in [w.person_id for w in conversations.inbox(session, vault, 1, organisations=["utrecht"])]
        assert len(conversations.inbox(session, vault, 1)) == 1
