"""Browser pages are reused from one request to the next (crawler/page_pool.py): a page comes back after a good
load, is closed after a failed one, and while it waits idle its document fetches nothing (crawler/page_requests.py),
as a closed page would not. Against Debian's headless shell (or chromium), the site answered by a route."""

from __future__ import annotations

import asyncio
import os
import time

from playwright.async_api import Page, Route, async_playwright
from playwright.async_api import Request as PageRequest
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.browser import CHROMIUM, HEADLESS_SHELL
from crawler.departures import Departures, Ticket
from crawler.pace import Pace
from crawler.page_pool import PagePool
from crawler.page_requests import PageRequests

SITE = "http://127.0.0.1:18765"  # never connected to: a route answers for it
# An advert page that keeps asking the site for something, as chat widgets and live counters do.
POLLING = b"<html><body><p>advert</p><script>setInterval(() => fetch('/ping'), 30);</script></body></html>"


def _launch_options() -> dict[str, object]:
    executable = HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM
    return {"executable_path": str(executable), "args": ["--no-sandbox"] if os.geteuid() == 0 else []}


def test_a_page_is_lent_again_after_a_good_load_and_closed_after_a_failed_one() -> None:
    asyncio.run(_lend_give_back_discard())


async def _lend_give_back_discard() -> None:
    idle: list[Page] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**_launch_options())  # type: ignore[arg-type]
        try:
            page = await browser.new_page()
            pool = PagePool(idle.append)
            first = Request(f"{SITE}/a", meta={"playwright": True})
            pool.lend(first)
            assert first.meta["playwright_include_page"] is True  # scrapy-playwright leaves the page open
            assert "playwright_page" not in first.meta  # none idle: scrapy-playwright opens one
            first.meta["playwright_page"] = page  # as scrapy-playwright hands it back
            pool.give_back(first)
            assert "playwright_page" not in first.meta  # the spider's callback never holds a page
            assert idle == [page]

            second = Request(f"{SITE}/b", meta={"playwright": True})
            pool.lend(second)
            assert second.meta["playwright_page"] is page
            await pool.discard(second)  # its load failed
            assert page.is_closed()

            third = Request(f"{SITE}/c", meta={"playwright": True})
            pool.lend(third)
            assert "playwright_page" not in third.meta
        finally:
            await browser.close()


def test_an_idle_page_asks_the_site_for_nothing_until_its_next_load() -> None:
    asyncio.run(_idle_page())


async def _idle_page() -> None:
    pings: list[float] = []
    after_idle: list[PageRequest] = []
    crawler = get_crawler()
    assert crawler.stats is not None
    departures = Departures(Pace(requests_per_second=1000, min_gap=0))

    async def leave(host: str, document: bool) -> Ticket:
        return await departures.leave(lambda: None)

    page_requests = PageRequests(
        leave, lambda host: departures.left(), lambda *args, **kwargs: None, crawler.stats, frozenset()
    )

    async def site(route: Route, request: PageRequest) -> None:
        """The site itself (and scrapy-playwright's handler, which our route falls back to)."""
        if request.url.endswith("/ping"):
            pings.append(time.monotonic())
            await route.fulfill(body=b"ok")
        else:
            await route.fulfill(body=POLLING, content_type="text/html")

    async def pinged(more_than: int) -> None:
        while len(pings) <= more_than:
            await asyncio.sleep(0.01)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**_launch_options())  # type: ignore[arg-type]
        try:
            page = await browser.new_page()
            await page.route("**/*", site)
            await page_requests.install(page, Request(f"{SITE}/advert/1"))
            await page.goto(f"{SITE}/advert/1")
            await asyncio.wait_for(pinged(2), 10)

            page_requests.idle(page)
            page.on("request", lambda request: after_idle.append(request))
            await asyncio.sleep(0.1)  # a ping already past the line may still arrive
            asked = len(pings)
            await asyncio.sleep(0.5)  # some 15 timer ticks
            assert len(pings) == asked
            assert after_idle and all(page_requests.is_idle(request) for request in after_idle)
            assert crawler.stats.get_value("outreach/browser/blocked/idle_page", 0) >= 10

            await page_requests.install(page, Request(f"{SITE}/advert/2"))  # the next load
            await page.goto(f"{SITE}/advert/2")
            await asyncio.wait_for(pinged(asked + 2), 10)
            assert not page_requests.is_idle(after_idle[-1])  # it is the page's request that counts, now loading
        finally:
            await browser.close()
