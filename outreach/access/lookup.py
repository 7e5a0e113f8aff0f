"""Finding a person by phone number, the same way for the dashboard's search and `outreach show person NUMBER`:
scoped to the searcher's organisations, audited, and limited per searcher.

Without these, a search is an oracle: anyone could test whether any number is known ("person N" or "nobody with
this number"), including another organisation's people, unseen. Each search writes `number.searched` (never the
number: whether a visible person was found, and which); the limit counts those events, so it holds across processes.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach import audit
from outreach.access.roles import Access
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.errors import N_, OutreachError
from outreach.store.models import AuditEvent, Person
from outreach.store.types import utcnow

SEARCH_WINDOW = timedelta(hours=1)
MAX_SEARCHES = 30  # a fieldworker looks up a few numbers a shift; a sweep through numbers needs thousands


class TooManySearches(OutreachError):
    """More searches by number in the last hour than anyone needs for their work."""


def find_person(session: Session, vault: PhoneVault, access: Access, e164: str, *, where: str) -> Person | None:
    """The person with this number, if the searcher may see them; None otherwise. Audited; TooManySearches past
    the limit (checked before the search, so a refused search tells nothing)."""
    since = utcnow() - SEARCH_WINDOW
    recent = session.execute(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.name == Event.NUMBER_SEARCHED, AuditEvent.actor == access.actor, AuditEvent.created_at >= since
        )
    ).scalar_one()
    if recent >= MAX_SEARCHES:
        raise TooManySearches(
            N_("%(limit)s searches by number in the last hour: try again later, or ask a supervisor"),
            limit=MAX_SEARCHES,
        )
    person = session.execute(select(Person).where(Person.key == vault.key(e164))).scalar_one_or_none()
    if person is not None and not access.sees_person(session, person.id):
        person = None  # another organisation's: answered exactly as "nobody with this number"
    audit.record(session, Event.NUMBER_SEARCHED, access.actor, where=where, person_id=person.id if person else None)
    return person
