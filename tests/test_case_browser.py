"""A fieldworker handles a case in Debian's chromium, from the person's reply to an outcome label: the case list,
taking the case, a quick reply put in the answer box and changed, the live SMS-parts counter, sending (the answer
reaches the test gateway within 5 s, no cycle running) and a label. Screenshots in test-output/screenshots/."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from outreach.store.models import Case, CaseLabel
from tests.browser_world import Site, browser_page, log_in, served_dashboard, shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with served_dashboard(tmp_path_factory.mktemp("cases"), "nl") as site:
        yield site


def test_a_fieldworker_handles_a_case_from_the_reply_to_an_outcome(site: Site) -> None:
    number = site.seeded.numbers[0]
    with browser_page(site, 375, 812) as page:
        log_in(page, site, "alice")
        page.click("nav >> text=Gesprekken")
        page.wait_for_url("**/cases")
        shot(page, "case-list")
        page.click("#cases a.case-link")
        page.wait_for_url("**/cases/*")
        page.click("#take")
        page.wait_for_load_state()
        assert "bij alice" in page.locator("#state").inner_text()
        page.click("#quick-replies button.quick >> nth=0")
        box = page.locator("#reply-body")
        assert "Demo Outreach" in box.input_value()
        box.fill(box.input_value() + " Groet, alice")
        assert "sms-de" in page.locator("#reply-count").inner_text()  # the counter follows the typing
        answer = box.input_value()
        before = len(site.gateway.sent_to().get(number, []))
        clicked = time.monotonic()
        page.click("#reply button[type=submit]")
        page.wait_for_url("**/cases/*?sent=*")
        while len(site.gateway.sent_to().get(number, [])) == before and time.monotonic() - clicked < 5:
            time.sleep(0.05)
        assert [m.body for m in site.gateway.sent_to()[number]][-1] == answer
        assert time.monotonic() - clicked < 5
        assert "aan de provider gegeven" in page.locator("#sent").inner_text()
        page.check("input[value='doorverwezen']")
        page.click("form.labels-form button[type=submit]")
        page.wait_for_load_state()
        shot(page, "case-handled")
    with site.store.session() as session:
        case = session.execute(select(Case).where(Case.person_id == site.seeded.replier_id)).scalar_one()
        labels = list(session.execute(select(CaseLabel.label).where(CaseLabel.case_id == case.id)).scalars())
    assert case.assigned_to == "alice" and labels == ["doorverwezen"]
