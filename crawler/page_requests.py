"""What a page load in the browser may ask of the site, and at what pace.

scrapy-playwright routes every request a page makes through its own handler; ours is installed after it on every
page (its page init callback), and Playwright runs the last installed route first:

- the resource types the site's `browser.block` names (images, media and fonts by default), and every request to
  another host, are aborted: never sent (we store no photos, and analytics, ads and CDNs are no part of the crawl);
- every other request to the site, the page's document included, waits its turn in the same line as the crawl's
  plain requests (crawler/departures.py), and its answer is reported back: the site sees one pace, whatever made
  the request;
- scripts and stylesheets are fetched once per crawl and answered from memory for every later page: routing turns
  Chromium's HTTP cache off, so without this every page load would fetch them again;
- a 429 or 5xx answer to any of the page's requests pauses the site like one to the crawl's own requests.

A page is reused for one load after another (crawler/page_pool.py): `install` runs before each, and what the page
reports then belongs to its newest load; a request the previous document still had in flight counts as answered when
the next load starts, as it would when its page closed. Between loads a page fetches nothing (`idle`).

One gap remains: Playwright does not route the requests a redirect makes, so when the browser follows one (a
document or data call answered 3xx) the next hop leaves right after the 3xx. It is recorded as it goes, so that
what follows keeps its distance; scripts and stylesheets are fetched here, and their redirects wait their turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from playwright.async_api import APIResponse, Page, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PageRequest
from playwright.async_api import Response as PageResponse
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached

from crawler.departures import Ticket

logger = logging.getLogger(__name__)

KEPT_RESOURCES = frozenset({"script", "stylesheet"})
# What a crawl keeps of a site's scripts and styles: a few hundred kilobytes is usual, this is a bound.
MAX_KEPT_BYTES = 32 * 1024 * 1024
MAX_REDIRECTS = 5  # as REDIRECT_MAX_TIMES for the crawl's own requests
# Headers about one transfer (the body is kept decoded) or with a side effect that must not be replayed.
_NOT_REPLAYED = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "set-cookie"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port, the default port made explicit: what "the same site" means here."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or ""), parts.port or _DEFAULT_PORTS.get(parts.scheme)


def is_main_navigation(request: PageRequest) -> bool:
    """The page's own document (or a redirect of it): the crawl asked for it, its answer reaches the crawl."""
    if not request.is_navigation_request():
        return False
    try:
        return request.frame.parent_frame is None
    except PlaywrightError:  # a service worker's request has no frame
        return False


@dataclass(frozen=True)
class Kept:
    status: int
    headers: dict[str, str]
    body: bytes


class Answered(Protocol):
    def __call__(
        self, host: str, *, status: int | None = ..., retry_after: str | None = ..., request: Request | None = ...
    ) -> None: ...


@dataclass
class _Load:
    """One page load: the crawl's request, whose site it is, and its requests still waiting for an answer."""

    request: Request
    host: str  # as the downloader middleware names it: the key of its pace
    origin: tuple[str, str, int | None]
    user_agent: str
    flying: dict[PageRequest, Ticket] = field(default_factory=dict)
    counted: set[PageRequest] = field(default_factory=set)  # answers counted before the page saw them
    done: bool = False  # the crawl has its response: the page waits idle for its next load

    def answered(self, request: PageRequest) -> None:
        ticket = self.flying.pop(request, None)
        if ticket is not None:
            ticket.answered()

    def closed(self) -> None:
        """Answers that will never come now count as come: the requests reached the site by now at the latest."""
        for ticket in self.flying.values():
            ticket.answered()
        self.flying.clear()


