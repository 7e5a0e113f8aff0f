"""Politeness the site's request log can verify: a downloader middleware that owns the pace of every request.

Scrapy's download slots space requests by a delay, but parse robots.txt without applying its Crawl-delay
(scrapy#892) and retry 429 at once without reading Retry-After (scrapy#3849). This middleware sits next to the
downloader, so every request (robots.txt, retries, redirects) passes it, and the download handlers
(crawler/handlers.py) ask it for each request's turn right before sending it:

- at most `concurrency` requests in flight per host;
- no more than `requests_per_second` in any one-second window, and no two requests closer than the larger of the
  site's delay and its robots.txt Crawl-delay, as the site's own clock sees them (crawler/pace.py counts from
  answers, crawler/departures.py keeps the line);
- 429/503 pause the host for Retry-After (seconds or HTTP date) or a capped exponential backoff, then retry: every
  request to the host waits, also those already waiting for their turn;
- a site that keeps failing, or asks us to wait longer than we are willing to, is abandoned for this run with a
  reason in the stats (`outreach/abandoned`).

A page loaded in the browser makes more requests than the one Scrapy sees: crawler/page_requests.py sends each of
those to the site in the same line, and blocks the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached

from crawler.browser import blocked_resources
from crawler.departures import Departures, Ticket
from crawler.pace import Pace, retry_after_seconds
from crawler.page_requests import PageRequests
from crawler.sites import SiteDefinition

logger = logging.getLogger(__name__)

# Overload answers that carry Retry-After and are retried here; other 5xx are retried by Scrapy's RetryMiddleware
# (through this middleware again, so the pause applies to them as well).
OVERLOAD_STATUSES = (429, 503)
RETRIES_META = "outreach_overload_retries"
ANSWER_COUNTED_META = "outreach_answer_counted"


class PolitenessMiddleware:
    def __init__(self, crawler: Crawler, site: SiteDefinition, user_agent: str) -> None:
        self.crawler = crawler
        self.site = site
        self.user_agent = user_agent
        stats = crawler.stats
        assert stats is not None
        self.stats: StatsCollector = stats
        self.departures: dict[str, Departures] = {}  # per host, each with its pace
        self.gates: dict[str, asyncio.Semaphore] = {}
        self.holding: dict[int, Request] = {}
        self.sent = 0
        self.started = time.monotonic()
        self.stopped: str | None = None
        self.abandoned = False
        self.page_requests = PageRequests(self._leave, self._left, self.answered, self.stats, blocked_resources(site))
        browser = site.browser
        if browser is not None and "requests_per_page" in browser.model_fields_set:
            logger.warning(
                "site %s: browser.requests_per_page is ignored: every request a page makes is paced as it leaves",
                site.name,
            )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        site = crawler.settings.get("OUTREACH_SITE")
        if site is None:
            raise NotConfigured("no OUTREACH_SITE: not an outreach crawl")
        middleware = cls(crawler, site, crawler.settings["USER_AGENT"])
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        return middleware

    # -- robots.txt -------------------------------------------------------------------------------------------

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """Scrapy found robots.txt: its Crawl-delay raises the minimum gap for that host."""
        crawl_delay = getattr(robotparser, "crawl_delay", None)
        delay = crawl_delay(self.user_agent) if callable(crawl_delay) else None
        if delay:
            pace = self._pace(urlparse_cached(request).netloc)
            pace.min_gap = max(pace.min_gap, float(delay))
            self.stats.set_value("outreach/politeness/robots_crawl_delay", float(delay))

    # -- before a request is sent ---------------------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        self._check_stopped()
        host = urlparse_cached(request).netloc
        gate = self.gates.setdefault(host, asyncio.Semaphore(self.site.rate_limit.concurrency))
        await gate.acquire()
        self.holding[id(request)] = request
        try:
            self._check_limits()
            if request.meta.get("playwright"):
                # The page's document and everything it fetches wait their turn as the browser sends them.
                request.meta["playwright_page_init_callback"] = self.page_requests.install
        except BaseException:
            self._release(request)
            raise

    async def leave(self, request: Request) -> Ticket:
        """Wait until a plain request may leave: crawler/handlers.py asks right before sending it, and hands the
        ticket back when the answer came."""
        return await self._leave(urlparse_cached(request).netloc, True)

    async def _leave(self, host: str, page: bool) -> Ticket:
        """Wait until a request to `host` may leave (IgnoreRequest if the crawl stops meanwhile). A `page` counts
        against max_pages (robots.txt included). What a browser page fetches for itself does not, and is part of a
        page already sent: it may still go after the page limit or the time limit stopped the crawl, so that the
        page completes, but not once the site was abandoned."""
        ticket = await self._departures(host).leave(self._check_limits if page else self._check_abandoned)
        if page:
            # Counted as it leaves: the page limit is a promise about requests, not responses.
            self.sent += 1
        if ticket.waited > 0:
            self.stats.inc_value("outreach/politeness/waits")
        return ticket

    def _left(self, host: str) -> Ticket:
        """A request left without waiting for its turn (a redirect the browser followed)."""
        return self._departures(host).left()

    def _check_limits(self) -> None:
        limits = self.site.limits
        if self.sent >= limits.max_pages:
            self._stop(f"max_pages ({limits.max_pages}) reached", "max_pages")
        elif time.monotonic() - self.started >= limits.max_duration_seconds:
            self._stop(f"max_duration_seconds ({limits.max_duration_seconds}) reached", "max_duration")
        self._check_stopped()

    def _check_stopped(self) -> None:
        if self.stopped:
            raise IgnoreRequest(f"site crawl stopped: {self.stopped}")

    def _check_abandoned(self) -> None:
        if self.abandoned:
            self._check_stopped()

    # -- after -----------------------------------------------------------------------------------------------------

    def answered(
        self,
        host: str,
        *,
        status: int | None = None,
        retry_after: str | bytes | None = None,
        error: str | None = None,
        request: Request | None = None,
    ) -> None:
        """An answer came from `host` (a `status`), or none will (an `error`). Called the moment it is seen, before
        the request's ticket is handed back: a pause must hold for every request that has not left yet, and the
        line moves on as soon as the ticket is back. `request` is the crawl's own request (a page, robots.txt),
        not counted again when its response reaches process_response; None for what a browser page fetched."""
        if request is not None:
            request.meta[ANSWER_COUNTED_META] = True
        self._count(host, status, retry_after, error, own=request is not None)

    def _count(
        self, host: str, status: int | None, retry_after: str | bytes | None, error: str | None, *, own: bool
    ) -> None:
        pace = self._pace(host)
        if error is not None:
            self.stats.inc_value(f"outreach/politeness/errors/{error}")
            self._fail(pace, error, None)
        elif status is not None and (status in OVERLOAD_STATUSES or status >= 500):
            self.stats.inc_value(f"outreach/politeness/overloaded/{status}")
            self._fail(
                pace,
                f"HTTP {status}" if own else f"HTTP {status} to a page's own request",
                retry_after_seconds(retry_after),
            )
        elif own:
            pace.consecutive_failures = 0

    def process_response(self, request: Request, response: Response) -> Request | Response:
        self._release(request)
        if not request.meta.pop(ANSWER_COUNTED_META, False):
            host, retry_after = urlparse_cached(request).netloc, response.headers.get("Retry-After")
            self._count(host, response.status, retry_after, None, own=True)
        if response.status not in OVERLOAD_STATUSES or self.stopped:
            return response
        retries = int(request.meta.get(RETRIES_META, 0))
        if retries < self.site.backoff.max_retries_per_request:
            self.stats.inc_value("outreach/politeness/retried")
            retry = request.replace(dont_filter=True)
            retry.meta[RETRIES_META] = retries + 1
            return retry
        self.stats.inc_value("outreach/politeness/gave_up")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
        if request.meta.pop(ANSWER_COUNTED_META, False) or isinstance(exception, IgnoreRequest) or self.stopped:
            return  # a page whose requests were dropped because the crawl stopped fails too: not the site's fault
        self._count(urlparse_cached(request).netloc, None, None, type(exception).__name__, own=True)

    def _fail(self, pace: Pace, what: str, retry_after: float | None) -> bool:
        """Pause the host after a failure; False when the site is abandoned instead."""
        backoff = self.site.backoff
        pace.consecutive_failures += 1
        if retry_after is not None and retry_after > backoff.max_retry_after_seconds:
            self._abandon(
                f"{what} with Retry-After {retry_after:.0f}s, longer than {backoff.max_retry_after_seconds:.0f}s"
            )
            return False
        if pace.consecutive_failures >= backoff.max_consecutive_failures:
            self._abandon(f"{pace.consecutive_failures} failures in a row, the last {what}")
            return False
        wait = (
            retry_after if retry_after is not None else pace.backoff_seconds(backoff.base_seconds, backoff.cap_seconds)
        )
        pace.pause(time.monotonic(), wait)
        self.stats.inc_value("outreach/politeness/pauses")
        self.stats.max_value("outreach/politeness/longest_pause_seconds", round(wait, 3))
        return True

    def _abandon(self, reason: str) -> None:
        if self.stopped:
            return
        self.stats.set_value("outreach/abandoned", reason)
        logger.warning("abandoning site %s for this run: %s", self.site.name, reason)
        self.abandoned = True
        self._stop(reason, "abandoned")
        # Pages still loading would wait for requests that are no longer sent until their timeout.
        asyncio.ensure_future(self.page_requests.close_pages())  # noqa: RUF006

    def _stop(self, reason: str, finish_reason: str) -> None:
        """No further request of this site's crawl is sent; held ones are dropped; the spider closes."""
        if self.stopped:
            return
        self.stopped = reason
        self.stats.set_value("outreach/stopped", reason)
        for departures in self.departures.values():
            departures.wake()  # requests waiting for their turn are dropped
        engine = self.crawler.engine
        if engine is not None:
            asyncio.ensure_future(engine.close_spider_async(reason=finish_reason))  # noqa: RUF006

    def _release(self, request: Request) -> None:
        if self.holding.pop(id(request), None) is not None:
            self.gates[urlparse_cached(request).netloc].release()

    def _departures(self, host: str) -> Departures:
        if host not in self.departures:
            limit = self.site.rate_limit
            # After the download timeout Scrapy gave up on a request: its answer will not come.
            stale_after = self.site.limits.download_timeout_seconds + 5
            pace = Pace(limit.requests_per_second, limit.delay_seconds, stale_after=stale_after)
            self.departures[host] = Departures(pace)
        return self.departures[host]

    def _pace(self, host: str) -> Pace:
        return self._departures(host).pace
