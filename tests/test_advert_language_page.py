"""An advert's message language set by hand in the browser (TestClient, SQLite and PostgreSQL), as `outreach
advert language` does: a language with a template or back to detection, always with a reason, audited; the
advert's own organisation only. That the next first message follows it is tests/test_crawl_command.py's."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from messaging.outbox.enqueue import queue_message
from outreach.errors import UsageError
from outreach.people import conversations
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Advert, AuditEvent, Message
from outreach.store.states import MessageKind, MessageStatus
from outreach.store.types import utcnow
from outreach.targeting.advert_language import redraft
from outreach.targeting.contact_pass import first_contact_templates
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import Seeded, add_users, client_for, log_in, page_csrf, seed
from tests.messaging_world import audit_count, messaging_settings


def _desk(world: World, **overrides: Any) -> tuple[Settings, Store, Seeded]:
    """The dashboard world of these tests: users, two adverts with a person each (tests.dashboard_world.seed)."""
    world.gateway.callbacks = "none"  # no status callbacks to https://testserver
    settings = messaging_settings(world, web={"public_url": "https://testserver", **overrides})
    store = world.store()
    add_users(store)
    return settings, store, seed(settings, store, count=2)


def _draft(store: Store, seeded: Seeded, kind: MessageKind = MessageKind.FIRST_CONTACT, **columns: Any) -> int:
    """A message to the second advert's person, in Portuguese, a draft unless `columns` say otherwise."""
    with store.session() as session:
        return queue_message(
            session,
            actor="cycle",
            now=utcnow(),
            person_id=seeded.person_ids[1],
            advert_id=seeded.advert_ids[1],
            channel="sms",
            kind=kind,
            body="Olá, sou a Sanne da Demo Outreach. STOP",
            language="pt",
            **{"status": MessageStatus.DRAFT, **columns},
        )


def _override(world: World, advert_id: int) -> str | None:
    with world.store().session() as session:
        advert = session.get(Advert, advert_id)
        assert advert is not None
        return advert.language_override


def test_a_fieldworker_sets_an_adverts_language_with_a_reason_and_back_to_detection(world: World) -> None:
    settings, store, seeded = _desk(world, language="en")
    advert_id = seeded.advert_ids[1]
    page = f"/adverts/{advert_id}"
    with client_for(create_app(settings)) as alice:
        log_in(alice, "alice")
        shown = alice.get(page).text
        assert 'id="set-language"' in shown and "Romanian (ro)" in shown  # the languages by name, in the user's
        csrf = page_csrf(alice, page)
        action = f"{page}/language"

        assert alice.post(action, data={"csrf": csrf, "language": "ro", "reason": ""}).status_code == 400
        refused = alice.post(action, data={"csrf": csrf, "language": "xx", "reason": "r"})
        assert refused.status_code == 400 and "no template for xx" in refused.text
        assert alice.post(action, data={"csrf": csrf, "language": "", "reason": "r"}).status_code == 400
        assert alice.post(action, data={"language": "ro", "reason": "r"}).status_code == 403  # no CSRF token
        missing = alice.post("/adverts/999999/language", data={"csrf": csrf, "language": "ro", "reason": "r"})
        assert missing.status_code == 404
        assert _override(world, advert_id) is None and audit_count(store, "advert.language") == 0

        saved = alice.post(action, data={"csrf": csrf, "language": "ro", "reason": "Romanian, read by Ana"})
        assert saved.status_code == 303 and saved.headers["location"] == f"{page}?saved=language"
        assert _override(world, advert_id) == "ro"
        after = alice.get(saved.headers["location"]).text
        assert 'id="done"' in after and "set by hand: Romanian (ro)" in after
        assert '<option value="ro" selected>' in after

        back = alice.post(action, data={"csrf": csrf, "language": "auto", "reason": "the text changed"})
        assert back.status_code == 303 and _override(world, advert_id) is None
    with store.session() as session:
        events = session.execute(
            select(AuditEvent).where(AuditEvent.name == "advert.language").order_by(AuditEvent.seq)
        ).scalars()
        found = [(event.actor, event.fields) for event in events]
    assert [(f["language"], f["reason"], f["where"], f["advert_id"]) for _actor, f in found] == [
        ("ro", "Romanian, read by Ana", "dashboard", advert_id),
        ("auto", "the text changed", "dashboard", advert_id),
    ]
    assert {actor for actor, _fields in found} == {"alice"}


def test_the_dutch_page_names_the_languages_in_dutch(world: World) -> None:
    settings, _store, seeded = _desk(world)  # the dashboard's default language: Dutch
    advert_id = seeded.advert_ids[0]
    with client_for(create_app(settings)) as alice:
        log_in(alice, "alice")
        shown = alice.get(f"/adverts/{advert_id}").text
    assert "Taal van het bericht" in shown and "Roemeens (ro)" in shown and "Nederlands + Engels (nl-en)" in shown


