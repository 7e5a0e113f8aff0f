"""Which wording works: per template variant, how many persons got it, answered it and opted out.

A person counts once, under the variant of their first first-contact message that left us. A reply is an inbound
message after it that is not a bare opt-out or opt-in keyword (those are counted as opt-outs, not as answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.reports.rates import wilson_interval
from outreach.store.models import Message, OptOut, Person
from outreach.store.states import KEYWORDS, LEFT_US, Direction, MessageKind, StopKind


@dataclass
class VariantStats:
    language: str
    variant: str
    messaged: int = 0
    replied: int = 0  # persons who answered
    replies: int = 0  # their inbound messages
    opted_out: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.replied / self.messaged if self.messaged else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.replied, self.messaged)


def template_stats(session: Session) -> list[VariantStats]:
    first: dict[int, tuple[datetime, str, str]] = {}  # person -> (first contact time, language, variant)
    for person, created, language, variant in session.execute(
        select(Message.person_id, Message.created_at, Message.language, Message.template_variant)
        .where(
            Message.direction == Direction.OUT,
            Message.kind == MessageKind.FIRST_CONTACT,
            Message.template_variant.is_not(None),
            Message.person_id.is_not(None),
            Message.status.in_(LEFT_US),
        )
        .order_by(Message.created_at, Message.id)
    ):
        if person is not None and variant is not None:  # filtered above; narrows the types
            first.setdefault(person, (created, language or "-", variant))
    by_variant: dict[tuple[str, str], VariantStats] = {}
    for _, language, variant in first.values():
        by_variant.setdefault((language, variant), VariantStats(language, variant)).messaged += 1
    answered: set[int] = set()
    for person, created, kind in session.execute(
        select(Message.person_id, Message.created_at, Message.kind).where(
            Message.direction == Direction.IN, Message.person_id.is_not(None)
        )
    ):
        contact = first.get(person) if person is not None else None
        if person is None or contact is None or created < contact[0] or kind in KEYWORDS:
            continue
        by_variant[contact[1:]].replies += 1
        if person not in answered:
            answered.add(person)
            by_variant[contact[1:]].replied += 1
    opted_out = session.execute(
        select(Person.id).join(OptOut, OptOut.person_key == Person.key).where(OptOut.kind == StopKind.OPT_OUT)
    ).scalars()
    for person in set(opted_out):
        if person in first:
            by_variant[first[person][1:]].opted_out += 1
    return [by_variant[key] for key in sorted(by_variant)]
