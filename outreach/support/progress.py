"""Progress of long work (crawl, send, export, purge): a Rich bar when stderr is a terminal, and a plain line on
stderr every few seconds (and at the end) when it is not, so cron mails and log files stay readable."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class ProgressReport:
    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        terminal: bool | None = None,
        every_seconds: float = 5.0,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.completed = 0
        self._out = out or sys.stderr
        self._terminal = self._out.isatty() if terminal is None else terminal
        self._every = every_seconds
        self._clock = clock
        self._last_line = clock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressReport:
        if self._terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._out),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def update(self, completed: int, total: int | None = None) -> None:
        self.completed = completed
        if total is not None:
            self.total = total
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=completed, total=self.total)
        elif (now := self._clock()) - self._last_line >= self._every:
            self._line(now)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        else:
            self._line(self._clock(), done=error is None)

    def _line(self, now: float, done: bool = False) -> None:
        self._last_line = now
        of = f"/{self.total}" if self.total is not None else ""
        self._out.write(f"{self.label}: {self.completed}{of}{' done' if done else ''}\n")
        self._out.flush()
