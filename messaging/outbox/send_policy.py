"""Send policy: the local send window, the per-sender pace and the backoff after a rate limit."""

from __future__ import annotations

import math
import random
import time as clock
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.settings import SendingSettings

# Twilio keeps a message in its queue for at most 36,000 seconds (ValidityPeriod's upper bound).
MAX_VALIDITY_SECONDS = 36_000
# Below this, a message would probably expire before a carrier delivers it: do not start it.
MIN_VALIDITY_SECONDS = 60


@dataclass(frozen=True)
class SendWindow:
    """Local hours in which messages may be sent and delivered. start == end means all day."""

    zone: ZoneInfo
    start: time
    end: time

    @classmethod
    def from_settings(cls, sending: SendingSettings) -> SendWindow:
        return cls(ZoneInfo(sending.timezone), sending.window_start, sending.window_end)

    @property
    def all_day(self) -> bool:
        return self.start == self.end

    def _local(self, now: datetime) -> datetime:
        return now.astimezone(self.zone)

    def is_open(self, now: datetime) -> bool:
        left = self.seconds_left(now)
        return left is None or left >= MIN_VALIDITY_SECONDS

    def seconds_left(self, now: datetime) -> int | None:
        """Seconds until the window closes (0 when closed); None when it never closes."""
        if self.all_day:
            return None
        local = self._local(now)
        at = local.time()
        spans_midnight = self.end < self.start
        inside = (at >= self.start or at < self.end) if spans_midnight else (self.start <= at < self.end)
        if not inside:
            return 0
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return int((end - local).total_seconds())

    def next_open(self, now: datetime) -> datetime:
        """When a message may next leave: `now` inside the window, else the window's next opening (UTC)."""
        if self.is_open(now):
            return now
        local = self._local(now)
        opening = datetime.combine(local.date(), self.start, tzinfo=self.zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=self.zone)
        return opening.astimezone(UTC)

    def validity_seconds(self, now: datetime) -> int | None:
        """Twilio's ValidityPeriod: the message expires in Twilio's queue rather than arrive after the window."""
        left = self.seconds_left(now)
        return None if left is None else min(left, MAX_VALIDITY_SECONDS)

    def day_start(self, now: datetime) -> datetime:
        """Local midnight of today, in UTC: the daily cap counts from here."""
        local = self._local(now)
        return datetime.combine(local.date(), time(0), tzinfo=self.zone).astimezone(UTC)


# The provider counts arrivals, which come between a send's start and its answer. The pacer counts each send from
# its answer (Pacer.sent), so no margin is needed for the request's latency: under load that latency passed any
# fixed margin (51 in one second at the gateway with 30 ms of margin).
ARRIVAL_MARGIN_SECONDS = 0.0


class Pacer:
    """At most `per_second` sends (rounded down) in any window of one second from this process, as the provider
    sees them arrive; for rates below one, one send per 1/rate seconds. A send may start once the one `capacity`
    sends before it was answered a window ago: its request arrived by then, and this one arrives after it starts.
    A slow send does not cost the next ones their turn, as strict spacing would."""

    def __init__(
        self,
        per_second: float,
        monotonic: Callable[[], float] = clock.monotonic,
        sleep: Callable[[float], None] = clock.sleep,
    ) -> None:
        self.capacity = max(1, math.floor(per_second))
        self.window = (1.0 if per_second >= 1 else 1.0 / per_second) + ARRIVAL_MARGIN_SECONDS
        self._monotonic = monotonic
        self._sleep = sleep
        self._marks: deque[float] = deque()  # when each of the last `capacity` sends started, or was answered

    def wait(self) -> None:
        now = self._monotonic()
        if len(self._marks) >= self.capacity:
            oldest = self._marks.popleft()
            if now < oldest + self.window:
                self._sleep(oldest + self.window - now)
                now = oldest + self.window
        self._marks.append(now)

    def sent(self) -> None:
        """The send that the last wait() let start has its answer (or failed): count it from now."""
        if self._marks:
            self._marks[-1] = self._monotonic()


def backoff_seconds(attempt: int, cap: float, rng: random.Random, base: float = 0.5) -> float:
    """Exponential backoff with full jitter, so senders that were throttled together do not retry together."""
    return rng.uniform(0, min(cap, base * 2**attempt))