def test_a_draft_in_the_wrong_language_is_written_again_in_the_right_one(world: World) -> None:
    settings, store, seeded = _desk(world, language="en")
    advert_id, person_id = seeded.advert_ids[1], seeded.person_ids[1]
    draft = _draft(
        store, seeded, language_detected="pt", language_confidence=0.72, language_rule="detected", template_variant="a"
    )
    with store.session() as session:
        sent = session.execute(
            select(Message.id).where(Message.person_id == person_id, Message.status != MessageStatus.DRAFT)
        ).scalar_one()
    action = f"/assist/{draft}/language"
    with client_for(create_app(settings)) as alice:
        log_in(alice, "alice")
        page = alice.get("/assist").text
        assert 'id="assist-language"' in page and '<option value="pt" selected>Portuguese (pt)</option>' in page
        csrf = page_csrf(alice, "/assist")
        assert alice.post(action, data={"csrf": csrf, "language": "es", "reason": ""}).status_code == 400
        assert alice.post(action, data={"csrf": csrf, "language": "auto", "reason": "r"}).status_code == 400
        assert alice.post(action, data={"csrf": csrf, "language": "xx", "reason": "r"}).status_code == 400
        missing = alice.post("/assist/999999/language", data={"csrf": csrf, "language": "es", "reason": "r"})
        assert missing.status_code == 404
        not_a_draft = alice.post(f"/assist/{sent}/language", data={"csrf": csrf, "language": "es", "reason": "r"})
        assert not_a_draft.status_code == 404  # a sent message is not among the drafts
        with store.session() as session:
            before = session.get(Message, draft)
            assert before is not None and before.language == "pt"

        done = alice.post(action, data={"csrf": csrf, "language": "es", "reason": "Spanish, not Portuguese"})
        assert done.status_code == 303 and done.headers["location"] == f"/assist?after={draft - 1}&done=language"
        again = alice.get(done.headers["location"]).text
        assert f'id="draft-{draft}"' in again and 'id="done"' in again  # the same draft, shown again
    expected = first_contact_templates(settings).render("es", settings.signature(None), person_id=person_id)
    with store.session() as session:
        message = session.get(Message, draft)
        assert message is not None
        assert (message.body, message.language, message.language_rule, message.status) == (
            expected.body,
            "es",
            "override",
            MessageStatus.DRAFT,
        )
        assert message.language_detected == "pt"  # what the detector said stays, for the figures
        advert = session.get(Advert, advert_id)
        assert advert is not None and (advert.language, advert.language_override) == ("es", "es")
        edited = session.execute(select(AuditEvent.fields).where(AuditEvent.name == "message.edited")).scalar_one()
    assert (edited["where"], edited["advert_id"], edited["language"], edited["reason"]) == (
        "dashboard",
        advert_id,
        "es",
        "Spanish, not Portuguese",
    )
    assert audit_count(store, "advert.language") == 1


def test_only_a_waiting_first_message_is_written_again(world: World) -> None:
    settings, store, seeded = _desk(world, language="en")
    reminder = _draft(store, seeded, MessageKind.REMINDER)
    templates = first_contact_templates(settings)
    with client_for(create_app(settings)) as alice:
        log_in(alice, "alice")
        page = alice.get("/assist").text
        assert f'id="draft-{reminder}"' in page and 'id="assist-language"' not in page  # no form for a reminder
        csrf = page_csrf(alice, "/assist")
        refused = alice.post(f"/assist/{reminder}/language", data={"csrf": csrf, "language": "es", "reason": "r"})
        assert refused.status_code == 400 and "Only a drafted first message" in refused.text
        no_token = alice.post(f"/assist/{reminder}/language", data={"language": "es", "reason": "r"})
        assert no_token.status_code == 403
    queued = _draft(store, seeded, status=MessageStatus.QUEUED)
    for message_id in (reminder, queued):
        with pytest.raises(UsageError, match="Only a drafted first message"), store.session() as session:
            redraft(
                session, message_id, "es", "r", settings=settings, templates=templates, actor="alice",
                now=utcnow(), where="test",
            )  # fmt: skip
    assert _override(world, seeded.advert_ids[1]) is None and audit_count(store, "message.edited") == 0


def test_an_approval_that_commits_during_a_rewrite_wins(world: World) -> None:
    settings, store, seeded = _desk(world)
    draft = _draft(store, seeded)
    templates = first_contact_templates(settings)
    outcome: list[str] = []

    def rewrite() -> None:
        try:
            with store.session() as session:
                redraft(
                    session, draft, "es", "r", settings=settings, templates=templates, actor="alice", now=utcnow(),
                    where="test",
                )  # fmt: skip
            outcome.append("rewritten")
        except UsageError as exc:
            outcome.append(exc.message)

    with store.session() as approving:
        assert conversations.approve(approving, [draft], "bob") == 1
        approving.flush()  # the approval holds the row (PostgreSQL) or the write lock (SQLite) until it commits
        rewriting = threading.Thread(target=rewrite)
        rewriting.start()
        rewriting.join(0.5)
        assert rewriting.is_alive(), "the rewrite did not wait for the approval"
    rewriting.join(30)
    assert outcome == ["Only a drafted first message can be written again in another language."]
    with store.session() as session:
        message = session.get(Message, draft)
        assert message is not None and (message.status, message.language) == (MessageStatus.QUEUED, "pt")
