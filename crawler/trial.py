"""`outreach site try FILE`: a few pages of one site, crawled through the same spider and middleware as a real
crawl (politeness, robots.txt, gates, reveals), stored nowhere. The child writes one JSON report: per advert what
every field found (numbers masked), the counters, and the health the run would have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.health import assess, health_of
from crawler.items import ListedAdvert
from crawler.run_record import site_counters
from outreach.access.masking import mask
from outreach.store.adverts import FoundAdvert, FoundPhone

SNIPPET = 120  # characters of title and text shown per advert: enough to recognise it


def _shown(phone: FoundPhone) -> str:
    return f"{mask(phone.e164)} ({phone.country}{', mobile' if phone.is_mobile else ''})"


class TrialPipeline:
    """After ExtractPipeline: keeps what would be stored, masked, and writes the report when the spider closes."""

    def __init__(self, crawler: Crawler, output: Path) -> None:
        self.crawler = crawler
        self.output = output
        self.adverts: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrialPipeline:
        return cls(crawler, Path(crawler.settings["OUTREACH_TRIAL_OUTPUT"]))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListedAdvert):
            return item
        if not isinstance(item, FoundAdvert):
            raise DropItem(f"unexpected item type {type(item).__name__}")
        self.adverts.append(
            {
                "url": item.url,
                "ad_id": item.site_ad_id,
                "title": item.title[:SNIPPET],
                "text": item.text[:SNIPPET],
                "city": item.city,
                "category": item.category,
                "numbers": [_shown(phone) for phone in item.phones],
                "whatsapp": item.has_whatsapp,
                "numbers_left_out": item.numbers_left_out,
            }
        )
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        assert self.crawler.stats is not None
        counters = site_counters(self.crawler.stats.get_stats(), "finished")
        problems = assess(counters, None)
        report = {
            "adverts": self.adverts,
            "counters": counters,
            "health": health_of(problems),
            "problems": [problem.as_dict() for problem in problems],
        }
        self.output.write_text(json.dumps(report, ensure_ascii=False, default=str), encoding="utf-8")
