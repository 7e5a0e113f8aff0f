"""The claim: one message `queued -> sending` and everything its send needs, read in the claiming statement.

What is read with the claim is the last check before the provider call: the person's opt-out and block, and whether
the provider marked the number invalid. On PostgreSQL it is one statement (a data-modifying CTE: the conditional
UPDATE ... RETURNING, joined with the person and the two stop checks), which commits by itself: one round trip. On
SQLite the UPDATE and one joined read share a transaction (BEGIN IMMEDIATE: no writer between them).

An opt-out committed before the claim is seen by it. One committed later cannot cancel the message any more: the
stop cancels only what is still queued, and this row is `sending` (it waits for the claim if it reached the row
first). That window is the time between the claim and the provider call, with no waiting in it: the pacer waits
before the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Connection, bindparam, select, update
from sqlalchemy.orm import Session

from messaging.outbox.ports import StopList
from outreach.store.models import Message, Person
from outreach.store.states import MessageKind, MessageStatus, StopKind

# What a send needs of the message row.
_MESSAGE = (
    Message.id,
    Message.person_id,
    Message.channel,
    Message.language,
    Message.body,
    Message.kind,
    Message.content_sid,
    Message.content_variables,
    Message.organisation,
    Message.mode,
    Message.approved_by,
)


@dataclass(frozen=True)
class ClaimedRow:
    """A claimed message with its person's state as the claim read it."""

    message_id: int
    kind: str
    channel: str
    language: str | None
    body: str
    content_sid: str | None
    content_variables: dict[str, Any] | None
    organisation: str | None
    mode: str | None
    approved_by: str | None
    person_key: str | None
    phone_encrypted: str | None
    invalid: bool
    opted_out: bool
    blocked: bool

    @classmethod
    def of(cls, row: Any) -> ClaimedRow:  # a Row of _MESSAGE and the person's columns
        return cls(
            message_id=row.id,
            kind=row.kind,
            channel=row.channel,
            language=row.language,
            body=row.body,
            content_sid=row.content_sid,
            content_variables=row.content_variables,
            organisation=row.organisation,
            mode=row.mode,
            approved_by=row.approved_by,
            person_key=row.key,
            phone_encrypted=row.phone_encrypted,
            invalid=row.invalid_at is not None,
            opted_out=bool(row.opted_out),
            blocked=bool(row.blocked),
        )

    def refusal(self) -> tuple[MessageStatus, str] | None:
        """Why this message must not go (the status it ends in and the reason), or None: send it."""
        if self.person_key is None:
            return MessageStatus.FAILED, "the person is gone"
        # Invariant 1: an opt-out or block that arrived after queuing still stops the message. The one exception is
        # the single confirmation that the opt-out worked.
        if self.blocked or (self.opted_out and self.kind != MessageKind.OPT_OUT_CONFIRMATION):
            return MessageStatus.CANCELLED, "opted out or blocked"
        if self.invalid:
            return MessageStatus.FAILED, "number marked invalid by the provider"
        return None


_STAMP: BindParameter[datetime] = bindparam("claim_stamp", type_=Message.claimed_at.type)


class Claim:
    """The claim of the message `target` selects, built once (statements are compiled once and reused: building one
    costs the sender more than running it). Parameters other than the time go in `params`."""

    def __init__(self, target: list[ColumnElement[bool]], stops: StopList) -> None:
        claiming = (
            update(Message).where(*target).values(status=MessageStatus.SENDING, claimed_at=_STAMP, updated_at=_STAMP)
        )
        person = (
            Person.key,
            Person.phone_encrypted,
            Person.invalid_at,
            stops.has_stop(Person.key.expression, StopKind.OPT_OUT).label("opted_out"),
            stops.has_stop(Person.key.expression, StopKind.BLOCK).label("blocked"),
        )
        claimed = claiming.returning(*_MESSAGE).cte("claimed")
        self._one_statement = select(*claimed.c, *person).select_from(
            claimed.outerjoin(Person, Person.id == claimed.c.person_id)
        )
        self._update = claiming.returning(Message.id).execution_options(synchronize_session=False)
        self._read = (
            select(*_MESSAGE, *person)
            .select_from(Message)
            .outerjoin(Person, Person.id == Message.person_id)
            .where(Message.id == bindparam("claimed_id"))
        )

    def on_postgres(self, connection: Connection, stamp: datetime, **params: Any) -> ClaimedRow | None:
        """One statement; on a connection in autocommit it commits by itself: one round trip."""
        row = connection.execute(self._one_statement, {"claim_stamp": stamp, **params}).first()
        return None if row is None else ClaimedRow.of(row)

    def in_transaction(self, session: Session, stamp: datetime, **params: Any) -> ClaimedRow | None:
        """Two statements in the session's transaction (SQLite, where an UPDATE cannot be a CTE)."""
        message_id = session.execute(self._update, {"claim_stamp": stamp, **params}).scalar_one_or_none()
        if message_id is None:
            return None
        return ClaimedRow.of(session.execute(self._read, {"claimed_id": message_id}).one())
