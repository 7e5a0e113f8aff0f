"""Drafts in the browser (TestClient, SQLite and PostgreSQL): a supervisor approves several at once, anyone rejects
with a reason, a fieldworker works the assist queue (send at once, edit, skip, reject)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from outreach.crypto import PhoneVault
from outreach.people import conversations
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Message
from outreach.web.dashboard.draft_pages import DRAFTS_PAGE
from tests.conftest import World
from tests.dashboard_world import DRAFT_BODY as BODY
from tests.dashboard_world import Seeded, add_drafts, add_users, client_for, csrf_of, log_in, seed
from tests.messaging_world import audit_count, messaging_settings, numbers
from testworld.policy import WORLD_SENDING


@dataclass
class Desk:
    settings: Settings
    store: Store
    seeded: Seeded
    client: TestClient
    world: World
    drafts: list[int]

    def status(self, message_id: int) -> str:
        with self.store.session() as session:
            return session.execute(select(Message.status).where(Message.id == message_id)).scalar_one()


@pytest.fixture
def desk(world: World) -> Iterator[Desk]:
    world.gateway.callbacks = "none"
    settings = messaging_settings(
        world, web={"public_url": "https://testserver", "language": "en"}, sending={**WORLD_SENDING, "mode": "assist"}
    )
    store = world.store()
    add_users(store)
    seeded = seed(settings, store, count=1)
    drafts, _ = add_drafts(settings, store, 4, start=300)
    from outreach.web.app import create_app

    with client_for(create_app(settings)) as client:
        yield Desk(settings, store, seeded, client, world, drafts)


def mark_of(page: str, message_id: int) -> str:
    """The value the page's checkbox for this draft sends (what the draft said when the page was made)."""
    found = re.search(rf'name="draft-{message_id}" value="([0-9a-f]+)"', page)
    assert found, f"no checkbox for draft {message_id}"
    return found[1]


def test_a_supervisor_approves_several_drafts_at_once(desk: Desk) -> None:
    log_in(desk.client, "bob")
    page = desk.client.get("/drafts").text
    assert "4 first messages wait" in page and "93% sure" in page and "1 SMS part" in page
    assert all(number not in page for number in numbers(4, start=300))
    chosen = {f"draft-{message_id}": mark_of(page, message_id) for message_id in desk.drafts[:3]}
    answer = desk.client.post("/drafts/approve", data={"csrf": csrf_of(page), **chosen})
    assert answer.status_code == 303 and answer.headers["location"] == "/drafts?approved=3"
    assert [desk.status(m) for m in desk.drafts] == ["queued", "queued", "queued", "draft"]
    assert audit_count(desk.store, "message.approved") == 3
    assert desk.client.post("/drafts/approve", data={"csrf": csrf_of(page)}).status_code == 400  # none chosen
    forged = desk.client.post("/drafts/approve", data={"csrf": csrf_of(page), "draft-999999": "yes"})
    assert forged.status_code == 404


def test_a_fieldworker_may_not_approve_in_bulk_but_rejects_with_a_reason(desk: Desk) -> None:
    log_in(desk.client, "alice")
    csrf = csrf_of(desk.client.get("/drafts").text)
    chosen = {f"draft-{desk.drafts[0]}": "yes"}
    assert desk.client.post("/drafts/approve", data={"csrf": csrf, **chosen}).status_code == 403
    assert desk.client.post("/drafts/reject", data={"csrf": csrf, **chosen}).status_code == 400  # no reason
    answer = desk.client.post("/drafts/reject", data={"csrf": csrf, "reason": "advert reads as a minor", **chosen})
    assert answer.status_code == 303 and desk.status(desk.drafts[0]) == "cancelled"


def test_the_assist_queue_sends_edits_skips_and_rejects(desk: Desk) -> None:
    log_in(desk.client, "alice")
    first, second, third, fourth = desk.drafts
    page = desk.client.get("/assist").text
    assert f'action="/assist/{first}/send"' in page and "4 wait" in page
    # Send as it is: handed to the gateway at once.
    answer = desk.client.post(f"/assist/{first}/send", data={"csrf": csrf_of(page), "body": BODY})
    assert answer.headers["location"] == f"/assist?after={first}&done=sent"
    assert desk.status(first) == "sent" and len(desk.world.gateway.sent_to()[numbers(1, start=300)[0]]) == 1
    # The next one, edited: an edit without the organisation's name is refused and nothing changes.
    page = desk.client.get(answer.headers["location"]).text
    assert f'action="/assist/{second}/send"' in page
    refused = desk.client.post(f"/assist/{second}/send", data={"csrf": csrf_of(page), "body": "Hoi! Antwoord STOP."})
    assert refused.status_code == 400 and "must name Demo Outreach" in refused.text
    assert desk.status(second) == "draft"
    edited = "Hoi, Sanne hier van Demo Outreach: wil je praten? Geen berichten meer? Antwoord STOP."
    desk.client.post(f"/assist/{second}/send", data={"csrf": csrf_of(page), "body": edited})
    assert [m.body for m in desk.world.gateway.sent_to()[numbers(2, start=300)[1]]] == [edited]
    assert audit_count(desk.store, "message.edited") == 1
    # Skip the third, reject the fourth.
    page = desk.client.get(f"/assist?after={third}").text
    assert f'action="/assist/{fourth}/send"' in page
    csrf = csrf_of(page)
    answer = desk.client.post(
        "/drafts/reject", data={"csrf": csrf, "from": "assist", f"draft-{fourth}": "yes", "reason": "not an advert"}
    )
    assert answer.headers["location"] == f"/assist?after={fourth}&done=rejected"
    assert desk.status(third) == "draft" and desk.status(fourth) == "cancelled"
    # After the last, the queue starts again with the skipped one.
    assert f'action="/assist/{third}/send"' in desk.client.get(answer.headers["location"]).text


