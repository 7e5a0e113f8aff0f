"""The escalation run: open a case for anyone waiting without one, flag the cases whose persons waited too long
(outreach.people.escalation), commit, then tell the supervisors through `notify`. The scheduler's job and
`outreach escalate` both run this."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from outreach.people import cases
from outreach.people.escalation import Escalation, find_and_flag, notify_supervisors
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import User
from outreach.store.types import utcnow
from outreach.support.notify import Notifier


def run_escalation(settings: Settings, store: Store, now: datetime | None = None) -> list[Escalation]:
    now = now or utcnow()
    with store.session() as session:
        users = session.execute(select(User.name).where(User.disabled_at.is_(None))).scalars().all()
        cases.open_missing(session, now, users)
        flagged = find_and_flag(session, settings, now)
    # After the commit: a slow mail server never holds the database's write lock, and a notification is only
    # sent for a flag that was stored.
    notify_supervisors(
        flagged, settings, lambda organisation: Notifier(settings.notify, settings.signature(organisation or None).name)
    )
    return flagged
