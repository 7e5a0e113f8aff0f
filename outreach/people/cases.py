"""Conversations as cases: a person's message to an organisation opens a case (or reopens a closed one); a
fieldworker takes it, answers, writes notes, labels what came of it and closes it. A STOP closes it.

Taking a case is one conditional UPDATE, so of two fieldworkers who take the same case at once exactly one gets
it and the other is told who has it. Every change is audited; notes are personal data and stored encrypted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from outreach import audit
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.errors import N_, OutreachError, UsageError
from outreach.people.conversations import last_inbound
from outreach.store.models import Case, CaseLabel, CaseNote, Message, Person
from outreach.store.states import CaseStatus, Direction, MessageKind
from outreach.store.types import utcnow

NOTE_LIMIT = 4000  # characters: a note is a few sentences, not a file
ONE_ORGANISATION = ""  # the organisation of a case when there is only one


class CaseTaken(OutreachError):
    """Someone else took the case first."""


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list: no number in full, no message text."""

    case_id: int
    person_id: int
    organisation: str
    status: str
    assigned_to: str | None
    waiting_since: datetime | None
    last_inbound_at: datetime | None
    language: str | None
    labels: tuple[str, ...]
    number: str  # decrypted for masking by the page; never shown in full
    escalated: bool


@dataclass(frozen=True)
class Note:
    author: str
    created_at: datetime
    text: str


def _case(session: Session, person_id: int, organisation: str | None) -> Case | None:
    return session.execute(
        select(Case).where(Case.person_id == person_id, Case.organisation == (organisation or ONE_ORGANISATION))
    ).scalar_one_or_none()


def open_for_message(
    session: Session, person_id: int, organisation: str | None, now: datetime, assignee: str | None
) -> Case:
    """The person wrote to `organisation`: their case, opened (assigned to `assignee` when given) or reopened."""
    case = _case(session, person_id, organisation)
    if case is None:
        case = Case(
            person_id=person_id,
            organisation=organisation or ONE_ORGANISATION,
            status=CaseStatus.OPEN,
            assigned_to=assignee,
            opened_at=now,
            updated_at=now,
        )
        session.add(case)
        session.flush()
        audit.record(session, Event.CASE_OPENED, "twilio", case_id=case.id, person_id=person_id, assigned=assignee)
    elif case.status == CaseStatus.CLOSED:
        case.status, case.closed_at, case.closed_by, case.updated_at = CaseStatus.OPEN, None, None, now
        case.escalated_at = None
        audit.record(session, Event.CASE_REOPENED, "twilio", case_id=case.id, person_id=person_id, by_message=True)
    else:
        case.updated_at = now
    return case


def open_missing(session: Session, now: datetime, users: Iterable[str]) -> list[int]:
    """A case for every person who waits for a fieldworker and has none: persons who wrote before cases existed
    (migration 0009) would otherwise wait unseen, outside the case list and the escalation. The case belongs to the
    organisation their latest message went to. Returns the persons' ids."""
    waiting = session.execute(
        select(Person.id).where(
            Person.needs_fieldworker_since.is_not(None), ~select(Case.id).where(Case.person_id == Person.id).exists()
        )
    ).scalars()
    opened = []
    names = list(users)
    for person_id in waiting:
        organisation = last_inbound(session, person_id, Message.organisation)
        open_for_message(session, person_id, organisation, now, signer_user(session, person_id, names))
        opened.append(person_id)
    return opened


def close_for_opt_out(session: Session, person_id: int, now: datetime, actor: str) -> None:
    """A STOP closes every open case of the person (the opt-out holds for every organisation)."""
    for case in session.execute(
        select(Case).where(Case.person_id == person_id, Case.status == CaseStatus.OPEN)
    ).scalars():
        case.status, case.closed_at, case.closed_by, case.updated_at = CaseStatus.CLOSED, now, actor, now
        audit.record(session, Event.CASE_CLOSED, actor, case_id=case.id, person_id=person_id, reason="opted out")


def signer_user(session: Session, person_id: int, users: Iterable[str]) -> str | None:
    """The dashboard user who signed the person's first message (by name, ignoring case), if there is one."""
    signer = session.execute(
        select(Message.fieldworker)
        .where(
            Message.person_id == person_id,
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
            Message.fieldworker.is_not(None),
        )
        .order_by(Message.id)
        .limit(1)
    ).scalar_one_or_none()
    if not signer:
        return None
    return next((user for user in users if user.casefold() == signer.casefold()), None)


