"""The fieldworker's workspace in Debian's chromium, for the flows tests/test_draft_pages.py, tests/test_cases.py,
tests/test_review_pages.py, tests/test_escalation.py and tests/test_user_pages.py drive through the TestClient: the
assist queue worked with the keys s, e, k and r; a supervisor approving drafts in bulk; a held advert approved and
its person messaged; an escalated case shown as such; a disabled user's next click refused; two browsers taking one
case at once. Each test checks its outcome in the database or at the test gateway, not only on the page, and works
on data of its own, so that any subset runs in any worker.

One server and one chromium for the module (tests/browser_world.py); each user has their own browser context."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy import func, select

from outreach.access.users import add_user
from outreach.crypto import PhoneVault
from outreach.cycle.escalate import run_escalation
from outreach.store.models import AuditEvent, Case, HeldAdvert, Message, User, WebSession
from outreach.store.types import utcnow
from outreach.targeting.selection import select_contacts, store_decisions
from tests.browser_world import Site, browser_page, log_in, served_dashboard, shot
from tests.dashboard_world import DRAFT_BODY, add_drafts
from tests.messaging_world import outbox_for
from tests.targeting_world import make_advert, number
from testworld.policy import WORLD_SENDING

pytestmark = pytest.mark.slow

# Fieldworkers besides alice (tests/dashboard_world.py): carol takes cases, dana is disabled.
HANDED_OVER = ("sent", "delivered")  # the gateway's status callback may already have come
COLLEAGUES = {"carol": "carol-field-password", "dana": "dana-field-password"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    approve_mode = {**WORLD_SENDING, "mode": "approve"}  # first contacts wait as drafts: "Drafts" in the menu
    with served_dashboard(tmp_path_factory.mktemp("workspace"), "en", sending=approve_mode) as site:
        with site.store.session() as session:
            for name, password in COLLEAGUES.items():
                add_user(session, name, "fieldworker", password, actor="test")
        yield site


def status(site: Site, message_id: int) -> str:
    with site.store.session() as session:
        return session.execute(select(Message.status).where(Message.id == message_id)).scalar_one()


def events(site: Site, name: str, actor: str | None = None, **fields: object) -> int:
    """Audit events of this name (by this actor) whose fields include these."""
    query = select(AuditEvent.fields).where(AuditEvent.name == name)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    with site.store.session() as session:
        found = session.execute(query).scalars().all()
    return sum(1 for data in found if all(data.get(key) == value for key, value in fields.items()))


def case_of_a_new_reply(site: Site, person: int, text: str) -> int:
    """Seeded person `person` writes back through the gateway's signed webhook: the case it opens."""
    assert site.gateway.inbound(f"{site.url}/twilio/inbound", site.seeded.numbers[person], text) == 200
    with site.store.session() as session:
        return session.execute(select(Case.id).where(Case.person_id == site.seeded.person_ids[person])).scalar_one()


def press(page: Page, key: str, url: str) -> None:
    """Press a key (with the focus outside any field) and wait for the page it leads to."""
    with page.expect_navigation(url=url):
        page.keyboard.press(key)


def test_the_assist_queue_is_worked_with_the_keys_s_e_k_and_r(site: Site) -> None:
    drafts, phones = add_drafts(site.settings, site.store, 4, start=300)
    first, second, third, fourth = drafts
    edited = "Hoi, Sanne hier van Demo Outreach: wil je praten? Geen berichten meer? Antwoord STOP."
    with browser_page(site) as page:
        log_in(page, site, "alice")
        page.goto(f"{site.url}/assist?after={first - 1}")
        assert page.locator(f"#draft-{first}").count() == 1
        shot(page, "assist-first")
        # s: sent as it is, handed to the gateway within the request.
        press(page, "s", f"**/assist?after={first}&done=sent")
        assert [m.body for m in site.gateway.sent_to()[phones[0]]] == [DRAFT_BODY]
        assert status(site, first) in HANDED_OVER

        # e: the message box has the focus; an edit without the organisation's name is refused, nothing changes.
        assert page.locator(f"#draft-{second}").count() == 1
        page.keyboard.press("e")
        assert page.evaluate("document.activeElement.id") == "assist-body"
        page.keyboard.press("Control+A")
        page.keyboard.type("Hoi! Antwoord STOP.")
        page.keyboard.press("Tab")  # out of the box, to "Send (s)": the keys work again
        assert page.evaluate("document.activeElement.id") == "assist-send-button"
        with page.expect_navigation() as refused:
            page.keyboard.press("s")
        assert refused.value is not None and refused.value.status == 400
        assert "must name Demo Outreach" in page.locator("#problem").inner_text()
        assert status(site, second) == "draft" and phones[1] not in site.gateway.sent_to()
        page.go_back()
        page.keyboard.press("e")
        page.keyboard.press("Control+A")
        page.keyboard.type(edited)
        page.keyboard.press("Tab")
        press(page, "s", f"**/assist?after={second}&done=sent")
        assert [m.body for m in site.gateway.sent_to()[phones[1]]] == [edited]
        assert status(site, second) in HANDED_OVER and events(site, "message.edited", message_id=second) == 1

        # k: skipped, still a draft; r: the reason field has the focus, Enter rejects.
        assert page.locator(f"#draft-{third}").count() == 1
        press(page, "k", f"**/assist?after={third}")
        assert page.locator(f"#draft-{fourth}").count() == 1
        page.keyboard.press("r")
        assert page.evaluate("document.activeElement.id") == "assist-reason"
        page.keyboard.type("not an advert")
        press(page, "Enter", f"**/assist?after={fourth}&done=rejected")
        shot(page, "assist-rejected")
    assert status(site, third) == "draft" and status(site, fourth) == "cancelled"
    assert events(site, "message.rejected", reason="not an advert") == 1
    assert phones[2] not in site.gateway.sent_to() and phones[3] not in site.gateway.sent_to()


