"""`outreach scheduler` under tracemalloc, for bench/scheduler_day.py --trace DIR: on SIGUSR1 the process writes
what it holds to DIR/NNN.*: a tracemalloc snapshot (`NNN.snapshot`), and in `NNN.json` its live objects counted by
type, glibc's malloc statistics (mallinfo2) and its VmRSS, before and after `malloc_trim(0)` when asked
(`--trim`). `python -m bench.traced_scheduler compare DIR A B` prints where memory grew between dumps A and B.

    python -m bench.traced_scheduler run [--trim] [--light] [--no-collect] [--garbage N] DIR -- scheduler --config FILE

Each dump starts with a full garbage collection (`gc.collect()`), so what it shows is what is still reachable;
`--no-collect` leaves the process's collections as they would be, which is what its RSS does in production (a
dump's collection frees the cycles of objects that Python would collect only much later: the growth of issue 21
vanished under the dumps for that reason). `--light`: no tracemalloc (its own tables are malloc'd and grow with
every new traceback, which mallinfo counts as the process's); the JSON still has the RSS, mallinfo, gc's counts
and Python's allocated blocks. `--garbage N`: at dump N, before anything else, the objects a full collection
frees, by type (`NNN.garbage.json`), i.e. what piled up since the last full collection.

With `--mtrace FROM:TO` the process runs without tracemalloc and instead logs every malloc, realloc and free of
the C heap, with its caller, to DIR/mtrace.log from dump FROM to dump TO (glibc's mtrace; the process must start
with LD_PRELOAD=libc_malloc_debug.so.0, which bench/scheduler_day.py --mtrace sets). Each dump writes a marker
allocation of MARKER_SIZE + its number into the log, and /proc/self/maps is saved at FROM (DIR/mtrace.maps), so
that `python -m bench.mtrace_report DIR` can say which cycle each still-live block was made in and by whom.

Only the bench uses it: the scheduler itself has no debug switch.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

FRAMES = 25
MALLOC_DEBUG = "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0"
MARKER_SIZE = 0x7E5_7000  # a marker allocation's size (132 MB, always mmapped, never touched) plus the dump's number


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


def _malloc_debug(name: str, prototype: Any = None) -> Any:
    """libc_malloc_debug's `name` (mtrace, muntrace, malloc, free). Its symbols have only a non-default version,
    which a plain dlsym passes over for libc.so.6's (whose mtrace is a stub since glibc 2.34, and whose malloc is not
    traced)."""
    libc = ctypes.CDLL(None)
    libc.dlvsym.restype = ctypes.c_void_p
    libc.dlvsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    address = libc.dlvsym(ctypes.CDLL(MALLOC_DEBUG)._handle, name.encode(), b"GLIBC_2.2.5")
    if not address:
        raise SystemExit(f"{name} not found: start the process with LD_PRELOAD={MALLOC_DEBUG}")
    return (prototype or ctypes.CFUNCTYPE(None))(address)


def mark(number: int) -> None:
    """An allocation of MARKER_SIZE + number, freed at once: where dump `number` falls in the malloc trace."""
    malloc = _malloc_debug("malloc", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t))
    _malloc_debug("free", ctypes.CFUNCTYPE(None, ctypes.c_void_p))(malloc(MARKER_SIZE + number))


def mtrace(folder: Path, on: bool) -> None:
    """Start or stop glibc's malloc trace into folder/mtrace.log."""
    if on:
        os.environ["MALLOC_TRACE"] = str(folder / "mtrace.log")
        (folder / "mtrace.maps").write_text(Path("/proc/self/maps").read_text(), encoding="utf-8")
        _malloc_debug("mtrace")()
    else:
        _malloc_debug("muntrace")()


def write_garbage(path: Path) -> None:
    """What a full collection would free now, by type, and the modules and qualified names of the functions, classes
    and code among it: the cycles of objects that wait for a collection."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = gc.collect()
        garbage = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(0)
    types = Counter(f"{type(obj).__module__}.{type(obj).__qualname__}" for obj in garbage)
    names = Counter(
        f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
        for obj in garbage
        if hasattr(obj, "__qualname__")
    )
    record = {"unreachable": found, "types": dict(types.most_common(300)), "named": dict(names.most_common(300))}
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    del garbage


def dump(
    folder: Path,
    number: int,
    trim: bool,
    trace: tuple[int, int] | None = None,
    collect: bool = True,
    garbage_at: int = 0,
) -> None:
    if number == garbage_at:
        write_garbage(folder / f"{number:03d}.garbage.json")
    started = time.perf_counter()
    if collect:
        gc.collect()
    collect_seconds = time.perf_counter() - started
    stem = folder / f"{number:03d}"
    if trace is not None and number == trace[0]:
        mtrace(folder, True)
    if trace is not None:
        mark(number)
    if trace is not None and number == trace[1]:
        mtrace(folder, False)
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(stem.with_suffix(".snapshot")))
    counts = Counter(type(obj).__qualname__ for obj in gc.get_objects())
    traced, _peak = tracemalloc.get_traced_memory()
    record: dict[str, Any] = {
        "rss_kb": vm_rss_kb(),
        "traced": traced,
        "collect_seconds": collect_seconds,  # the dump's full collection (0 with --no-collect)
        "tracked_objects": len(gc.get_objects()),
        "allocated_blocks": sys.getallocatedblocks(),  # Python's objects and buffers, traced or not
        "mallinfo": mallinfo(),
        "threads": [thread.name for thread in threading.enumerate()],
        "gc": {"counts": gc.get_count(), "stats": gc.get_stats()},  # collections so far, by generation
        "types": dict(counts.most_common(200)),
    }
    if trim:
        _libc().malloc_trim(0)
        record["rss_kb_after_trim"] = vm_rss_kb()
        record["mallinfo_after_trim"] = mallinfo()
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1), encoding="utf-8")


def run(
    folder: Path,
    trim: bool,
    argv: list[str],
    trace: tuple[int, int] | None = None,
    light: bool = False,
    collect: bool = True,
    garbage_at: int = 0,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if trace is None and not light:
        tracemalloc.start(FRAMES)
    # The crawl children need no malloc debugging (and must not write to the trace).
    os.environ.pop("LD_PRELOAD", None)
    dumps = iter(range(1, 100_000))
    # The handler runs on the main thread, between two of its bytecodes; the scheduler's main thread waits on an
    # Event, which a signal interrupts.
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: dump(folder, next(dumps), trim, trace, collect, garbage_at))
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
    running.add_argument("--mtrace", help="FROM:TO: glibc's malloc trace from dump FROM to dump TO, no tracemalloc")
    running.add_argument("--light", action="store_true", help="no tracemalloc: RSS, mallinfo and object counts only")
    running.add_argument("--no-collect", action="store_true", help="no gc.collect() before each dump")
    running.add_argument("--garbage", type=int, default=0, metavar="N", help="at dump N: what a collection frees")
    running.add_argument("argv", nargs=argparse.REMAINDER)
    comparing = commands.add_parser("compare")
    comparing.add_argument("folder", type=Path)
    comparing.add_argument("first", type=int)
    comparing.add_argument("last", type=int)
    comparing.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if args.command == "run":
        trace = tuple(int(part) for part in args.mtrace.split(":")) if args.mtrace else None
        argv = [arg for arg in args.argv if arg != "--"]
        run(args.folder, args.trim, argv, trace, args.light, not args.no_collect, args.garbage)  # type: ignore[arg-type]
    else:
        compare(args.folder, args.first, args.last, args.top)


if __name__ == "__main__":
    main()
