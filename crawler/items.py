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
