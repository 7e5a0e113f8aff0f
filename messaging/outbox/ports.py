"""What the outbox needs from the application, passed in rather than imported (messaging sits below the application
in the layers of ARCHITECTURE.md): the list of persons who opted out or were blocked. `outreach.people.optouts` is
the implementation; tests may pass their own."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from outreach.store.states import StopKind


class StopList(Protocol):
    def has_stop(self, person_key: ColumnElement[str], kind: StopKind) -> ColumnElement[bool]:
        """In SQL: the person (by key) has a stop of this kind; read in the statement that claims a message, before
        every send."""
        ...

    def stop(
        self,
        session: Session,
        person_key: str,
        *,
        kind: StopKind,
        source: str,
        actor: str,
        reason: str | None = None,
        now: datetime | None = None,
        organisation: str | None = None,
    ) -> int:
        """Record an opt-out or block (Twilio 21610: the person texted STOP to the carrier) and cancel what waits."""
        ...
