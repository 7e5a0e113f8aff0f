"""Who gets a message, and a reason for everyone who does not.

For every listed advert and each of its persons, in this order: a number to send to; the person's state (opted
out, blocked, invalid, replied, paused, a message waiting); the contact rhythm (first contact; one reminder after
`targeting.reminder.after_days` without a reply; then nothing until `recontact_days` have passed AND the person
advertises again, i.e. has an advert first seen after the last contact); and the organisation's policy
(outreach.targeting.policy: region, target group, keywords, holds). A person, across all sites and channels, gets
at most one message per cycle, through their most recently seen advert that passes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, String, any_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from messaging.outbox.drain import Stop
from outreach import audit
from outreach.audit_events import Event
from outreach.settings import Settings
from outreach.store.models import Advert, AdvertPerson, AdvertReason, HeldAdvert, Message, OptOut, Person
from outreach.store.states import CONTACTS, WAITING, WENT_OUT, Direction, MessageKind, MessageStatus, StopKind
from outreach.targeting.policy import Policy, Verdict
from outreach.targeting.reasons import Reason

PERSON_COLUMNS = (
    Person.id,
    Person.key,
    Person.country,
    Person.is_mobile,
    Person.invalid_at,
    Person.last_inbound_at,
    Person.paused_reason,
    Person.last_contacted_at,
    Person.reminded_at,
)
ADVERT_COLUMNS = (
    Advert.id,
    Advert.city,
    Advert.category,
    Advert.title,
    Advert.text,
    Advert.first_seen,
    Advert.content_hash,
    Advert.numbers_left_out,
)


@dataclass(frozen=True)
class Candidate:
    person_id: int
    advert_id: int
    organisation: str | None = None  # with several organisations: the one whose region the advert is in


@dataclass(frozen=True)
class ReminderCandidate:
    person_id: int
    advert_id: int
    language: str | None  # the first contact's template language
    contacted_at: datetime  # the contact round it belongs to; the reminder decision is conditional on it
    organisation: str | None = None  # the first contact's: a reminder comes from whoever wrote first


@dataclass
class Decision:
    advert_id: int
    person_id: int | None
    reason: Reason
    detail: str | None = None


@dataclass
class Selection:
    first_contacts: list[Candidate]
    reminders: list[ReminderCandidate]
    decisions: list[Decision]  # one per listed advert and person, the chosen ones as MESSAGED or REMINDED


@dataclass(frozen=True)
class _Sent:
    at: datetime
    language: str | None
    organisation: str | None


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


class _PersonRules:
    """The person-level rules, with what they need loaded once for all persons of the listed adverts."""

    def __init__(self, session: Session, settings: Settings, now: datetime, person_ids: Select[Any]) -> None:
        self.settings = settings
        self.now = now
        self.window_start = now - timedelta(days=settings.recontact_days)
        keys = select(Person.key).where(Person.id.in_(person_ids))
        self.stops: dict[str, set[str]] = defaultdict(set)
        for key, kind in session.execute(select(OptOut.person_key, OptOut.kind).where(OptOut.person_key.in_(keys))):
            self.stops[key].add(kind)
        self.waiting = set(
            session.execute(
                select(Message.person_id).where(
                    Message.person_id.in_(person_ids), Message.direction == Direction.OUT, Message.status.in_(WAITING)
                )
            ).scalars()
        )
        # The first contact of each person's current round that actually went out: the reminder counts from it.
        self.sent: dict[int, _Sent] = {}
        rows = session.execute(
            select(Message.person_id, Message.sent_at, Message.language, Message.organisation)
            .join(Person, Person.id == Message.person_id)
            .where(
                Message.person_id.in_(person_ids),
                Message.kind == MessageKind.FIRST_CONTACT,
                Message.direction == Direction.OUT,
                Message.status.in_(WENT_OUT),
                Message.sent_at.is_not(None),
                Message.created_at >= Person.last_contacted_at,
            )
            .order_by(Message.sent_at)
        )
        for person_id, sent_at, language, organisation in rows:
            if person_id is not None and sent_at is not None:
                self.sent[person_id] = _Sent(sent_at, language, organisation)

    def judge(self, person: Any) -> tuple[Reason | None, str | None, MessageKind | None]:
        """(reason, detail, action): a reason not to message, or the kind of message the rhythm allows (a first
        contact or a reminder).

        person: a row of PERSON_COLUMNS."""
        if not person.is_mobile or person.country not in self.settings.mobile_countries:
            return Reason.NOT_MOBILE, person.country, None
        stops = self.stops.get(person.key, set())
        if StopKind.BLOCK in stops:
            return Reason.BLOCKED, None, None
        if StopKind.OPT_OUT in stops:
            return Reason.OPTED_OUT, None, None
        if person.invalid_at is not None:
            return Reason.INVALID_NUMBER, None, None
        if person.last_inbound_at is not None:
            # Someone who wrote to us is a fieldworker's conversation now, never an automatic message.
            return Reason.REPLIED, None, None
        if person.paused_reason is not None:
            return Reason.PAUSED, person.paused_reason, None
        if person.id in self.waiting:
            return Reason.MESSAGE_WAITING, None, None
        last = person.last_contacted_at
        if last is None or last < self.window_start:
            return None, None, MessageKind.FIRST_CONTACT
        if person.reminded_at is not None and person.reminded_at >= last:
            return Reason.REMINDER_SENT, _day(person.reminded_at), None
        reminder = self.settings.targeting.reminder
        sent = self.sent.get(person.id)
        if reminder.enabled and sent is not None and self.now >= sent.at + timedelta(days=reminder.after_days):
            return None, None, MessageKind.REMINDER
        return Reason.CONTACTED, _day(last), None


def _held(
    session: Session,
    review: dict[int, HeldAdvert],
    advert_id: int,
    content_hash: str,
    verdict: Verdict,
    now: datetime,
    actor: str,
) -> tuple[Reason | None, str | None]:
    """The review state of an advert the policy holds: None when a person approved it (as it reads now).

    review: the review-queue rows of the adverts being decided, by advert (a new one is added to it)."""
    assert verdict.hold is not None
    held = review.get(advert_id)
    if held is None:
        held = HeldAdvert(advert_id=advert_id, rule=verdict.hold, content_hash=content_hash, held_at=now)
        session.add(held)
        session.flush()
        review[advert_id] = held
        return Reason.HELD, verdict.hold
    if held.content_hash != content_hash:
        # The advert changed since the decision: a person decides again on what it says now. Undoing a person's
        # decision is itself a decision, on the record like the approval or rejection it undoes.
        if held.status != "pending":
            audit.record(
                session,
                Event.REVIEW_REOPENED,
                actor,
                held_id=held.id,
                advert_id=advert_id,
                rule=verdict.hold,
                was=held.status,
                decided_by=held.decided_by,
            )
        held.rule, held.content_hash, held.status, held.held_at = verdict.hold, content_hash, "pending", now
        held.decided_at = held.decided_by = held.decision_reason = None
        return Reason.HELD, verdict.hold
    if held.status == "approved":
        return None, None
    if held.status == "rejected":
        return Reason.REJECTED, held.decision_reason
    return Reason.HELD, held.rule


def select_contacts(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    advert_ids: Iterable[int] | None = None,
    actor: str = "cycle",
) -> Selection:
    """Decide for every listed advert (or only these, e.g. one approved in review) and each of its persons.

    Writes only review-queue rows (a newly held advert); the caller stores the decisions (store_decisions) once
    it knows what was queued."""
    live = select(Advert.id).where(Advert.gone_at.is_(None))
    if advert_ids is not None:
        live = live.where(Advert.id.in_(list(advert_ids)))
    person_ids = select(AdvertPerson.person_id).where(AdvertPerson.advert_id.in_(live))
    rules = _PersonRules(session, settings, now, person_ids)
    policy = Policy(settings.targeting, settings.organisations)
    # Plain rows, not ORM objects: at the national scale (tens of thousands of adverts) the identity map would
    # cost more memory than everything else in the cycle.
    persons = {
        row.id: row
        for row in session.execute(select(*PERSON_COLUMNS).where(Person.id.in_(person_ids.scalar_subquery())))
    }
    rows = session.execute(
        select(*ADVERT_COLUMNS, AdvertPerson.person_id)
        .outerjoin(AdvertPerson, AdvertPerson.advert_id == Advert.id)
        .where(Advert.id.in_(live))
        .order_by(Advert.last_seen.desc(), Advert.id.desc())
    ).all()
    # The review queue's rows of these adverts, read once (one query per held advert cost a round trip each).
    review = {
        held.advert_id: held for held in session.scalars(select(HeldAdvert).where(HeldAdvert.advert_id.in_(live)))
    }
    decisions: list[Decision] = []
    verdicts: dict[int, Verdict] = {}
    chosen: dict[int, tuple[Decision, MessageKind]] = {}  # person -> (the decision to message, the action)
    withheld: dict[int, Decision] = {}  # person -> an advert of theirs held or rejected in review
    for advert in rows:
        person = persons.get(advert.person_id) if advert.person_id is not None else None
        if person is None:
            left_out = advert.numbers_left_out
            decisions.append(Decision(advert.id, None, Reason.NOT_MOBILE if left_out else Reason.NO_NUMBER, left_out))
            continue
        decision = Decision(advert.id, person.id, Reason.MESSAGED)
        decisions.append(decision)
        reason, detail, action = rules.judge(person)
        last = person.last_contacted_at
        if reason is None and action == MessageKind.FIRST_CONTACT and last is not None and advert.first_seen <= last:
            # The window is over, but "advertises again" means an advert that appeared after the contact.
            reason, detail = Reason.NOT_ADVERTISED_AGAIN, _day(last)
        if reason is None:
            if advert.id not in verdicts:
                verdicts[advert.id] = policy.judge(
                    city=advert.city, category=advert.category, title=advert.title, text=advert.text
                )
            verdict = verdicts[advert.id]
            reason, detail = verdict.reason, verdict.detail
            if reason is None and verdict.hold is not None:
                reason, detail = _held(session, review, advert.id, advert.content_hash, verdict, now, actor)
        if reason is not None:
            decision.reason, decision.detail = reason, detail
            if reason in (Reason.HELD, Reason.REJECTED):
                withheld.setdefault(person.id, decision)
            continue
        assert action is not None
        if person.id in chosen:
            # Rows come newest advert first: the person is answered through that one.
            decision.reason, decision.detail = Reason.OTHER_ADVERT, str(chosen[person.id][0].advert_id)
            continue
        decision.reason = Reason.MESSAGED if action == MessageKind.FIRST_CONTACT else Reason.REMINDED
        chosen[person.id] = (decision, action)
    # A hold or a rejection is about the person (words suggesting a minor, an intermediary): none of their
    # adverts is answered until a person approved the held one.
    for pid, held in withheld.items():
        if pid in chosen:
            decision = chosen.pop(pid)[0]
            decision.reason, decision.detail = (
                Reason.HELD,
                f"advert {held.advert_id}: {held.detail or held.reason.value}",
            )
    first = [
        Candidate(pid, d.advert_id, verdicts[d.advert_id].organisation)
        for pid, (d, action) in chosen.items()
        if action == MessageKind.FIRST_CONTACT
    ]
    reminders = []
    for pid, (decision, action) in chosen.items():
        if action == MessageKind.REMINDER:
            contacted = persons[pid].last_contacted_at
            assert contacted is not None
            sent = rules.sent[pid]
            # A first contact from before organisations were configured has none: the advert's region decides.
            organisation = sent.organisation or verdicts[decision.advert_id].organisation
            reminders.append(ReminderCandidate(pid, decision.advert_id, sent.language, contacted, organisation))
    return Selection(first, reminders, decisions)


def store_decisions(session: Session, decisions: list[Decision], now: datetime) -> None:
    """Replace the stored reasons of the decided adverts (a gone advert keeps its last one).

    One delete and one insert of many rows, whatever the number of adverts. On PostgreSQL the delete takes every id
    as one array: in batches of a few hundred ids, each batch scanned the whole table (the planner's choice for a
    few hundred scattered ids), so a cycle's cost grew with the square of the listed adverts (bench/national.py)."""
    advert_ids = sorted({d.advert_id for d in decisions})
    if not advert_ids:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        every = bindparam("advert_ids", advert_ids, type_=postgresql.ARRAY(Integer))
        session.execute(delete(AdvertReason).where(AdvertReason.advert_id == any_(every)))
    else:
        # SQLite looks each id up in the index; its statements take a limited number of parameters.
        for start in range(0, len(advert_ids), 500):
            session.execute(delete(AdvertReason).where(AdvertReason.advert_id.in_(advert_ids[start : start + 500])))
    details = [d.detail[:200] if d.detail else None for d in decisions]
    # Another process storing the same adverts' reasons at the same moment (a cycle and a review approval): the
    # unique key keeps one row each; the reason first committed stays, rather than the transaction failing.
    if postgres:
        # One statement of four arrays, compiled once (a multi-row VALUES is compiled anew for every batch, and
        # an executemany is one round trip per row).
        rows = (
            func.unnest(
                bindparam("ids", [d.advert_id for d in decisions], type_=postgresql.ARRAY(Integer)),
                bindparam("persons", [d.person_id for d in decisions], type_=postgresql.ARRAY(Integer)),
                bindparam("reasons", [d.reason.value for d in decisions], type_=postgresql.ARRAY(String)),
                bindparam("details", details, type_=postgresql.ARRAY(String)),
            )
            .table_valued("advert_id", "person_id", "reason", "detail")
            .render_derived("decided")
        )
        columns = ["advert_id", "person_id", "reason", "detail", "decided_at"]
        chosen = select(*rows.c, bindparam("now", now, type_=AdvertReason.decided_at.type))
        session.execute(postgresql.insert(AdvertReason).from_select(columns, chosen).on_conflict_do_nothing())
        return
    values = [
        {
            "advert_id": d.advert_id,
            "person_id": d.person_id,
            "reason": d.reason.value,
            "detail": detail,
            "decided_at": now,
        }
        for d, detail in zip(decisions, details, strict=True)
    ]
    # Core, not the ORM's bulk insert (which starts a new statement wherever a NULL column changes).
    session.connection().execute(sqlite.insert(AdvertReason).on_conflict_do_nothing(), values)


