"""Records what one site's crawl did into its CrawlRun row, when the spider closes (whatever the reason)."""

from __future__ import annotations

import json
import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.health import assess, health_of
from outreach.access.masking import mask_url
from outreach.crypto import PhoneVault
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
    "playwright/page_count",  # browser pages opened: about one per concurrent request when pages are reused
)
SCRAPY_PREFIXES = (
    "downloader/response_status_count/",
    "downloader/exception_type_count/",
    "robotstxt/",
    "spider_exceptions/",
    "item_dropped_reasons_count/",
    "log_count/ERROR",
)


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


LISTING_EXAMPLES = ("examples/listing", "examples/gate_failed")


def at_rest(counters: dict[str, Any], vault: PhoneVault) -> dict[str, Any]:
    """The counters as the database keeps them: no advert address in plaintext (the page behind one shows a
    number). An advert page given as an example of a problem is kept masked (the site only; `outreach site try`
    shows the pages live); listing pages, which the site file names, stay as they are. The pages given up are kept
    masked to show and encrypted for the next run, which fetches them first."""
    kept = {key: mask_url(str(value)) if _advert_example(key, value) else value for key, value in counters.items()}
    given_up = [str(url) for url in counters.get("given_up", [])]
    if given_up:
        kept["given_up"] = [mask_url(url) for url in given_up]
        kept["given_up_encrypted"] = [vault.encrypt(url) for url in given_up]
    return kept


def _advert_example(key: str, value: Any) -> bool:
    """An example of a problem on an advert's page (`examples/listing...` and `examples/gate_failed` are the site's
    own pages)."""
    return key.startswith("examples/") and bool(value) and not key.startswith(LISTING_EXAMPLES)


def given_up_pages(previous: dict[str, Any], vault: PhoneVault) -> list[str]:
    """The detail pages the previous run gave up on, to fetch first."""
    return [vault.decrypt(str(token)) for token in previous.get("given_up_encrypted", [])]


# A crawl that parsed at least this many detail pages without a single number, where the previous one found
# numbers, is a markup change rather than chance.
NO_NUMBERS_MIN_ADVERTS = 5


def markup_flags(current: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """Signs that the site changed its markup under us: compared with the site's previous crawl."""
    if previous is None or current.get("finish_reason") != "finished":
        return []
    flags = []
    if int(current.get("listing_entries", 0)) == 0 and int(previous.get("listing_entries", 0)) > 0:
        flags.append("zero_adverts: the listing showed no adverts; the previous crawl saw some")
    seen, with_phone = int(current.get("adverts_seen", 0)), int(current.get("adverts_with_phone", 0))
    if seen >= NO_NUMBERS_MIN_ADVERTS and with_phone == 0 and int(previous.get("adverts_with_phone", 0)) > 0:
        flags.append(f"no_numbers: {seen} adverts without a phone number; the previous crawl found numbers")
    return flags


def previous_site_stats(session: Session, site: str, before_run: int) -> dict[str, Any] | None:
    """The site's counters in the last finished crawl run before this one."""
    runs = session.execute(
        select(CrawlRun.stats).where(CrawlRun.id < before_run).order_by(CrawlRun.id.desc()).limit(50)
    ).scalars()
    for stats in runs:
        if isinstance(stats, dict) and isinstance(stats.get(site), dict):
            found: dict[str, Any] = stats[site]
            return found
    return None


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
        vault = PhoneVault.from_settings(self.settings)
        counters = at_rest(site_counters(self.crawler.stats.get_stats(), reason), vault)
        store = Store(self.settings.database_url)
        try:
            with store.session() as session:
                previous = previous_site_stats(session, spider.name, self.run_id)
                flags = markup_flags(counters, previous)
                if flags:
                    counters["markup_flags"] = flags
                    logger.warning("site %s may have changed its markup: %s", spider.name, "; ".join(flags))
                problems = assess(counters, previous)
                counters["health"] = health_of(problems)
                counters["problems"] = [problem.as_dict() for problem in problems]
                for problem in problems:
                    logger.warning(
                        "site %s %s: %s (e.g. %s)", spider.name, problem.health, problem.message, problem.example
                    )
                run = session.get(CrawlRun, self.run_id, with_for_update=True)
                if run is not None:
                    run.stats = {**run.stats, spider.name: counters}
        except SQLAlchemyError as exc:
            logger.error("could not record crawl run %s: %s", self.run_id, exc.__class__.__name__)
        finally:
            store.close()
