"""The outbox drainer: the one place that records what happened around a provider call.

queued -> sending (claimed by a conditional UPDATE, committed) -> provider call -> sent / failed / unknown.
A row found in `sending` that nobody is working on becomes `unknown` and is reconciled against the provider's
list of messages to that number; it is never resent blindly.

Several senders may drain one PostgreSQL database at once (rows are claimed with FOR UPDATE SKIP LOCKED plus the
conditional UPDATE). On SQLite one sender at a time holds the `sender` lease; a second one returns at once.

On PostgreSQL a message costs two statements, each committing by itself on a connection the drain holds: the claim
with its checks (messaging.outbox.claim), and the answer with its audit event (audit.record_change).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from messaging.channels.base import Channel, Outbound, SendError
from messaging.outbox.claim import Claim, ClaimedRow
from messaging.outbox.delivery import Notify, active_pause, apply_status, error_consequence, log_notify, pause_sending
from messaging.outbox.ports import StopList
from messaging.outbox.send_policy import Pacer, SendWindow, backoff_seconds
from messaging.twilio_codes import Outcome
from outreach import audit
from outreach.audit_events import Event
from outreach.crypto import PhoneVault
from outreach.errors import OutreachError
from outreach.settings import SendingSettings
from outreach.store.db import Store, rows_changed
from outreach.store.locks import Lease
from outreach.store.models import Message, Person
from outreach.store.states import IN_DOUBT, LEFT_US, Direction, MessageStatus
from outreach.store.types import utcnow

logger = logging.getLogger(__name__)


# The answer recorded: sending -> sent, unless a status callback moved the row first. One statement for every outbox:
# on PostgreSQL audit.record_change caches its statement with the audit event per change statement, and an outbox's
# own (one per cycle) filled that cache, 16 entries of some 400 objects each (bench/scheduler_day.py).
_SENT = (
    update(Message)
    .where(Message.id == bindparam("sent_id"), Message.status == MessageStatus.SENDING)
    .values(
        status=MessageStatus.SENT,
        provider_sid=bindparam("sent_sid"),
        provider_status=bindparam("sent_status"),
        sent_at=bindparam("sent_time"),
        updated_at=bindparam("sent_time"),
        dry_run=bindparam("sent_dry"),
        sent_by=bindparam("sent_by"),
    )
    .returning(Message.id)
    .execution_options(synchronize_session=False)  # no loaded message to keep in step
)


class SendingHalted(OutreachError):
    """Sending cannot go on until a person fixes something (configuration, account)."""


class Stop(StrEnum):
    """Why a drain stopped before the outbox was empty."""

    WINDOW = "outside the send window"
    DAILY_CAP = "daily cap reached"
    CYCLE_CAP = "per-cycle cap reached"
    PAUSED = "sending is paused"
    OTHER_SENDER = "another sender is draining this SQLite database"
    RATE_LIMITED = "the provider keeps rate-limiting us"
    LEASE_LOST = "the sender lease was lost"
    SHUTDOWN = "the process is shutting down"
    PROVIDER_FAILING = "the provider keeps failing"


# Outcomes that say something about one recipient (a run of them is no outage), or that stop sending their own way
# (rate limit, configuration, spam filter).
_NOT_AN_OUTAGE = frozenset(
    {
        Outcome.OPT_OUT,
        Outcome.INVALID_NUMBER,
        Outcome.WHATSAPP_WINDOW,
        Outcome.NOT_WHATSAPP,
        Outcome.RATE_LIMITED,
        Outcome.CONFIG,
        Outcome.SPAM_FILTERED,
    }
)


class Breaker:
    """Counts sends in a row that failed the same way. An unreachable provider fails every message alike; trying
    each queued message would leave them all in doubt (and print a line each) while the run reported success."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.kind: tuple[object, ...] | None = None
        self.count = 0

    def succeeded(self) -> None:
        self.kind, self.count = None, 0

    def failed(self, exc: SendError) -> bool:
        """Record a failure; True when the breaker opens (this failure completes the run)."""
        if exc.outcome in _NOT_AN_OUTAGE:
            self.succeeded()  # the provider answered
            return False
        # The exception's class matters for errors without a code: a timeout and a refused connection differ.
        kind = (exc.outcome, exc.code, exc.maybe_sent, exc.reason if exc.code is None else None)
        self.count = self.count + 1 if kind == self.kind else 1
        self.kind = kind
        return self.count >= self.threshold

    @property
    def open(self) -> bool:
        return self.count >= self.threshold


