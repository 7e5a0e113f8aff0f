"""CSV that a spreadsheet opens as text: text that came from ad sites or from the people who write to us is never
run as a formula. Every CSV the CLI or the dashboard writes goes through `csv_writer`."""

from __future__ import annotations

import csv
from collections.abc import Collection, Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a quote, so it stays text."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


class SafeWriter:
    """csv.DictWriter whose `foreign` columns (text from outside: ad sites, inbound messages) are made safe."""

    def __init__(self, stream: TextIO, columns: Sequence[str], foreign: Collection[str]) -> None:
        self._writer = csv.DictWriter(stream, fieldnames=list(columns), extrasaction="ignore")
        self._foreign = set(foreign)

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: spreadsheet_safe(v) if k in self._foreign else v for k, v in row.items()})


def csv_writer(stream: TextIO, columns: Sequence[str], foreign: Collection[str] = ()) -> SafeWriter:
    return SafeWriter(stream, columns, foreign)
