"""What a Twilio error code means for us: one table, used for API errors and for status callbacks alike.

Sources: https://www.twilio.com/docs/api/errors (codes named in issue 5 and their neighbours).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    OPT_OUT = "opt_out"  # the recipient unsubscribed or blocked us: record an opt-out, never retry
    INVALID_NUMBER = "invalid_number"  # the number cannot receive messages: mark it, never retry
    CONFIG = "config"  # our account or sender is wrong: halt sending with a clear message
    SPAM_FILTERED = "spam_filtered"  # carriers filter us: pause all sending and tell a supervisor
    RATE_LIMITED = "rate_limited"  # not accepted: retry later with backoff
    WHATSAPP_WINDOW = "whatsapp_window"  # 63016: outside the 24-hour window, a template is needed
    NOT_WHATSAPP = "not_whatsapp"  # 63024: the number has no WhatsApp
    FAILED = "failed"  # anything else: stored with code and message, not retried automatically


OPT_OUT_CODES = frozenset({21610, 63014})
INVALID_NUMBER_CODES = frozenset({21211, 21214, 21217, 21219, 21401, 21407, 21421, 21612, 21614, 30005, 30006})
CONFIG_CODES = frozenset({20003, 20008, 21408, 21603, 21606, 21659, 21705, 63007})
SPAM_CODES = frozenset({30004, 30007})
RATE_LIMIT_CODES = frozenset({20429, 14107})


def outcome_of(code: int | None, http_status: int | None = None) -> Outcome:
    if http_status == 429 or code in RATE_LIMIT_CODES:
        return Outcome.RATE_LIMITED
    if code in OPT_OUT_CODES:
        return Outcome.OPT_OUT
    if code in INVALID_NUMBER_CODES:
        return Outcome.INVALID_NUMBER
    if code in CONFIG_CODES:
        return Outcome.CONFIG
    if code in SPAM_CODES:
        return Outcome.SPAM_FILTERED
    if code == 63016:
        return Outcome.WHATSAPP_WINDOW
    if code == 63024:
        return Outcome.NOT_WHATSAPP
    return Outcome.FAILED
