"""Writing what the crawl found: adverts, persons and the links between them, one advert per transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.crypto import PhoneVault
from outreach.store.models import Advert, AdvertPerson, Person, Site
from outreach.store.upsert import insert_ignore, insert_ignore_many


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
    numbers_left_out: str | None = None  # "landline" or "other_country": numbers the crawl did not keep


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
    return save_adverts(session, vault, [found], run_id, now, site)[0]


def _person_ids(session: Session, vault: PhoneVault, phones: dict[str, FoundPhone], now: datetime) -> dict[str, int]:
    """E.164 -> person id for every phone, creating persons that are new: three statements for the whole batch."""
    if not phones:
        return {}
    keys = {e164: vault.key(e164) for e164 in phones}
    rows = [
        {
            "key": keys[e164],
            "phone_encrypted": vault.encrypt(e164),
            "country": phone.country,
            "is_mobile": phone.is_mobile,
            "first_seen": now,
            "last_seen": now,
        }
        for e164, phone in phones.items()
    ]
    insert_ignore_many(session, Person, rows, ["key"])
    session.execute(update(Person).where(Person.key.in_(keys.values())).values(last_seen=now))
    by_key: dict[str, int] = {
        key: id_ for key, id_ in session.execute(select(Person.key, Person.id).where(Person.key.in_(keys.values())))
    }
    return {e164: by_key[key] for e164, key in keys.items()}


def save_adverts(
    session: Session, vault: PhoneVault, batch: list[FoundAdvert], run_id: int | None, now: datetime, site: int
) -> list[SaveResult]:
    """Write a batch of one site's adverts with a handful of statements (not a handful per advert)."""
    ids = {found.site_ad_id for found in batch}
    existing = {
        advert.site_ad_id: advert
        for advert in session.execute(
            select(Advert).where(Advert.site_id == site, Advert.site_ad_id.in_(ids))
        ).scalars()
    }
    states: list[tuple[Advert, bool, bool]] = []
    for found in batch:
        advert = existing.get(found.site_ad_id)
        is_new = advert is None
        if advert is None:
            advert = Advert(site_id=site, site_ad_id=found.site_ad_id, first_seen=now, content_hash="")
            session.add(advert)
            existing[found.site_ad_id] = advert
        changed = False
        if advert.content_hash != found.content_hash:
            changed = not is_new
            advert.url_encrypted = vault.encrypt(found.url)
            advert.url_key = vault.url_key(found.url)
            advert.title = found.title
            advert.text = found.text
            advert.city = found.city
            advert.category = found.category
            advert.has_whatsapp = found.has_whatsapp
            advert.phone_count = len(found.phones)
            advert.content_hash = found.content_hash
            advert.numbers_left_out = found.numbers_left_out
            advert.language = None  # detected again from the new text
        if found.listing_hash is not None:
            advert.listing_hash = found.listing_hash
        advert.detail_fetched_at = now
        advert.gone_at = None
        advert.last_seen = now
        advert.last_run_id = run_id
        states.append((advert, is_new, changed))
    session.flush()
    phones = {phone.e164: phone for found in batch for phone in found.phones}
    persons = _person_ids(session, vault, phones, now)
    links = [
        {"advert_id": advert.id, "person_id": persons[phone.e164]}
        for (advert, _, _), found in zip(states, batch, strict=True)
        for phone in found.phones
    ]
    if links:
        insert_ignore_many(session, AdvertPerson, links, ["advert_id", "person_id"])
    return [SaveResult(advert.id, is_new, changed) for advert, is_new, changed in states]


@dataclass(frozen=True)
class KnownAdvert:
    """What an incremental crawl needs to know about an advert it may see on a listing page again."""

    listing_hash: str | None
    detail_fetched_at: datetime | None


@dataclass(frozen=True)
class KnownAdverts:
    """Every advert of a site ever stored (gone ones too: they may be listed again), found by its address.

    The addresses are stored encrypted; they are looked up by their keyed hash, so the crawl decrypts none."""

    by_key: dict[str, KnownAdvert] = field(default_factory=dict)
    key: Callable[[str], str] = str

    def get(self, url: str) -> KnownAdvert | None:
        return self.by_key.get(self.key(url))


def known_adverts(session: Session, vault: PhoneVault, site_name: str) -> KnownAdverts:
    rows = session.execute(
        select(Advert.url_key, Advert.listing_hash, Advert.detail_fetched_at)
        .join(Site, Site.id == Advert.site_id)
        .where(Site.name == site_name)
    )
    return KnownAdverts({key: KnownAdvert(listing_hash, fetched) for key, listing_hash, fetched in rows}, vault.url_key)


def full_walk_due(session: Session, site_name: str, now: datetime, every_hours: float) -> bool:
    last = session.execute(select(Site.last_full_walk_at).where(Site.name == site_name)).scalar_one_or_none()
    return last is None or now - last >= timedelta(hours=every_hours)


def mark_listed(
    session: Session, vault: PhoneVault, site: int, urls: list[str], run_id: int | None, now: datetime
) -> None:
    """Known adverts seen on a listing page: still there (and no longer gone, if they were)."""
    if urls:
        session.execute(
            update(Advert)
            .where(Advert.site_id == site, Advert.url_key.in_([vault.url_key(url) for url in urls]))
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
