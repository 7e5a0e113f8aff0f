"""The dashboard in a real browser: Playwright driving Debian's chromium against `outreach serve` on 127.0.0.1,
with data that went through the real paths (store, outbox, Twilio test gateway, signed webhooks).

One browser and one server for the module; each test has its own browser context (its own cookies). Every page is
saved as a screenshot under test-output/screenshots for review. Any JavaScript dialog (an alert from an XSS payload)
fails the test that saw it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from outreach.access.masking import mask
from outreach.crypto import new_keys
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.web.app import create_app
from tests.conftest import make_settings
from tests.dashboard_world import PASSWORDS, XSS_REPLY, XSS_TEXT, XSS_TITLE, Seeded, add_users, seed
from testworld.twilio_gateway import TwilioGateway
from testworld.web_server import UvicornThread, free_port

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


@dataclass
class Site:
    url: str
    settings: Settings
    store: Store
    gateway: TwilioGateway
    seeded: Seeded
    browser: Browser
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("dashboard")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("OUTREACH_", "TWILIO_")):
                patch.delenv(name)
        empty = tmp_path / "outreach.yaml"
        empty.write_text("{}\n", encoding="utf-8")
        patch.setenv("OUTREACH_CONFIG", str(empty))
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        hmac_key, fernet_key = new_keys()
        port = free_port()
        with TwilioGateway() as gateway:
            settings = make_settings(
                f"sqlite:///{tmp_path / 'dashboard.db'}",
                {"hmac_key": hmac_key, "fernet_key": fernet_key},
                tmp_path,
                twilio=gateway.twilio_settings(),
                web={"public_url": f"http://127.0.0.1:{port}"},
            )
            from outreach.store.db import upgrade

            upgrade(settings.database_url)
            with (
                Store(settings.database_url) as store,
                UvicornThread(create_app(settings), port) as server,
                sync_playwright() as playwright,
            ):
                add_users(store)
                seeded = seed(settings, store, inbound_url=f"{server.url}/twilio/inbound", gateway=gateway)
                gateway.wait_for_callbacks()
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
                )
                try:
                    yield Site(server.url, settings, store, gateway, seeded, browser)
                finally:
                    browser.close()


@pytest.fixture
def page(site: Site) -> Iterator[Page]:
    context = site.browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    context.close()
    assert dialogs == [], f"a script ran: {dialogs}"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, site: Site, name: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")


def test_a_supervisor_logs_in_filters_the_log_and_opens_an_advert_whose_html_shows_as_text(
    site: Site, page: Page
) -> None:
    page.goto(f"{site.url}/log")
    assert page.url == f"{site.url}/login"  # not logged in yet
    shot(page, "login")
    log_in(page, site, "bob")
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("svg.chart rect.bar").count() == 60
    shot(page, "overview")
    page.click("nav >> text=Contact log")
    assert page.locator("#log tbody tr").count() >= 7  # 6 sent and the reply (a later test here answers it)
    page.select_option("select[name=site]", "rentboy")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**/log?*site=rentboy*")
    rows = page.locator("#log tbody tr")
    assert rows.count() == 3
    assert all("rentboy" in text for text in rows.all_inner_texts())
    shot(page, "log-filtered")
    # Numbers are masked in the table.
    table = page.locator("#log").inner_text()
    assert all(number not in table for number in site.seeded.numbers)
    assert mask(site.seeded.numbers[1]) in table
    # The advert with HTML in its title and text: shown as text, nothing runs, no element is created.
    page.select_option("select[name=site]", "kinky")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**/log?*site=kinky*")
    page.click(f"#log a[href='/adverts/{site.seeded.xss_advert_id}']")
    page.wait_for_url(f"**/adverts/{site.seeded.xss_advert_id}")
    assert page.locator("#advert-text").inner_text() == XSS_TEXT
    assert page.locator("#advert-title").inner_text() == XSS_TITLE
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    assert page.locator("#advert-text *").count() == 0
    shot(page, "advert-xss")


def test_a_supervisor_reveals_a_number_and_sees_the_audit_event(site: Site, page: Page) -> None:
    log_in(page, site, "bob")
    person = site.seeded.replier_id
    page.goto(f"{site.url}/persons/{person}")
    assert page.locator("#masked").inner_text() == mask(site.seeded.numbers[0])
    # The reply with HTML in it, in the person's messages: text, not markup.
    assert XSS_REPLY in page.locator("#messages").inner_text()
    shot(page, "person")
    page.click("#reveal button")
    page.wait_for_load_state()
    assert page.locator("#revealed").inner_text() == site.seeded.numbers[0]
    assert site.seeded.numbers[0] not in page.url
    shot(page, "person-revealed")
    page.click("nav >> text=Audit log")
    assert "The chain verifies" in page.locator("#chain").inner_text()
    first = page.locator("#audit tbody tr").first.inner_text()
    assert "numbers.revealed" in first and "bob" in first and f'"person_id": {person}' in first
    assert site.seeded.numbers[0] not in page.content()
    shot(page, "audit")


def test_a_supervisor_blocks_a_number(site: Site, page: Page) -> None:
    log_in(page, site, "bob")
    page.click("nav >> text=Blocklist")
    number = site.seeded.numbers[4]
    page.fill("#add-stop input[name=number]", "06" + number[4:])
    page.select_option("#add-stop select[name=kind]", "block")
    page.fill("#add-stop input[name=reason]", "asked by phone not to be contacted")
    page.click("#add-stop button[type=submit]")
    page.wait_for_url("**/stops")
    listing = page.locator("#stops tbody").inner_text()
    assert "asked by phone not to be contacted" in listing and mask(number) in listing and number not in listing
    shot(page, "blocklist")
    page.goto(f"{site.url}/persons/{site.seeded.person_ids[4]}")
    assert page.locator("#stopped").inner_text().startswith("block (dashboard, by bob")


def test_a_fieldworker_answers_a_reply_and_it_reaches_the_gateway(site: Site, page: Page) -> None:
    from tests.messaging_world import outbox_for

    log_in(page, site, "alice")
    page.click("nav >> text=Inbox")
    person = site.seeded.replier_id
    conversation = page.locator(f"#conversation-{person}")
    assert conversation.locator(".reply-text").inner_text() == XSS_REPLY
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    shot(page, "inbox")
    answer = "Hoi! Je kunt ons dinsdag bellen. Groet, Demo Outreach"
    conversation.locator("textarea[name=body]").fill(answer)
    conversation.locator("form.reply button").click()
    page.wait_for_url("**/inbox?sent=*")
    assert "Your answer is in the outbox" in page.locator("#sent").inner_text()
    assert page.locator(f"#conversation-{person}").count() == 0
    shot(page, "inbox-answered")
    outbox_for(site.settings, site.store).drain()
    assert [m.body for m in site.gateway.sent_to()[site.seeded.numbers[0]]][-1] == answer


def test_a_fieldworker_is_refused_supervisor_pages(site: Site, page: Page) -> None:
    log_in(page, site, "alice")
    assert page.locator("nav >> text=Audit log").count() == 0
    for path in ("/audit", "/stops"):
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 403
        assert "This page is for supervisors." in page.locator("#problem").inner_text()
    # No reveal button for a fieldworker on a person's page.
    page.goto(f"{site.url}/persons/{site.seeded.person_ids[1]}")
    assert page.locator("#reveal").count() == 0
    shot(page, "fieldworker-refused")
