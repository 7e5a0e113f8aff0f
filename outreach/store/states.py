"""The store's words for where a message is, what it is, why a person is never contacted and how a crawl run
ended: each a StrEnum, with the groupings of states that the outbox, selection and reports share.

A StrEnum member is its string (`MessageStatus.SENT == "sent"`, same hash), so the stored values and the CHECK
constraints built from these enums are exactly the strings they always were: no migration, and rows read back as
plain strings compare equal to the members. See ARCHITECTURE.md for the outbound state machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class MessageStatus(StrEnum):
    """Where a message is. Member order is the order of the CHECK constraint on messages.status."""

    DRAFT = "draft"  # waits for a person (approve and assist modes)
    QUEUED = "queued"
    SENDING = "sending"  # claimed by one sender; the provider call may be under way
    UNKNOWN = "unknown"  # the sender died between the call and recording its answer: reconciled, never resent
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"  # an opt-out, block, reply or rejection arrived before it was sent
    RECEIVED = "received"  # the one state of an inbound message


class MessageKind(StrEnum):
    """What a message is. Outbound kinds say who decided to send it; an inbound message's kind is what it asked for
    (messaging.intents.Intent, in the store's words). `reply` is both: a fieldworker's answer, or a person's."""

    FIRST_CONTACT = "first_contact"  # the cycle's first message to a person in a contact round
    REMINDER = "reminder"  # the one reminder after a first contact without a reply
    RESEND = "resend"  # a fieldworker sends a message again by hand
    REPLY = "reply"  # out: a fieldworker's answer; in: a message that is not a keyword
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"  # the one message an opted-out person may still get
    OPT_OUT = "opt_out"  # in: a STOP keyword
    OPT_IN = "opt_in"  # in: a START keyword
    POSSIBLE_OPT_OUT = "possible_opt_out"  # in: a longer message with a strong opt-out word in it


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


class StopKind(StrEnum):
    """Why a person is never contacted (the opt_outs table): different states, one table, one function each way."""

    OPT_OUT = "opt_out"  # the person asked
    BLOCK = "block"  # a fieldworker decided


class CaseStatus(StrEnum):
    """A conversation with one person in one organisation, as a fieldworker works it."""

    OPEN = "open"
    CLOSED = "closed"


class CrawlRunStatus(StrEnum):
    """How a crawl run (crawl_runs.status) ended; a different thing from a message's status, though `failed` is
    spelled the same."""

    RUNNING = "running"
    OK = "ok"
    DEGRADED = "degraded"  # finished, but a site's crawl lost adverts or fields (crawler/health.py)
    FAILED = "failed"


# -- groupings of message states ---------------------------------------------------------------------------------

# Not finished and not known to have left us: a person with such an outbound message gets no other one
# (selection), and `outreach status` counts them, in this order.
WAITING: tuple[MessageStatus, ...] = (
    MessageStatus.QUEUED,
    MessageStatus.DRAFT,
    MessageStatus.SENDING,
    MessageStatus.UNKNOWN,
)

# Not yet claimed by a sender: an opt-out, a block or the person's reply can still cancel these.
PENDING: tuple[MessageStatus, ...] = (MessageStatus.DRAFT, MessageStatus.QUEUED)

# Claimed, and the provider may have it: the daily cap counts these whenever they were claimed.
IN_DOUBT: tuple[MessageStatus, ...] = (MessageStatus.SENDING, MessageStatus.UNKNOWN)

# Left us, or may have: what the daily cap counts as a send and the reports count as a contact. `failed` is not
# among them, as the cap and the reports have always counted.
LEFT_US: tuple[MessageStatus, ...] = (
    *IN_DOUBT,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
)

# The provider accepted it: a reminder counts from a first contact in one of these states.
WENT_OUT: tuple[MessageStatus, ...] = (MessageStatus.SENT, MessageStatus.DELIVERED)

# Never sent, or not yet: the dashboard's chart of messages per day leaves these out.
NOT_SENT: tuple[MessageStatus, ...] = (MessageStatus.DRAFT, MessageStatus.CANCELLED)

# Nothing moves a message out of these any more.
FINAL: tuple[MessageStatus, ...] = (
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
    MessageStatus.RECEIVED,
)

# Forward only: a provider status is applied only when it ranks above the message's current one, so duplicate and
# out-of-order status callbacks change nothing (messaging.outbox.delivery). `received` is not outbound: no rank.
RANK: Mapping[MessageStatus, int] = MappingProxyType(
    {
        MessageStatus.DRAFT: 0,
        MessageStatus.QUEUED: 0,
        MessageStatus.SENDING: 1,
        MessageStatus.UNKNOWN: 1,
        MessageStatus.SENT: 2,
        MessageStatus.DELIVERED: 3,
        MessageStatus.UNDELIVERED: 3,
        MessageStatus.FAILED: 3,
        MessageStatus.CANCELLED: 3,
    }
)

# -- groupings of message kinds ----------------------------------------------------------------------------------

# What the cycles send on their own: each must say how to stop (templates check), a person's reply cancels those
# still pending, and the reports count a person under the first of them.
CONTACTS: tuple[MessageKind, ...] = (MessageKind.FIRST_CONTACT, MessageKind.REMINDER)

# Inbound kinds that are a bare STOP or START keyword: not a reply in the reports.
KEYWORDS: tuple[MessageKind, ...] = (MessageKind.OPT_OUT, MessageKind.OPT_IN)
