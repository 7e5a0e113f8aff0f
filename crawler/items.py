"""What the spider yields: raw fields of one advert detail page, before extraction."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RawAdvert:
    site: str
    site_ad_id: str
    url: str
    title: str
    text: str
    city: str | None
    category: str | None
    phone_links: list[str] = field(default_factory=list)
    whatsapp_links: list[str] = field(default_factory=list)
    listing_hash: str | None = None  # the listing entry that led here, to compare on the next crawl
    revealed: str = ""  # what a "show number" button loaded: searched for numbers, never stored
    whatsapp_marked: bool = False  # the site file's `whatsapp` selector or words matched


@dataclass(frozen=True)
class ListedAdvert:
    """A known advert seen unchanged on a listing page: it is still listed, its detail page was not fetched."""

    site: str
    url: str
