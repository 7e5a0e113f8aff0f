"""The pace of requests to one host: a rate limit over any one-second window, a minimum gap, and pauses.

Pure bookkeeping without Scrapy, so the arithmetic can be tested on its own. Times are `time.monotonic()` seconds.

The site's clock is the judge, and we cannot see when a request reaches it: between our decision and the socket
lie the event loop (a busy one held a request back a third of a second while the next left on time), connection
set-up, the browser's network process. What we do know is an upper bound: a request reached the site before its
answer reached us. So the pace counts from answers: the next request leaves a full gap after the last answer, and
a request in flight counts as arriving now, until it is answered. The site then never sees two requests closer
than the gap, or more than the rate in one second, however late any of them was.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The bound above is exact; this only absorbs clock rounding between the site's log and us.
MARGIN_SECONDS = 0.01
WINDOW_SECONDS = 1.0 + MARGIN_SECONDS


@dataclass
class Pace:
    requests_per_second: float
    min_gap: float
    # A request that has had no answer this long is taken as answered then: it timed out, and a lost answer (a
    # page closed mid-load) must not hold the site's crawl forever.
    stale_after: float = 60.0
    paused_until: float = 0.0
    consecutive_failures: int = 0
    _flying: dict[int, float] = field(default_factory=dict)  # ticket -> when it left
    _answers: list[float] = field(default_factory=list)  # the latest `per_window` answer times, ascending
    _tickets: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def per_window(self) -> int:
        return max(1, math.floor(self.requests_per_second))

    @property
    def gap(self) -> float:
        """The least time between an answer and the next request (none when no gap is asked for)."""
        # Below one request per second the window rule alone would allow one request a second: spread them.
        slowest = 1.0 / self.requests_per_second if self.requests_per_second < 1 else 0.0
        promised = max(self.min_gap, slowest)
        return promised + MARGIN_SECONDS if promised > 0 else 0.0

    def earliest(self, now: float) -> float:
        """The earliest time the next request may leave. While it must wait for an answer, the time that answer
        goes stale: ask again when an answer comes."""
        self._expire(now)
        at = max(now, self.paused_until)
        waiting_for_answer = min(self._flying.values(), default=math.inf) + self.stale_after
        if self._flying and self.gap > 0:
            return max(at, waiting_for_answer)
        if self._answers:
            at = max(at, self._answers[-1] + self.gap)
        # Answers that may still be in the window ending at the new request's arrival, besides those in flight.
        free = self.per_window - 1 - len(self._flying)
        if free < 0:
            return max(at, waiting_for_answer)
        if len(self._answers) > free:
            at = max(at, self._answers[-1 - free] + WINDOW_SECONDS)
        return at

    def leave(self, at: float) -> int:
        """A request leaves at `at`: in flight until `answered`. Returns its ticket."""
        ticket = next(self._tickets)
        self._flying[ticket] = at
        return ticket

    def answered(self, ticket: int, at: float) -> None:
        """The answer to `ticket` came at `at` (or it failed then): the request reached the site before."""
        if self._flying.pop(ticket, None) is None:
            return
        bisect.insort(self._answers, at)
        del self._answers[: -self.per_window]

    def _expire(self, now: float) -> None:
        for ticket, left in list(self._flying.items()):
            if left + self.stale_after <= now:
                self.answered(ticket, left + self.stale_after)

    def pause(self, now: float, seconds: float) -> None:
        self.paused_until = max(self.paused_until, now + seconds)

    def backoff_seconds(self, base: float, cap: float) -> float:
        """Exponential in the number of failures in a row, capped."""
        return float(min(cap, base * 2 ** max(0, self.consecutive_failures - 1)))


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date (RFC 9110 10.2.3). None if absent or
    unreadable; never negative."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
