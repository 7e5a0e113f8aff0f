"""Site definitions: one YAML file per ad site in the sites folder, validated on load."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from outreach.errors import ConfigError
from outreach.settings import describe_yaml_error


class ListingSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advert_card: str | None = Field(
        None,
        description="CSS selector of the element that holds one advert on a listing page; its text is compared "
        "between crawls to see whether the advert changed. advert_link is then looked up inside it.",
    )
    advert_link: str = Field(description="CSS selector of the links from a listing page to detail pages.")
    next_page: str | None = Field(None, description="CSS selector of the link to the next listing page.")


class NumberReveal(BaseModel):
    """A "show number" button: the number is loaded by a request, or (browser sites) shown by a click."""

    model_config = ConfigDict(extra="forbid")
    request_url: str | None = Field(
        None, description="CSS selector (with ::attr()) of the URL the button loads; the crawl follows it."
    )
    click: str | None = Field(None, description="Browser sites: CSS selector of the button to click.")
    wait_for: str | None = Field(None, description="Browser sites: CSS selector that appears once it is shown.")

    @model_validator(mode="after")
    def _one_way(self) -> NumberReveal:
        if (self.request_url is None) == (self.click is None):
            raise ValueError("give either request_url or click")
        return self


class DetailSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ad_id: str = Field(description="CSS selector (with ::text or ::attr()) of the site's own advert id.")
    title: str
    text: str
    city: str | None = None
    category: str | None = None
    phone_links: str = Field("a[href^='tel:']::attr(href)", description="Links that carry a phone number.")
    whatsapp_links: str = Field(
        "a[href*='wa.me']::attr(href), a[href*='whatsapp.com']::attr(href)",
        description="Links to WhatsApp.",
    )
    reveal_number: NumberReveal | None = Field(None, description="When the number hides behind a button.")


class Gate(BaseModel):
    """An age or consent gate in front of the site: accepted by a cookie, a form post, or (browser) a click."""

    model_config = ConfigDict(extra="forbid")
    cookies: dict[str, str] | None = Field(None, description="Cookies that say the gate was accepted.")
    form_url: str | None = Field(None, description="Path the gate's form posts to.")
    form_data: dict[str, str] = Field(default_factory=dict, description="Fields of the gate's form.")
    click: str | None = Field(None, description="Browser sites: CSS selector of the button that accepts the gate.")

    @model_validator(mode="after")
    def _one_way(self) -> Gate:
        ways = [self.cookies is not None, self.form_url is not None, self.click is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of cookies, form_url or click")
        return self


class Browser(BaseModel):
    """For sites that render adverts with JavaScript (needs_browser: true)."""

    model_config = ConfigDict(extra="forbid")
    listing_ready: str = Field(description="CSS selector present once a listing page has rendered.")
    detail_ready: str = Field(description="CSS selector present once a detail page has rendered.")
    requests_per_page: int = Field(
        2,
        ge=1,
        le=20,
        description="Deprecated, ignored: every request a page load makes is now paced as it is sent. Still "
        "accepted so that existing site files load.",
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
    enabled: bool = True
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
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    enabled: bool = True
    base_url: HttpUrl
    start_paths: list[str] = Field(min_length=1)
    needs_browser: bool = False
    browser: Browser | None = None
    gate: Gate | None = None
    obey_robots_txt: bool = True
    listing: ListingSelectors
    detail: DetailSelectors
    rate_limit: RateLimit = RateLimit()
    backoff: Backoff = Backoff()
    incremental: Incremental = Incremental()
    limits: RunLimits = RunLimits()

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
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "site"
        raise ConfigError(f"site file {path}: {where}: {first['msg']}") from exc


def load_sites(folder: Path, *, enabled_only: bool = True) -> list[SiteDefinition]:
    if not folder.is_dir():
        raise ConfigError(f"sites_dir: {folder} is not a folder")
    sites = [load_site(path) for path in sorted(folder.glob("*.yaml"))]
    names = [site.name for site in sites]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ConfigError(f"sites_dir: site name used twice: {', '.join(sorted(duplicates))}")
    return [site for site in sites if site.enabled or not enabled_only]
