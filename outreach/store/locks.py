"""Named leases in the database: one holder at a time, and a crashed holder's lease simply expires.

Used as the single-sender guard on SQLite (and by the scheduler for the cycle). Each call is its own short
transaction, so a lease is visible to other processes at once.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update

from outreach.store.db import Store, rows_changed
from outreach.store.models import Lock
from outreach.store.types import utcnow
from outreach.store.upsert import insert_ignore

# The one cycle lease: cycles never overlap, whichever organisation they are for (outreach.cycle.scheduler).
CYCLE_LOCK = "cycle"


def holder_id() -> str:
    """Who holds a lease: readable for the engineer on call, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, store: Store, name: str, ttl: timedelta, holder: str | None = None) -> None:
        self.store = store
        self.name = name
        self.ttl = ttl
        self.holder = holder or holder_id()

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the lease if it is free, expired or already ours."""
        now = now or utcnow()
        with self.store.session() as session:
            taken = rows_changed(
                session,
                update(Lock)
                .where(Lock.name == self.name, or_(Lock.expires_at < now, Lock.holder == self.holder))
                .values(holder=self.holder, acquired_at=now, expires_at=now + self.ttl),
            )
            if taken:
                return True
            insert_ignore(
                session,
                Lock,
                {"name": self.name, "holder": self.holder, "acquired_at": now, "expires_at": now + self.ttl},
                ["name"],
            )
        return self.current_holder() == self.holder

    def renew(self, now: datetime | None = None) -> bool:
        """Extend our lease; False when it expired and someone else took it."""
        now = now or utcnow()
        with self.store.session() as session:
            return bool(
                rows_changed(
                    session,
                    update(Lock)
                    .where(Lock.name == self.name, Lock.holder == self.holder)
                    .values(expires_at=now + self.ttl),
                )
            )

    def release(self) -> None:
        with self.store.session() as session:
            session.execute(delete(Lock).where(Lock.name == self.name, Lock.holder == self.holder))

    def current_holder(self) -> str | None:
        with self.store.session() as session:
            lock = session.get(Lock, self.name)
            return lock.holder if lock is not None else None
