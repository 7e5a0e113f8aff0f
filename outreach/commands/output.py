"""One way for every command to print rows for scripts: JSON lines or CSV on stdout."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any, TextIO

from outreach.errors import UsageError


class OutputFormat(Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"

    @classmethod
    def choose(cls, as_json: bool, as_csv: bool) -> OutputFormat:
        if as_json and as_csv:
            raise UsageError("choose one of --json and --csv")
        return cls.JSON if as_json else cls.CSV if as_csv else cls.TABLE


def emit(
    output: OutputFormat,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None = None,
    out: TextIO | None = None,
) -> None:
    """JSON: one object per line. CSV: a header (columns, or the first row's keys) and one line per row."""
    stream = out or sys.stdout
    if output is OutputFormat.JSON:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    fields = list(columns or (rows[0].keys() if rows else []))
    writer = csv.DictWriter(stream, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
