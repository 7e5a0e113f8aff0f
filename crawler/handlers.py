"""Download handlers that send a plain request only when its turn has come, and tell the pace when it was answered.

The turn is taken at the last moment Scrapy lets us see (waiting in the downloader middleware left requests to
the download slot, a new task and the connection pool: a busy event loop held one there for a third of a second
while the next left on time). The answer is what bounds when the request reached the site (crawler/pace.py).
Browser pages take turns per request in crawler/page_requests.py instead, so their documents pass here; the browser
handler lends each a page kept open from an earlier request (crawler/page_pool.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Page
from playwright.async_api import Request as PageRequest
from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawler.page_pool import PagePool
from crawler.page_requests import PageRequests
from crawler.politeness import PolitenessMiddleware

# The first reason Playwright's driver or the browser could not start (crawler/health.py fails the site on it).
BROWSER_FAILED = "outreach/browser_failed"


async def _in_turn(crawler: Crawler, request: Request, download: Callable[[Request], Awaitable[Response]]) -> Response:
    politeness = crawler.get_downloader_middleware(PolitenessMiddleware)
    if politeness is None or request.meta.get("playwright"):
        return await download(request)
    host = urlparse_cached(request).netloc
    ticket = await politeness.leave(request)
    try:
        response = await download(request)
    except Exception as exc:
        politeness.answered(host, error=type(exc).__name__, request=request)
        raise
    else:
        politeness.answered(
            host, status=response.status, retry_after=response.headers.get("Retry-After"), request=request
        )
        return response
    finally:
        ticket.answered()


class PacedDownloadHandler(HTTP11DownloadHandler):
    async def download_request(self, request: Request) -> Response:
        return await _in_turn(self._crawler, request, super().download_request)


class PacedBrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):  # type: ignore[misc]  # scrapy-playwright is untyped
    """scrapy-playwright for browser requests, Scrapy's HTTP/1.1 client for the rest (robots.txt); browser pages
    reused from one request to the next unless the site's `browser.reuse_pages` is off (crawler/page_pool.py)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        site = crawler.settings.get("OUTREACH_SITE")
        reuse = site is not None and site.browser is not None and site.browser.reuse_pages
        self.pages = PagePool(self._idle) if reuse else None
        # scrapy-playwright routes a reused page again before each load, and for the moment until crawler/
        # page_requests.py has routed it after that, its handler runs first: its abort hook then refuses what the
        # idle page's document asks for (a timer polling the site), as page_requests does at any other time.
        self._blocked: Callable[[PageRequest], object] | None = getattr(self, "abort_request", None)
        self.abort_request = self._refused

    async def download_request(self, request: Request) -> Response:
        if self.pages is None or not request.meta.get("playwright"):
            return await _in_turn(self._crawler, request, super().download_request)
        self.pages.lend(request)
        try:
            response = await _in_turn(self._crawler, request, super().download_request)
        except BaseException:
            await self.pages.discard(request)
            raise
        self.pages.give_back(request)
        return response

    def _page_requests(self) -> PageRequests | None:
        politeness = self._crawler.get_downloader_middleware(PolitenessMiddleware)
        return politeness.page_requests if politeness is not None else None

    def _idle(self, page: Page) -> None:
        if (page_requests := self._page_requests()) is not None:
            page_requests.idle(page)

    def _refused(self, request: PageRequest) -> bool:
        """PLAYWRIGHT_ABORT_REQUEST: the site's blocked resource types, and anything an idle page asks for."""
        page_requests = self._page_requests()
        if page_requests is not None and page_requests.is_idle(request):
            return True
        return bool(self._blocked(request)) if self._blocked is not None else False

    # scrapy-playwright starts its node driver when the engine starts and chromium for the first page. When either
    # cannot start (a missing libatomic.so.1, a wrong chromium_path), every page fails with an error that names
    # neither, and the crawl would blame the site; the run keeps the real reason instead.
    async def _launch(self) -> None:
        try:
            await super()._launch()
        except Exception as exc:
            self._browser_failed(exc)
            raise

    async def _maybe_launch_browser(self) -> None:
        try:
            await super()._maybe_launch_browser()
        except Exception as exc:
            self._browser_failed(exc)
            raise

    def _browser_failed(self, exc: Exception) -> None:
        if self._crawler.stats.get_value(BROWSER_FAILED) is None:
            first_line = next(iter(str(exc).strip().splitlines()), "")
            self._crawler.stats.set_value(BROWSER_FAILED, f"{type(exc).__name__}: {first_line}"[:300])
