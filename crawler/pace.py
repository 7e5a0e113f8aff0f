"""The pace of requests to one host: a rate limit over any one-second window, a minimum gap, and pauses.

Pure bookkeeping without Scrapy, so the arithmetic can be tested on its own. Times are `time.monotonic()` seconds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Requests reach the server a few milliseconds after they leave: a window slightly longer than one second keeps
# the server's own count (which is the judge) at or under the limit.
WINDOW_SECONDS = 1.05


@dataclass
class Pace:
    """Send times are reserved in order, so keeping the last `per_window` reservations proves the window rule."""

    requests_per_second: float
    min_gap: float
    # The download slot's own delay (AutoThrottle changes it): reserving at least that far apart means the slot
    # never holds a released request back, so requests cannot bunch up after their reservation.
    slot_delay: float = 0.0
    paused_until: float = 0.0
    consecutive_failures: int = 0
    _last: float = -math.inf
    _recent: deque[float] = field(default_factory=deque)

    @property
    def per_window(self) -> int:
        return max(1, math.floor(self.requests_per_second))

    @property
    def gap(self) -> float:
        # Below one request per second the window rule alone would allow one request a second: spread them.
        slowest = 1.0 / self.requests_per_second if self.requests_per_second < 1 else 0.0
        return max(self.min_gap, self.slot_delay, slowest)

    def reserve(self, now: float) -> float:
        """The earliest time the next request may be sent, reserved for it."""
        at = max(now, self._last + self.gap, self.paused_until)
        if len(self._recent) >= self.per_window:
            at = max(at, self._recent[-self.per_window] + WINDOW_SECONDS)
        self._recent.append(at)
        while len(self._recent) > self.per_window:
            self._recent.popleft()
        self._last = at
        return at

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
