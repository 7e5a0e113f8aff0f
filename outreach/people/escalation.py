"""Nobody waits unseen: a person whose message has waited longer than `cases.escalate_after_minutes` of office
hours for an answer gets their case flagged, and the supervisors are told through `notify`: the case's id, its
organisation, how long it waited and a link, never a number or a text. Once per wait: a new message after an
answer starts a new wait.

The scheduler runs this every `cases.check_every_minutes`; `outreach escalate` runs it once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.settings import CaseSettings, Settings
from outreach.store.models import Case, Person
from outreach.store.states import CaseStatus

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def office_minutes(start: datetime, end: datetime, zone: str, hours: CaseSettings) -> float:
    """Minutes of office time (hours.office_days, office_start to office_end, local to `zone`) in [start, end)."""
    if end <= start:
        return 0.0
    tz = ZoneInfo(zone)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    total = timedelta()
    while day <= last:
        if DAYS[day.weekday()] in hours.office_days:
            opens = datetime.combine(day, hours.office_start, tzinfo=tz).astimezone(UTC)
            closes = datetime.combine(day, hours.office_end, tzinfo=tz).astimezone(UTC)
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total.total_seconds() / 60


@dataclass(frozen=True)
class Escalation:
    case_id: int
    organisation: str
    waited_minutes: int
    assigned_to: str | None


def find_and_flag(session: Session, settings: Settings, now: datetime) -> list[Escalation]:
    """Flag every open case whose person has waited too long (office minutes) and was not flagged for this wait;
    audited. The caller notifies after the commit."""
    limit = settings.cases.escalate_after_minutes
    found = session.execute(
        select(Case, Person.needs_fieldworker_since)
        .join(Person, Person.id == Case.person_id)
        .where(
            Case.status == CaseStatus.OPEN,
            Person.needs_fieldworker_since.is_not(None),
            or_(Case.escalated_at.is_(None), Case.escalated_at < Person.needs_fieldworker_since),
        )
    ).all()
    flagged = []
    for case, since in found:
        if since is None:
            continue
        waited = office_minutes(since, now, settings.sending.timezone, settings.cases)
        if waited < limit:
            continue
        case.escalated_at = now
        audit.record(
            session, Event.CASE_ESCALATED, "scheduler", case_id=case.id, waited_minutes=int(waited), limit=limit
        )
        flagged.append(Escalation(case.id, case.organisation, int(waited), case.assigned_to))
    return flagged


def notify_supervisors(
    escalations: list[Escalation],
    settings: Settings,
    notifier: Callable[[str], Callable[[str, dict[str, object]], None]],
) -> None:
    """One notification per case: ids and a link only. `notifier(organisation)` gives that organisation's notify."""
    base = settings.web.public_url.rstrip("/")
    for item in escalations:
        notify = notifier(item.organisation)
        notify(
            "case.waiting",
            {
                "case": item.case_id,
                "organisation": item.organisation or None,
                "waited_minutes": item.waited_minutes,
                "limit_minutes": settings.cases.escalate_after_minutes,
                "assigned_to": item.assigned_to,
                "link": f"{base}/cases/{item.case_id}" if base else f"/cases/{item.case_id}",
                "for": "supervisors",
            },
        )
