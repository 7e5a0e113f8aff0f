"""CPU seconds of this process's descendants, by program (chromium, the crawl child, Playwright's node driver),
read from /proc every 0.1 s while a benchmark runs. Linux only.

`getrusage(RUSAGE_CHILDREN)` cannot tell chromium from the crawl, and misses processes that were not waited for
up the chain (chromium's helpers, when the browser goes down at the end of a crawl). A process's last reading is
its total, so a process that ends less than 0.1 s after a reading loses at most that much: short-lived processes
(a renderer per page) are counted a little low, never high.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from pathlib import Path
from types import TracebackType

TICKS = os.sysconf("SC_CLK_TCK")


def program(comm: str) -> str:
    """chromium (its renderers, GPU, network and crash-handler processes), crawl (Python), driver (node), other
    (what Debian's chromium wrapper script runs before it starts the browser)."""
    if comm.startswith("chrom"):
        return "chromium"
    if comm.startswith("python"):
        return "crawl"
    if comm.startswith("node"):
        return "driver"
    return "other"


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


class DescendantCpu:
    """with DescendantCpu() as cpu: ...; then cpu.seconds() -> {"chromium": s, "crawl": s, "driver": s}."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last: dict[int, tuple[str, float]] = {}  # pid -> (program, CPU seconds at its latest reading)
        self._start: dict[int, float] = {}  # processes already running at the start: only what they add counts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DescendantCpu:
        self._start = {pid: cpu for pid, (_, cpu) in self._read().items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _read(self) -> dict[int, tuple[str, float]]:
        processes = _processes()
        below: dict[int, list[int]] = defaultdict(list)
        for pid, (parent, _, _) in processes.items():
            below[parent].append(pid)
        found, stack = {}, [os.getpid()]
        while stack:
            for child in below[stack.pop()]:
                _, comm, cpu = processes[child]
                found[child] = (program(comm), cpu)
                stack.append(child)
        return found

    def _sample(self) -> None:
        self._last.update(self._read())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def seconds(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for pid, (name, cpu) in self._last.items():
            totals[name] += cpu - self._start.get(pid, 0.0)
        return dict(totals)
