"""`outreach scheduler` under tracemalloc, for bench/scheduler_day.py --trace DIR: on SIGUSR1 the process writes
what it holds to DIR/NNN.*: a tracemalloc snapshot (`NNN.snapshot`), and in `NNN.json` its live objects counted by
type, glibc's malloc statistics (mallinfo2) and its VmRSS, before and after `malloc_trim(0)` when asked
(`--trim`). `python -m bench.traced_scheduler compare DIR A B` prints where memory grew between dumps A and B.

    python -m bench.traced_scheduler run [--trim] DIR -- scheduler --config FILE

Only the bench uses it: the scheduler itself has no debug switch.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import signal
import sys
import threading
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

FRAMES = 25


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def mallinfo() -> dict[str, int]:
    """glibc's view of the heap: `arena` bytes from the system (main and thread arenas, not mmapped blocks),
    `uordblks` of them in use, `fordblks` free; `hblkhd` in mmapped blocks."""
    libc = _libc()
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return {name: int(getattr(info, name)) for name, _type in _MallInfo2._fields_}


def vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def dump(folder: Path, number: int, trim: bool) -> None:
    gc.collect()
    stem = folder / f"{number:03d}"
    tracemalloc.take_snapshot().dump(str(stem.with_suffix(".snapshot")))
    counts = Counter(type(obj).__qualname__ for obj in gc.get_objects())
    traced, _peak = tracemalloc.get_traced_memory()
    record: dict[str, Any] = {
        "rss_kb": vm_rss_kb(),
        "traced": traced,
        "mallinfo": mallinfo(),
        "threads": [thread.name for thread in threading.enumerate()],
        "types": dict(counts.most_common(200)),
    }
    if trim:
        _libc().malloc_trim(0)
        record["rss_kb_after_trim"] = vm_rss_kb()
        record["mallinfo_after_trim"] = mallinfo()
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1), encoding="utf-8")


def run(folder: Path, trim: bool, argv: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    dumps = iter(range(1, 100_000))
    # The handler runs on the main thread, between two of its bytecodes; the scheduler's main thread waits on an
    # Event, which a signal interrupts.
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: dump(folder, next(dumps), trim))
    from outreach.cli import main as outreach_main

    sys.argv = ["outreach", *argv]
    outreach_main()


def compare(folder: Path, first: int, last: int, top: int) -> None:
    def load(number: int) -> tuple[tracemalloc.Snapshot, dict[str, Any]]:
        stem = folder / f"{number:03d}"
        record = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        return tracemalloc.Snapshot.load(str(stem.with_suffix(".snapshot"))), record

    (before, info_before), (after, info_after) = load(first), load(last)
    print(f"dumps {first} -> {last}:")
    print(f"  VmRSS {info_before['rss_kb'] / 1024:.1f} -> {info_after['rss_kb'] / 1024:.1f} MB")
    print(f"  traced by tracemalloc {info_before['traced'] / 2**20:.2f} -> {info_after['traced'] / 2**20:.2f} MB")
    for key in ("arena", "uordblks", "fordblks", "hblkhd"):
        first, last = info_before["mallinfo"][key] / 2**20, info_after["mallinfo"][key] / 2**20
        print(f"  mallinfo {key} {first:.2f} -> {last:.2f} MB")
    if "rss_kb_after_trim" in info_after:
        print(f"  VmRSS after malloc_trim {info_after['rss_kb_after_trim'] / 1024:.1f} MB")
    grown = Counter(info_after["types"])
    grown.subtract(info_before["types"])
    print("  live objects, most grown:", ", ".join(f"{name} {n:+d}" for name, n in grown.most_common(15) if n))
    for kind in ("lineno", "traceback"):
        print(f"  tracemalloc, by {kind}:")
        for stat in after.compare_to(before, kind)[:top]:
            where = stat.traceback.format()[-1].strip()
            print(f"    {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {where}")
            if kind == "traceback":
                for line in stat.traceback.format(limit=12):
                    print(f"        {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run")
    running.add_argument("folder", type=Path)
    running.add_argument("--trim", action="store_true", help="malloc_trim(0) after each dump, RSS before and after")
    running.add_argument("argv", nargs=argparse.REMAINDER)
    comparing = commands.add_parser("compare")
    comparing.add_argument("folder", type=Path)
    comparing.add_argument("first", type=int)
    comparing.add_argument("last", type=int)
    comparing.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if args.command == "run":
        run(args.folder, args.trim, [arg for arg in args.argv if arg != "--"])
    else:
        compare(args.folder, args.first, args.last, args.top)


if __name__ == "__main__":
    main()
