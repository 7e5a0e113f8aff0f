"""The contact log: messages with their advert, site and person, filtered; numbers masked unless revealed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from outreach.access.masking import mask
from outreach.crypto import PhoneVault
from outreach.errors import UsageError
from outreach.store.models import Advert, Message, Person, Site
from outreach.store.types import utcnow

COLUMNS = ("id", "created", "direction", "number", "site", "advert", "city", "lang", "status", "code", "by")
FOREIGN = ("site", "advert", "city", "by")  # text that came from ad sites (or people), not from us


@dataclass(frozen=True)
class LogFilter:
    since: datetime | None = None
    site: str | None = None
    language: str | None = None
    status: str | None = None
    region: str | None = None
    limit: int | None = 50  # None: every message in the period (export)
    # The dashboard's extra filters and paging.
    until: datetime | None = None
    advert: str | None = None  # our advert id or the site's ad id
    person_id: int | None = None
    offset: int = 0
    organisations: list[str] | None = None  # several organisations: only these (None: all)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """`7d`, `12h` or a date `2026-11-01` (UTC midnight)."""
    if not text:
        return None
    now = now or utcnow()
    relative = re.fullmatch(r"(\d+)([dh])", text.strip())
    if relative:
        amount, unit = int(relative[1]), relative[2]
        return now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(f"--since: expected 7d, 12h or YYYY-MM-DD, got {text!r}") from exc
    return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)


def query(wanted: LogFilter) -> Select:  # type: ignore[type-arg,unused-ignore]  # parameters differ in 2.0 and 2.1
    """Messages with their person's encrypted number, site, advert and city, newest first, filtered."""
    statement = (
        select(Message, Person.phone_encrypted, Site.name, Advert.site_ad_id, Advert.city)
        .outerjoin(Person, Person.id == Message.person_id)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .order_by(Message.id.desc())
        .limit(wanted.limit)
        .offset(wanted.offset)
    )
    if wanted.since is not None:
        statement = statement.where(Message.created_at >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(Message.created_at < wanted.until)
    if wanted.site:
        statement = statement.where(Site.name == wanted.site)
    if wanted.language:
        statement = statement.where(Message.language == wanted.language)
    if wanted.status:
        statement = statement.where(Message.status == wanted.status)
    if wanted.region:
        statement = statement.where(Advert.city.ilike(wanted.region))
    if wanted.advert:
        by_site_id = Advert.site_ad_id == wanted.advert
        statement = statement.where(
            or_(Message.advert_id == int(wanted.advert), by_site_id)
            if wanted.advert.isascii() and wanted.advert.isdigit() and len(wanted.advert) < 10
            else by_site_id
        )
    if wanted.person_id is not None:
        statement = statement.where(Message.person_id == wanted.person_id)
    if wanted.organisations is not None:
        statement = statement.where(Message.organisation.in_(wanted.organisations))
    return statement


def rows(session: Session, vault: PhoneVault, wanted: LogFilter, *, reveal: bool) -> list[dict[str, Any]]:
    return list(iter_rows(session, vault, wanted, reveal=reveal))


def count(session: Session, wanted: LogFilter) -> int:
    matching = query(wanted).with_only_columns(func.count(Message.id)).order_by(None).limit(None).offset(None)
    return int(session.execute(matching).scalar_one())


def iter_rows(session: Session, vault: PhoneVault, wanted: LogFilter, *, reveal: bool) -> Iterator[dict[str, Any]]:
    """Newest first, read in batches so an export of a long period does not hold it all in memory."""
    for message, encrypted, site, ad_id, city in session.execute(query(wanted).execution_options(yield_per=1000)):
        number = vault.decrypt(encrypted) if encrypted else None
        yield {
            "id": message.id,
            "created": message.created_at.isoformat(timespec="seconds"),
            "direction": message.direction,
            "number": (number if reveal else mask(number)) if number else None,
            "person_id": message.person_id,
            "site": site,
            "advert": ad_id,
            "advert_id": message.advert_id,
            "city": city,
            "lang": language_cell(message.language, message.language_rule, message.language_detected),
            "status": message.status + (" (dry run)" if message.dry_run else ""),
            "code": message.error_code,
            "by": message.sent_by or message.fieldworker,
        }


def language_cell(template: str | None, rule: str | None, detected: str | None) -> str | None:
    """ "nl", or "en (mixed)" / "en (no_template: th)" when the fallback was used and why."""
    if template is None:
        return None
    if rule in (None, "detected"):
        return template
    return f"{template} ({rule}: {detected})" if detected else f"{template} ({rule})"
