"""Item pipelines: extract phone numbers and clean the text, then write the advert to the store."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.items import RawAdvert
from crawler.phones import find_phones, is_whatsapp_link, phone_from_link, scrub_numbers
from outreach.crypto import PhoneVault
from outreach.settings import Settings
from outreach.store.adverts import FoundAdvert, FoundPhone, save_advert, site_id
from outreach.store.db import Store
from outreach.store.types import utcnow

logger = logging.getLogger(__name__)


class ExtractPipeline:
    """RawAdvert -> FoundAdvert: numbers from text and links, numbers removed from the text."""

    def __init__(self, crawler: Crawler, default_region: str) -> None:
        self.stats = crawler.stats
        self.default_region = default_region

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        settings: Settings = crawler.settings["OUTREACH_SETTINGS"]
        return cls(crawler, settings.default_region)

    def process_item(self, item: Any) -> FoundAdvert:
        if not isinstance(item, RawAdvert):
            raise DropItem(f"unexpected item type {type(item).__name__}")
        phones: dict[str, FoundPhone] = {}
        for phone in find_phones(f"{item.title}\n{item.text}", self.default_region):
            phones.setdefault(phone.e164, FoundPhone(phone.e164, phone.country, phone.is_mobile))
        for href in item.phone_links + item.whatsapp_links:
            link_phone = phone_from_link(href, self.default_region)
            if link_phone is not None:
                phones.setdefault(
                    link_phone.e164, FoundPhone(link_phone.e164, link_phone.country, link_phone.is_mobile)
                )
        title, text = scrub_numbers(item.title), scrub_numbers(item.text)
        numbers = sorted(phones)
        digest = hashlib.sha256(
            json.dumps([title, text, item.city, item.category, numbers], ensure_ascii=False).encode()
        ).hexdigest()
        assert self.stats is not None
        self.stats.inc_value("outreach/adverts_seen")
        if phones:
            self.stats.inc_value("outreach/adverts_with_phone")
        return FoundAdvert(
            site=item.site,
            site_ad_id=item.site_ad_id,
            url=item.url,
            title=title,
            text=text,
            city=item.city,
            category=item.category,
            has_whatsapp=any(is_whatsapp_link(href) for href in item.whatsapp_links),
            content_hash=digest,
            phones=list(phones.values()),
        )


class StorePipeline:
    """FoundAdvert -> the store, one transaction per advert so a killed crawl leaves no half-written advert."""

    def __init__(self, crawler: Crawler, settings: Settings, run_id: int | None) -> None:
        self.crawler = crawler
        self.settings = settings
        self.run_id = run_id
        self.store: Store | None = None
        self.vault = PhoneVault.from_settings(settings)
        self.site_ids: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler, crawler.settings["OUTREACH_SETTINGS"], crawler.settings.getint("OUTREACH_RUN_ID") or None)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = Store(self.settings.database_url)

    def process_item(self, item: Any) -> FoundAdvert:
        assert self.store is not None and self.crawler.stats is not None
        now = utcnow()
        try:
            with self.store.session() as session:
                if item.site not in self.site_ids:
                    self.site_ids[item.site] = site_id(session, item.site)
                result = save_advert(session, self.vault, item, self.run_id, now, self.site_ids[item.site])
        except SQLAlchemyError as exc:
            self.crawler.stats.inc_value("outreach/store_errors")
            logger.error("could not store advert %s: %s", item.url, exc.__class__.__name__)
            raise DropItem("store error") from exc
        if result.is_new:
            self.crawler.stats.inc_value("outreach/adverts_new")
        elif result.changed:
            self.crawler.stats.inc_value("outreach/adverts_changed")
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        assert self.store is not None
        self.store.close()
