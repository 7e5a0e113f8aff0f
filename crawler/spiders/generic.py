"""One spider for every site that a SiteDefinition can describe: listing pages -> detail pages.

Incremental: a listing entry (the advert's card) is hashed; a known advert whose entry did not change is only
marked as still listed, its detail page is not fetched again until `refresh_days` have passed. The listing walk
stops at the first page that shows only such adverts, except on a full walk (at most every `full_walk_hours`),
which goes to the end so that adverts no longer listed can be marked gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy_playwright.page import PageMethod

from crawler.items import ListedAdvert, RawAdvert
from crawler.sites import SiteDefinition
from outreach.store.adverts import KnownAdvert, full_walk_due, known_adverts
from outreach.store.db import Store
from outreach.store.types import utcnow

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
        self.known: dict[str, KnownAdvert] = {}
        self.full_walk = True
        self.listing_complete = False
        self.started = utcnow()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self._load_known()
        gate = self.site.gate
        if gate is not None and gate.form_url is not None:
            # The gate's answer sets a cookie (CookiesMiddleware keeps it) and redirects: the redirect is not
            # followed, the listing is requested as usual afterwards.
            yield scrapy.FormRequest(
                self.site.absolute(gate.form_url),
                formdata=gate.form_data,
                callback=self.gate_passed,
                meta={"dont_redirect": True, "handle_httpstatus_list": [301, 302, 303, 307]},
                dont_filter=True,
            )
            return
        for request in self._start_requests():
            yield request

    def gate_passed(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("outreach/gate_accepted")
        yield from self._start_requests()

    def _start_requests(self) -> Iterator[scrapy.Request]:
        gate = self.site.gate
        for index, url in enumerate(self.site.start_urls()):
            request = self._request(
                url, self.parse, ready=self.site.browser.listing_ready if self.site.browser else None
            )
            if gate is not None and gate.cookies:
                request = request.replace(cookies=dict(gate.cookies))
            if gate is not None and gate.click and index == 0:
                # The gate shows on the first page; clicking it sets the browser context's cookie for the rest.
                request.meta["playwright_page_methods"].insert(0, PageMethod("click", gate.click))
            yield request

    def _request(
        self, url: str, callback: Any, *, ready: str | None = None, priority: int = 0, **cb_kwargs: Any
    ) -> scrapy.Request:
        """A request; through the browser for sites that need one, waiting until `ready` has rendered."""
        meta: dict[str, Any] = {}
        if self.site.needs_browser:
            meta = {
                "playwright": True,
                "playwright_page_methods": [PageMethod("wait_for_selector", ready, state="attached")] if ready else [],
            }
        return scrapy.Request(url, callback=callback, priority=priority, meta=meta, cb_kwargs=cb_kwargs)

    def _load_known(self) -> None:
        if not self.site.incremental.enabled:
            return
        store = Store(self.crawler.settings["OUTREACH_SETTINGS"].database_url)
        try:
            with store.session() as session:
                self.known = known_adverts(session, self.site.name)
                self.full_walk = full_walk_due(
                    session, self.site.name, self.started, self.site.incremental.full_walk_hours
                )
        finally:
            store.close()
        self.crawler.stats.set_value("outreach/full_walk", self.full_walk)

    # -- listing pages --------------------------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request | ListedAdvert]:
        listing = self.site.listing
        stats = self.crawler.stats
        self.listing_urls.add(response.url)
        stats.inc_value("outreach/listing_pages")
        entries = self._listing_entries(response)
        stats.inc_value("outreach/listing_entries", len(entries))
        new_here = fetched_here = 0
        for url, listing_hash in entries:
            if url in self.advert_urls:
                continue
            self.advert_urls.add(url)
            new_here += 1
            known = self.known.get(url)
            if known is not None:
                yield ListedAdvert(self.site.name, url)
            if self._needs_detail(known, listing_hash):
                fetched_here += 1
                yield self._detail_request(url, listing_hash)
            else:
                stats.inc_value("outreach/details_skipped")
        next_href = response.css(f"{listing.next_page}::attr(href)").get() if listing.next_page else None
        if not next_href:
            self.listing_complete = self.full_walk
            return
        next_url = response.urljoin(next_href)
        stop = self._pagination_stop(next_url, new_here)
        if stop is None and entries and fetched_here == 0 and not self.full_walk:
            stop = "listing page shows only known, unchanged adverts"
            stats.set_value("outreach/incremental_stop", response.url)
        if stop:
            stats.set_value("outreach/pagination_stopped", stop)
            self.logger.info("not following the next listing page %s: %s", next_url, stop)
        else:
            yield self._request(
                next_url, self.parse, ready=self.site.browser.listing_ready if self.site.browser else None
            )

    def _listing_entries(self, response: Response) -> list[tuple[str, str]]:
        """(detail URL, hash of what the listing shows about the advert), in page order."""
        listing = self.site.listing
        entries: list[tuple[str, str]] = []
        holders: list[Any] = (
            list(response.css(listing.advert_card)) if listing.advert_card else list(response.css(listing.advert_link))
        )
        for holder in holders:
            href = (
                holder.css(f"{listing.advert_link}::attr(href)").get()
                if listing.advert_card
                else holder.attrib.get("href")
            )
            if not href:
                continue
            url = response.urljoin(href)
            shown = _join(holder.css("::text").getall())
            entries.append((url, hashlib.sha256(f"{url}\n{shown}".encode()).hexdigest()))
        return entries

    def _needs_detail(self, known: KnownAdvert | None, listing_hash: str) -> bool:
        if known is None or not self.site.incremental.enabled or known.listing_hash != listing_hash:
            return True
        refresh = timedelta(days=self.site.incremental.refresh_days)
        return known.detail_fetched_at is None or self.started - known.detail_fetched_at >= refresh

    def _pagination_stop(self, next_url: str, new_adverts: int) -> str | None:
        """Why a "next" link is not followed: pagination traps end here instead of at the page limit."""
        if next_url in self.listing_urls:
            return "next link points to a listing page already seen"
        if new_adverts == 0:
            return "listing page without new adverts"
        if len(self.listing_urls) >= self.site.limits.max_listing_pages:
            return f"max_listing_pages ({self.site.limits.max_listing_pages}) reached"
        return None

    # -- detail pages ---------------------------------------------------------------------------------------------

    def _detail_request(self, url: str, listing_hash: str) -> scrapy.Request:
        browser, reveal = self.site.browser, self.site.detail.reveal_number
        request = self._request(
            url,
            self.parse_detail,
            ready=browser.detail_ready if browser else None,
            priority=DETAIL_PRIORITY,
            listing_hash=listing_hash,
        )
        if reveal is not None and reveal.click:
            methods = request.meta["playwright_page_methods"]
            methods.append(PageMethod("click", reveal.click))
            if reveal.wait_for:
                methods.append(PageMethod("wait_for_selector", reveal.wait_for, state="attached"))
        return request

    def parse_detail(self, response: Response, listing_hash: str | None = None) -> Iterator[RawAdvert | scrapy.Request]:
        detail = self.site.detail
        ad_id = (response.css(detail.ad_id).get() or "").strip()
        if not ad_id:
            self.crawler.stats.inc_value("outreach/detail_without_id")
            self.logger.warning("detail page without an advert id: %s", response.url)
            return
        advert = self._advert(response, ad_id, listing_hash)
        reveal = detail.reveal_number
        number_url = response.css(reveal.request_url).get() if reveal is not None and reveal.request_url else None
        if number_url:
            # Follow what the "show number" button loads; the advert is complete only with its answer.
            yield scrapy.Request(
                response.urljoin(number_url),
                callback=self.parse_number,
                errback=self.number_failed,
                priority=DETAIL_PRIORITY + 1,
                cb_kwargs={"advert": advert},
            )
            return
        yield advert

    def parse_number(self, response: Response, advert: RawAdvert) -> Iterator[RawAdvert]:
        detail = self.site.detail
        self.crawler.stats.inc_value("outreach/numbers_revealed")
        advert.phone_links += response.css(detail.phone_links).getall()
        advert.whatsapp_links += response.css(detail.whatsapp_links).getall()
        advert.revealed = _join(response.css("::text").getall())
        yield advert

    def number_failed(self, failure: Any) -> Iterator[RawAdvert]:
        """The number could not be loaded: the advert is still stored (without it), and counted."""
        self.crawler.stats.inc_value("outreach/number_reveal_failed")
        yield failure.request.cb_kwargs["advert"]

    def _advert(self, response: Response, ad_id: str, listing_hash: str | None) -> RawAdvert:
        detail = self.site.detail
        return RawAdvert(
            site=self.site.name,
            site_ad_id=ad_id,
            url=response.url,
            title=_join(response.css(detail.title).getall()),
            text=_join(response.css(detail.text).getall()),
            city=_join(response.css(detail.city).getall()) or None if detail.city else None,
            category=_join(response.css(detail.category).getall()) or None if detail.category else None,
            phone_links=response.css(detail.phone_links).getall(),
            whatsapp_links=response.css(detail.whatsapp_links).getall(),
            listing_hash=listing_hash,
        )
