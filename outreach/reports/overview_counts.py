"""The overview's figures counted by the database: the totals of today, 7 and 30 days, the 30 days by language,
site and region, and the funnel of the 30 days, in a few grouped queries instead of reading every row.

The definitions are outreach.reports.outcome_stats' and outreach.reports.funnel's (read them there); this module
counts the same things per person in SQL: each person's first contact in a period, whether a contact of the period
was delivered, their last reply and their opt-out, and whether those came after the first contact.
tests/test_overview_counts.py checks on generated data that both give the same figures on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from outreach.reports.funnel import NOT_ELIGIBLE, Funnel
from outreach.reports.outcome_stats import OutcomeRow, municipality_lookup
from outreach.store.models import Advert, AdvertPerson, AdvertReason, Message, OptOut, Person, Site
from outreach.store.states import CONTACTS, KEYWORDS, LEFT_US, Direction, MessageKind, MessageStatus, StopKind


@dataclass(frozen=True)
class OverviewCounts:
    totals: list[OutcomeRow]  # one per start, in the order given
    breakdowns: dict[str, list[OutcomeRow]]  # language, site, region over the first (longest) period
    funnel: Funnel


def _cities(session: Session, regions: set[str] | None) -> list[str] | None:
    """The spellings of city in adverts that fall in these municipalities (None: no filter)."""
    if regions is None:
        return None
    place = municipality_lookup()
    spelled = session.execute(select(Advert.city).distinct()).scalars()
    return [city for city in spelled if city is not None and (place(city) or "").casefold() in regions]


def _in_cities(column: Any, cities: list[str] | None) -> ColumnElement[bool]:
    return literal(True) if cities is None else column.in_(cities)


def _contacts(since: datetime, organisations: list[str] | None) -> Select[Any]:
    query = select(Message).where(
        Message.direction == Direction.OUT,
        Message.kind.in_(CONTACTS),
        Message.person_id.is_not(None),
        Message.created_at >= since,
        Message.status.in_(LEFT_US),
    )
    if organisations is not None:
        query = query.where(Message.organisation.in_(organisations))
    return query


def overview_counts(
    session: Session,
    starts: list[datetime],
    *,
    organisations: list[str] | None = None,
    regions: set[str] | None = None,
) -> OverviewCounts:
    """`starts`: the period starts, longest first (the overview's 30 days, 7 days, today)."""
    since = starts[0]
    cities = _cities(session, regions)
    contacts = _contacts(since, organisations).subquery("contacts")

    # Per person: the first contact of each period, and whether a contact of that period was delivered.
    per_person_columns: list[Any] = [contacts.c.person_id]
    for index, start in enumerate(starts):
        per_person_columns.append(
            func.min(case((contacts.c.created_at >= start, contacts.c.created_at), else_=None)).label(f"first{index}")
        )
        was_delivered = and_(contacts.c.created_at >= start, contacts.c.status == MessageStatus.DELIVERED)
        per_person_columns.append(func.max(case((was_delivered, 1), else_=0)).label(f"delivered{index}"))
    per_person = select(*per_person_columns).group_by(contacts.c.person_id).subquery("per_person")
    replies = (
        select(Message.person_id, func.max(Message.created_at).label("last_reply"))
        .where(
            Message.direction == Direction.IN,
            Message.person_id.is_not(None),
            Message.created_at >= since,
            Message.kind.not_in(KEYWORDS),
        )
        .group_by(Message.person_id)
        .subquery("replies")
    )
    opt_outs = (
        select(Person.id.label("person_id"), OptOut.created_at.label("opted_at"))
        .join(OptOut, OptOut.person_key == Person.key)
        .where(OptOut.kind == StopKind.OPT_OUT, OptOut.created_at >= since)
        .subquery("opt_outs")
    )
    joined = per_person.outerjoin(replies, replies.c.person_id == per_person.c.person_id).outerjoin(
        opt_outs, opt_outs.c.person_id == per_person.c.person_id
    )

    def after(first: Any, at: Any) -> Any:
        return func.sum(case((and_(first.is_not(None), at >= first), 1), else_=0))

    total_columns: list[Any] = []
    for index in range(len(starts)):
        first = per_person.c[f"first{index}"]
        total_columns += [
            func.sum(case((first.is_not(None), 1), else_=0)),
            func.sum(per_person.c[f"delivered{index}"]),
            after(first, replies.c.last_reply),
            after(first, opt_outs.c.opted_at),
        ]
    row = session.execute(select(*total_columns).select_from(joined)).one()
    advert_totals = session.execute(
        select(*[func.sum(case((Advert.first_seen >= start, 1), else_=0)) for start in starts]).where(
            Advert.first_seen >= since, _in_cities(Advert.city, cities)
        )
    ).one()
    totals = []
    for index in range(len(starts)):
        contacted, delivered, replied, opted = (int(value or 0) for value in row[index * 4 : index * 4 + 4])
        totals.append(OutcomeRow("all", int(advert_totals[index] or 0), contacted, delivered, replied, opted))

    breakdowns = _breakdowns(session, contacts, per_person, replies, opt_outs, since, cities)
    return OverviewCounts(totals, breakdowns, _funnel(session, contacts, per_person, replies, opt_outs, since, cities))


def _breakdowns(
    session: Session, contacts: Any, per_person: Any, replies: Any, opt_outs: Any, since: datetime, cities: Any
) -> dict[str, list[OutcomeRow]]:
    """The longest period by the first contact's language, site and city, and adverts by site, first language and
    city; regions are the cities' municipalities."""
    ranked = select(
        contacts.c.person_id,
        contacts.c.language,
        contacts.c.advert_id,
        func.row_number()
        .over(partition_by=contacts.c.person_id, order_by=(contacts.c.created_at, contacts.c.id))
        .label("rank"),
    ).subquery("ranked")
    first = (
        select(ranked.c.person_id, ranked.c.language, Site.name.label("site"), Advert.city)
        .outerjoin(Advert, Advert.id == ranked.c.advert_id)
        .outerjoin(Site, Site.id == Advert.site_id)
        .where(ranked.c.rank == 1)
        .subquery("first")
    )
    first_at = per_person.c.first0
    grouped = session.execute(
        select(
            first.c.language,
            first.c.site,
            first.c.city,
            func.count(),
            func.sum(per_person.c.delivered0),
            func.sum(case((replies.c.last_reply >= first_at, 1), else_=0)),
            func.sum(case((opt_outs.c.opted_at >= first_at, 1), else_=0)),
        )
        .select_from(first)
        .join(per_person, per_person.c.person_id == first.c.person_id)
        .outerjoin(replies, replies.c.person_id == first.c.person_id)
        .outerjoin(opt_outs, opt_outs.c.person_id == first.c.person_id)
        .group_by(first.c.language, first.c.site, first.c.city)
    ).all()
    first_message = (
        select(
            Message.advert_id,
            Message.language,
            func.row_number().over(partition_by=Message.advert_id, order_by=Message.id).label("rank"),
        )
        .join(Advert, Advert.id == Message.advert_id)
        .where(
            Advert.first_seen >= since,
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
        )
        .subquery("first_message")
    )
    adverts = session.execute(
        select(Site.name, first_message.c.language, Advert.city, func.count())
        .join(Site, Site.id == Advert.site_id)
        .outerjoin(first_message, and_(first_message.c.advert_id == Advert.id, first_message.c.rank == 1))
        .where(Advert.first_seen >= since, _in_cities(Advert.city, cities))
        .group_by(Site.name, first_message.c.language, Advert.city)
    ).all()
    place = municipality_lookup()
    rows: dict[str, dict[str, OutcomeRow]] = {by: {} for by in ("language", "site", "region")}

    def row(by: str, name: str | None) -> OutcomeRow:
        key = name or "-"
        return rows[by].setdefault(key, OutcomeRow(key))

    for language, site, city, contacted, delivered, replied, opted in grouped:
        for by, name in (("language", language), ("site", site), ("region", place(city))):
            target = row(by, name)
            target.persons_contacted += int(contacted)
            target.delivered += int(delivered or 0)
            target.replied += int(replied or 0)
            target.opted_out += int(opted or 0)
    for site, language, city, count in adverts:
        for by, name in (("language", language), ("site", site), ("region", place(city))):
            row(by, name).adverts_found += int(count)
    return {by: sorted(found.values(), key=lambda r: r.group) for by, found in rows.items()}


def _funnel(
    session: Session, contacts: Any, per_person: Any, replies: Any, opt_outs: Any, since: datetime, cities: Any
) -> Funnel:
    cohort = select(Advert.id).where(Advert.first_seen >= since, _in_cities(Advert.city, cities)).subquery("cohort")
    adverts_found = session.execute(select(func.count()).select_from(cohort)).scalar_one()
    linked = (
        select(AdvertPerson.advert_id, AdvertPerson.person_id)
        .join(cohort, cohort.c.id == AdvertPerson.advert_id)
        .subquery("linked")
    )
    with_number, persons_found = session.execute(
        select(func.count(linked.c.advert_id.distinct()), func.count(linked.c.person_id.distinct()))
    ).one()
    allowed = (
        select(AdvertReason.person_id)
        .join(linked, and_(linked.c.advert_id == AdvertReason.advert_id, linked.c.person_id == AdvertReason.person_id))
        .where(AdvertReason.reason.not_in(NOT_ELIGIBLE))
    )
    cohort_persons = select(linked.c.person_id).distinct().subquery("cohort_persons")
    contacted = per_person.c.first0.is_not(None)
    row = session.execute(
        select(
            func.sum(case((or_(cohort_persons.c.person_id.in_(allowed), contacted), 1), else_=0)),
            func.sum(case((contacted, 1), else_=0)),
            func.sum(case((contacted, per_person.c.delivered0), else_=0)),
            func.sum(case((and_(contacted, replies.c.last_reply >= per_person.c.first0), 1), else_=0)),
            func.sum(case((and_(contacted, opt_outs.c.opted_at >= per_person.c.first0), 1), else_=0)),
        )
        .select_from(cohort_persons)
        .outerjoin(per_person, per_person.c.person_id == cohort_persons.c.person_id)
        .outerjoin(replies, replies.c.person_id == cohort_persons.c.person_id)
        .outerjoin(opt_outs, opt_outs.c.person_id == cohort_persons.c.person_id)
    ).one()
    eligible, contacted_count, delivered, replied, opted = (int(value or 0) for value in row)
    return Funnel(
        adverts_found=int(adverts_found),
        adverts_with_number=int(with_number),
        persons_found=int(persons_found),
        persons_eligible=eligible,
        persons_contacted=contacted_count,
        delivered=delivered,
        replied=replied,
        opted_out=opted,
    )