@dataclass(frozen=True)
class Claimed:
    message_id: int
    channel: str
    language: str | None
    outbound: Outbound | None  # None: the claim ended without a send (cancelled, invalid number)
    mode: str | None = None  # auto / approve / assist / manual, for the audit log
    approved_by: str | None = None


@dataclass
class DrainReport:
    sent: Counter[str] = field(default_factory=Counter)  # by language
    failed: int = 0
    cancelled: int = 0
    unknown: int = 0  # went in doubt in this drain and still are at its end
    reconciled: int = 0
    reconciled_sent: int = 0  # of those, found at the provider: sent after all
    retried: int = 0
    fell_back: int = 0
    stopped: Stop | None = None
    detail: str = ""
    left_queued: int = 0  # messages still queued when the drain stopped early
    went_unknown: set[int] = field(default_factory=set)  # ids that went in doubt in this drain

    @property
    def failed_run(self) -> bool:
        """A drain the operator must hear about: the provider failed, so the rest of the outbox was not tried."""
        return self.stopped is Stop.PROVIDER_FAILING


class Outbox:
    def __init__(
        self,
        store: Store,
        vault: PhoneVault,
        channels: Channel | Mapping[str, Channel],
        actor: str,
        *,
        stops: StopList,
        sending: SendingSettings | None = None,
        callback_url: Callable[[int], str | None] = lambda message_id: None,
        notify: Notify = log_notify,
        sms_fallback: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = utcnow,
        stop: threading.Event | None = None,
        senders: Mapping[str, str] | None = None,
        organisation: str | None = None,
    ) -> None:
        self.store = store
        # One organisation's cycle drains only that organisation's messages (several organisations, each on its
        # own schedule); None: every queued message.
        self.organisation = organisation
        self.senders = senders or {}  # organisation -> its number or Messaging Service (several organisations)
        self.vault = vault
        self.channels: Mapping[str, Channel] = channels if isinstance(channels, Mapping) else {"sms": channels}
        self.actor = actor
        self.stops = stops
        self.sending = sending or SendingSettings()
        self.window = SendWindow.from_settings(self.sending)
        self.callback_url = callback_url
        self.notify = notify
        self.sms_fallback = sms_fallback
        self.rng = rng or random.Random()
        # The clocks and the sleep are passed in, so tests drive time instead of patching it.
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self.pacer = Pacer(self.sending.per_second, monotonic=monotonic, sleep=sleep)
        self.stop = stop  # set by a SIGTERM handler: finish the current message, then stop
        self.breaker = Breaker(self.sending.breaker_failures)
        # PostgreSQL, during a drain: two connections held for it (no checkout and pre-ping per transaction), one in
        # autocommit for the one-statement claims, one for the transactions.
        self._claims: Connection | None = None
        self._writes: Connection | None = None
        oldest = (
            select(Message.id)
            .where(*self._queued())
            .order_by(Message.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        self._claims_oldest = Claim([Message.id == oldest, Message.status == MessageStatus.QUEUED], stops)
        self._claims_given = Claim(
            [Message.id == bindparam("claim_id"), Message.status == bindparam("claim_expected")], stops
        )

    @property
    def dry_run(self) -> bool:
        return all(channel.dry_run for channel in self.channels.values())

    def close(self) -> None:
        """Release the channels' connections to the provider; whoever made the outbox closes it when done."""
        for channel in self.channels.values():
            channel.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """One transaction, on the drain's own connection while it holds one."""
        if self._writes is None:
            with self.store.session() as session:
                yield session
            return
        with Session(bind=self._writes, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _held_connections(self) -> Iterator[None]:
        if self.store.engine.dialect.name != "postgresql" or self._writes is not None:
            yield
            return
        with self.store.engine.connect() as writes, self.store.engine.connect() as claims:
            self._writes, self._claims = writes, claims.execution_options(isolation_level="AUTOCOMMIT")
            try:
                yield
            finally:
                self._writes = self._claims = None

    # -- draining ------------------------------------------------------------------------------------------------

    def drain(
        self,
        limit: int | None = None,
        now: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> DrainReport:
        """Send what is queued within the policy. progress: called with the number of messages handled so far and
        the number this drain may handle (counted after the in-doubt messages of earlier runs were requeued)."""
        report = DrainReport()
        self.breaker.succeeded()
        lease = None
        if self.store.engine.dialect.name == "sqlite":
            lease = Lease(self.store, "sender", timedelta(minutes=self.sending.stale_claim_minutes))
            if not lease.acquire(now):
                report.stopped = Stop.OTHER_SENDER
                return report
        try:
            with self._held_connections():
                self._drain(report, lease, limit, now, progress)
        finally:
            if lease is not None:
                lease.release()
        if report.failed_run:
            logger.error("sending stopped: %s", report.detail)
        elif report.stopped is not None:
            logger.info("sending stopped: %s %s", report.stopped.value, report.detail)
        return report

    def _drain(
        self,
        report: DrainReport,
        lease: Lease | None,
        limit: int | None,
        now: datetime | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        handled = 0
        self.recover_stale(now or self._clock(), report)
        cycle_left = self.sending.cycle_cap if limit is None else min(limit, self.sending.cycle_cap)
        daily_left = self._daily_left(now or self._clock())
        budget = min(cycle_left, daily_left)
        total = min(budget, self._queued_count())
        if progress is not None:
            progress(0, total)
        next_check = 0.0
        while budget > 0:
            if self.stop is not None and self.stop.is_set():
                report.stopped = Stop.SHUTDOWN
                break
            # The pause flag and the lease are database reads: once a second is soon enough, and keeps the
            # per-message cost to the claim and the record (on PostgreSQL one statement each).
            if self._monotonic() >= next_check:
                if self._paused(report) or (lease is not None and not self._renewed(lease, report)):
                    break
                next_check = self._monotonic() + 1.0
            if not self.dry_run and not self.window.is_open(now or self._clock()):
                report.stopped = Stop.WINDOW
                break
            # Pace before claiming, never between the claim and the call: a claimed message waiting for its
            # turn would miss an opt-out that arrives meanwhile (the claim is the last opt-out check).
            self.pacer.wait()
            claimed = self._claim_next(report, now)
            if claimed is None:
                break
            if claimed.outbound is not None:
                self._send(claimed, report)
            budget -= 1
            handled += 1
            if progress is not None:
                progress(handled, max(total, handled))
            if self.breaker.open:
                report.stopped = Stop.PROVIDER_FAILING
                break
        if budget <= 0 and report.stopped is None and self._has_queued():
            report.stopped = Stop.DAILY_CAP if daily_left < cycle_left else Stop.CYCLE_CAP
        # Messages that went `unknown` in this drain are reconciled now rather than at the next cycle; not
        # when the provider just failed us repeatedly: asking it would fail too, each after a timeout.
        if not self.breaker.open:
            self._reconcile_all(report)
        if report.stopped is not None:
            report.left_queued = self._queued_count()

    def _daily_left(self, now: datetime) -> int:
        """Sends left today (local day) under the daily cap, all senders together, counted at the drain's start."""
        with self._session() as session:
            today = session.execute(
                select(func.count(Message.id)).where(
                    Message.direction == Direction.OUT,
                    Message.dry_run.is_(self.dry_run),
                    or_(Message.sent_at >= self.window.day_start(now), Message.status.in_(IN_DOUBT)),
                    Message.status.in_(LEFT_US),
                )
            ).scalar_one()
        return max(self.sending.daily_cap - today, 0)

    def _paused(self, report: DrainReport) -> bool:
        with self._session() as session:
            pause = active_pause(session)
        if pause is not None:
            report.stopped, report.detail = Stop.PAUSED, pause.reason
        return pause is not None

    @staticmethod
    def _renewed(lease: Lease, report: DrainReport) -> bool:
        if not lease.renew():
            report.stopped = Stop.LEASE_LOST
            return False
        return True

    def _queued(self) -> list[ColumnElement[bool]]:
        """The conditions of a message this outbox may claim."""
        conditions = [Message.status == MessageStatus.QUEUED, Message.direction == Direction.OUT]
        if self.organisation is not None:
            # A message with no organisation (queued before organisations were configured, or an answer to
            # someone no organisation wrote to) is any organisation's to send, from the shared number; otherwise
            # no scheduled cycle would ever send it.
            conditions.append(or_(Message.organisation == self.organisation, Message.organisation.is_(None)))
        return conditions

    def _has_queued(self) -> bool:
        with self._session() as session:
            return session.execute(select(Message.id).where(*self._queued()).limit(1)).first() is not None

    def _queued_count(self) -> int:
        with self._session() as session:
            return int(session.execute(select(func.count(Message.id)).where(*self._queued())).scalar_one())

    def _claim_next(self, report: DrainReport, now: datetime | None) -> Claimed | None:
        """queued -> sending for the oldest queued message, with the last checks and what to send.

        UPDATE ... WHERE id = (oldest queued of this outbox's organisation, if it has one, FOR UPDATE SKIP LOCKED on
        PostgreSQL) AND status = 'queued' RETURNING ... (messaging.outbox.claim). SKIP LOCKED keeps concurrent
        senders off each other's rows; the status condition is what guarantees that no row is claimed twice."""
        while True:
            row = self._claim_row(self._claims_oldest)
            if row is not None:
                return self._checked(row, report, now)
            if not self._has_queued():
                return None
            # another sender took the oldest between our subquery and update: look for the next one

    def _claim_row(self, claim: Claim, **params: Any) -> ClaimedRow | None:
        if self._claims is not None:
            return claim.on_postgres(self._claims, self._clock(), **params)
        with self._session() as session:
            if session.get_bind().dialect.name == "postgresql":  # send_one, outside a drain
                return claim.on_postgres(session.connection(), self._clock(), **params)
            return claim.in_transaction(session, self._clock(), **params)

    def send_one(self, message_id: int, *, expected: MessageStatus = MessageStatus.QUEUED) -> DrainReport:
        """Send one given message now (assist mode, a fieldworker's reply); same claim, same recording."""
        report = DrainReport()
        with self._session() as session:
            pause = active_pause(session)
        if pause is not None:
            raise SendingHalted(f"sending is paused: {pause.reason} (resume: outreach send --resume)")
        row = self._claim_row(self._claims_given, claim_id=message_id, claim_expected=expected)
        if row is None:
            raise OutreachError(f"message {message_id} is not {expected}: someone else handled it")
        # No audit event for the claim itself: `message.sent` / `failed` / `unknown` follows it, and a claim whose
        # sender died is audited when it is reconciled.
        claimed = self._checked(row, report, None)
        if claimed.outbound is not None:
            self._send(claimed, report)
        self._reconcile_all(report)
        return report

    # -- one send --------------------------------------------------------------------------------------------

    def _checked(self, row: ClaimedRow, report: DrainReport, now: datetime | None) -> Claimed:
        """The claim's last checks, and the provider request. No outbound: the claim ended without a send."""
        refusal = row.refusal()
        if refusal is not None:
            self._end_claim(row.message_id, *refusal, report)
            return Claimed(row.message_id, row.channel, row.language, None)
        assert row.phone_encrypted is not None
        outbound = Outbound(
            to=self.vault.decrypt(row.phone_encrypted),
            body=row.body,
            status_callback=self.callback_url(row.message_id),
            validity_seconds=self.window.validity_seconds(now or self._clock()),
            content_sid=row.content_sid,
            content_variables={k: str(v) for k, v in (row.content_variables or {}).items()},
            sender=self.senders.get(row.organisation or "", "") if row.channel == "sms" else "",
        )
        return Claimed(row.message_id, row.channel, row.language, outbound, row.mode, row.approved_by)

    def _end_claim(self, message_id: int, status: MessageStatus, reason: str, report: DrainReport) -> None:
        with self._session() as session:
            ended = rows_changed(
                session,
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.SENDING)
                .values(status=status, error_message=reason, updated_at=self._clock()),
            )
            if ended:
                audit.record(session, Event.claim_ended(status), self.actor, message_id=message_id, reason=reason)
        if status == MessageStatus.CANCELLED:
            report.cancelled += 1
        else:
            report.failed += 1

    def _send(self, claimed: Claimed, report: DrainReport) -> None:
        message_id, channel_name, language, outbound = (
            claimed.message_id,
            claimed.channel,
            claimed.language,
            claimed.outbound,
        )
        assert outbound is not None
        channel = self.channels.get(channel_name)
        if channel is None:
            self._record_failure(
                message_id, SendError(f"channel {channel_name} is not configured", outcome=Outcome.CONFIG), report
            )
            return
        attempt = 0
        while True:
            try:
                result = channel.send(outbound)
                self.pacer.sent()
                break
            except SendError as exc:
                if exc.outcome is Outcome.RATE_LIMITED and not exc.maybe_sent and attempt < self.sending.retry_attempts:
                    # Not accepted, so safe to try again, after a jittered wait.
                    self._sleep(exc.retry_after or backoff_seconds(attempt, self.sending.retry_max_seconds, self.rng))
                    attempt += 1
                    report.retried += 1
                    continue
                self.pacer.sent()
                self._record_failure(message_id, exc, report)
                return
        self.breaker.succeeded()
        now_ = self._clock()

        def fields(moved: bool) -> dict[str, object]:
            return {
                "message_id": message_id,
                "provider_sid": result.provider_sid,
                "channel": channel_name,
                "mode": claimed.mode,
                "approved_by": claimed.approved_by,
                "dry_run": channel.dry_run,
                "late": not moved,  # a status callback got here first
                "rate_limited": attempt,  # 429 answers retried before this send: each refusal stays on record
            }

        values = {
            "sent_id": message_id,
            "sent_sid": result.provider_sid,
            "sent_status": result.status,
            "sent_time": now_,
            "sent_dry": channel.dry_run,
            "sent_by": self.actor,
        }
        if self._claims is not None:
            # PostgreSQL, in a drain: the answer and its audit event in one statement that commits by itself.
            audit.record_change(self._claims, _SENT, values, Event.MESSAGE_SENT, self.actor, fields)
        else:
            with self._session() as session:
                moved = bool(session.execute(_SENT, values).first())
                audit.record(session, Event.MESSAGE_SENT, self.actor, **fields(moved))
        report.sent[language or "?"] += 1
        if channel.dry_run:
            logger.info("DRY RUN: message %s not sent to the provider", message_id)

    def _record_failure(self, message_id: int, exc: SendError, report: DrainReport) -> None:
        """Record what the provider said; the outcome decides what happens to the message, person and sending."""
        status: MessageStatus
        values: dict[str, object]
        if exc.maybe_sent:
            status, values = MessageStatus.UNKNOWN, {}
        elif exc.outcome in (Outcome.RATE_LIMITED, Outcome.CONFIG):
            # never reached the provider: it may go later
            status, values = MessageStatus.QUEUED, {"claimed_at": None}
        elif exc.outcome in (Outcome.WHATSAPP_WINDOW, Outcome.NOT_WHATSAPP) and self._can_fall_back(message_id):
            status, values = MessageStatus.QUEUED, {"claimed_at": None, "channel": "sms", "content_sid": None}
            report.fell_back += 1
        else:
            status, values = MessageStatus.FAILED, {}
        with self._session() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.SENDING)
                .values(
                    status=status,
                    error_code=exc.code,
                    error_message=exc.reason[:500],
                    updated_at=self._clock(),
                    **values,
                )
            )
            audit.record(
                session,
                Event.claim_ended(status),
                self.actor,
                message_id=message_id,
                code=exc.code,
                outcome=exc.outcome.value,
                reason=exc.reason[:200],
            )
            message = session.get(Message, message_id)
            assert message is not None
            if status == MessageStatus.FAILED:
                error_consequence(session, message, exc.code, actor=self.actor, notify=self.notify, stops=self.stops)
            if exc.outcome is Outcome.CONFIG:
                audit.record(session, Event.SENDING_HALTED, self.actor, code=exc.code, reason=exc.reason[:200])
        if status == MessageStatus.UNKNOWN:
            report.unknown += 1
            report.went_unknown.add(message_id)
        elif status == MessageStatus.FAILED:
            report.failed += 1
        logger.warning("message %s %s: %s", message_id, status, exc.reason)
        if self.breaker.failed(exc):
            report.detail = (
                f"{self.breaker.count} sends in a row failed the same way ({exc.reason}); the rest stays queued"
            )
        if exc.outcome is Outcome.CONFIG:
            raise SendingHalted(f"sending halted: {exc.reason}; fix the configuration, then run: outreach send")
        if exc.outcome is Outcome.RATE_LIMITED:
            report.stopped = Stop.RATE_LIMITED
        if exc.outcome is Outcome.SPAM_FILTERED:
            with self._session() as session:
                pause_sending(session, exc.reason, exc.code, self.actor, self.notify)

    def _can_fall_back(self, message_id: int) -> bool:
        if not self.sms_fallback or "sms" not in self.channels:
            return False
        with self._session() as session:
            message = session.get(Message, message_id)
            return message is not None and message.channel != "sms" and bool(message.body)

    # -- recovery ------------------------------------------------------------------------------------------------

    def recover_stale(self, now: datetime, report: DrainReport) -> None:
        """`sending` rows claimed long ago (their sender died) become `unknown`; `unknown` rows are reconciled."""
        stale_before = now - timedelta(minutes=self.sending.stale_claim_minutes)
        with self._session() as session:
            stale = (
                session.execute(
                    update(Message)
                    .where(Message.status == MessageStatus.SENDING, Message.claimed_at < stale_before)
                    .values(status=MessageStatus.UNKNOWN, updated_at=now)
                    .returning(Message.id)
                )
                .scalars()
                .all()
            )
            for message_id in stale:
                audit.record(session, Event.MESSAGE_UNKNOWN, self.actor, message_id=message_id, reason="stale claim")
        self._reconcile_all(report)

    def _reconcile_all(self, report: DrainReport) -> None:
        with self._session() as session:
            unknown = session.execute(select(Message.id).where(Message.status == MessageStatus.UNKNOWN)).scalars().all()
        unanswered = 0
        for message_id in unknown:
            unanswered = 0 if self.reconcile(message_id, report) else unanswered + 1
            if unanswered >= self.breaker.threshold:
                # The provider is down: the rest stays `unknown` for the next drain, not a timeout each now.
                logger.warning("reconciling stopped: %s lookups in a row failed", unanswered)
                return

    def reconcile(self, message_id: int, report: DrainReport) -> bool:
        """Ask the provider what it holds for this number since the claim: sent, or queued again. False: the
        provider could not be asked (the message stays `unknown`)."""
        with self._session() as session:
            message = session.get(Message, message_id)
            if message is None or message.status != MessageStatus.UNKNOWN or message.person_id is None:
                return True
            channel = self.channels.get(message.channel)
            person = session.get(Person, message.person_id)
            assert person is not None
            to = self.vault.decrypt(person.phone_encrypted)
            since = (message.claimed_at or message.created_at) - timedelta(minutes=1)
            body = message.body
        if channel is None:
            return True
        try:
            candidates = channel.sent_to(to, since)
        except Exception as exc:
            # The provider is unreachable: the message stays `unknown` and is tried at the next drain.
            logger.warning("reconciling message %s failed: %s", message_id, exc.__class__.__name__)
            return False
        with self._session() as session:
            known = set(
                session.execute(
                    select(Message.provider_sid).where(Message.provider_sid.in_([c.provider_sid for c in candidates]))
                ).scalars()
            )
            # Twilio filters DateSent by day only: narrow to the claim here.
            match = next(
                (
                    c
                    for c in candidates
                    if c.body == body and c.provider_sid not in known and (c.created is None or c.created >= since)
                ),
                None,
            )
            values = (
                {
                    "status": MessageStatus.SENT,
                    "provider_sid": match.provider_sid,
                    "sent_at": match.created or self._clock(),
                }
                if match
                else {"status": MessageStatus.QUEUED, "claimed_at": None}
            )
            moved = rows_changed(
                session,
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.UNKNOWN)
                .values(updated_at=self._clock(), **values),
            )
            if moved:
                audit.record(
                    session,
                    Event.MESSAGE_RECONCILED,
                    self.actor,
                    message_id=message_id,
                    result=values["status"],
                    provider_sid=match.provider_sid if match else None,
                )
        if moved:
            report.reconciled += 1
            if message_id in report.went_unknown:
                report.unknown -= 1  # no longer in doubt: the table must not count it twice
            if match:
                report.reconciled_sent += 1
        return True

    def refresh_statuses(self) -> Counter[str]:
        """Ask the provider for the state of sent messages (when no status callback can reach us)."""
        changed: Counter[str] = Counter()
        with self._session() as session:
            pending = session.execute(
                select(Message.id, Message.provider_sid, Message.channel).where(
                    Message.status == MessageStatus.SENT, Message.dry_run.is_(False), Message.provider_sid.is_not(None)
                )
            ).all()
        for message_id, sid, channel_name in pending:
            channel = self.channels.get(channel_name)
            if channel is None or channel.dry_run or sid is None:
                continue
            try:
                remote = channel.fetch(sid)
            except Exception as exc:
                logger.warning("status of message %s unavailable: %s", message_id, exc.__class__.__name__)
                continue
            with self._session() as session:
                change = apply_status(
                    session,
                    message_id,
                    remote.status,
                    remote.error_code,
                    actor=self.actor,
                    notify=self.notify,
                    stops=self.stops,
                )
            if change is not None:
                changed[change.after] += 1
        return changed