class PageRequests:
    def __init__(
        self,
        leave: Callable[[str, bool], Awaitable[Ticket]],
        left: Callable[[str], Ticket],
        answered: Answered,
        stats: StatsCollector,
        blocked: frozenset[str],
    ) -> None:
        """`leave(host, is_document)` waits for a request's turn (raises IgnoreRequest when the crawl stopped);
        `left(host)` records one that left without waiting; `answered` is told of the document's answers, and of
        429 and 5xx answers to the page's own requests; `blocked`: the resource types never fetched."""
        self._leave = leave
        self._left = left
        self._answered = answered
        self.stats = stats
        self.blocked = blocked
        self._kept: dict[str, asyncio.Future[Kept | None]] = {}
        self._kept_bytes = 0
        self._loads: dict[Page, _Load] = {}  # each open page's newest load
        self._handlers: dict[Page, Callable[[Route, PageRequest], Awaitable[None]]] = {}  # each page's route

    async def install(self, page: Page, request: Request) -> None:
        """scrapy-playwright's `playwright_page_init_callback`: called before the page loads `request`, also on a
        page that loaded others before."""
        load = _Load(
            request,
            urlparse_cached(request).netloc,
            origin(request.url),
            (request.headers.get("User-Agent") or b"").decode("latin-1"),
        )
        previous = self._loads.get(page)
        self._loads[page] = load
        handler = self._handlers.get(page)
        if previous is None or handler is None:
            page.on("request", lambda page_request: self._on_request(page, page_request))
            page.on("response", lambda response: self._on_response(page, response))
            page.on("requestfailed", lambda page_request: self._on_failed(page, page_request))
            page.on("close", self._closed)
            page.on("crash", self._closed)
            handler = self._handlers[page] = lambda route, page_request: self._on_route(page, route, page_request)
        else:
            previous.closed()
            # scrapy-playwright routed the page again for this load; Playwright runs the last route installed first,
            # so ours goes after it again.
            await page.unroute("**/*", handler)
        await page.route("**/*", handler)

    def _on_request(self, page: Page, request: PageRequest) -> None:
        if (load := self._loads.get(page)) is not None:
            self._redirected(load, request)

    def _on_response(self, page: Page, response: PageResponse) -> None:
        if (load := self._loads.get(page)) is not None:
            self._response(load, response)

    async def _on_route(self, page: Page, route: Route, request: PageRequest) -> None:
        load = self._loads.get(page)
        if load is None:  # the page closed
            await route.abort("blockedbyclient")
        else:
            await self._route(load, route, request)

    def _on_failed(self, page: Page, request: PageRequest) -> None:
        if (load := self._loads.get(page)) is not None:
            load.answered(request)

    def _closed(self, page: Page) -> None:
        self._handlers.pop(page, None)
        load = self._loads.pop(page, None)
        if load is not None:
            load.closed()

    async def close_pages(self) -> None:
        """Close the pages still open: their loads fail at once instead of waiting for requests never sent."""
        for page in list(self._loads):
            with contextlib.suppress(PlaywrightError):
                await page.close()

    def idle(self, page: Page) -> None:
        """The crawl has the page's response and keeps the page for a later load: until then its document may fetch
        nothing (a timer polling the site would otherwise go on asking while the page waits, where a closed page
        asked nothing)."""
        if (load := self._loads.get(page)) is not None:
            load.done = True

    def is_idle(self, request: PageRequest) -> bool:
        """True for a request made by a page that waits idle for its next load."""
        try:
            page = request.frame.page
        except PlaywrightError:  # a service worker's request has no frame
            return False
        load = self._loads.get(page)
        return load is not None and load.done

    async def _route(self, load: _Load, route: Route, request: PageRequest) -> None:
        if load.done:
            await self._block(route, "outreach/browser/blocked/idle_page")
            return
        kind = request.resource_type
        if kind in self.blocked:
            await self._block(route, f"outreach/browser/blocked/{kind}")
            return
        same_site = origin(request.url) == load.origin
        document = is_main_navigation(request)
        if not same_site and not document:
            await self._block(route, "outreach/browser/blocked/other_host")
            return
        pending: asyncio.Future[Kept | None] | None = None
        if same_site and request.method == "GET" and kind in KEPT_RESOURCES:
            if await self._answer_from_memory(route, request.url):
                return
            # Until it is kept, pages that want it wait for this fetch instead of fetching it again.
            pending = self._kept[request.url] = asyncio.get_running_loop().create_future()
        host = load.host if same_site else urlsplit(request.url).netloc  # a redirect to another host's page
        try:
            ticket = await self._leave(host, document and request.redirected_from is None)
        except IgnoreRequest:
            if pending is not None:
                self._forget(request.url, pending)
            # Not route.abort()'s "failed": scrapy-playwright then waits for a download.
            await route.abort("blockedbyclient")
            return
        if pending is not None:
            await self._fetch_and_keep(route, request, load, ticket, pending)
        else:
            load.flying[request] = ticket
            await route.fallback()  # scrapy-playwright's handler sends it

    async def _block(self, route: Route, counter: str) -> None:
        self.stats.inc_value(counter)
        await route.abort()

    async def _answer_from_memory(self, route: Route, url: str) -> bool:
        while (pending := self._kept.get(url)) is not None:
            kept = await asyncio.shield(pending)  # another page may be fetching it right now
            if kept is not None:
                self.stats.inc_value("outreach/browser/static_reused")
                await route.fulfill(status=kept.status, headers=kept.headers, body=kept.body)
                return True
        return False

    async def _fetch_and_keep(
        self, route: Route, request: PageRequest, load: _Load, ticket: Ticket, pending: asyncio.Future[Kept | None]
    ) -> None:
        """Fetch a script or stylesheet for the page, and keep it for later pages and those waiting now."""
        kept: Kept | None = None
        try:
            response = await self._fetch(route, request, load, ticket)
            if response is None:
                await route.abort()
                return
            body = await response.body()
            self.stats.inc_value("outreach/browser/static_fetched")
            answer = {k: v for k, v in response.headers.items() if k.lower() not in _NOT_REPLAYED}
            storable = "no-store" not in response.headers.get("cache-control", "").lower()
            if response.status == 200 and storable and self._kept_bytes + len(body) <= MAX_KEPT_BYTES:
                kept = Kept(response.status, answer, body)
                self._kept_bytes += len(body)
            await route.fulfill(status=response.status, headers=answer, body=body)
        except IgnoreRequest:
            await route.abort("blockedbyclient")
        except PlaywrightError as exc:
            logger.info("could not fetch %s for a page: %s", request.url, exc.message)
            await route.abort("failed")
        finally:
            if kept is None:
                self._forget(request.url, pending)
            else:
                pending.set_result(kept)

    async def _fetch(self, route: Route, request: PageRequest, load: _Load, ticket: Ticket) -> APIResponse | None:
        """The answer, redirects within the site followed each in its turn (Playwright's own following would send
        them at once); None when it redirects to another host, which is not asked."""
        headers = dict(request.headers)
        if load.user_agent:
            headers["user-agent"] = load.user_agent
        load.counted.add(request)  # the page sees one answer, the last: each is counted here
        url = request.url
        for _ in range(MAX_REDIRECTS):
            try:
                response = await route.fetch(url=url, headers=headers, max_redirects=0)
                self._count(load, request, response.status, response.headers.get("retry-after"))
            finally:
                ticket.answered()
            location = response.headers.get("location")
            if not 300 <= response.status < 400 or not location:
                return response
            url = urljoin(url, location)
            if origin(url) != load.origin:
                self.stats.inc_value("outreach/browser/blocked/other_host")
                return None
            ticket = await self._leave(load.host, False)
        return None

    def _forget(self, url: str, pending: asyncio.Future[Kept | None]) -> None:
        """Not kept: pages waiting for it fetch it themselves, and so does the next page."""
        if self._kept.get(url) is pending:
            del self._kept[url]
        pending.set_result(None)

    def _redirected(self, load: _Load, request: PageRequest) -> None:
        """Playwright does not route the requests a redirect makes (its documented behaviour): they leave without
        waiting. They are recorded as they go, so that the next request keeps its distance from their answers."""
        if request.redirected_from is None:
            return
        same_site = origin(request.url) == load.origin
        if same_site or is_main_navigation(request):
            self.stats.inc_value("outreach/browser/redirects_followed")
            load.flying[request] = self._left(load.host if same_site else urlsplit(request.url).netloc)

    def _response(self, load: _Load, response: PageResponse) -> None:
        request = response.request
        if request in load.counted:
            load.counted.discard(request)
        else:
            self._count(load, request, response.status, response.headers.get("retry-after"))
        load.answered(request)

    def _count(self, load: _Load, request: PageRequest, status: int, retry_after: str | None) -> None:
        """Counted before the ticket goes back: a 429's pause then holds for whatever waits for its turn."""
        if is_main_navigation(request):
            host = urlsplit(request.url).netloc if origin(request.url) != load.origin else load.host
            self._answered(host, status=status, retry_after=retry_after, request=load.request)
        elif (status == 429 or status >= 500) and origin(request.url) == load.origin:
            self._answered(load.host, status=status, retry_after=retry_after)