def take(session: Session, case_id: int, user: str, *, to: str | None = None, force: bool = False) -> None:
    """Assign the case to `to` (default: `user` themselves). Without `force` (a supervisor's reassignment), only
    an unassigned case, or one already theirs, can be taken: one conditional UPDATE, so of two at once one wins."""
    target = to or user
    condition = Case.id == case_id
    if not force:
        condition = and_(condition, or_(Case.assigned_to.is_(None), Case.assigned_to == target))
    now = utcnow()
    result = session.execute(
        update(Case)
        .where(condition)
        .values(assigned_to=target, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not int(getattr(result, "rowcount", 0) or 0):
        holder = session.execute(select(Case.assigned_to).where(Case.id == case_id)).scalar_one_or_none()
        raise CaseTaken(N_("%(name)s has this case already."), name=holder or "?")
    audit.record(session, Event.CASE_ASSIGNED, user, case_id=case_id, assigned_to=target)


def release(session: Session, case_id: int, user: str) -> None:
    session.execute(update(Case).where(Case.id == case_id).values(assigned_to=None, updated_at=utcnow()))
    audit.record(session, Event.CASE_ASSIGNED, user, case_id=case_id, assigned_to=None)


def close(session: Session, case_id: int, user: str) -> None:
    case = session.get(Case, case_id)
    if case is None or case.status == CaseStatus.CLOSED:
        return
    now = utcnow()
    case.status, case.closed_at, case.closed_by, case.updated_at = CaseStatus.CLOSED, now, user, now
    person = session.get(Person, case.person_id)
    if person is not None:
        person.needs_fieldworker_since = None  # closing answers the wait: nobody is escalated for a closed case
    audit.record(session, Event.CASE_CLOSED, user, case_id=case_id, person_id=case.person_id)


def reopen(session: Session, case_id: int, user: str) -> None:
    case = session.get(Case, case_id)
    if case is None or case.status == CaseStatus.OPEN:
        return
    case.status, case.closed_at, case.closed_by, case.updated_at = CaseStatus.OPEN, None, None, utcnow()
    audit.record(session, Event.CASE_REOPENED, user, case_id=case_id, person_id=case.person_id)


def set_labels(session: Session, case_id: int, labels: set[str], allowed: Iterable[str], user: str) -> None:
    """The case's outcome labels become `labels` (each one of `allowed`, the configured list)."""
    known = set(allowed)
    unknown = sorted(labels - known)
    if unknown:
        raise UsageError(N_("not an outcome label: %(label)s"), label=unknown[0])
    current = set(session.execute(select(CaseLabel.label).where(CaseLabel.case_id == case_id)).scalars())
    if current == labels:
        return
    session.execute(delete(CaseLabel).where(CaseLabel.case_id == case_id, CaseLabel.label.in_(current - labels)))
    now = utcnow()
    session.add_all(CaseLabel(case_id=case_id, label=label, added_by=user, added_at=now) for label in labels - current)
    audit.record(
        session,
        Event.CASE_LABELLED,
        user,
        case_id=case_id,
        added=sorted(labels - current),
        removed=sorted(current - labels),
    )


def add_note(session: Session, vault: PhoneVault, case_id: int, text: str, user: str) -> int:
    text = text.strip()
    if not text:
        raise UsageError(N_("the note is empty"))
    if len(text) > NOTE_LIMIT:
        raise UsageError(N_("a note is at most %(limit)s characters"), limit=NOTE_LIMIT)
    note = CaseNote(case_id=case_id, author=user, body=vault.encrypt(text), created_at=utcnow())
    session.add(note)
    session.flush()
    audit.record(session, Event.CASE_NOTE_ADDED, user, case_id=case_id, note_id=note.id)
    return note.id


def notes(session: Session, vault: PhoneVault, case_id: int) -> list[Note]:
    found = session.execute(
        select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.created_at, CaseNote.id)
    ).scalars()
    return [Note(note.author, note.created_at, vault.decrypt(note.body)) for note in found]


def labels_of(session: Session, case_id: int) -> list[str]:
    return list(
        session.execute(select(CaseLabel.label).where(CaseLabel.case_id == case_id).order_by(CaseLabel.label)).scalars()
    )


@dataclass(frozen=True)
class CaseFilter:
    organisations: list[str] | None = None  # None: every organisation's (one organisation, umbrella supervisors)
    status: str | None = CaseStatus.OPEN  # None: open and closed
    assigned_to: str | None = None
    unassigned: bool = False
    waiting_longer_than: timedelta | None = None
    label: str | None = None
    limit: int = 200


def case_list(session: Session, vault: PhoneVault, wanted: CaseFilter, now: datetime | None = None) -> list[CaseRow]:
    """Cases, the newest waiting first (the last person's message newest first), then the rest by last change."""
    now = now or utcnow()
    query = select(Case, Person).join(Person, Person.id == Case.person_id)
    if wanted.organisations is not None:
        query = query.where(Case.organisation.in_(wanted.organisations))
    if wanted.status is not None:
        query = query.where(Case.status == wanted.status)
    if wanted.unassigned:
        query = query.where(Case.assigned_to.is_(None))
    elif wanted.assigned_to is not None:
        query = query.where(Case.assigned_to == wanted.assigned_to)
    if wanted.waiting_longer_than is not None:
        query = query.where(Person.needs_fieldworker_since <= now - wanted.waiting_longer_than)
    if wanted.label is not None:
        query = query.where(Case.id.in_(select(CaseLabel.case_id).where(CaseLabel.label == wanted.label)))
    waiting_first = Person.needs_fieldworker_since.is_(None)
    query = query.order_by(waiting_first, Person.last_inbound_at.desc(), Case.updated_at.desc(), Case.id)
    found = session.execute(query.limit(wanted.limit)).all()
    ids = [case.id for case, _person in found]
    labels: dict[int, list[str]] = {}
    for case_id, label in session.execute(
        select(CaseLabel.case_id, CaseLabel.label).where(CaseLabel.case_id.in_(ids)).order_by(CaseLabel.label)
    ):
        labels.setdefault(case_id, []).append(label)
    languages: dict[int, str | None] = {}
    first_contacts = (
        select(Message.person_id, func.max(Message.language))
        .where(
            Message.person_id.in_([person.id for _case, person in found]),
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
        )
        .group_by(Message.person_id)
    )
    for person_id, language in session.execute(first_contacts):
        if person_id is not None:
            languages[person_id] = language
    return [
        CaseRow(
            case_id=case.id,
            person_id=person.id,
            organisation=case.organisation,
            status=case.status,
            assigned_to=case.assigned_to,
            waiting_since=person.needs_fieldworker_since,
            last_inbound_at=person.last_inbound_at,
            language=languages.get(person.id),
            labels=tuple(labels.get(case.id, ())),
            number=vault.decrypt(person.phone_encrypted) if person.phone_encrypted else "",
            escalated=case.escalated_at is not None,
        )
        for case, person in found
    ]
