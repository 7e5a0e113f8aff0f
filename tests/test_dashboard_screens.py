"""Every dashboard page on a phone (375 x 812) and a laptop (1366 x 768) in Debian's chromium: the page never scrolls
sideways, axe-core finds no serious or critical accessibility problem, and log-in and answering a person work with
the keyboard alone. Screenshots of every page at both sizes go to test-output/screenshots/ (screen-*.png).

The dashboard runs in Dutch, its default, so the Dutch texts (longer than the English) are the ones measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import Page

from tests.browser_world import Site, browser_page, log_in, served_dashboard, shot
from tests.dashboard_world import PASSWORDS

pytestmark = pytest.mark.slow

SIZES = {"phone": (375, 812), "laptop": (1366, 768)}
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")  # axe-core
# (name, path, user): every page of the dashboard, and an error page.
PAGES = [
    ("login", "/login", None),
    ("overview", "/", "bob"),
    ("log", "/log", "bob"),
    ("cases", "/cases", "alice"),
    ("case", "/cases/{case}", "alice"),
    ("stats", "/stats?days=30", "bob"),
    ("drafts", "/drafts", "bob"),
    ("users", "/users", "bob"),
    ("review", "/review", "alice"),
    ("assist", "/assist", "alice"),
    ("advert", "/adverts/{advert}", "bob"),
    ("person", "/persons/{person}", "bob"),
    ("stops", "/stops", "bob"),
    ("audit", "/audit", "bob"),
    ("not-found", "/persons/999999", "alice"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with served_dashboard(tmp_path_factory.mktemp("screens"), "nl") as site:
        yield site


def axe_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is, one line each."""
    page.evaluate(AXE_SOURCE)  # through the DevTools protocol: the page's CSP (no inline script) stays on
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + json.dumps([node["target"] for node in violation["nodes"][:3]])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_the_checks_can_fail(site: Site) -> None:
    """Proof that axe runs and that a too-wide page is measured: an unlabelled field and a 600 px box."""
    with browser_page(site, *SIZES["phone"]) as page:
        page.goto(f"{site.url}/login")
        assert axe_problems(page) == []
        page.evaluate(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=bad><div id=wide></div>')"
        )
        page.evaluate("document.getElementById('wide').setAttribute('hidden', ''); 0")
        assert any(problem.startswith("label (critical)") for problem in axe_problems(page))
        page.evaluate(
            "(() => { const box = document.getElementById('wide'); box.removeAttribute('hidden'); "
            "box.textContent = 'x'.repeat(200); box.style.whiteSpace = 'nowrap'; })()"
        )
        assert page.evaluate("document.documentElement.scrollWidth") > SIZES["phone"][0]


@pytest.mark.parametrize("size", SIZES)
def test_every_page_fits_the_screen_and_has_no_serious_accessibility_problem(site: Site, size: str) -> None:
    width, height = SIZES[size]
    too_wide, problems = {}, {}
    logged_in_as: str | None = None
    with browser_page(site, width, height) as page:
        for name, template, user in PAGES:
            if user != logged_in_as:
                page.context.clear_cookies()
                if user is not None:
                    log_in(page, site, user)
                logged_in_as = user
            path = template.format(
                advert=site.seeded.xss_advert_id,
                person=site.seeded.replier_id,
                case=site.seeded.replier_case_id,
            )
            page.goto(f"{site.url}{path}")
            document_width = page.evaluate("document.documentElement.scrollWidth")
            if document_width > width:
                too_wide[name] = document_width
            if found := axe_problems(page):
                problems[name] = found
            shot(page, f"screen-{name}-{size}")
    assert too_wide == {}, f"pages wider than the {width} px screen"
    assert problems == {}


def test_a_phone_reads_the_person_page_as_a_thread(site: Site) -> None:
    """The conversation is readable at 375 px: each message's text box is most of the screen wide."""
    with browser_page(site, *SIZES["phone"]) as page:
        log_in(page, site, "bob")
        page.goto(f"{site.url}/persons/{site.seeded.replier_id}")
        widths = page.eval_on_selector_all(
            "#messages .text", "nodes => nodes.map(n => n.getBoundingClientRect().width)"
        )
        assert widths and min(widths) >= 250, widths


def test_log_in_and_answering_a_person_work_with_the_keyboard_alone(site: Site) -> None:
    number = site.seeded.numbers[0]
    with browser_page(site, *SIZES["phone"]) as page:
        page.goto(f"{site.url}/login")
        focused = []
        for _ in range(12):  # Tab from the top of the page to the name field
            page.keyboard.press("Tab")
            focused.append(page.evaluate("document.activeElement.name || document.activeElement.textContent"))
            if focused[-1] == "name":
                break
        assert focused[-1] == "name", focused
        page.keyboard.type("alice")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORDS["alice"])
        page.keyboard.press("Enter")
        page.wait_for_url(f"{site.url}/")

        # From the menu to the conversation: Tab to a link, Enter to follow it.
        tab_to(page, "nav a[href='/cases']")
        page.keyboard.press("Enter")
        page.wait_for_url("**/cases")
        tab_to(page, f"#cases a[href='/cases/{site.seeded.replier_case_id}']")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/cases/{site.seeded.replier_case_id}")
        tab_to(page, "#reply-body")
        answer = "Hoi, je kunt ons altijd bellen. Groet, Demo Outreach"
        page.keyboard.type(answer)
        page.keyboard.press("Tab")  # to "Antwoord versturen"
        assert page.evaluate("document.activeElement.textContent") == "Antwoord versturen"
        before = len(site.gateway.sent_to().get(number, []))
        page.keyboard.press("Enter")
        page.wait_for_url("**/cases/*?sent=*")
        assert "aan de provider gegeven" in page.locator("#sent").inner_text()
        shot(page, "screen-case-answered-by-keyboard")
    # Sent within the request: no drain, no cycle.
    sent = [m.body for m in site.gateway.sent_to()[number]]
    assert len(sent) == before + 1 and sent[-1] == answer


def tab_to(page: Page, selector: str, presses: int = 60) -> None:
    """Press Tab until the element has the focus; fail if Tab never reaches it."""
    target = page.locator(selector)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"{selector} cannot be reached by Tab")
