"""The outbox drainer: the one place that records what happened around a provider call.

queued -> sending (claimed by a conditional UPDATE, committed) -> provider call -> sent / failed / unknown.
A row found in `sending` that nobody is working on becomes `unknown` and is reconciled against the provider's
list of messages to that number; it is never resent blindly.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update

from messaging.channels.base import Channel, SendError
from outreach import audit
from outreach.crypto import PhoneVault
from outreach.store.db import Store, rows_changed
from outreach.store.models import Message, OptOut, Person
from outreach.store.types import utcnow

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)
PROVIDER_STATES = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "scheduled": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "cancelled",
}


@dataclass
class DrainReport:
    sent: Counter[str] = field(default_factory=Counter)  # by language
    failed: int = 0
    cancelled: int = 0
    unknown: int = 0
    reconciled: int = 0


class Outbox:
    def __init__(self, store: Store, vault: PhoneVault, channel: Channel, actor: str) -> None:
        self.store = store
        self.vault = vault
        self.channel = channel
        self.actor = actor

    def drain(self, limit: int | None = None, now: datetime | None = None) -> DrainReport:
        report = DrainReport()
        self.recover_stale(now or utcnow(), report)
        done = 0
        while limit is None or done < limit:
            claimed = self._claim_next()
            if claimed is None:
                break
            self._send(claimed, report)
            done += 1
        return report

    def _claim_next(self) -> int | None:
        """queued -> sending for one message; the conditional UPDATE makes two senders never claim the same row."""
        while True:
            with self.store.session() as session:
                candidate = session.execute(
                    select(Message.id)
                    .where(Message.status == "queued", Message.direction == "out")
                    .order_by(Message.id)
                    .limit(1)
                ).scalar_one_or_none()
                if candidate is None:
                    return None
                now = utcnow()
                claimed = rows_changed(
                    session,
                    update(Message)
                    .where(Message.id == candidate, Message.status == "queued")
                    .values(status="sending", claimed_at=now, updated_at=now),
                )
                if claimed:
                    audit.record(session, "message.claimed", self.actor, message_id=candidate)
                    return candidate
            # another sender took it between our SELECT and UPDATE: look for the next one

    def _send(self, message_id: int, report: DrainReport) -> None:
        with self.store.session() as session:
            message = session.get(Message, message_id)
            assert message is not None and message.person_id is not None
            person = session.get(Person, message.person_id)
            assert person is not None
            stopped = session.execute(select(exists().where(OptOut.person_key == person.key))).scalar()
            if stopped:
                # Invariant 1: an opt-out or block that arrived after queuing still stops the message.
                message.status, message.updated_at = "cancelled", utcnow()
                audit.record(session, "message.cancelled", self.actor, message_id=message_id, reason="opted out")
                report.cancelled += 1
                return
            to, body, language = self.vault.decrypt(person.phone_encrypted), message.body, message.language
        try:
            result = self.channel.send(to, body)
        except SendError as exc:
            self._record_failure(message_id, exc, report)
            return
        with self.store.session() as session:
            now = utcnow()
            rows_changed(
                session,
                update(Message)
                .where(Message.id == message_id, Message.status == "sending")
                .values(
                    status="sent",
                    provider_sid=result.provider_sid,
                    sent_at=now,
                    updated_at=now,
                    dry_run=self.channel.dry_run,
                ),
            )
            audit.record(
                session,
                "message.sent",
                self.actor,
                message_id=message_id,
                provider_sid=result.provider_sid,
                dry_run=self.channel.dry_run,
            )
        report.sent[language or "?"] += 1
        if self.channel.dry_run:
            logger.info("DRY RUN: message %s not sent to the provider", message_id)

    def _record_failure(self, message_id: int, exc: SendError, report: DrainReport) -> None:
        status = "unknown" if exc.maybe_sent else "failed"
        with self.store.session() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "sending")
                .values(status=status, error_code=exc.code, error_message=exc.reason[:500], updated_at=utcnow())
            )
            audit.record(
                session,
                f"message.{status}",
                self.actor,
                message_id=message_id,
                code=exc.code,
                reason=exc.reason[:200],
                permanent=exc.permanent,
            )
        if status == "unknown":
            report.unknown += 1
        else:
            report.failed += 1
        logger.warning("message %s %s: %s", message_id, status, exc.reason)

    def recover_stale(self, now: datetime, report: DrainReport) -> None:
        """`sending` rows claimed long ago (their sender died) become `unknown`; `unknown` rows are reconciled."""
        with self.store.session() as session:
            stale = (
                session.execute(
                    update(Message)
                    .where(Message.status == "sending", Message.claimed_at < now - STALE_CLAIM)
                    .values(status="unknown", updated_at=now)
                    .returning(Message.id)
                )
                .scalars()
                .all()
            )
            for message_id in stale:
                audit.record(session, "message.unknown", self.actor, message_id=message_id, reason="stale claim")
            unknown = session.execute(select(Message.id).where(Message.status == "unknown")).scalars().all()
        for message_id in unknown:
            self.reconcile(message_id, report)

    def reconcile(self, message_id: int, report: DrainReport) -> None:
        """Ask the provider what it holds for this number since the claim: sent, or queued again."""
        with self.store.session() as session:
            message = session.get(Message, message_id)
            if message is None or message.status != "unknown" or message.person_id is None:
                return
            person = session.get(Person, message.person_id)
            assert person is not None
            to = self.vault.decrypt(person.phone_encrypted)
            since = (message.claimed_at or message.created_at) - timedelta(minutes=1)
            body = message.body
        try:
            candidates = self.channel.sent_to(to, since)
        except Exception as exc:
            logger.warning("reconciling message %s failed: %s", message_id, exc.__class__.__name__)
            return
        with self.store.session() as session:
            match = next(
                (
                    c
                    for c in candidates
                    if c.body == body
                    and not session.execute(select(exists().where(Message.provider_sid == c.provider_sid))).scalar()
                ),
                None,
            )
            values = (
                {"status": "sent", "provider_sid": match.provider_sid, "sent_at": match.created or utcnow()}
                if match
                else {"status": "queued", "claimed_at": None}
            )
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "unknown")
                .values(updated_at=utcnow(), **values)
            )
            audit.record(
                session,
                "message.reconciled",
                self.actor,
                message_id=message_id,
                result=values["status"],
                provider_sid=match.provider_sid if match else None,
            )
        report.reconciled += 1

    def refresh_statuses(self) -> Counter[str]:
        """Ask the provider for the state of sent messages (when no status callback can reach us)."""
        changed: Counter[str] = Counter()
        if self.channel.dry_run:
            return changed
        with self.store.session() as session:
            pending = session.execute(
                select(Message.id, Message.provider_sid).where(
                    Message.status == "sent", Message.dry_run.is_(False), Message.provider_sid.is_not(None)
                )
            ).all()
        for message_id, sid in pending:
            assert sid is not None
            try:
                remote = self.channel.fetch(sid)
            except Exception as exc:
                logger.warning("status of message %s unavailable: %s", message_id, exc.__class__.__name__)
                continue
            status = PROVIDER_STATES.get(remote.status, "sent")
            if status == "sent":
                continue
            with self.store.session() as session:
                moved = session.execute(
                    update(Message)
                    .where(Message.id == message_id, Message.status == "sent")
                    .values(status=status, error_code=remote.error_code, updated_at=utcnow())
                )
                if moved:
                    audit.record(
                        session,
                        "message.status",
                        self.actor,
                        message_id=message_id,
                        status=status,
                        code=remote.error_code,
                    )
                    changed[status] += 1
        return changed
