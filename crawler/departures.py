"""One host's requests leave one at a time, each only when the pace allows it at the moment it leaves.

A send time reserved in advance goes stale: the event loop may wake a request late (it then bunches with the next
one), a 429 may arrive while requests wait for their turn, an answer may free the way early. So a request waits in
line, and the head of the line asks the pace again whenever something changed (an answer, a pause, the crawl
stopping) or its wait is over, until the answer is "now". It then leaves with a ticket, which is handed back when
its answer comes (crawler/pace.py counts from answers). The downloader's requests and those of browser pages go
through the same line for a host.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from crawler.pace import Pace


@dataclass
class Ticket:
    departures: Departures
    number: int
    waited: float

    def answered(self) -> None:
        """The answer came, or the request failed: safe to call more than once."""
        self.departures.answered(self.number)


class Departures:
    def __init__(self, pace: Pace, clock: Callable[[], float] = time.monotonic) -> None:
        self.pace = pace
        self._clock = clock
        self._line = asyncio.Lock()  # first come, first served
        self._changed = asyncio.Event()

    async def leave(self, check: Callable[[], None]) -> Ticket:
        """Wait until the request may leave. `check` runs right before, and raises to drop the request (the crawl
        stopped)."""
        asked = self._clock()
        async with self._line:
            while True:
                check()
                now = self._clock()
                wait = self.pace.earliest(now) - now
                if wait <= 0:
                    break
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=wait)
            return Ticket(self, self.pace.leave(now), now - asked)

    def left(self) -> Ticket:
        """A request left without waiting its turn (the browser followed a redirect): record it."""
        return Ticket(self, self.pace.leave(self._clock()), 0.0)

    def answered(self, ticket: int) -> None:
        self.pace.answered(ticket, self._clock())
        self.wake()

    def wake(self) -> None:
        """Something changed (an answer, a pause, a stop): the head of the line asks again."""
        self._changed.set()
