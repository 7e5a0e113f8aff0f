"""Politeness the site's request log can verify: a downloader middleware that owns the pace of every request.

Scrapy's download slots space requests by a delay, but parse robots.txt without applying its Crawl-delay
(scrapy#892) and retry 429 at once without reading Retry-After (scrapy#3849). This middleware sits next to the
downloader, so every request (robots.txt, retries, redirects) passes it right before it is sent:

- at most `concurrency` requests in flight per host, and only then a send time is reserved, so a request never
  waits after its reservation and requests cannot bunch up behind a busy slot;
- no more than `requests_per_second` in any one-second window, and no two requests closer than the larger of the
  site's delay and its robots.txt Crawl-delay;
- 429/503 pause the host for Retry-After (seconds or HTTP date) or a capped exponential backoff, then retry;
- a site that keeps failing, or asks us to wait longer than we are willing to, is abandoned for this run with a
  reason in the stats (`outreach/abandoned`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached

from crawler.pace import Pace, retry_after_seconds
from crawler.sites import SiteDefinition

logger = logging.getLogger(__name__)

# Overload answers that carry Retry-After and are retried here; other 5xx are retried by Scrapy's RetryMiddleware
# (through this middleware again, so the pause applies to them as well).
OVERLOAD_STATUSES = (429, 503)
RETRIES_META = "outreach_overload_retries"


class PolitenessMiddleware:
    def __init__(self, crawler: Crawler, site: SiteDefinition, user_agent: str) -> None:
        self.crawler = crawler
        self.site = site
        self.user_agent = user_agent
        stats = crawler.stats
        assert stats is not None
        self.stats: StatsCollector = stats
        self.paces: dict[str, Pace] = {}
        self.gates: dict[str, asyncio.Semaphore] = {}
        self.holding: dict[int, Request] = {}
        self.sent = 0
        self.started = time.monotonic()
        self.stopped: str | None = None
        self._stop_event: asyncio.Event | None = None

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
        pace = self._pace(host)
        gate = self.gates.setdefault(host, asyncio.Semaphore(self.site.rate_limit.concurrency))
        await gate.acquire()
        self.holding[id(request)] = request
        try:
            self._check_limits()
            # A browser page load also fetches the page's data: it counts as that many requests.
            browser = self.site.browser
            weight = browser.requests_per_page if browser is not None and request.meta.get("playwright") else 1
            pace.slot_delay = self._slot_delay(request)
            at = max(pace.reserve(time.monotonic()) for _ in range(weight))
            wait = at - time.monotonic()
            if wait > 0:
                self.stats.inc_value("outreach/politeness/waits")
                await self._sleep(wait)
            self._check_stopped()
            # Counted here, right before sending: the page limit is a promise about requests, not responses.
            self.sent += 1
        except BaseException:
            self._release(request)
            raise

    def _slot_delay(self, request: Request) -> float:
        """The delay Scrapy's download slot will keep for this request (AutoThrottle may have raised it)."""
        engine = self.crawler.engine
        downloader = getattr(engine, "downloader", None) if engine is not None else None
        slots = getattr(downloader, "slots", None)
        if downloader is None or not isinstance(slots, dict):
            return 0.0
        slot = slots.get(downloader.get_slot_key(request))
        return float(getattr(slot, "delay", 0.0) or 0.0)

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

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the site's crawl stops, so that no held request is sent after it."""
        if self._stop_event is None:
            self._stop_event = asyncio.Event()
        if self.stopped:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)

    # -- after -----------------------------------------------------------------------------------------------------

    def process_response(self, request: Request, response: Response) -> Request | Response:
        self._release(request)
        pace = self._pace(urlparse_cached(request).netloc)
        if response.status not in OVERLOAD_STATUSES and response.status < 500:
            pace.consecutive_failures = 0
            return response
        self.stats.inc_value(f"outreach/politeness/overloaded/{response.status}")
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if not self._fail(pace, f"HTTP {response.status}", retry_after):
            return response
        if response.status in OVERLOAD_STATUSES:
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
        if isinstance(exception, IgnoreRequest):
            return
        self.stats.inc_value(f"outreach/politeness/errors/{type(exception).__name__}")
        self._fail(self._pace(urlparse_cached(request).netloc), type(exception).__name__, None)

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
        self._stop(reason, "abandoned")

    def _stop(self, reason: str, finish_reason: str) -> None:
        """No further request of this site's crawl is sent; held ones are dropped; the spider closes."""
        if self.stopped:
            return
        self.stopped = reason
        self.stats.set_value("outreach/stopped", reason)
        if self._stop_event is not None:
            self._stop_event.set()
        engine = self.crawler.engine
        if engine is not None:
            asyncio.ensure_future(engine.close_spider_async(reason=finish_reason))  # noqa: RUF006

    def _release(self, request: Request) -> None:
        if self.holding.pop(id(request), None) is not None:
            self.gates[urlparse_cached(request).netloc].release()

    def _pace(self, host: str) -> Pace:
        if host not in self.paces:
            limit = self.site.rate_limit
            self.paces[host] = Pace(limit.requests_per_second, limit.delay_seconds)
        return self.paces[host]
