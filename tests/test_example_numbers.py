"""Example and test numbers never belong to anyone: the sender numbers in docs, settings and tests come from
North America's 555-0100..0199 (set aside for fiction) or Twilio's magic test numbers, not from a real Dutch range
such as 097 (machine-to-machine numbers, in service)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# +31 97..: Dutch M2M numbers, issued to real subscribers; +31 970 10..: the range the old examples used.
REAL_DUTCH_RANGES = re.compile(r"\+3197\d{6,}")


def test_no_file_uses_a_real_dutch_range_as_an_example_number() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    found = []
    for name in tracked.splitlines():
        path = PROJECT / name
        if path.suffix not in {".py", ".md", ".yaml", ".yml", ".toml", ".example", ".txt", ".html", ".j2"}:
            continue
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if REAL_DUTCH_RANGES.search(line) and "REAL_DUTCH_RANGES" not in line:
                found.append(f"{name}:{number}")
    assert found == []