def test_a_long_queue_of_drafts_is_paged_and_a_draft_on_a_later_page_can_be_approved(desk: Desk) -> None:
    more, _ = add_drafts(desk.settings, desk.store, DRAFTS_PAGE + 1, start=400)
    log_in(desk.client, "bob")
    first = desk.client.get("/drafts").text
    assert f"{len(desk.drafts) + len(more)} first messages wait" in first
    assert first.count('class="draft"') == DRAFTS_PAGE and 'id="next-page"' in first
    second = desk.client.get("/drafts?page=2").text
    assert second.count('class="draft"') == len(desk.drafts) + len(more) - DRAFTS_PAGE
    assert f'id="draft-{more[-1]}"' in second and f'id="draft-{more[-1]}"' not in first
    chosen = {f"draft-{more[-1]}": mark_of(second, more[-1])}
    answer = desk.client.post("/drafts/approve", data={"csrf": csrf_of(second), **chosen})
    assert answer.status_code == 303 and desk.status(more[-1]) == "queued"
    too_long = desk.client.post("/drafts/approve", data={"csrf": csrf_of(second), "draft-" + "9" * 30: "yes"})
    assert too_long.status_code == 404
    past_the_end = desk.client.get("/drafts?page=7&approved=1", follow_redirects=False)
    assert past_the_end.status_code == 303 and past_the_end.headers["location"] == "/drafts?page=2&approved=1"


def test_drafts_are_chosen_by_organisation_before_the_limit(desk: Desk) -> None:
    """With several organisations, another organisation's older drafts must not use up this one's page."""
    vault = PhoneVault.from_settings(desk.settings)
    with desk.store.session() as session:
        session.execute(update(Message).where(Message.id.in_(desk.drafts[:3])).values(organisation="utrecht"))
        session.execute(update(Message).where(Message.id == desk.drafts[3]).values(organisation="rotterdam"))
    with desk.store.session() as session:
        ours = conversations.drafts(session, vault, 2, organisations=["rotterdam"])
        assert [d.message_id for d in ours] == [desk.drafts[3]]
        assert conversations.count_drafts(session, ["rotterdam"]) == 1
        assert len(conversations.drafts(session, vault, None)) == len(desk.drafts)


def test_a_draft_rewritten_after_the_page_was_made_is_not_approved_unseen(desk: Desk) -> None:
    log_in(desk.client, "bob")
    page = desk.client.get("/drafts").text
    first, second = desk.drafts[:2]
    chosen = {f"draft-{first}": mark_of(page, first), f"draft-{second}": mark_of(page, second)}
    with desk.store.session() as session:  # a colleague rewrites the first meanwhile (assist: another language)
        message = session.get(Message, first)
        assert message is not None
        shown = message.body
        message.body = "Hello, this is Sanne of Demo Outreach. We help for free. No more messages? Reply STOP."
    with desk.store.session() as session:  # the UPDATE itself checks the text too (a rewrite committed first)
        assert conversations.approve(session, [first], "bob", shown={first: shown}) == 0
    answer = desk.client.post("/drafts/approve", data={"csrf": csrf_of(page), **chosen})
    assert answer.status_code == 303 and answer.headers["location"] == "/drafts?approved=1&changed=1"
    assert [desk.status(first), desk.status(second)] == ["draft", "queued"]
    again = desk.client.get(answer.headers["location"]).text
    assert 'id="changed"' in again and "1 draft was changed since you opened the page" in again
    assert "Hello, this is Sanne" in again  # shown again, as it is now
    fresh = {f"draft-{first}": mark_of(again, first)}
    assert desk.client.post("/drafts/approve", data={"csrf": csrf_of(again), **fresh}).status_code == 303
    assert desk.status(first) == "queued"
    assert audit_count(desk.store, "message.approved") == 2
