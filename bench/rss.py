"""Peak memory of one full cycle: `outreach demo` (the fixture world) with VmRSS of its process and of its crawl
child read from /proc every 0.1 s.

    .venv/bin/python -m bench.rss [--dir FOLDER]

The demo process also runs the fixture site and the test gateway, which a production cycle does not, so its figure
is an upper bound for the cycle's own process. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUTREACH = Path(sys.executable).with_name("outreach")


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="", help="The demo's folder (default: a new temporary one).")
    folder = parser.parse_args().dir or tempfile.mkdtemp(prefix="outreach-rss-")
    demo = subprocess.Popen(
        [str(OUTREACH), "demo", "--dir", folder], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    main_peak = child_peak = 0
    while demo.poll() is None:
        main_peak = max(main_peak, rss_kb(demo.pid))
        for child in children(demo.pid):
            child_peak = max(child_peak, rss_kb(child), *(rss_kb(g) for g in children(child)))
        time.sleep(0.1)
    output = demo.stdout.read() if demo.stdout else ""
    print(f"exit {demo.returncode}; ground truth {'match' if 'match' in output else 'NOT matched'}")
    print(f"main process peak RSS {main_peak / 1024:.0f} MB; crawl child peak RSS {child_peak / 1024:.0f} MB")


if __name__ == "__main__":
    main()
