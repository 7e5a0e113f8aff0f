"""Figures counted a moment ago, per scope: the overview reads a month of rows to count them (about a third of a
second at 100,000 messages), and a supervisor opens it many times an hour while the counts change with each cycle.

A view gets the last count at once. A count older than `max_age` is still shown, and counted again after the
response has left (a Starlette background task), one recount per scope at a time. The dashboard counts every
configured scope when it starts (`warm`, `web.count_at_start`), so that no view waits; a view that comes while its
scope is first counted waits for that count rather than counting a second time. The page says when its figures were
counted. A scope is whatever decides what a user may see (their organisations and regions), so one organisation's
count is never shown to another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Figures = TypeVar("Figures")


@dataclass(frozen=True)
class Counted(Generic[Figures]):
    figures: Figures
    at: float  # the clock's time of the count


class RecentFigures(Generic[Figures]):
    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._counted: dict[Hashable, Counted[Figures]] = {}
        self._recounting: set[Hashable] = set()
        self._scope_locks: dict[Hashable, threading.Lock] = {}  # held while the scope is counted

    def get(self, scope: Hashable, count: Callable[[], Figures]) -> tuple[Figures, Callable[[], None] | None]:
        """The scope's figures, and the recount to run after the response when they are old (else None)."""
        with self._lock:
            counted = self._counted.get(scope)
            stale = counted is not None and self._clock() - counted.at > self.max_age
            recount_now = stale and scope not in self._recounting
            if recount_now:
                self._recounting.add(scope)
        if counted is None:
            return self._first(scope, count), None
        if not recount_now:
            return counted.figures, None

        def recount() -> None:
            try:
                with self._scope_lock(scope):
                    self._count(scope, count)
            finally:
                with self._lock:
                    self._recounting.discard(scope)

        return counted.figures, recount

    def warm(self, scope: Hashable, count: Callable[[], Figures]) -> None:
        """Count the scope now unless it has a count (at start, so that its first view need not wait)."""
        self._first(scope, count)

    def _first(self, scope: Hashable, count: Callable[[], Figures]) -> Figures:
        """The scope's first count; one that is under way (by `warm` or another view) is waited for, not repeated."""
        with self._scope_lock(scope):
            with self._lock:
                counted = self._counted.get(scope)
            return counted.figures if counted is not None else self._count(scope, count)

    def _scope_lock(self, scope: Hashable) -> threading.Lock:
        with self._lock:
            return self._scope_locks.setdefault(scope, threading.Lock())

    def _count(self, scope: Hashable, count: Callable[[], Figures]) -> Figures:
        started = self._clock()
        figures = count()
        with self._lock:
            self._counted[scope] = Counted(figures, started)
        return figures

    def forget(self) -> None:
        """Count every scope again at its next view (after a change a user must see at once)."""
        with self._lock:
            self._counted.clear()
