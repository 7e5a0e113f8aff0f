"""Writing what the crawl found: adverts, persons and the links between them, one advert per transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.crypto import PhoneVault
from outreach.store.models import Advert, AdvertPerson, Person, Site
from outreach.store.upsert import insert_ignore


@dataclass(frozen=True)
class FoundPhone:
    e164: str
    country: str
    is_mobile: bool


@dataclass
class FoundAdvert:
    """One advert as extracted; `text` and `title` already have numbers removed."""

    site: str
    site_ad_id: str
    url: str
    title: str
    text: str
    city: str | None
    category: str | None
    has_whatsapp: bool
    content_hash: str
    phones: list[FoundPhone] = field(default_factory=list)
    listing_hash: str | None = None


@dataclass(frozen=True)
class SaveResult:
    advert_id: int
    is_new: bool
    changed: bool


def site_id(session: Session, name: str) -> int:
    insert_ignore(session, Site, {"name": name}, ["name"])
    return session.execute(select(Site.id).where(Site.name == name)).scalar_one()


def person_id(session: Session, vault: PhoneVault, phone: FoundPhone, now: datetime) -> int:
    key = vault.key(phone.e164)
    insert_ignore(
        session,
        Person,
        {
            "key": key,
            "phone_encrypted": vault.encrypt(phone.e164),
            "country": phone.country,
            "is_mobile": phone.is_mobile,
            "first_seen": now,
            "last_seen": now,
        },
        ["key"],
    )
    session.execute(update(Person).where(Person.key == key).values(last_seen=now))
    return session.execute(select(Person.id).where(Person.key == key)).scalar_one()


def save_advert(
    session: Session, vault: PhoneVault, found: FoundAdvert, run_id: int | None, now: datetime, site: int
) -> SaveResult:
    advert = session.execute(
        select(Advert).where(Advert.site_id == site, Advert.site_ad_id == found.site_ad_id)
    ).scalar_one_or_none()
    is_new = advert is None
    changed = False
    if advert is None:
        advert = Advert(site_id=site, site_ad_id=found.site_ad_id, first_seen=now, content_hash="")
        session.add(advert)
    if advert.content_hash != found.content_hash:
        changed = not is_new
        advert.url = found.url
        advert.title = found.title
        advert.text = found.text
        advert.city = found.city
        advert.category = found.category
        advert.has_whatsapp = found.has_whatsapp
        advert.phone_count = len(found.phones)
        advert.content_hash = found.content_hash
        advert.language = None  # detected again from the new text
    if found.listing_hash is not None:
        advert.listing_hash = found.listing_hash
    advert.detail_fetched_at = now
    advert.gone_at = None
    advert.last_seen = now
    advert.last_run_id = run_id
    session.flush()
    for phone in found.phones:
        insert_ignore(
            session,
            AdvertPerson,
            {"advert_id": advert.id, "person_id": person_id(session, vault, phone, now)},
            ["advert_id", "person_id"],
        )
    return SaveResult(advert.id, is_new, changed)


@dataclass(frozen=True)
class KnownAdvert:
    """What an incremental crawl needs to know about an advert it may see on a listing page again."""

    listing_hash: str | None
    detail_fetched_at: datetime | None


def known_adverts(session: Session, site_name: str) -> dict[str, KnownAdvert]:
    """Every advert of the site ever stored, by URL (gone ones too: they may be listed again)."""
    rows = session.execute(
        select(Advert.url, Advert.listing_hash, Advert.detail_fetched_at)
        .join(Site, Site.id == Advert.site_id)
        .where(Site.name == site_name)
    )
    return {url: KnownAdvert(listing_hash, fetched) for url, listing_hash, fetched in rows}


def full_walk_due(session: Session, site_name: str, now: datetime, every_hours: float) -> bool:
    last = session.execute(select(Site.last_full_walk_at).where(Site.name == site_name)).scalar_one_or_none()
    return last is None or now - last >= timedelta(hours=every_hours)


def mark_listed(session: Session, site: int, urls: list[str], run_id: int | None, now: datetime) -> None:
    """Known adverts seen on a listing page: still there (and no longer gone, if they were)."""
    if urls:
        session.execute(
            update(Advert)
            .where(Advert.site_id == site, Advert.url.in_(urls))
            .values(last_seen=now, last_run_id=run_id, gone_at=None)
        )


def mark_gone(session: Session, site: int, walk_started: datetime, now: datetime) -> int:
    """After a complete listing walk: adverts it did not see are gone. Kept, with their last_seen."""
    gone = session.execute(
        update(Advert)
        .where(Advert.site_id == site, Advert.gone_at.is_(None), Advert.last_seen < walk_started)
        .values(gone_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(update(Site).where(Site.id == site).values(last_full_walk_at=now))
    return int(getattr(gone, "rowcount", 0) or 0)
