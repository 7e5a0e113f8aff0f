"""bench/mtrace_report.py: which cycle each block still live at the end of a glibc malloc trace was made in, and by
whom. On a log written here, and on a real trace of a child process that keeps known blocks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.mtrace_report import read_trace, report
from bench.traced_scheduler import MALLOC_DEBUG, MARKER_SIZE
from outreach.store.db import PROJECT_ROOT


def marker(cycle: int) -> str:
    return f"@ /lib/x.so:[0x1] + 0x9000 {MARKER_SIZE + cycle:#x}\n@ /lib/x.so:[0x1] - 0x9000\n"


def test_blocks_are_paired_with_their_frees_and_counted_by_cycle_and_caller(tmp_path: Path) -> None:
    log = tmp_path / "mtrace.log"
    log.write_text(
        "= Start\n"
        "@ /lib/a.so:(keep+0x10)[0x10] + 0x100 0x40\n"  # before the first marker, kept
        "@ /lib/a.so:(keep+0x10)[0x10] - 0xdead\n"  # a block made before the trace
        + marker(1)
        + "@ /lib/a.so:(keep+0x10)[0x10] + 0x200 0x40\n"  # kept
        "@ /lib/b.so:(temp+0x8)[0x20] + 0x300 0x1000\n"  # freed below
        "@ /lib/b.so:(grow+0x4)[0x30] + 0x400 0x10\n"
        "@ /lib/b.so:(grow+0x4)[0x30] < 0x400\n"  # realloc: moves to 0x500, still live
        "@ /lib/b.so:(grow+0x4)[0x30] > 0x500 0x80\n" + marker(2) + "@ /lib/b.so:(temp+0x8)[0x20] - 0x300\n"
        "@ /lib/a.so:(keep+0x10)[0x10] + 0x600 0x40\n" + marker(3) + "= End\n",
        encoding="utf-8",
    )
    trace = read_trace(log)
    assert (trace.first, trace.last) == (1, 3)
    assert trace.unpaired_frees == 1
    keep, grow = trace.callers["/lib/a.so:(keep+0x10)[0x10]"], trace.callers["/lib/b.so:(grow+0x4)[0x30]"]
    assert dict(keep.by_cycle) == {-1: 0x40, 1: 0x40, 2: 0x40}
    assert dict(grow.by_cycle) == {1: 0x80}
    assert "/lib/b.so:(temp+0x8)[0x20]" not in trace.callers  # made and freed
    lines = report(trace, settle=0, top=5)
    assert any("a.so:keep+0x10" in line and "2/3 cycles" in line for line in lines)


@pytest.mark.skipif(not Path(MALLOC_DEBUG).exists(), reason="glibc's malloc debugging library is not installed")
def test_a_real_trace_finds_the_blocks_a_child_keeps_every_cycle(tmp_path: Path) -> None:
    """Cycle k keeps 100 + k blocks of 777 bytes and frees the previous cycle's 50 blocks of 555: what stays is
    the 777-byte blocks, made by the child's own calls (through libffi), the right number in each cycle."""
    child = textwrap.dedent(
        f"""
        import ctypes
        from pathlib import Path
        from bench.traced_scheduler import _malloc_debug, mark, mtrace
        malloc = _malloc_debug("malloc", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t))
        free = _malloc_debug("free", ctypes.CFUNCTYPE(None, ctypes.c_void_p))
        kept, temporary = [], []
        for cycle in range(1, 8):
            if cycle == 2:
                mtrace(Path({str(tmp_path)!r}), True)
            for block in temporary:
                free(block)
            temporary = [malloc(555) for _ in range(50)]
            kept += [malloc(777) for _ in range(100 + cycle)]
            if cycle >= 2:
                mark(cycle)
        mtrace(Path({str(tmp_path)!r}), False)
        """
    )
    environment = {**os.environ, "LD_PRELOAD": MALLOC_DEBUG, "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run([sys.executable, "-c", child], env=environment, check=True, timeout=60)
    trace = read_trace(tmp_path / "mtrace.log")
    assert (trace.first, trace.last) == (2, 7)
    ffi = [caller for caller in trace.callers.values() if "libffi" in caller.path]
    assert len(ffi) == 1
    # Made after the marker of cycle c: during cycle c + 1, which kept 101 + c blocks of 777 bytes.
    kept = {cycle: 777 * (101 + cycle) for cycle in range(2, 6)}
    assert {cycle: ffi[0].by_cycle[cycle] for cycle in kept} == kept
    # Cycle 7's 50 temporary blocks are still live at the end: made after marker 6, with cycle 7's kept ones.
    assert ffi[0].by_cycle[6] == 777 * 107 + 555 * 50
