"""The blocklist: numbers a fieldworker decided never to message, kept as keys so they outlive erasure."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.access.numbers import describe_number, normalise_number
from outreach.access.roles import Access
from outreach.crypto import PhoneVault
from outreach.errors import UsageError
from outreach.people import optouts
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.models import OptOut, Person
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.support.csv_safety import csv_writer


@dataclass(frozen=True)
class Blocked:
    number: str | None  # None: the person's data was erased or purged, only the key remains
    reason: str | None
    actor: str
    at: datetime


def block(
    session: Session,
    vault: PhoneVault,
    e164: str,
    actor: str,
    reason: str,
    *,
    source: str = "cli",
    organisation: str | None = None,
) -> int:
    """Block, and keep the number (encrypted) so the blocklist can be read and exported, until retention purges
    it; the key itself is never purged."""
    if not reason.strip():
        raise UsageError("--reason is required")
    country, mobile = describe_number(e164)
    person_id(session, vault, FoundPhone(e164, country, mobile), utcnow())
    return optouts.stop(
        session,
        vault.key(e164),
        kind=StopKind.BLOCK,
        source=source,
        actor=actor,
        reason=reason,
        organisation=organisation,
    )


def unblock(
    session: Session, vault: PhoneVault, e164: str, access: Access, reason: str, *, kind: StopKind = StopKind.BLOCK
) -> bool:
    """Lift a block, or (kind=StopKind.OPT_OUT) a person's own opt-out, e.g. when they asked for it by phone.
    False when there is none this actor may see (another organisation's is not theirs to lift)."""
    if not reason.strip():
        raise UsageError("--reason is required")
    key = vault.key(e164)
    stop = session.execute(select(OptOut).where(OptOut.person_key == key, OptOut.kind == kind)).scalar_one_or_none()
    if stop is None or not access.sees_stop(stop):
        return False
    return optouts.unstop(session, key, kind=kind, actor=access.actor, reason=reason)


def listing(session: Session, vault: PhoneVault, access: Access) -> list[Blocked]:
    """The blocks this actor may see (several organisations: their own organisation's)."""
    statement = (
        select(OptOut, Person.phone_encrypted)
        .outerjoin(Person, Person.key == OptOut.person_key)
        .where(OptOut.kind == StopKind.BLOCK)
        .order_by(OptOut.created_at)
    )
    own = access.stops_clause()
    rows = session.execute(statement if own is None else statement.where(own)).all()
    return [
        Blocked(vault.decrypt(encrypted) if encrypted else None, block.reason, block.actor, block.created_at)
        for block, encrypted in rows
    ]


def parse_csv(text: str, default_region: str) -> list[tuple[str, str]]:
    """(E.164, reason) per line of `number[,reason]`; every bad line is named, nothing is half-imported."""
    entries: list[tuple[str, str]] = []
    problems: list[str] = []
    # newline="": the csv module's own line handling, so a stray carriage return is data, not a crash.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if not row or not row[0].strip() or row[0].strip().lower() in ("number", "phone"):
                continue
            try:
                number = normalise_number(row[0].strip(), default_region)
            except UsageError as exc:
                problems.append(f"line {reader.line_num}: {_shortened(str(exc))}")
                continue
            entries.append((number, (row[1] if len(row) > 1 else "").strip()))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not readable as CSV ({exc})")
    if problems:
        raise UsageError(f"{len(problems)} bad line(s), nothing imported: " + "; ".join(problems[:5]))
    return entries


def read_csv_file(path: Path, default_region: str) -> list[tuple[str, str]]:
    """parse_csv of a file, which must be UTF-8 (a spreadsheet's byte-order mark is fine)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path.name}: line {line}: not UTF-8 text; save the file as CSV UTF-8") from exc
    return parse_csv(text, default_region)


def _shortened(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_csv(blocked: list[Blocked]) -> str:
    out = io.StringIO()
    # A reason is typed by a person (or imported from someone's spreadsheet): never a formula in the next one.
    writer = csv_writer(out, ["number", "reason", "blocked_by", "blocked_at"], foreign={"reason", "blocked_by"})
    writer.writeheader()
    for item in blocked:
        if item.number is not None:
            writer.writerow(
                {
                    "number": item.number,
                    "reason": item.reason or "",
                    "blocked_by": item.actor,
                    "blocked_at": item.at.isoformat(),
                }
            )
    return out.getvalue()
