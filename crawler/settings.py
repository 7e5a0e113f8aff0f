"""Scrapy settings for the crawl child, built from the outreach settings and the site definitions.

Scrapy's defaults when run from code (8 requests per domain, no delay, robots.txt ignored) are not polite:
every politeness setting is set here explicitly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from crawler.sites import SiteDefinition
from outreach.settings import Settings

USER_AGENT = "outreach/0.1 (help organisation fieldwork; +{contact})"


def scrapy_settings(settings: Settings, sites: list[SiteDefinition], run_id: int | None) -> dict[str, Any]:
    slots = {
        urlparse(str(site.base_url)).hostname: {
            "concurrency": site.rate_limit.concurrency,
            "delay": site.rate_limit.delay_seconds,
            "randomize_delay": False,
        }
        for site in sites
    }
    contact = settings.organisation.contact or "no contact configured"
    return {
        "BOT_NAME": "outreach",
        "USER_AGENT": USER_AGENT.format(contact=contact),
        "ROBOTSTXT_OBEY": all(site.obey_robots_txt for site in sites),
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": max((site.rate_limit.concurrency for site in sites), default=1),
        "DOWNLOAD_DELAY": min((site.rate_limit.delay_seconds for site in sites), default=1.0),
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "DOWNLOAD_SLOTS": slots,
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": 5 * 1024 * 1024,
        "RETRY_TIMES": 2,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "CLOSESPIDER_PAGECOUNT": max((site.max_pages for site in sites), default=1000),
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "ITEM_PIPELINES": {"crawler.pipelines.ExtractPipeline": 100, "crawler.pipelines.StorePipeline": 200},
        "LOG_LEVEL": settings.crawl.log_level,
        "OUTREACH_SETTINGS": settings,
        "OUTREACH_RUN_ID": run_id or 0,
    }