# Why a drain left messages queued, as the reason of the adverts they answer.
_STOP_REASONS = {
    Stop.DAILY_CAP: Reason.DAILY_CAP,
    Stop.CYCLE_CAP: Reason.CYCLE_CAP,
    Stop.WINDOW: Reason.OUTSIDE_WINDOW,
    Stop.PAUSED: Reason.SENDING_PAUSED,
}


def mark_still_queued(session: Session, stopped: Stop | None, organisation: str | None = None) -> int:
    """After a drain that stopped at a cap, outside the window or paused: the adverts whose message is still
    queued (from this cycle or an earlier one; of this organisation, after its own cycle) say so instead of
    "messaged" or "message waiting". Returns how many."""
    reason = _STOP_REASONS.get(stopped) if stopped is not None else None
    if reason is None:
        return 0
    still_queued = exists().where(
        Message.advert_id == AdvertReason.advert_id,
        Message.person_id == AdvertReason.person_id,
        Message.direction == Direction.OUT,
        Message.status == MessageStatus.QUEUED,
        Message.kind.in_(CONTACTS),
        *([Message.organisation == organisation] if organisation is not None else []),
    )
    waiting = (Reason.MESSAGED.value, Reason.REMINDED.value, Reason.MESSAGE_WAITING.value)
    result = session.execute(
        update(AdvertReason)
        .where(AdvertReason.reason.in_(waiting), still_queued)
        .values(reason=reason.value)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
