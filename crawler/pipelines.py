"""Item pipelines: extract phone numbers and clean the text, then write the advert to the store."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.items import ListedAdvert, RawAdvert
from crawler.phones import PhonePolicy, is_whatsapp_link, phone_from_link, scan_phones, scrub_numbers
from outreach.crypto import PhoneVault
from outreach.parsing.places import municipality
from outreach.settings import Settings
from outreach.store.adverts import FoundAdvert, FoundPhone, mark_gone, mark_listed, save_adverts, site_id
from outreach.store.db import Store
from outreach.store.types import utcnow

logger = logging.getLogger(__name__)


class ExtractPipeline:
    """RawAdvert -> FoundAdvert: numbers from text and links (mobiles of accepted countries only), numbers removed
    from the text, city as a municipality.

    Broken input (odd encodings, half pages, binary) must never stop the crawl: an advert that cannot be extracted
    is dropped whole, counted and logged with its URL.
    """

    def __init__(self, crawler: Crawler, policy: PhonePolicy) -> None:
        self.crawler = crawler
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        settings: Settings = crawler.settings["OUTREACH_SETTINGS"]
        return cls(crawler, PhonePolicy(settings.default_region, frozenset(settings.mobile_countries)))

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def process_item(self, item: Any) -> FoundAdvert | ListedAdvert:
        if isinstance(item, ListedAdvert):
            return item
        if not isinstance(item, RawAdvert):
            raise DropItem(f"unexpected item type {type(item).__name__}")
        try:
            found, counts = self.extract(item)
        except Exception as exc:  # a boundary: one broken advert must not end the crawl
            self.stats.inc_value("outreach/broken_adverts")
            logger.warning("could not extract advert %s: %s", item.url, exc.__class__.__name__)
            raise DropItem("broken advert") from exc
        for name, count in counts.items():
            self.stats.inc_value(f"outreach/{name}", count)
        self.stats.inc_value("outreach/adverts_seen")
        if found.phones:
            self.stats.inc_value("outreach/adverts_with_phone")
        elif self.stats.get_value("outreach/examples/no_number") is None:
            self.stats.set_value("outreach/examples/no_number", item.url)
        return found

    def extract(self, item: RawAdvert) -> tuple[FoundAdvert, Counter[str]]:
        region = self.policy.default_region
        counts: Counter[str] = Counter()
        scanned = scan_phones(f"{item.title}\n{item.text}\n{item.revealed}", region)
        counts["numbers_invalid"] += scanned.invalid
        candidates = list(scanned.phones)
        for href in item.phone_links + item.whatsapp_links:
            link_phone = phone_from_link(href, region)
            if link_phone is None:
                counts["numbers_invalid"] += 1
            else:
                candidates.append(link_phone)
        unique = list({phone.e164: phone for phone in candidates}.values())
        phones = {
            phone.e164: FoundPhone(phone.e164, phone.country, phone.is_mobile)
            for phone in self.policy.sort(unique, counts)
        }
        title, text = scrub_numbers(item.title, region), scrub_numbers(item.text, region)
        city = municipality(item.city)
        numbers = sorted(phones)
        digest = hashlib.sha256(
            json.dumps([title, text, city, item.category, numbers], ensure_ascii=False).encode()
        ).hexdigest()
        return FoundAdvert(
            site=item.site,
            site_ad_id=item.site_ad_id[:200],
            url=item.url,
            title=title,
            text=text,
            city=city[:120] if city else None,
            category=item.category[:40] if item.category else None,
            has_whatsapp=item.whatsapp_marked or any(is_whatsapp_link(href) for href in item.whatsapp_links),
            content_hash=digest,
            phones=list(phones.values()),
            listing_hash=item.listing_hash,
            numbers_left_out=_left_out(counts),
        ), counts


def _left_out(counts: Counter[str]) -> str | None:
    """Why numbers of this advert were not kept, so that selection can tell "not a mobile" from "no number"."""
    if counts["numbers_landline"]:
        return "landline"
    if counts["numbers_other_country"]:
        return "other_country"
    return None


class StorePipeline:
    """FoundAdvert / ListedAdvert -> the store, in batches.

    A batch is one transaction, so a killed crawl loses at most the unwritten batch and never leaves a
    half-written advert. A batch that fails is written again advert by advert, so one bad advert costs only
    itself (counted and logged with its URL).
    """

    BATCH_SIZE = 100
    BATCH_SECONDS = 5.0  # a slow, rate-limited crawl still writes what it found every few seconds

    def __init__(self, crawler: Crawler, settings: Settings, run_id: int | None) -> None:
        self.crawler = crawler
        self.settings = settings
        self.run_id = run_id
        self.store: Store | None = None
        self.vault = PhoneVault.from_settings(settings)
        self.site_ids: dict[str, int] = {}
        self.found: list[FoundAdvert] = []
        self.listed: list[ListedAdvert] = []
        self.last_flush = time.monotonic()
        self.started = utcnow()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler, crawler.settings["OUTREACH_SETTINGS"], crawler.settings.getint("OUTREACH_RUN_ID") or None)

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = Store(self.settings.database_url)
        self.started = utcnow()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListedAdvert):
            self.listed.append(item)
        elif isinstance(item, FoundAdvert):
            self.found.append(item)
        else:
            raise DropItem(f"unexpected item type {type(item).__name__}")
        if (
            len(self.found) + len(self.listed) >= self.BATCH_SIZE
            or time.monotonic() - self.last_flush >= self.BATCH_SECONDS
        ):
            self.flush()
        return item

    def flush(self) -> None:
        found, listed = self.found, self.listed
        self.found, self.listed = [], []
        self.last_flush = time.monotonic()
        if not found and not listed:
            return
        try:
            self._write(found, listed)
        except SQLAlchemyError:
            # One transaction per advert now, to find the one that fails.
            for advert in found:
                self._write_or_count([advert], [])
            self._write_or_count([], listed)

    def _write_or_count(self, found: list[FoundAdvert], listed: list[ListedAdvert]) -> None:
        try:
            self._write(found, listed)
        except SQLAlchemyError as exc:
            self.stats.inc_value("outreach/store_errors")
            url = found[0].url if found else "(listing entries)"
            logger.error("could not store advert %s: %s", url, exc.__class__.__name__)

    def _write(self, found: list[FoundAdvert], listed: list[ListedAdvert]) -> None:
        assert self.store is not None
        now = utcnow()
        results = []
        with self.store.session() as session:
            per_site: dict[str, list[FoundAdvert]] = {}
            for advert in found:
                per_site.setdefault(advert.site, []).append(advert)
            for site, adverts in per_site.items():
                results += save_adverts(session, self.vault, adverts, self.run_id, now, self._site(session, site))

            by_site: dict[str, list[str]] = {}
            for entry in listed:
                by_site.setdefault(entry.site, []).append(entry.url)
            for site, urls in by_site.items():
                mark_listed(session, self.vault, self._site(session, site), urls, self.run_id, now)
        # Counted only once the transaction is committed.
        for result in results:
            if result.is_new:
                self.stats.inc_value("outreach/adverts_new")
            elif result.changed:
                self.stats.inc_value("outreach/adverts_changed")
        self.stats.inc_value("outreach/adverts_listed_unchanged", len(listed))

    def _site(self, session: Session, name: str) -> int:
        if name not in self.site_ids:
            self.site_ids[name] = site_id(session, name)
        return self.site_ids[name]

    def close_spider(self, spider: Spider | None = None) -> None:
        assert self.store is not None
        self.flush()
        if spider is None:
            spider = self.crawler.spider
        if getattr(spider, "listing_complete", False) and not self.stats.get_value("outreach/stopped"):
            # Only a walk that reached the listing's end may say an advert is no longer listed.
            with self.store.session() as session:
                gone = mark_gone(session, self._site(session, spider.name), self.started, utcnow())  # type: ignore[union-attr]
            self.stats.set_value("outreach/adverts_gone", gone)
        self.store.close()
