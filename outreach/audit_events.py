"""Every name an audit event can have, in one registry: `audit.record` takes an `Event`, never a string.

The stored names are these strings exactly and must never change: the hash chain covers them, so a renamed event
would make every existing database fail `outreach audit verify`. A name that depends on a state is looked up in an
explicit table below (never built with an f-string), so each name that can ever be written is listed here.
(`outreach.store.models.AuditEvent` is the table the events are written to.)
"""

from __future__ import annotations

from enum import StrEnum

from outreach.store.states import MessageStatus, StopKind


class Event(StrEnum):
    # messages: the outbox and what people do with it
    MESSAGE_QUEUED = "message.queued"
    MESSAGE_DRAFTED = "message.drafted"  # approve and assist modes: queued only when a person approves
    MESSAGE_RESEND = "message.resend"
    MESSAGE_APPROVED = "message.approved"
    MESSAGE_REJECTED = "message.rejected"
    MESSAGE_EDITED = "message.edited"
    MESSAGE_SENT = "message.sent"
    MESSAGE_CANCELLED = "message.cancelled"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_UNKNOWN = "message.unknown"
    MESSAGE_REQUEUED = "message.requeued"  # the provider never got it (rate limit, configuration, fallback to SMS)
    MESSAGE_RECONCILED = "message.reconciled"
    MESSAGE_STATUS = "message.status"  # a provider status, from a callback or from polling
    MESSAGE_RECEIVED = "message.received"
    CONVERSATION_HANDLED = "conversation.handled"
    # sending as a whole
    SENDING_PAUSED = "sending.paused"
    SENDING_RESUMED = "sending.resumed"
    SENDING_HALTED = "sending.halted"
    # opt-outs and blocks, each way
    PERSON_OPT_OUT = "person.opt_out"
    PERSON_BLOCK = "person.block"
    PERSON_UN_OPT_OUT = "person.un_opt_out"
    PERSON_UN_BLOCK = "person.un_block"
    # the cycle and the crawl
    CYCLE_STARTED = "cycle.started"
    CYCLE_FINISHED = "cycle.finished"
    CRAWL_STARTED = "crawl.started"
    CRAWL_FINISHED = "crawl.finished"
    REVIEW_APPROVED = "review.approved"
    REVIEW_REJECTED = "review.rejected"
    REVIEW_REOPENED = "review.reopened"  # a decided advert changed: it waits for a person again
    ADVERT_LANGUAGE = "advert.language"
    # personal data: who saw or took it, and what was removed
    NUMBERS_REVEALED = "numbers.revealed"
    NUMBER_SEARCHED = "number.searched"  # a person looked up by number (found or not; never the number)
    LOG_EXPORTED = "log.exported"
    CONTACT_LOG_EXPORTED = "contact_log.exported"
    REPORT_MADE = "report.made"  # a quarterly report (counts only), by the CLI or the dashboard
    # cases: a fieldworker's conversation with one person (outreach.people.cases)
    CASE_OPENED = "case.opened"
    CASE_REOPENED = "case.reopened"
    CASE_CLOSED = "case.closed"
    CASE_ASSIGNED = "case.assigned"
    CASE_LABELLED = "case.labelled"
    CASE_NOTE_ADDED = "case.note_added"
    CASE_ESCALATED = "case.escalated"  # waited longer than cases.escalate_after_minutes: supervisors told
    BLOCKLIST_EXPORTED = "blocklist.exported"
    SUBJECT_EXPORTED = "subject.exported"
    SUBJECT_ERASED = "subject.erased"
    RETENTION_PURGED = "retention.purged"
    KEYS_ROTATED = "keys.rotated"
    AUDIT_VERIFIED = "audit.verified"  # a full verification of this chain and its result (a checkpoint)
    # dashboard users
    USER_ADDED = "user.added"
    USER_LOGGED_IN = "user.logged_in"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 (an event name) a one-time password by `user passwd`
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 (an event name) chosen by the user at log-in

    @classmethod
    def stopped(cls, kind: StopKind) -> Event:
        """A person opted out or was blocked."""
        return _STOPPED[kind]

    @classmethod
    def unstopped(cls, kind: StopKind) -> Event:
        """An opt-out or block was lifted."""
        return _UNSTOPPED[kind]

    @classmethod
    def claim_ended(cls, status: MessageStatus) -> Event:
        """A sender's claimed message went to `status` without the provider accepting it: cancelled or failed at
        the last check before the call, or unknown, failed or queued again after it."""
        return _CLAIM_ENDED[status]


_STOPPED = {StopKind.OPT_OUT: Event.PERSON_OPT_OUT, StopKind.BLOCK: Event.PERSON_BLOCK}
_UNSTOPPED = {StopKind.OPT_OUT: Event.PERSON_UN_OPT_OUT, StopKind.BLOCK: Event.PERSON_UN_BLOCK}
_CLAIM_ENDED = {
    MessageStatus.CANCELLED: Event.MESSAGE_CANCELLED,
    MessageStatus.FAILED: Event.MESSAGE_FAILED,
    MessageStatus.UNKNOWN: Event.MESSAGE_UNKNOWN,
    MessageStatus.QUEUED: Event.MESSAGE_REQUEUED,
}
