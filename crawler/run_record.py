"""Records what one site's crawl did into its CrawlRun row, when the spider closes (whatever the reason)."""

from __future__ import annotations

import json
import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy.exc import SQLAlchemyError

from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import CrawlRun

logger = logging.getLogger(__name__)

# Scrapy's own counters worth keeping next to ours.
SCRAPY_COUNTERS = (
    "downloader/request_count",
    "downloader/response_count",
    "item_scraped_count",
    "elapsed_time_seconds",
)
SCRAPY_PREFIXES = ("downloader/response_status_count/", "downloader/exception_type_count/", "robotstxt/")


def site_counters(stats: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    """The counters one site's crawl keeps in its run: ours without the `outreach/` prefix, and Scrapy's."""
    kept = {
        key.removeprefix("outreach/"): value
        for key, value in stats.items()
        if key.startswith("outreach/") or key in SCRAPY_COUNTERS or key.startswith(SCRAPY_PREFIXES)
    }
    kept["finish_reason"] = finish_reason
    # datetimes and other values become JSON-safe
    result: dict[str, Any] = json.loads(json.dumps(kept, default=str))
    return result


class CrawlRunRecorder:
    def __init__(self, crawler: Crawler, settings: Settings, run_id: int) -> None:
        self.crawler = crawler
        self.settings = settings
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        run_id = crawler.settings.getint("OUTREACH_RUN_ID")
        if not run_id:
            raise NotConfigured("no crawl run to record into")
        recorder = cls(crawler, crawler.settings["OUTREACH_SETTINGS"], run_id)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_closed(self, spider: Spider, reason: str) -> None:
        assert self.crawler.stats is not None
        counters = site_counters(self.crawler.stats.get_stats(), reason)
        store = Store(self.settings.database_url)
        try:
            with store.session() as session:
                run = session.get(CrawlRun, self.run_id, with_for_update=True)
                if run is not None:
                    run.stats = {**run.stats, spider.name: counters}
        except SQLAlchemyError as exc:
            logger.error("could not record crawl run %s: %s", self.run_id, exc.__class__.__name__)
        finally:
            store.close()
