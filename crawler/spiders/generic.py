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

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.site.start_urls():
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        listing = self.site.listing
        for href in response.css(f"{listing.advert_link}::attr(href)").getall():
            yield response.follow(href, callback=self.parse_detail, priority=DETAIL_PRIORITY)
        if listing.next_page:
            next_href = response.css(f"{listing.next_page}::attr(href)").get()
            if next_href:
                yield response.follow(next_href, callback=self.parse)

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
