"""The blocklist: numbers a fieldworker decided never to message, kept as keys so they outlive erasure."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach import optouts
from outreach.crypto import PhoneVault
from outreach.errors import UsageError
from outreach.numbers import describe_number, normalise_number
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.models import OptOut, Person
from outreach.store.types import utcnow


@dataclass(frozen=True)
class Blocked:
    number: str | None  # None: the person's data was erased or purged, only the key remains
    reason: str | None
    actor: str
    at: datetime


def block(session: Session, vault: PhoneVault, e164: str, actor: str, reason: str, *, source: str = "cli") -> int:
    """Block, and keep the number (encrypted) so the blocklist can be read and exported, until retention purges
    it; the key itself is never purged."""
    if not reason.strip():
        raise UsageError("--reason is required")
    country, mobile = describe_number(e164)
    person_id(session, vault, FoundPhone(e164, country, mobile), utcnow())
    return optouts.stop(session, vault.key(e164), kind="block", source=source, actor=actor, reason=reason)


def unblock(session: Session, vault: PhoneVault, e164: str, actor: str, reason: str, *, kind: str = "block") -> bool:
    """Lift a block, or (kind="opt_out") a person's own opt-out, e.g. when they asked for it by phone."""
    if not reason.strip():
        raise UsageError("--reason is required")
    return optouts.unstop(session, vault.key(e164), kind=kind, actor=actor, reason=reason)


def listing(session: Session, vault: PhoneVault) -> list[Blocked]:
    rows = session.execute(
        select(OptOut, Person.phone_encrypted)
        .outerjoin(Person, Person.key == OptOut.person_key)
        .where(OptOut.kind == "block")
        .order_by(OptOut.created_at)
    ).all()
    return [
        Blocked(vault.decrypt(encrypted) if encrypted else None, block.reason, block.actor, block.created_at)
        for block, encrypted in rows
    ]


def parse_csv(text: str, default_region: str) -> list[tuple[str, str]]:
    """(E.164, reason) per line of `number[,reason]`; every bad line is named, nothing is half-imported."""
    entries: list[tuple[str, str]] = []
    problems: list[str] = []
    for line_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].strip().lower() in ("number", "phone"):
            continue
        try:
            entries.append((normalise_number(row[0].strip(), default_region), (row[1] if len(row) > 1 else "").strip()))
        except UsageError as exc:
            problems.append(f"line {line_number}: {exc}")
    if problems:
        raise UsageError(f"{len(problems)} bad line(s), nothing imported: " + "; ".join(problems[:5]))
    return entries


def to_csv(blocked: list[Blocked]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "reason", "blocked_by", "blocked_at"])
    for item in blocked:
        if item.number is not None:
            writer.writerow([item.number, item.reason or "", item.actor, item.at.isoformat()])
    return out.getvalue()
