"""Download handlers that send a plain request only when its turn has come, and tell the pace when it was answered.

The turn is taken at the last moment Scrapy lets us see (waiting in the downloader middleware left requests to
the download slot, a new task and the connection pool: a busy event loop held one there for a third of a second
while the next left on time). The answer is what bounds when the request reached the site (crawler/pace.py).
Browser pages take turns per request in crawler/page_requests.py instead, so their documents pass here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

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
    """scrapy-playwright for browser requests, Scrapy's HTTP/1.1 client for the rest (robots.txt)."""

    async def download_request(self, request: Request) -> Response:
        return await _in_turn(self._crawler, request, super().download_request)

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
