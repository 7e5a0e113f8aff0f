"""Scrapy settings for one site's crawl, built from the outreach settings and the site definition.

Scrapy's defaults when run from code (8 requests per domain, no delay, robots.txt ignored) are not polite:
every politeness setting is set here explicitly, per site. Each site gets its own Crawler with these settings, so
one site's limits never leak into another's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from crawler.browser import browser_settings
from crawler.sites import SiteDefinition
from outreach.settings import Settings

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
USER_AGENT = "{organisation} outreach crawler (help organisation fieldwork; +{contact})"


def user_agent(settings: Settings) -> str:
    """Names the organisation and where a site owner can reach it."""
    organisation = settings.organisation
    contact = settings.crawl.contact_url or organisation.contact or "no contact configured"
    return USER_AGENT.format(organisation=organisation.name, contact=contact)


def scrapy_settings(
    settings: Settings, site: SiteDefinition, run_id: int | None, trial_output: Path | None = None
) -> dict[str, Any]:
    """trial_output: `outreach site try`: nothing is stored, the report goes to this file (crawler/trial.py)."""
    limit, limits = site.rate_limit, site.limits
    host = urlparse(str(site.base_url)).netloc
    return {
        "BOT_NAME": "outreach",
        "USER_AGENT": user_agent(settings),
        "ROBOTSTXT_OBEY": site.obey_robots_txt,
        "CONCURRENT_REQUESTS": 16,
        # A detail page yields one advert: Scrapy's default of 100 parallel item workers per response costs 100
        # asyncio tasks per page for nothing (a third of the crawl's CPU time in the benchmark).
        "CONCURRENT_ITEMS": 4,
        "CONCURRENT_REQUESTS_PER_DOMAIN": limit.concurrency,
        # The PolitenessMiddleware owns the pace (rate window, gap, Crawl-delay, pauses); the slot repeats the
        # site's delay and concurrency so that nothing else can go faster.
        "DOWNLOAD_DELAY": limit.delay_seconds,
        "DOWNLOAD_DELAY_JITTER": 0,
        "DOWNLOAD_SLOTS": {host: {"concurrency": limit.concurrency, "delay": limit.delay_seconds, "jitter": 0}},
        # Off on purpose: the middleware's backoff is what slows down when a site struggles, one rule to reason
        # about (AutoThrottle once made held requests bunch up: 12 requests in one second at a limit of 10).
        "AUTOTHROTTLE_ENABLED": False,
        # A plain request waits for its turn in the download handler, right before it is sent (crawler/handlers.py).
        "DOWNLOAD_HANDLERS": {
            "http": "crawler.handlers.PacedDownloadHandler",
            "https": "crawler.handlers.PacedDownloadHandler",
        },
        "DOWNLOAD_TIMEOUT": limits.download_timeout_seconds,
        "DOWNLOAD_MAXSIZE": limits.max_response_bytes,
        "DOWNLOAD_WARNSIZE": limits.max_response_bytes,
        "RETRY_TIMES": 2,
        # 429 and 503 are retried by the PolitenessMiddleware after the site's Retry-After.
        "RETRY_HTTP_CODES": [500, 502, 504, 522, 524, 408],
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        # max_pages and max_duration_seconds are enforced by the PolitenessMiddleware (it also drops requests it
        # holds); the CloseSpider timeout is a backstop a little later.
        "CLOSESPIDER_TIMEOUT": limits.max_duration_seconds + 30,
        "TWISTED_REACTOR": REACTOR,
        # Next to the downloader, after robots.txt (100), retries (550) and redirects (600): it sees every request
        # right before it is sent, and every response first.
        "DOWNLOADER_MIDDLEWARES": {"crawler.politeness.PolitenessMiddleware": 950},
        # ShippedSuffixList: Scrapy's cookie handling reads the public-suffix list shipped with tldextract instead of
        # downloading it (crawler/offline.py).
        "EXTENSIONS": {"crawler.run_record.CrawlRunRecorder": 500, "crawler.offline.ShippedSuffixList": 0},
        # Outermost, so it sees what any callback raises (crawler/callback_errors.py).
        "SPIDER_MIDDLEWARES": {"crawler.callback_errors.CallbackErrors": 10},
        "ITEM_PIPELINES": {"crawler.pipelines.ExtractPipeline": 100, "crawler.pipelines.StorePipeline": 200},
        "LOG_LEVEL": settings.crawl.log_level,
        "LOG_FORMATTER": "crawler.logformatter.PrivateLogFormatter",  # no advert contents in the log
        "OUTREACH_SETTINGS": settings,
        "OUTREACH_SITE": site,
        "OUTREACH_RUN_ID": run_id or 0,
        **browser_settings(settings, site),
        **(_trial(trial_output) if trial_output is not None else {}),
    }


def _trial(output: Path) -> dict[str, Any]:
    return {
        "EXTENSIONS": {"crawler.offline.ShippedSuffixList": 0},  # no run record; still offline
        "ITEM_PIPELINES": {"crawler.pipelines.ExtractPipeline": 100, "crawler.trial.TrialPipeline": 200},
        "OUTREACH_TRIAL_OUTPUT": str(output),
    }


def process_settings(settings: Settings) -> dict[str, Any]:
    """What the CrawlerProcess itself needs (reactor, logging); each site's Crawler has the rest."""
    return {
        "TWISTED_REACTOR": REACTOR,
        "LOG_LEVEL": settings.crawl.log_level,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_INSTALL_ROOT_HANDLER": True,
    }
