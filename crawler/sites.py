"""Site definitions: one YAML file per ad site in the sites folder, validated on load."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal, get_args

import jmespath
import jmespath.exceptions
import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from outreach.errors import ConfigError
from outreach.settings import describe_yaml_error

SOURCES = ("css", "json_path", "url", "value")


class Pick(BaseModel):
    """Where one value comes from. Exactly one source: `css` (Scrapy's CSS with ::text or ::attr(name)), `json` (a
    JMESPath expression into the page's JSON: the answer itself when it is JSON, else the page's JSON script block),
    `url` (a regular expression on the page's URL) or `value` (a fixed text; `{ad_id}` is replaced). `regex` then
    keeps part of what was found: its first group, or the whole match when it has none. A plain string instead of
    a mapping means `css`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    css: str | None = Field(None, description="CSS selector, e.g. `h1.title::text` or `div.ad::attr(data-id)`.")
    # `json` in the file; BaseModel has a method of that name.
    json_path: str | None = Field(
        None, alias="json", description="JMESPath into the page's JSON, e.g. `advert.id` or `items[*].url`."
    )
    url: str | None = Field(None, description="Regular expression on the page's URL, e.g. `/advert/(\\d+)`.")
    value: str | None = Field(None, description="A fixed text (`{ad_id}` is replaced by the advert's id).")
    regex: str | None = Field(None, description="Keep part of what was found, e.g. `ad-(\\d+)` keeps the digits.")

    @model_validator(mode="before")
    @classmethod
    def _plain_css(cls, data: Any) -> Any:
        return {"css": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> Pick:
        sources = [name for name in SOURCES if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of css, json, url or value")
        if self.json_path is not None:
            try:
                jmespath.compile(self.json_path)
            except jmespath.exceptions.JMESPathError as exc:
                raise ValueError(f"json: not a JMESPath expression: {exc}") from exc
        for name in ("url", "regex"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{name}: not a regular expression: {exc}") from exc
        return self

    def describe(self) -> str:
        source = next(
            f"{name}: {getattr(self, name)}" for name in ("css", "json", "url", "value") if getattr(self, name)
        )
        return source + (f", regex: {self.regex}" if self.regex else "")


class PageParameter(BaseModel):
    """Pagination by a number in the URL (`?page=2`, a "load more" button's `offset=40`): the next listing page is
    this page's URL with the parameter advanced by `step`, until a page shows no new adverts."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="The query parameter, e.g. `page` or `offset`.", examples=["offset"])
    start: int = Field(1, ge=0, description="Its value on the first listing page (when the start URL lacks it).")
    step: int = Field(1, ge=1, description="How much it grows per page (`20` for an offset of 20 adverts).")


class ListingSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advert_card: str | None = Field(
        None,
        description="CSS selector of the element that holds one advert on a listing page; its text is compared "
        "between crawls to see whether the advert changed. advert_link is then looked up inside it.",
    )
    advert_link: Pick | None = Field(
        None,
        description="The link from a listing entry to its detail page: CSS (`a.title::attr(href)`; a plain `a.title` "
        "takes the href), or with `json_entries` a JMESPath into each entry (`{json: url}`).",
    )
    link_format: str | None = Field(
        None,
        description="Builds the detail URL from what advert_link found, e.g. `/advert/{}` for a JSON entry that "
        "holds only the id.",
    )
    json_entries: str | None = Field(
        None,
        description='Listings whose adverts sit in JSON (a JSON answer, or a `<script type="application/json">` '
        "block as JavaScript frameworks render it): JMESPath to the list of entries, e.g. `props.adverts`.",
    )
    json_script: str = Field(
        "script[type='application/json']::text",
        description="Where the page's JSON sits when the page is HTML (the first match is read).",
    )
    next_page: str | None = Field(None, description="CSS selector of the link to the next listing page.")
    page_parameter: PageParameter | None = Field(
        None, description="Pagination by a number in the URL instead of a next link."
    )

    @model_validator(mode="after")
    def _entries(self) -> ListingSelectors:
        if self.advert_link is None and self.json_entries is None:
            raise ValueError("give advert_link (CSS), or json_entries with advert_link: {json: ...}")
        if self.json_entries is not None and (self.advert_link is None or self.advert_link.json_path is None):
            raise ValueError("json_entries needs advert_link: {json: PATH}, the detail link within one entry")
        if self.next_page and self.page_parameter:
            raise ValueError("give next_page or page_parameter, not both")
        return self


class NumberReveal(BaseModel):
    """A "show number" button: the number is loaded by a request (GET or POST, the answer HTML, JSON or plain
    text), or on browser sites shown by a click."""

    model_config = ConfigDict(extra="forbid")
    request_url: Pick | None = Field(
        None,
        description="Where the button's URL is on the detail page, e.g. `button.show::attr(data-url)`; or a "
        "`{value: /api/adverts/{ad_id}/number}` built from the id. The crawl follows it.",
    )
    method: Literal["GET", "POST"] = Field("GET", description="How the button asks for the number.")
    form: dict[str, Pick] = Field(
        default_factory=dict,
        description="Fields sent with the request (POST body, GET query), each a Pick on the detail page: a CSRF "
        'token from a meta tag is `{css: "meta[name=csrf-token]::attr(content)"}`, a fixed value `{value: x}`.',
    )
    headers: dict[str, Pick] = Field(
        default_factory=dict, description="Request headers, each a Pick on the detail page (e.g. `X-CSRF-Token`)."
    )
    number: Pick | None = Field(
        None,
        description='Where the number is in the answer: `{json: nummer}` for `{"nummer": "..."}`, a CSS '
        "selector for HTML; unset: the whole answer (its text, tel: and WhatsApp links). On browser sites with "
        "`click`: where the number shows on the page after the click.",
    )
    click: str | None = Field(None, description="Browser sites: CSS selector of the button to click.")
    wait_for: str | None = Field(None, description="Browser sites: CSS selector that appears once it is shown.")

    @model_validator(mode="after")
    def _one_way(self) -> NumberReveal:
        if (self.request_url is None) == (self.click is None):
            raise ValueError("give either request_url or click")
        if self.click is not None and (self.form or self.headers or self.method != "GET"):
            raise ValueError("form, headers and method go with request_url, not click")
        return self


class DetailSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ad_id: Pick = Field(
        description="The site's own advert id: CSS (`div.ad::attr(data-id)`), JSON, or the URL (`{url: /ad/(\\d+)}`); "
        '`regex` keeps part of it (`{css: "div.ad::attr(id)", regex: "ad-(\\\\d+)"}`).',
        examples=["div.ad::attr(data-ad-id)"],
    )
    title: Pick = Field(description="The advert's title.", examples=["h1.ad-title::text"])
    text: Pick = Field(description="The advert's text (all matches joined).", examples=["div.ad-text ::text"])
    city: Pick | None = Field(None, description="Its city or region; normalised to a municipality.")
    category: Pick | None = Field(None, description="Its category words (women, men, trans, couples in any wording).")
    phone_links: str = Field("a[href^='tel:']::attr(href)", description="Links that carry a phone number.")
    whatsapp_links: str = Field(
        "a[href*='wa.me']::attr(href), a[href*='whatsapp.com']::attr(href)",
        description="Links to WhatsApp: their number is kept and flagged as reachable by WhatsApp.",
    )
    whatsapp: Pick | None = Field(
        None,
        description="Anything that says the advertiser uses WhatsApp when there is no wa.me link, e.g. an icon "
        "`i.icon-whatsapp` or a label: when it matches, the advert's numbers are flagged.",
    )
    whatsapp_words: list[str] = Field(
        default_factory=list,
        description='Words in the title or text that say the same, e.g. `[whatsapp, "app me"]` (whole words, any '
        "case).",
    )
    json_script: str = Field(
        "script[type='application/json']::text",
        description="Where the detail page's JSON sits when it is HTML, for fields given as `{json: ...}`.",
    )
    reveal_number: NumberReveal | None = Field(None, description="When the number hides behind a button.")


class Gate(BaseModel):
    """An age or consent gate in front of the site: accepted by cookies, a form (POST or GET; a plain link is a GET
    form without fields), or on browser sites a click."""

    model_config = ConfigDict(extra="forbid")
    cookies: dict[str, str] | None = Field(
        None,
        description='Cookies that say the gate was accepted, as name: value (e.g. `{age_ok: "1"}`); sent with every '
        "request, and set on the browser's context for browser sites.",
    )
    form_url: str | None = Field(
        None, description="Where the gate's form or link goes: a path (`/gate`) or a full URL on the site."
    )
    method: Literal["POST", "GET"] = Field("POST", description="The form's method; a link is GET.")
    form_data: dict[str, str] = Field(default_factory=dict, description="Fields of the gate's form.")
    click: str | None = Field(None, description="Browser sites: CSS selector of the button that accepts the gate.")

    @model_validator(mode="after")
    def _one_way(self) -> Gate:
        ways = [self.cookies is not None, self.form_url is not None, self.click is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of cookies, form_url or click")
        return self


# Playwright's resource types that a site file may block (`browser.block`); the page's document, scripts and data
# requests are never blockable: the adverts come through them.
ResourceType = Literal["image", "media", "font", "stylesheet", "texttrack", "manifest"]


class Browser(BaseModel):
    """For sites that render adverts with JavaScript (needs_browser: true)."""

    model_config = ConfigDict(extra="forbid")
    listing_ready: str = Field(
        description="CSS selector present once a listing page has rendered.", examples=["article.card"]
    )
    detail_ready: str = Field(
        description="CSS selector present once a detail page has rendered.", examples=["div.ad h1"]
    )
    requests_per_page: int = Field(
        2,
        ge=1,
        le=20,
        description="Deprecated, ignored: every request a page load makes is now paced as it is sent. Still "
        "accepted so that existing site files load.",
    )
    block: list[ResourceType] = Field(
        ["image", "media", "font"],
        description="What a page may not fetch, by the browser's resource type: never requested from the site. "
        "Images, media and fonts carry no advert data we store and are most of a page's weight; add `stylesheet` "
        "only when no button the crawl clicks depends on the site's styles to show (bench/crawl_js.py measures it).",
        examples=[["image", "media", "font", "stylesheet"]],
    )
    reuse_pages: bool = Field(
        True,
        description="Keep each browser page open and navigate it to the next URL instead of opening a new page per "
        "request: a new page costs chromium a new renderer process. Off only to compare.",
    )


class RateLimit(BaseModel):
    """How hard the site is crawled: the promise the organisation can make to a site's owner."""

    model_config = ConfigDict(extra="forbid")
    requests_per_second: float = Field(
        1.0, gt=0, le=1000, description="Never more requests than this in any one-second window."
    )
    delay_seconds: float = Field(
        1.0, ge=0, description="Minimum time between two requests (robots.txt Crawl-delay wins when larger)."
    )
    concurrency: int = Field(1, ge=1, le=16, description="Requests in flight at once.")


class Backoff(BaseModel):
    """What to do when the site says it is overloaded (429, 5xx) or does not answer."""

    model_config = ConfigDict(extra="forbid")
    base_seconds: float = Field(2.0, gt=0, description="First wait after a failure without Retry-After.")
    cap_seconds: float = Field(120.0, gt=0, description="Longest wait between two failures.")
    max_retry_after_seconds: float = Field(
        600.0, gt=0, description="A Retry-After longer than this abandons the site for the run."
    )
    max_consecutive_failures: int = Field(
        6, ge=1, description="After this many failures in a row the site is abandoned for the run."
    )
    max_retries_per_request: int = Field(3, ge=0, description="Retries of one request after 429/503.")


class Incremental(BaseModel):
    """Recrawls fetch what changed: listing pages until one shows only known, unchanged adverts; detail pages only
    for new or changed listing entries, or after `refresh_days`."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="Recrawl incrementally; false: every crawl fetches every detail page.")
    refresh_days: float = Field(7.0, ge=0, description="Fetch an unchanged advert's detail page again after this.")
    full_walk_hours: float = Field(
        24.0,
        ge=0,
        description="Walk the whole listing at most this often; only such a walk marks unlisted adverts gone.",
    )


class RunLimits(BaseModel):
    """Hard limits on one crawl of the site."""

    model_config = ConfigDict(extra="forbid")
    max_pages: int = Field(1000, ge=1, description="Stop after this many responses (listing and detail).")
    max_listing_pages: int = Field(200, ge=1, description="Stop following 'next' after this many listing pages.")
    max_duration_seconds: int = Field(1800, ge=1, description="Stop the site's crawl after this long.")
    download_timeout_seconds: float = Field(30.0, gt=0, description="Give up on one response after this long.")
    max_response_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Responses larger than this are dropped (and counted)."
    )


class SiteDefinition(BaseModel):
    """One ad site: where its listing starts, how to read a listing and a detail page, and how politely to ask."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$",
        description="The site's short name (lower case, digits, - and _): stored with every advert, used by --site.",
        examples=["kinky"],
    )
    enabled: bool = Field(True, description="Crawled by cycles; false keeps the file without crawling the site.")
    base_url: HttpUrl = Field(
        description="The site's address; paths below are relative to it.", examples=["https://ads.example.org"]
    )
    start_paths: list[str] = Field(
        min_length=1, description="The listing page(s) the crawl starts from.", examples=[["/advertenties?page=1"]]
    )
    needs_browser: bool = Field(
        False,
        description="Render pages in Debian's chromium (scrapy-playwright): only when the adverts are not in the HTML "
        "or its JSON (try `listing.json_entries` first: it is many times faster and lighter on the site).",
    )
    browser: Browser | None = Field(None, description="With needs_browser: what to wait for on each page.")
    gate: Gate | None = Field(None, description="An age or consent gate in front of the site.")
    obey_robots_txt: bool = Field(True, description="Follow robots.txt, its Disallow lines and its Crawl-delay.")
    listing: ListingSelectors = Field(description="How to read a listing page.", examples=[{"advert_link": "a.ad"}])
    detail: DetailSelectors = Field(
        description="How to read an advert's detail page.",
        examples=[{"ad_id": "div.ad::attr(data-id)", "title": "h1::text", "text": "div.text ::text"}],
    )
    rate_limit: RateLimit = Field(RateLimit(), description="How hard the site is crawled.")
    backoff: Backoff = Field(Backoff(), description="What to do when the site is overloaded or does not answer.")
    incremental: Incremental = Field(Incremental(), description="Recrawls fetch what changed.")
    limits: RunLimits = Field(RunLimits(), description="Hard limits on one crawl of the site.")

    @model_validator(mode="after")
    def _browser_when_needed(self) -> SiteDefinition:
        if self.needs_browser and self.browser is None:
            raise ValueError("needs_browser: true needs a browser section (listing_ready, detail_ready)")
        clicks = (self.gate and self.gate.click) or (self.detail.reveal_number and self.detail.reveal_number.click)
        if clicks and not self.needs_browser:
            raise ValueError("a click (gate or reveal_number) needs needs_browser: true")
        return self

    def absolute(self, path: str) -> str:
        return str(self.base_url).rstrip("/") + "/" + path.lstrip("/")

    def start_urls(self) -> list[str]:
        return [self.absolute(path) for path in self.start_paths]


def load_site(path: Path) -> SiteDefinition:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"site file {path}: unreadable: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"site file {path}: not valid YAML: {describe_yaml_error(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"site file {path}: expected a mapping of settings")
    try:
        return SiteDefinition.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"site file {path}: {describe_site_error(exc)}") from exc


def describe_site_error(exc: ValidationError) -> str:
    """One line for the first mistake; an unknown key first (a misspelt `listings:` also makes `listing` missing),
    named with the closest known key."""
    errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")
    first = errors[0]
    loc = [part for part in first["loc"] if not str(part).startswith(("function-", "json-or-python"))]
    where = ".".join(str(part) for part in loc) or "site"
    if first["type"] == "extra_forbidden" and loc:
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
        hint = f"; did you mean `{close[0]}`?" if close else f"; known keys here: {', '.join(known)}"
        return f"{where}: unknown key{hint}"
    return f"{where}: {first['msg']}"


def _known_keys(path: list[int | str]) -> list[str]:
    """The field names of the model at `path` inside a site definition."""
    model: Any = SiteDefinition
    for part in path:
        fields = getattr(model, "model_fields", None)
        if fields is None or str(part) not in fields:
            return []
        annotation = fields[str(part)].annotation
        model = next((arg for arg in get_args(annotation) if hasattr(arg, "model_fields")), annotation)
        if hasattr(model, "__origin__") and get_args(model):  # dict[str, Pick]: one level further is the Pick
            model = get_args(model)[-1]
    fields = getattr(model, "model_fields", None)
    return sorted(fields) if fields else []


def load_sites(folder: Path, *, enabled_only: bool = True) -> list[SiteDefinition]:
    if not folder.is_dir():
        raise ConfigError(f"sites_dir: {folder} is not a folder")
    sites = [load_site(path) for path in sorted(folder.glob("*.yaml"))]
    names = [site.name for site in sites]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ConfigError(f"sites_dir: site name used twice: {', '.join(sorted(duplicates))}")
    return [site for site in sites if site.enabled or not enabled_only]
