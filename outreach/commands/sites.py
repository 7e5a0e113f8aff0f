"""Ad-site files: try one before switching it on, and the site-file reference (docs/sites.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outreach.commands.base import ConfigOption, app, console, settings_from
from outreach.store.states import CrawlRunStatus

site_app = typer.Typer(
    help="Ad-site files: try one before switching it on, read the reference.\n\n"
    "Example: outreach site try config/sites/newsite.yaml --pages 2",
    no_args_is_help=True,
)
app.add_typer(site_app, name="site")

SHOWN_FIELDS = ("ad_id", "title", "text", "city", "category", "numbers", "whatsapp")


@site_app.command("try")
def site_try(
    file: Annotated[Path, typer.Argument(help="The site file to try (it need not be enabled or in sites_dir).")],
    pages: Annotated[int, typer.Option("--pages", min=1, max=20, help="Listing pages to read.")] = 2,
    adverts: Annotated[int, typer.Option("--adverts", min=1, max=100, help="Detail pages to read.")] = 10,
    config: ConfigOption = None,
) -> None:
    """Crawl a few pages of one site, politely and through the same spider as a real crawl, and show per advert
    what every field found (numbers masked), which fields found nothing, and what a crawl would store. Stores
    nothing; exit 1 when the crawl would fail, 3 when it would be degraded.

    Example: outreach site try config/sites/newsite.yaml --pages 2
    """
    from crawler.sites import load_site
    from outreach.errors import DataLost, OutreachError

    settings = settings_from(config)
    site = load_site(file)  # a mistake in the file: one line, exit 2, before anything is fetched
    with tempfile.TemporaryDirectory(prefix="outreach-site-try-") as folder:
        report_file, log_file = Path(folder) / "report.json", Path(folder) / "crawl.log"
        command = [sys.executable, "-m", "crawler", "--try", str(file.resolve()), "--out", str(report_file)]
        command += ["--parent-pid", str(os.getpid())]
        command += ["--pages", str(pages), "--adverts", str(adverts)]
        with log_file.open("w", encoding="utf-8") as log:
            child = subprocess.run(
                command,
                input=settings.for_child(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=settings.crawl.timeout_seconds,
                check=False,
            )
        if child.returncode != 0 or not report_file.exists():
            tail = log_file.read_text(encoding="utf-8").strip().splitlines()[-5:]
            raise OutreachError(f"the trial crawl of {site.name} did not finish: " + (" | ".join(tail) or "no log"))
        report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    _print_trial(site.name, report)
    if report["health"] == CrawlRunStatus.FAILED:
        raise OutreachError(f"{site.name}: a crawl would fail; see the problems above")
    if report["health"] == CrawlRunStatus.DEGRADED:
        raise DataLost(f"{site.name}: a crawl would lose adverts or fields; see the problems above")


def _print_trial(name: str, report: dict[str, Any]) -> None:
    counters: dict[str, Any] = report["counters"]
    for index, advert in enumerate(report["adverts"], start=1):
        table = Table(title=f"{name}: advert {index} of {len(report['adverts'])}", show_header=False)
        table.add_column("field")
        table.add_column("found", overflow="fold")
        table.add_row("url", advert["url"])
        for field in SHOWN_FIELDS:
            value = advert.get(field)
            shown = ", ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
            table.add_row(field, shown or "[red](nothing)[/red]")
        if advert.get("numbers_left_out"):
            table.add_row("numbers left out", str(advert["numbers_left_out"]))
        console.print(table)
    fields = Table(title=f"{name}: what each field found")
    for column in ("field", "found on", "nothing on", "first page without it"):
        fields.add_column(column, overflow="fold")
    for field in ("title", "text", "city", "category", "whatsapp"):
        found, missing = int(counters.get(f"fields/{field}/found", 0)), int(counters.get(f"fields/{field}/missing", 0))
        if found or missing:
            fields.add_row(field, str(found), str(missing), str(counters.get(f"examples/missing_{field}", "-")))
    console.print(fields)
    stored = report["adverts"]
    summary = Table(title=f"{name}: what a crawl would store", show_header=False)
    summary.add_column("what")
    summary.add_column("count", justify="right")
    for label, value in (
        ("listing pages read", counters.get("listing_pages", 0)),
        ("listing entries", counters.get("listing_entries", 0)),
        ("detail pages read", counters.get("details_parsed", 0)),
        ("adverts", len(stored)),
        ("with a mobile number", sum(1 for advert in stored if advert["numbers"])),
        ("with WhatsApp", sum(1 for advert in stored if advert["whatsapp"])),
        ("numbers revealed", counters.get("numbers_revealed", 0)),
    ):
        summary.add_row(label, str(value))
    console.print(summary)
    problems = report["problems"]
    if problems:
        table = Table(title=f"{name}: {report['health']}")
        for column in ("health", "problem", "count", "first example"):
            table.add_column(column, overflow="fold")
        for problem in problems:
            table.add_row(problem["health"], problem["message"], str(problem["count"]), problem["example"] or "-")
        console.print(table)
    else:
        console.print(f"{name}: ok: every field found something and nothing was lost", highlight=False)


@site_app.command("reference")
def site_reference() -> None:
    """Print the site-file reference (Markdown) generated from the site-file model, with worked examples.

    Example: outreach site reference > docs/sites.md
    """
    from outreach.config.site_reference import render

    print(render(), end="")
