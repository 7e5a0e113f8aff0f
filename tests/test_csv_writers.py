"""Every CSV the product writes goes through the one safe writer (outreach.support.csv_safety): a new export that
used the csv module directly would write text from ad sites or from people as live spreadsheet formulas."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from outreach.support.csv_safety import csv_writer, spreadsheet_safe

PROJECT = Path(__file__).resolve().parents[1]
PRODUCT = ("outreach", "messaging", "crawler", "testworld", "bench")
SAFE_MODULE = PROJECT / "outreach" / "support" / "csv_safety.py"


def csv_writers_in(source: str) -> list[int]:
    """Lines that create a csv writer (csv.writer, csv.DictWriter, or either imported by name)."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "csv"
        for alias in node.names
        if alias.name in ("writer", "DictWriter")
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr in ("writer", "DictWriter"):
            if isinstance(function.value, ast.Name) and function.value.id == "csv":
                found.append(node.lineno)
        elif isinstance(function, ast.Name) and function.id in imported:
            found.append(node.lineno)
    return found


def test_no_product_module_writes_csv_but_through_the_safe_writer() -> None:
    offenders = [
        f"{path.relative_to(PROJECT)}:{line}"
        for package in PRODUCT
        for path in sorted((PROJECT / package).rglob("*.py"))
        if path != SAFE_MODULE
        for line in csv_writers_in(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "write CSV with outreach.support.csv_safety.csv_writer"


@pytest.mark.parametrize(
    "snippet",
    ["import csv\ncsv.writer(out)", "import csv\ncsv.DictWriter(out, ['a'])", "from csv import writer as w\nw(out)"],
)
def test_the_search_finds_a_csv_writer(snippet: str) -> None:
    assert csv_writers_in(snippet) != []


def test_the_safe_writer_neutralises_every_formula_start_in_foreign_columns() -> None:
    import io

    out = io.StringIO()
    writer = csv_writer(out, ["ours", "theirs"], foreign={"theirs"})
    for start in ("=", "+", "-", "@", "\t", "\r"):
        writer.writerow({"ours": "+31600000000", "theirs": start + "1"})
        assert spreadsheet_safe(start + "1") == "'" + start + "1"
    assert out.getvalue().count("'") == 6 and "+31600000000" in out.getvalue()
