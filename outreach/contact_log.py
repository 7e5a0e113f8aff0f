"""The contact log: messages with their advert, site and person, filtered; numbers masked unless revealed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.crypto import PhoneVault
from outreach.errors import UsageError
from outreach.masking import mask
from outreach.store.models import Advert, Message, Person, Site
from outreach.store.types import utcnow

COLUMNS = ("id", "created", "direction", "number", "site", "advert", "city", "lang", "status", "code", "by")


@dataclass(frozen=True)
class LogFilter:
    since: datetime | None = None
    site: str | None = None
    language: str | None = None
    status: str | None = None
    region: str | None = None
    limit: int = 50
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


def rows(session: Session, vault: PhoneVault, wanted: LogFilter, *, reveal: bool) -> list[dict[str, Any]]:
    query = (
        select(Message, Person.phone_encrypted, Site.name, Advert.site_ad_id, Advert.city)
        .outerjoin(Person, Person.id == Message.person_id)
        .outerjoin(Advert, Advert.id == Message.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .order_by(Message.id.desc())
        .limit(wanted.limit)
    )
    if wanted.since is not None:
        query = query.where(Message.created_at >= wanted.since)
    if wanted.site:
        query = query.where(Site.name == wanted.site)
    if wanted.language:
        query = query.where(Message.language == wanted.language)
    if wanted.status:
        query = query.where(Message.status == wanted.status)
    if wanted.region:
        query = query.where(Advert.city.ilike(wanted.region))
    if wanted.organisations is not None:
        query = query.where(Message.organisation.in_(wanted.organisations))
    result = []
    for message, encrypted, site, ad_id, city in session.execute(query).all():
        number = vault.decrypt(encrypted) if encrypted else None
        result.append(
            {
                "id": message.id,
                "created": message.created_at.isoformat(timespec="seconds"),
                "direction": message.direction,
                "number": (number if reveal else mask(number)) if number else None,
                "site": site,
                "advert": ad_id,
                "city": city,
                "lang": language_cell(message.language, message.language_rule, message.language_detected),
                "status": message.status + (" (dry run)" if message.dry_run else ""),
                "code": message.error_code,
                "by": message.sent_by or message.fieldworker,
            }
        )
    return result


def language_cell(template: str | None, rule: str | None, detected: str | None) -> str | None:
    """ "nl", or "en (mixed)" / "en (no_template: th)" when the fallback was used and why."""
    if template is None:
        return None
    if rule in (None, "detected"):
        return template
    return f"{template} ({rule}: {detected})" if detected else f"{template} ({rule})"
