"""What a glibc malloc trace of the scheduler says is still allocated: `bench/scheduler_day.py --trace DIR --mtrace
FROM:TO` logs every malloc, realloc and free of the scheduler's C heap between cycles FROM and TO (with a marker
allocation after each cycle); this pairs the allocations with their frees and prints the blocks still live at the
end of the trace, by the cycle they were made in and by caller (the library and function that called malloc),
with the callers symbolised by gdb where the trace has no symbol name.

    .venv/bin/python -m bench.scheduler_day --database sqlite --cycles 26 --trace /tmp/day --mtrace 8:25
    .venv/bin/python -m bench.mtrace_report /tmp/day/sqlite

A caller whose blocks made in every cycle stay live is what grows; one whose live blocks all come from the first
cycles is a cache that filled. The blocks of the last cycle or two are mostly those the next cycle frees, so the
steady figures leave them out (--settle). Only the immediate caller is known: for an allocator wrapper (Python's
PyMem_RawMalloc, sqlite3Malloc, CRYPTO_malloc) it names the wrapper, not its user.

"Made after cycle c" is after the marker of dump c, so during cycle c + 1; the last marker's bucket holds only what
the dump did before the trace stopped. Not in the trace: glibc's own calls of its malloc (strdup, fopen and the like
inside libc) and anything that reached libc.so.6's malloc through dlsym (ctypes' `CDLL(None).malloc`); Python's
small objects (pymalloc's arenas are mmapped, not malloc'd). Every dump starts with a full garbage collection
unless --no-collect is passed to scheduler_day, so what the trace shows is what survives one.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.traced_scheduler import MARKER_SIZE

# "@ /lib/x.so:(sym+0x1f)[0x1234] + 0xPTR 0xSIZE", "@ /lib/x.so:[0x1234] - 0xPTR", "@ [0x7f..] < 0xPTR",
# "> 0xPTR 0xSIZE"
LINE = re.compile(r"^(?:@ (?P<caller>\S+) )?(?P<op>[-+<>!]) (?P<ptr>0x[0-9a-f]+|\(nil\))(?: (?P<size>0x[0-9a-f]+))?")
CALLER = re.compile(r"^(?:(?P<path>[^:\[]*):)?(?:\((?P<symbol>[^)]*)\))?\[(?P<address>0x[0-9a-f]+)\]$")


@dataclass
class Caller:
    text: str
    path: str = ""
    symbol: str = ""
    address: int = 0
    by_cycle: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # cycle -> live bytes made in it
    blocks: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # cycle -> live blocks made in it
    sizes: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # block size -> live blocks

    @property
    def name(self) -> str:
        library = Path(self.path).name if self.path else "?"
        return f"{library}:{self.symbol or hex(self.address)}"


@dataclass
class Trace:
    callers: dict[str, Caller]
    first: int  # the cycle after which the trace started
    last: int  # the last marker seen
    lines: int
    allocations: int
    frees: int
    unpaired_frees: int  # blocks made before the trace started


def read_trace(path: Path) -> Trace:
    live: dict[str, tuple[str, int, int]] = {}  # pointer -> (caller, size, cycle it was made in)
    cycle = first = -1
    lines = allocations = frees = unpaired = 0
    pending = ""  # the caller of a realloc's "<" line, for its ">" line
    marker = ""  # the last marker's pointer, until it is freed
    with path.open(encoding="utf-8", errors="replace") as log:
        for lines, line in enumerate(log, 1):  # noqa: B007
            found = LINE.match(line)
            if found is None:
                continue
            caller, op, ptr, size = found["caller"] or pending or "?", found["op"], found["ptr"], found["size"]
            if op == "+" and size is not None and MARKER_SIZE <= int(size, 16) < MARKER_SIZE + 100_000:
                cycle = int(size, 16) - MARKER_SIZE
                first = cycle if first < 0 else first
                marker = ptr
                continue
            if op == "-" and ptr == marker:  # the marker freed
                marker = ""
                continue
            if op in "-<":
                frees += 1
                if live.pop(ptr, None) is None:
                    unpaired += 1
                pending = caller if op == "<" else ""
            elif op in "+>" and size is not None and ptr != "(nil)":
                allocations += 1
                live[ptr] = (caller, int(size, 16), cycle)
                pending = ""
    callers: dict[str, Caller] = {}
    for caller, size, made in live.values():
        entry = callers.get(caller)
        if entry is None:
            entry = callers[caller] = _caller(caller)
        entry.by_cycle[made] += size
        entry.blocks[made] += 1
        entry.sizes[size] += 1
    return Trace(callers, first, cycle, lines, allocations, frees, unpaired)


def _caller(text: str) -> Caller:
    found = CALLER.match(text)
    if found is None:
        return Caller(text)
    return Caller(text, found["path"] or "", found["symbol"] or "", int(found["address"], 16))


def symbolise(callers: list[Caller]) -> None:
    """Name the callers the trace left without a symbol (static functions), from each library's symbol table."""
    by_path: dict[str, list[Caller]] = defaultdict(list)
    for caller in callers:
        if caller.path and not caller.symbol:
            by_path[caller.path].append(caller)
    for path, group in by_path.items():
        command = ["gdb", "-batch", "-nx"]
        for caller in group:
            command += ["-ex", f"info symbol {caller.address:#x}"]
        try:
            output = subprocess.run([*command, path], capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        answers = [line for line in output.stdout.splitlines() if " in section " in line or "No symbol" in line]
        for caller, answer in zip(group, answers, strict=False):
            if " in section " in answer:
                caller.symbol = answer.split(" in section ")[0].replace(" + ", "+")


def report(trace: Trace, settle: int, top: int) -> list[str]:
    steady_cycles = [c for c in range(trace.first, trace.last + 1) if c <= trace.last - settle]
    span = max(len(steady_cycles), 1)

    def steady(caller: Caller) -> int:
        return sum(caller.by_cycle.get(c, 0) for c in steady_cycles)

    total: dict[int, int] = defaultdict(int)
    for caller in trace.callers.values():
        for made, size in caller.by_cycle.items():
            total[made] += size
    lines = [
        f"trace: {trace.lines} lines, {trace.allocations} allocations, {trace.frees} frees "
        f"({trace.unpaired_frees} of blocks made before it started); markers after cycles {trace.first}-{trace.last}",
        "bytes still live at the end, by the cycle they were made in (-1: before the first marker):",
        "  " + ", ".join(f"{made}: {size / 1024:.1f} KiB" for made, size in sorted(total.items())),
        f"steady = made after cycles {steady_cycles[0] if steady_cycles else '-'}-"
        f"{steady_cycles[-1] if steady_cycles else '-'} and still live ({span} cycles; the last {settle} left out)",
        f"  in all: {sum(total.get(c, 0) for c in steady_cycles) / span / 1024:.1f} KiB per cycle",
        "  by library: "
        + ", ".join(f"{name} {size / span / 1024:.1f} KiB" for name, size in by_library(trace, steady_cycles)[:5]),
        "by caller, most steady bytes first (KiB per cycle, in how many of those cycles, blocks, common sizes):",
    ]
    ranked = sorted(trace.callers.values(), key=steady, reverse=True)[:top]
    symbolise(ranked)
    for caller in ranked:
        if not steady(caller):
            break
        made_in = sum(1 for c in steady_cycles if caller.by_cycle.get(c))
        blocks = sum(caller.blocks.get(c, 0) for c in steady_cycles)
        sizes = ", ".join(f"{size}x{n}" for size, n in sorted(caller.sizes.items(), key=lambda item: -item[1])[:4])
        per_cycle = " ".join(f"{caller.by_cycle.get(c, 0) / 1024:.0f}" for c in steady_cycles)
        lines.append(
            f"  {steady(caller) / span / 1024:8.1f} KiB/cycle in {made_in:2d}/{span} cycles, {blocks:6d} blocks  "
            f"{caller.name}  [{trace_offset(caller)}]  sizes {sizes}"
        )
        lines.append(f"      KiB per cycle: {per_cycle}")
    return lines


def by_library(trace: Trace, cycles: list[int]) -> list[tuple[str, int]]:
    """Steady bytes by the caller's library, most first (a stripped library's callers have no names)."""
    sizes: dict[str, int] = defaultdict(int)
    for caller in trace.callers.values():
        sizes[Path(caller.path).name if caller.path else "?"] += sum(caller.by_cycle.get(c, 0) for c in cycles)
    return sorted(((name, size) for name, size in sizes.items() if size), key=lambda item: -item[1])


def trace_offset(caller: Caller) -> str:
    return f"{Path(caller.path).name}+{caller.address:#x}" if caller.path else caller.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="The --trace folder of one database (it holds mtrace.log).")
    parser.add_argument("--settle", type=int, default=2, help="Last cycles left out of the steady figures.")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print("\n".join(report(read_trace(args.folder / "mtrace.log"), args.settle, args.top)))


if __name__ == "__main__":
    main()