def test_a_supervisor_approves_drafts_in_bulk_and_they_reach_the_gateway(site: Site) -> None:
    drafts, phones = add_drafts(site.settings, site.store, 4, start=400)
    with browser_page(site) as page:
        log_in(page, site, "bob")
        page.click("nav >> text=Drafts")
        page.wait_for_url("**/drafts")
        for message_id in drafts[:3]:
            page.check(f"input[name=draft-{message_id}]")
        shot(page, "drafts-chosen")
        page.click("#drafts-form button:text('Approve the chosen drafts')")
        page.wait_for_url("**/drafts?approved=3")
        assert "3 drafts approved" in page.locator("#done").inner_text()
        assert page.locator(f"#draft-{drafts[0]}").count() == 0 and page.locator(f"#draft-{drafts[3]}").count() == 1
        # The one left: rejected with a reason from the same list.
        page.check(f"input[name=draft-{drafts[3]}]")
        page.fill("#drafts-form input[name=reason]", "advert reads as a minor")
        page.click("#drafts-form button:text('Reject the chosen drafts')")
        page.wait_for_url("**/drafts?rejected=1")
        shot(page, "drafts-decided")
    assert [status(site, m) for m in drafts] == ["queued", "queued", "queued", "cancelled"]
    assert [events(site, "message.approved", "bob", message_id=m) for m in drafts] == [1, 1, 1, 0]
    assert events(site, "message.rejected", "bob", message_id=drafts[3], reason="advert reads as a minor") == 1
    # The next drain (the scheduler's) sends the approved ones, and only those.
    outbox_for(site.settings, site.store).drain()
    sent = site.gateway.sent_to()
    assert all(sent[number][-1].body == DRAFT_BODY for number in phones[:3]) and phones[3] not in sent


def test_a_case_waiting_too_long_is_flagged_in_the_list_and_on_its_page(site: Site) -> None:
    case = case_of_a_new_reply(site, 1, "Hallo, is dit anoniem?")
    # A fake clock a week on: at least five office days later, whatever day the test runs.
    flagged = run_escalation(site.settings, site.store, now=utcnow() + timedelta(days=7))
    assert case in [item.case_id for item in flagged]
    with site.store.session() as session:
        assert session.get(Case, case).escalated_at is not None  # type: ignore[union-attr]
    assert events(site, "case.escalated", case_id=case) == 1
    with browser_page(site) as page:
        log_in(page, site, "bob")
        page.goto(f"{site.url}/cases?view=open")
        row = page.locator("#cases li.case-row", has=page.locator(f"a[href='/cases/{case}']"))
        assert "escalated" in (row.get_attribute("class") or "") and "waiting too long" in row.inner_text()
        shot(page, "cases-escalated")
        row.locator("a.case-link").click()
        page.wait_for_url(f"**/cases/{case}")
        assert page.locator("#escalated").inner_text() == "waiting too long: the supervisors were told"
        shot(page, "case-escalated")


