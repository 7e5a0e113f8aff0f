"""One spider for every site that a SiteDefinition can describe: listing pages -> detail pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.items import RawAdvert
from crawler.sites import SiteDefinition

DETAIL_PRIORITY = 10  # detail pages before further listing pages keeps the request queue small


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


class GenericAdSpider(scrapy.Spider):
    name = "generic"

    def __init__(self, site: SiteDefinition, **kwargs: Any) -> None:
        super().__init__(name=site.name, **kwargs)
        self.site = site
        self.listing_urls: set[str] = set()
        self.advert_urls: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.site.start_urls():
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        listing = self.site.listing
        self.listing_urls.add(response.url)
        self.crawler.stats.inc_value("outreach/listing_pages")
        new_adverts = 0
        for href in response.css(f"{listing.advert_link}::attr(href)").getall():
            url = response.urljoin(href)
            if url in self.advert_urls:
                continue
            self.advert_urls.add(url)
            new_adverts += 1
            yield scrapy.Request(url, callback=self.parse_detail, priority=DETAIL_PRIORITY)
        if listing.next_page:
            next_href = response.css(f"{listing.next_page}::attr(href)").get()
            if next_href:
                next_url = response.urljoin(next_href)
                stop = self._pagination_stop(next_url, new_adverts)
                if stop:
                    self.crawler.stats.set_value("outreach/pagination_stopped", stop)
                    self.logger.info("not following the next listing page %s: %s", next_url, stop)
                else:
                    yield scrapy.Request(next_url, callback=self.parse)

    def _pagination_stop(self, next_url: str, new_adverts: int) -> str | None:
        """Why a "next" link is not followed: pagination traps end here instead of at the page limit."""
        if next_url in self.listing_urls:
            return "next link points to a listing page already seen"
        if new_adverts == 0:
            return "listing page without new adverts"
        if len(self.listing_urls) >= self.site.limits.max_listing_pages:
            return f"max_listing_pages ({self.site.limits.max_listing_pages}) reached"
        return None

    def parse_detail(self, response: Response) -> Iterator[RawAdvert]:
        detail = self.site.detail
        ad_id = (response.css(detail.ad_id).get() or "").strip()
        if not ad_id:
            self.crawler.stats.inc_value("outreach/detail_without_id")
            self.logger.warning("detail page without an advert id: %s", response.url)
            return
        yield RawAdvert(
            site=self.site.name,
            site_ad_id=ad_id,
            url=response.url,
            title=_join(response.css(detail.title).getall()),
            text=_join(response.css(detail.text).getall()),
            city=_join(response.css(detail.city).getall()) or None if detail.city else None,
            category=_join(response.css(detail.category).getall()) or None if detail.category else None,
            phone_links=response.css(detail.phone_links).getall(),
            whatsapp_links=response.css(detail.whatsapp_links).getall(),
        )
