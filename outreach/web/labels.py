"""What the dashboard shows for a stored code (a message status, a message kind, an opt-out kind, a crawl's
health): one marked text per value, translated by the `label` filter. The codes themselves stay in links, forms
and CSV exports."""

from __future__ import annotations

from outreach.errors import N_
from outreach.store.states import CrawlRunStatus, Direction, MessageKind, MessageStatus, StopKind

LABELS: dict[str, str] = {
    MessageStatus.DRAFT: N_("draft"),
    MessageStatus.QUEUED: N_("queued"),
    MessageStatus.SENDING: N_("sending"),
    MessageStatus.UNKNOWN: N_("unknown (being checked)"),
    MessageStatus.SENT: N_("sent"),
    MessageStatus.DELIVERED: N_("delivered"),
    MessageStatus.UNDELIVERED: N_("undelivered"),
    MessageStatus.FAILED: N_("failed"),
    MessageStatus.CANCELLED: N_("cancelled"),
    MessageStatus.RECEIVED: N_("received"),
    MessageKind.FIRST_CONTACT: N_("first contact"),
    MessageKind.REMINDER: N_("reminder"),
    MessageKind.RESEND: N_("sent again"),
    MessageKind.REPLY: N_("reply"),
    MessageKind.OPT_OUT_CONFIRMATION: N_("opt-out confirmation"),
    MessageKind.OPT_OUT: N_("opt-out"),
    MessageKind.OPT_IN: N_("opt-in"),
    MessageKind.POSSIBLE_OPT_OUT: N_("possible opt-out"),
    StopKind.BLOCK: N_("block"),
    "sms": N_("SMS"),
    "whatsapp": N_("WhatsApp"),
    Direction.OUT: N_("sent by us"),
    Direction.IN: N_("received from the person"),
    CrawlRunStatus.RUNNING: N_("running"),
    CrawlRunStatus.OK: N_("ok"),
    CrawlRunStatus.DEGRADED: N_("degraded: adverts or fields were lost"),
    CrawlRunStatus.FAILED: N_("failed"),
}