def test_a_disabled_users_next_click_is_refused_and_their_session_ends(site: Site) -> None:
    case = case_of_a_new_reply(site, 3, "Wanneer kan ik langskomen?")
    with browser_page(site) as dana, browser_page(site) as bob:
        log_in(dana, site, "dana", COLLEAGUES["dana"])
        dana.goto(f"{site.url}/cases/{case}")
        log_in(bob, site, "bob")
        bob.click("nav >> text=Users")
        row = bob.locator("#users tbody tr", has=bob.locator("td", has_text="dana"))
        row.locator("button:text('Disable')").click()
        bob.wait_for_load_state()
        assert "disabled" in bob.locator("#users tbody tr", has=bob.locator("td", has_text="dana")).inner_text()
        shot(bob, "users-disabled")
        with dana.expect_navigation() as refused:
            dana.click("#take")
        assert refused.value is not None and refused.value.status == 403
        assert dana.locator("#problem").inner_text() == "Please log in again."
        shot(dana, "disabled-refused")
        dana.click("main a[href='/login']")
        dana.wait_for_url("**/login")
        dana.fill("input[name=name]", "dana")
        dana.fill("input[name=password]", COLLEAGUES["dana"])
        dana.click("button[type=submit]")
        assert "Wrong name or password." in dana.content()
    with site.store.session() as session:
        user = session.execute(select(User).where(User.name == "dana")).scalar_one()
        assert user.disabled_at is not None
        assert session.execute(select(func.count(WebSession.id)).where(WebSession.user_id == user.id)).scalar_one() == 0
        assert session.get(Case, case).assigned_to is None  # type: ignore[union-attr]
    assert events(site, "case.assigned", case_id=case) == 0


def test_of_two_browsers_taking_one_case_at_once_exactly_one_gets_it_and_the_other_is_told_who(site: Site) -> None:
    case = case_of_a_new_reply(site, 2, "Kan ik iemand spreken?")
    with browser_page(site) as alice, browser_page(site) as carol:
        log_in(alice, site, "alice")
        log_in(carol, site, "carol", COLLEAGUES["carol"])
        for page in (alice, carol):
            page.goto(f"{site.url}/cases/{case}")
            assert page.locator("#take").count() == 1
        # Both forms are submitted before either answer arrives.
        with alice.expect_navigation() as took_alice, carol.expect_navigation() as took_carol:
            alice.evaluate("document.getElementById('take').click()")
            carol.evaluate("document.getElementById('take').click()")
        answers = {"alice": took_alice.value, "carol": took_carol.value}
        pages = {"alice": alice, "carol": carol}
        statuses = {name: answer.status for name, answer in answers.items() if answer is not None}
        assert sorted(statuses.values()) == [200, 400], statuses
        winner = next(name for name, code in statuses.items() if code == 200)
        loser = next(name for name in statuses if name != winner)
        assert f"with {winner}" in pages[winner].locator("#state").inner_text()
        assert pages[loser].locator("#problem").inner_text() == f"{winner} has this case already."
        shot(pages[loser], "case-taken-by-another")
    with site.store.session() as session:
        assert session.get(Case, case).assigned_to == winner  # type: ignore[union-attr]
    assert events(site, "case.assigned", case_id=case) == 1


def test_a_held_advert_is_approved_in_the_browser_and_its_person_messaged(site: Site) -> None:
    """alice reads a held advert and approves it with a reason; in approve mode its first message waits as a draft,
    bob approves that, and the next drain hands it to the gateway."""
    vault = PhoneVault.from_settings(site.settings)
    targeting = site.settings.targeting
    keywords = targeting.keywords.model_copy(update={"hold": ["mijn baas"]})
    holding = site.settings.model_copy(update={"targeting": targeting.model_copy(update={"keywords": keywords})})
    phone, now = number(71), utcnow()
    with site.store.session() as session:
        advert = make_advert(session, vault, now, phone=phone, text="Mijn baas regelt de afspraak. Bel gerust.")
    with site.store.session() as session:
        decisions = select_contacts(session, holding, now=now, advert_ids=[advert.advert_id]).decisions
        store_decisions(session, decisions, now)
        held = session.execute(select(HeldAdvert.id).where(HeldAdvert.advert_id == advert.advert_id)).scalar_one()
    with browser_page(site) as page:
        log_in(page, site, "alice")
        page.goto(f"{site.url}/review")
        item = page.locator(f"#held-{held}")
        assert "mijn baas" in item.inner_text() and phone not in page.content()  # masked
        item.locator("input[name=reason]").fill("read it: she rents a room")
        shot(page, "review-held")
        item.locator("button[value=approve]").click()
        page.wait_for_url("**/review?decided=approved*")
        assert page.locator(f"#held-{held}").count() == 0
    with site.store.session() as session:
        draft = session.execute(
            select(Message.id).where(Message.person_id == advert.person_id, Message.status == "draft")
        ).scalar_one()
    assert events(site, "review.approved", "alice") == 1
    with browser_page(site) as page:
        log_in(page, site, "bob")
        page.goto(f"{site.url}/drafts")
        page.check(f"input[name=draft-{draft}]")
        page.click("#drafts-form button:text('Approve the chosen drafts')")
        page.wait_for_url("**/drafts?approved=1")
    outbox_for(site.settings, site.store).drain()
    assert phone in site.gateway.sent_to() and status(site, draft) in HANDED_OVER
