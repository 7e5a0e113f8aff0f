"""The dashboard in a real browser: Playwright driving Debian's chromium against `outreach serve` on 127.0.0.1,
with data that went through the real paths (store, outbox, Twilio test gateway, signed webhooks).

One browser and one server for the module; each test has its own browser context (its own cookies). Every page is
saved as a screenshot under test-output/screenshots for review. Any JavaScript dialog (an alert from an XSS payload)
fails the test that saw it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from outreach.access.masking import mask
from tests.browser_world import Site, browser_page, log_in, served_dashboard, shot
from tests.dashboard_world import XSS_REPLY, XSS_TEXT, XSS_TITLE


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with served_dashboard(tmp_path_factory.mktemp("dashboard"), "en") as site:
        yield site


@pytest.fixture
def page(site: Site) -> Iterator[Page]:
    with browser_page(site) as page:
        yield page


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


def test_a_fieldworker_answers_a_reply_and_it_reaches_the_gateway_at_once(site: Site, page: Page) -> None:
    log_in(page, site, "alice")
    page.click("nav >> text=Conversations")
    page.click(f"#cases a[href='/cases/{site.seeded.replier_case_id}']")
    page.wait_for_url(f"**/cases/{site.seeded.replier_case_id}")
    # The reply with HTML in it is text in the thread: no element of it, no script but ours from /static.
    assert page.locator("#messages .message.in .text").last.inner_text() == XSS_REPLY
    assert page.locator("img").count() == 0 and page.locator("#messages script").count() == 0
    scripts = page.eval_on_selector_all("script", "nodes => nodes.map(n => n.getAttribute('src'))")
    assert scripts and all(src and src.startswith("/static/") for src in scripts), scripts
    shot(page, "case-xss-reply")
    answer = "Hoi! Je kunt ons dinsdag bellen. Groet, Demo Outreach"
    number = site.seeded.numbers[0]
    before = len(site.gateway.sent_to().get(number, []))
    page.fill("#reply-body", answer)
    page.click("#reply button[type=submit]")
    page.wait_for_url("**/cases/*?sent=*")
    assert "handed to the provider" in page.locator("#sent").inner_text()
    shot(page, "case-answered")
    # No drain, no cycle: the answer reached the gateway within the click.
    sent = [m.body for m in site.gateway.sent_to()[number]]
    assert len(sent) == before + 1 and sent[-1] == answer


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
