"""One way for every command to print rows for scripts: JSON lines or CSV on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Sequence
from enum import Enum
from typing import Any

from outreach.errors import UsageError
from outreach.support.csv_safety import csv_writer


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
    output: OutputFormat, rows: Sequence[dict[str, Any]], columns: Sequence[str], foreign: Collection[str] = ()
) -> None:
    """JSON: one object per line. CSV: a header and one line per row; `foreign` columns hold text from outside
    (ad sites, inbound messages) and are kept from running as spreadsheet formulas."""
    if output is OutputFormat.JSON:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    writer = csv_writer(sys.stdout, columns, foreign)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
