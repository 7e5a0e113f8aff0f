"""Download handlers that send a plain request only when its turn has come, and tell the pace when it was answered.

The turn is taken at the last moment Scrapy lets us see (waiting in the downloader middleware left requests to
the download slot, a new task and the connection pool: a busy event loop held one there for a third of a second
while the next left on time). The answer is what bounds when the request reached the site (crawler/pace.py).
Browser pages take turns per request in crawler/page_requests.py instead, so their documents pass here; the browser
handler lends each a page kept open from an earlier request (crawler/page_pool.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawler.page_pool import PagePool
from crawler.politeness import PolitenessMiddleware


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
        self.pages = PagePool() if reuse else None

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
