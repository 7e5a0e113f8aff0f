"""Why an advert was or was not messaged: one reason per advert and person, stored by every cycle
(outreach.targeting.selection), shown by `outreach show` and counted for `outreach stats`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.store.models import AdvertReason


class Reason(StrEnum):
    # What happened
    MESSAGED = "messaged"  # a first contact was queued (or drafted) this cycle
    REMINDED = "reminded"  # the one reminder was queued this cycle
    # Nothing to send to
    NO_NUMBER = "no_number"
    NOT_MOBILE = "not_mobile"
    # The organisation's policy (targeting:)
    OUT_OF_REGION = "out_of_region"
    NO_CITY = "no_city"
    WRONG_CATEGORY = "wrong_category"
    UNKNOWN_CATEGORY = "unknown_category"
    EXCLUDED_KEYWORD = "excluded_keyword"
    NO_INCLUDED_KEYWORD = "no_included_keyword"
    HELD = "held"
    REJECTED = "rejected"
    # The person
    OPTED_OUT = "opted_out"
    BLOCKED = "blocked"
    INVALID_NUMBER = "invalid_number"
    PAUSED = "paused"
    REPLIED = "replied"
    # The contact rhythm
    CONTACTED = "contacted"
    REMINDER_SENT = "reminder_sent"
    NOT_ADVERTISED_AGAIN = "not_advertised_again"
    OTHER_ADVERT = "other_advert"
    MESSAGE_WAITING = "message_waiting"
    # Several organisations: another organisation's cycle queued nothing for it; its own cycle will
    OTHER_ORGANISATION = "other_organisation"
    # The send policy, after the drain
    DAILY_CAP = "daily_cap"
    CYCLE_CAP = "cycle_cap"
    OUTSIDE_WINDOW = "outside_window"
    SENDING_PAUSED = "sending_paused"


LABELS = {
    Reason.MESSAGED: "first contact queued",
    Reason.REMINDED: "reminder queued",
    Reason.NO_NUMBER: "no number",
    Reason.NOT_MOBILE: "not a mobile number of a served country",
    Reason.OUT_OF_REGION: "out of region",
    Reason.NO_CITY: "no city",
    Reason.WRONG_CATEGORY: "category not served",
    Reason.UNKNOWN_CATEGORY: "unknown category",
    Reason.EXCLUDED_KEYWORD: "excluded keyword",
    Reason.NO_INCLUDED_KEYWORD: "none of the include keywords",
    Reason.HELD: "held for review",
    Reason.REJECTED: "rejected in review",
    Reason.OPTED_OUT: "opted out",
    Reason.BLOCKED: "blocked",
    Reason.INVALID_NUMBER: "number invalid (provider)",
    Reason.PAUSED: "paused",
    Reason.REPLIED: "replied: a fieldworker's conversation",
    Reason.CONTACTED: "contacted on",
    Reason.REMINDER_SENT: "reminder already sent on",
    Reason.NOT_ADVERTISED_AGAIN: "window over, but no new advert since the contact on",
    Reason.OTHER_ADVERT: "person messaged through advert",
    Reason.MESSAGE_WAITING: "a message is waiting (queued or draft)",
    Reason.OTHER_ORGANISATION: "waits for the cycle of organisation",
    Reason.DAILY_CAP: "daily cap reached",
    Reason.CYCLE_CAP: "cycle cap reached",
    Reason.OUTSIDE_WINDOW: "outside the send window",
    Reason.SENDING_PAUSED: "sending paused",
}


def describe(reason: str, detail: str | None) -> str:
    """ "contacted on 2026-11-20", "excluded keyword: agency"; unknown names (a newer version's) as they are."""
    try:
        label = LABELS[Reason(reason)]
    except ValueError:
        label = reason
    if not detail:
        return label
    return f"{label} {detail}" if label.endswith((" on", " advert")) else f"{label}: {detail}"


def reason_counts(session: Session, since: datetime | None = None, until: datetime | None = None) -> dict[str, int]:
    """Adverts (per person) by their latest reason, for the adverts a cycle decided on in [since, until).

    Each listed advert's reason is replaced by every cycle, so this counts every advert once, with what the last
    cycle in the period decided. Reasons are the values of Reason; the order is largest count first."""
    query = select(AdvertReason.reason, func.count()).group_by(AdvertReason.reason)
    if since is not None:
        query = query.where(AdvertReason.decided_at >= since)
    if until is not None:
        query = query.where(AdvertReason.decided_at < until)
    counts = {reason: int(count) for reason, count in session.execute(query).all()}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
