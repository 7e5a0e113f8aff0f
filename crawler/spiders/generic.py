"""One spider for every site that a SiteDefinition can describe: listing pages -> detail pages.

Incremental: a listing entry (the advert's card) is hashed; a known advert whose entry did not change is only
marked as still listed, its detail page is not fetched again until `refresh_days` have passed. The listing walk
stops at the first page that shows only such adverts, except on a full walk (at most every `full_walk_hours`),
which goes to the end so that adverts no longer listed can be marked gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import jmespath
import scrapy
from scrapy.http import Response
from scrapy_playwright.page import PageMethod
from w3lib.url import add_or_replace_parameter

from crawler.extract import Page, entry_values, keep_part
from crawler.items import ListedAdvert, RawAdvert
from crawler.run_record import given_up_pages, previous_site_stats
from crawler.sites import SiteDefinition
from outreach.crypto import PhoneVault
from outreach.parsing.folding import normalise
from outreach.store.adverts import KnownAdvert, KnownAdverts, full_walk_due, known_adverts
from outreach.store.db import Store
from outreach.store.types import utcnow

DETAIL_PRIORITY = 10  # detail pages before further listing pages keeps the request queue small
GIVEN_UP_LISTED = 50  # detail pages given up after their retries, listed by URL in the run's stats


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


class GenericAdSpider(scrapy.Spider):
    name = "generic"

    def __init__(self, site: SiteDefinition, detail_limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(name=site.name, **kwargs)
        self.site = site
        self.detail_limit = detail_limit  # `outreach site try`: read at most this many detail pages
        self.listing_urls: set[str] = set()
        self.advert_urls: set[str] = set()
        self.known = KnownAdverts()
        self.retry_urls: list[str] = []  # detail pages the previous run gave up on: fetched first this time
        self.full_walk = True
        self.listing_complete = False
        self.started = utcnow()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self._load_known()
        gate = self.site.gate
        if gate is not None and gate.form_url is not None:
            # The gate's answer sets a cookie (CookiesMiddleware keeps it) and redirects: the redirect is not
            # followed, the listing is requested as usual afterwards. A path or a full URL; GET is a link or a
            # GET form, its fields in the query.
            yield scrapy.FormRequest(
                urljoin(str(self.site.base_url), gate.form_url),
                method=gate.method,
                formdata=gate.form_data,
                callback=self.gate_passed,
                errback=self.gate_failed,
                meta={"dont_redirect": True, "handle_httpstatus_list": [301, 302, 303, 307]},
                dont_filter=True,
            )
            return
        for request in self._start_requests():
            yield request

    def _retries(self) -> Iterator[scrapy.Request]:
        """The previous run's given-up detail pages, fetched again before the listing decides what changed."""
        for url in self.retry_urls:
            if url not in self.advert_urls:
                self.advert_urls.add(url)
                self.crawler.stats.inc_value("outreach/details_retried")
                yield self._detail_request(url, "")

    def gate_passed(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("outreach/gate_accepted")
        yield from self._start_requests()

    def gate_failed(self, failure: Any) -> Iterator[scrapy.Request]:
        """The gate did not answer: try the listing anyway; if the gate is in the way it shows no adverts, and
        the run says so (crawler/health.py)."""
        self.problem("gate_failed", failure.request.url)
        yield from self._start_requests()

    def _start_requests(self) -> Iterator[scrapy.Request]:
        gate = self.site.gate
        retries = list(self._retries())
        for index, url in enumerate(self.site.start_urls()):
            request = self._listing_request(url)
            if gate is not None and gate.cookies:
                request = request.replace(cookies=dict(gate.cookies))
            if gate is not None and gate.click and index == 0:
                # The gate shows on the first page; clicking it sets the browser context's cookie for the rest.
                request.meta["playwright_page_methods"].insert(0, PageMethod("click", gate.click))
            yield request
        # After the first listing page: behind a gate, that request carries the cookies the gate set.
        for retry in retries:
            if gate is not None and gate.cookies:
                retry = retry.replace(cookies=dict(gate.cookies))
            yield retry

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
        settings = self.crawler.settings["OUTREACH_SETTINGS"]
        vault = PhoneVault.from_settings(settings)
        store = Store(settings.database_url)
        try:
            with store.session() as session:
                self.known = known_adverts(session, vault, self.site.name)
                self.full_walk = full_walk_due(
                    session, self.site.name, self.started, self.site.incremental.full_walk_hours
                )
                run_id = self.crawler.settings.getint("OUTREACH_RUN_ID")
                previous = previous_site_stats(session, self.site.name, run_id) if run_id else None
        finally:
            store.close()
        if previous:
            self.retry_urls = given_up_pages(previous, vault)
            if int(previous.get("problems/detail_failed", 0)) > len(self.retry_urls):
                self.full_walk = True  # more were given up than listed: walk the whole listing to find them
        self.crawler.stats.set_value("outreach/full_walk", self.full_walk)

    # -- problems -------------------------------------------------------------------------------------------------

    def problem(self, reason: str, url: str, count: int = 1) -> None:
        """Count what was lost or went wrong, keeping the first URL it happened on (crawler/health.py reads both)."""
        stats = self.crawler.stats
        stats.inc_value(f"outreach/problems/{reason}", count)
        self.example(reason, url)

    def example(self, reason: str, url: str) -> None:
        stats = self.crawler.stats
        if stats.get_value(f"outreach/examples/{reason}") is None:
            stats.set_value(f"outreach/examples/{reason}", url)

    def callback_failed(self, response: Response, exception: BaseException) -> list[RawAdvert]:
        """A callback raised (crawler.callback_errors): the advert it was completing is still stored, without the
        part that failed; anything else is counted and logged with its URL. Never a lost advert in silence."""
        request = response.request
        callback = getattr(request.callback, "__name__", "parse") if request is not None else "parse"
        advert = request.cb_kwargs.get("advert") if request is not None else None
        self.logger.warning("%s in %s for %s", type(exception).__name__, callback, response.url)
        if isinstance(advert, RawAdvert):
            self.problem("reveal_failed", advert.url)
            return [advert]
        self.problem("detail_error" if callback == "parse_detail" else "listing_error", response.url)
        if callback != "parse_detail":
            self.example("listing", response.url)
        return []

    def listing_failed(self, failure: Any) -> None:
        self.problem("listing_failed", failure.request.url)
        self.example("listing", failure.request.url)

    def detail_failed(self, failure: Any) -> None:
        """Given up after the retries: counted and listed; nothing is stored, so the next run fetches it again."""
        url = failure.request.url
        status = getattr(getattr(failure.value, "response", None), "status", None)
        if status in (404, 410):
            self.crawler.stats.inc_value("outreach/details_gone")  # removed between listing and detail: no loss
            return
        self.problem("detail_failed", url)
        given_up = self.crawler.stats.get_value("outreach/given_up") or []
        if len(given_up) < GIVEN_UP_LISTED:
            self.crawler.stats.set_value("outreach/given_up", [*given_up, url])

    # -- listing pages --------------------------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request | ListedAdvert]:
        stats = self.crawler.stats
        self.listing_urls.add(response.url)
        stats.inc_value("outreach/listing_pages")
        entries = self._listing_entries(Page(response, self.site.listing.json_script))
        stats.inc_value("outreach/listing_entries", len(entries))
        if not entries:
            self.example("listing_empty", response.url)
        new_here = fetched_here = 0
        for url, listing_hash in entries:
            if url in self.advert_urls:
                continue
            self.advert_urls.add(url)
            new_here += 1
            known = self.known.get(url)
            if known is not None:
                yield ListedAdvert(self.site.name, url)
            if self.detail_limit is not None and len(self.advert_urls) > self.detail_limit:
                continue
            if self._needs_detail(known, listing_hash):
                fetched_here += 1
                yield self._detail_request(url, listing_hash)
            else:
                stats.inc_value("outreach/details_skipped")
        next_url = self._next_listing_url(response, bool(entries))
        if next_url is None:
            self.listing_complete = self.full_walk
            return
        stop = self._pagination_stop(next_url, new_here)
        if stop is None and entries and fetched_here == 0 and not self.full_walk:
            stop = "listing page shows only known, unchanged adverts"
            stats.set_value("outreach/incremental_stop", response.url)
        if stop:
            stats.set_value("outreach/pagination_stopped", stop)
            self.logger.info("not following the next listing page %s: %s", next_url, stop)
            if next_url in self.listing_urls or new_here == 0:
                self.listing_complete = self.full_walk  # the end of a parameter walk, or a pagination loop
        else:
            yield self._listing_request(next_url)

    def _listing_request(self, url: str) -> scrapy.Request:
        request = self._request(url, self.parse, ready=self.site.browser.listing_ready if self.site.browser else None)
        return request.replace(errback=self.listing_failed)

    def _next_listing_url(self, response: Response, had_entries: bool) -> str | None:
        listing = self.site.listing
        if listing.page_parameter is not None:
            if not had_entries:
                return None
            parameter = listing.page_parameter
            current = parse_qs(urlparse(response.url).query).get(parameter.name, [str(parameter.start)])[0]
            try:
                number = int(current)
            except ValueError:
                return None
            return add_or_replace_parameter(response.url, parameter.name, str(number + parameter.step))
        href = response.css(f"{listing.next_page}::attr(href)").get() if listing.next_page else None
        return response.urljoin(href) if href else None

    def _listing_entries(self, page: Page) -> list[tuple[str, str]]:
        """(detail URL, hash of what the listing shows about the advert), in page order."""
        listing = self.site.listing
        response = page.response
        entries: list[tuple[str, str]] = []
        if listing.json_entries is not None:
            assert listing.advert_link is not None
            document = page.document
            found = jmespath.search(listing.json_entries, document) if document is not None else None
            for entry in found if isinstance(found, list) else []:
                links = entry_values(listing.advert_link, entry)
                if links:
                    url = response.urljoin(self._link(links[0]))
                    shown = json.dumps(entry, sort_keys=True, ensure_ascii=False)
                    entries.append((url, hashlib.sha256(f"{url}\n{shown}".encode()).hexdigest()))
            return entries
        if page.kind != "html":
            return entries
        link = listing.advert_link
        assert link is not None and link.css is not None
        css = link.css if "::" in link.css else f"{link.css}::attr(href)"
        for href, shown in self._links_shown(response, css):
            url = response.urljoin(self._link(href))
            entries.append((url, hashlib.sha256(f"{url}\n{shown}".encode()).hexdigest()))
        return entries

    def _links_shown(self, response: Response, css: str) -> Iterator[tuple[str, str]]:
        """(href, what the listing shows of that advert): its card's text, else its link element's (a link given
        with ::attr() shows nothing else to compare between crawls)."""
        listing = self.site.listing
        link = listing.advert_link
        assert link is not None and link.css is not None
        if listing.advert_card:
            for card in response.css(listing.advert_card):
                hrefs = keep_part(card.css(css).getall(), link.regex)
                if hrefs:
                    yield hrefs[0], _join(card.css("::text").getall())
        elif "::" not in link.css:
            for anchor in response.css(link.css):
                for href in keep_part([anchor.attrib.get("href", "")], link.regex):
                    yield href, _join(anchor.css("::text").getall())
        else:
            for href in keep_part(response.css(css).getall(), link.regex):
                yield href, ""

    def _link(self, found: str) -> str:
        template = self.site.listing.link_format
        return template.replace("{}", found.strip()) if template else found.strip()

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
        self.crawler.stats.inc_value("outreach/details_requested")
        request = self._request(
            url,
            self.parse_detail,
            ready=browser.detail_ready if browser else None,
            priority=DETAIL_PRIORITY,
            listing_hash=listing_hash,
        ).replace(errback=self.detail_failed)
        if reveal is not None and reveal.click:
            methods = request.meta["playwright_page_methods"]
            methods.append(PageMethod("click", reveal.click))
            if reveal.wait_for:
                methods.append(PageMethod("wait_for_selector", reveal.wait_for, state="attached"))
        return request

    def parse_detail(self, response: Response, listing_hash: str | None = None) -> Iterator[RawAdvert | scrapy.Request]:
        detail = self.site.detail
        page = Page(response, detail.json_script)
        ad_id = page.first(detail.ad_id)
        if not ad_id:
            self.problem("no_ad_id", response.url)
            self.logger.warning("detail page without an advert id (%s): %s", detail.ad_id.describe(), response.url)
            return
        self.crawler.stats.inc_value("outreach/details_parsed")
        advert = self._advert(page, ad_id, listing_hash)
        reveal = detail.reveal_number
        if reveal is None:
            yield advert
            return
        if reveal.click:
            # The browser clicked before this response was taken: the number is on the page now.
            self.crawler.stats.inc_value("outreach/reveal_attempts")
            advert.revealed = page.joined(reveal.number) if reveal.number else page.text
            if not advert.revealed.strip():
                self.problem("reveal_empty", response.url)
            yield advert
            return
        try:
            request = self._reveal_request(page, advert, ad_id)
        except Exception as exc:  # a boundary: the advert is stored without its number rather than lost
            self.logger.warning("number reveal of %s not requested: %s", response.url, type(exc).__name__)
            request = None
        else:
            if request is None:
                # No "show number" button on this advert (sites show it only when there is a number): nothing to
                # reveal and nothing failed, so it counts neither as an attempt nor as a failed reveal.
                self.crawler.stats.inc_value("outreach/reveal_absent")
                yield advert
                return
        self.crawler.stats.inc_value("outreach/reveal_attempts")
        if request is None:
            self.problem("reveal_failed", response.url)
            yield advert
            return
        # Follow what the "show number" button loads; the advert is complete only with its answer.
        yield request

    def _reveal_request(self, page: Page, advert: RawAdvert, ad_id: str) -> scrapy.Request | None:
        """The request the "show number" button sends; None when this page has no such button."""
        reveal = self.site.detail.reveal_number
        assert reveal is not None and reveal.request_url is not None
        target = page.first(reveal.request_url, ad_id)
        if not target:
            return None
        url = page.response.urljoin(target)
        form = {name: page.first(pick, ad_id) for name, pick in reveal.form.items()}
        headers = {name: page.first(pick, ad_id) for name, pick in reveal.headers.items()}
        options: dict[str, Any] = {
            "callback": self.parse_number,
            "errback": self.number_failed,
            "priority": DETAIL_PRIORITY + 1,
            "cb_kwargs": {"advert": advert},
            "headers": headers,
        }
        if reveal.method == "POST":
            return scrapy.FormRequest(url, formdata=form, **options)
        for name, value in form.items():
            url = add_or_replace_parameter(url, name, value)
        return scrapy.Request(url, **options)

    def parse_number(self, response: Response, advert: RawAdvert) -> Iterator[RawAdvert]:
        reveal = self.site.detail.reveal_number
        assert reveal is not None
        page = Page(response, self.site.detail.json_script)
        self.crawler.stats.inc_value("outreach/numbers_revealed")
        if reveal.number is not None:
            advert.revealed = page.joined(reveal.number)
        else:
            advert.phone_links += page.links(self.site.detail.phone_links)
            advert.whatsapp_links += page.links(self.site.detail.whatsapp_links)
            advert.revealed = page.text
        if not advert.revealed.strip() and not advert.phone_links and not advert.whatsapp_links:
            self.problem("reveal_empty", advert.url)
        yield advert

    def number_failed(self, failure: Any) -> Iterator[RawAdvert]:
        """The number could not be loaded: the advert is still stored (without it), and counted."""
        advert = failure.request.cb_kwargs["advert"]
        self.problem("reveal_failed", advert.url)
        yield advert

    def _advert(self, page: Page, ad_id: str, listing_hash: str | None) -> RawAdvert:
        detail = self.site.detail
        fields = {
            "title": page.joined(detail.title, ad_id),
            "text": page.joined(detail.text, ad_id),
            "city": page.joined(detail.city, ad_id) if detail.city else None,
            "category": page.joined(detail.category, ad_id) if detail.category else None,
        }
        whatsapp = bool(detail.whatsapp and page.values(detail.whatsapp, ad_id)) or _has_word(
            detail.whatsapp_words, f"{fields['title']} {fields['text']}"
        )
        stats = self.crawler.stats
        configured = {"title": True, "text": True, "city": detail.city, "category": detail.category}
        for name, value in fields.items():
            if configured[name]:
                stats.inc_value(f"outreach/fields/{name}/{'found' if value else 'missing'}")
                if not value:
                    self.example(f"missing_{name}", page.response.url)
        if detail.whatsapp is not None or detail.whatsapp_words:
            stats.inc_value(f"outreach/fields/whatsapp/{'found' if whatsapp else 'missing'}")
        return RawAdvert(
            site=self.site.name,
            site_ad_id=ad_id,
            url=page.response.url,
            title=fields["title"] or "",
            text=fields["text"] or "",
            city=fields["city"] or None,
            category=fields["category"] or None,
            phone_links=page.links(detail.phone_links),
            whatsapp_links=page.links(detail.whatsapp_links),
            listing_hash=listing_hash,
            whatsapp_marked=whatsapp,
        )


def _has_word(words: list[str], text: str) -> bool:
    """Whole words or phrases, folded as keyword rules are (case, accents, punctuation)."""
    if not words:
        return False
    folded = f" {normalise(text)} "
    return any(f" {normalise(word)} " in folded for word in words if normalise(word))
