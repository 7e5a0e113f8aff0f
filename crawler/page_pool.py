"""Browser pages kept open between requests: the next request navigates an idle page instead of opening one.

scrapy-playwright opens a page per request and closes it after the response; chromium starts a renderer process for
each new page (about a third of the browser's CPU time on the JavaScript fixture layout, bench/crawl_js.py). A
request is lent an idle page through scrapy-playwright's own `playwright_page` meta (with `playwright_include_page`,
so that scrapy-playwright leaves it open), and the page comes back here once the response is built: before the
spider sees the response, so no callback ever holds a page. A page whose load failed is closed, not reused: it
may be half-way through a navigation, or crashed.

Never more pages than before: a page is opened only when none is idle, and the PolitenessMiddleware lets at most
the site's concurrency of requests reach the download handler at once (PLAYWRIGHT_MAX_PAGES_PER_CONTEXT is the same
number). The requests a page makes are paced as before (crawler/page_requests.py runs before every load).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from scrapy import Request

PAGE = "playwright_page"
INCLUDE_PAGE = "playwright_include_page"


class PagePool:
    def __init__(self, on_idle: Callable[[Page], None] = lambda page: None) -> None:
        """on_idle: told of a page as it becomes idle (crawler/page_requests.py then lets it fetch nothing)."""
        self._on_idle = on_idle
        self._idle: list[Page] = []
        self._watched: set[Page] = set()

    def lend(self, request: Request) -> None:
        """Before the download: an idle page for `request` if there is one (else scrapy-playwright opens one)."""
        request.meta[INCLUDE_PAGE] = True
        request.meta.pop(PAGE, None)  # a retry's copy may still name the failed load's page
        while self._idle:
            page = self._idle.pop()
            if not page.is_closed():
                request.meta[PAGE] = page
                return

    def give_back(self, request: Request) -> None:
        """After a successful download: the page is idle again."""
        page = request.meta.pop(PAGE, None)
        request.meta.pop(INCLUDE_PAGE, None)
        if not isinstance(page, Page) or page.is_closed():
            return
        if page not in self._watched:
            self._watched.add(page)
            page.on("crash", self._forget)
        self._on_idle(page)
        self._idle.append(page)

    async def discard(self, request: Request) -> None:
        """After a failed download: the page is closed (scrapy-playwright leaves it open when it was lent)."""
        page = request.meta.pop(PAGE, None)
        request.meta.pop(INCLUDE_PAGE, None)
        if isinstance(page, Page):
            self._forget(page)
            with contextlib.suppress(PlaywrightError):
                await page.close()

    def _forget(self, page: Page) -> None:
        self._watched.discard(page)
        with contextlib.suppress(ValueError):
            self._idle.remove(page)
