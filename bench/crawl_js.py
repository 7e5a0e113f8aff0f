"""Benchmark: the JavaScript fixture layout through chromium, one browser setting at a time (issue 21, item 4).

    .venv/bin/python -m bench.crawl_js [--adverts 100] [--runs 3] [--variants NAME,...]

Each run crawls a fresh copy of the layout (age gate clicked, every number revealed by a click) into a fresh SQLite
database, at the benchmark's usual rate limit (no delay, 4 requests in flight: the site file's concurrency, which no
variant changes), checks that the stored adverts match the site's ground truth, and reports adverts/s and the CPU
seconds per advert of chromium, the crawl child and Playwright's driver (bench/process_cpu.py). Variants run in
turn within each round, so that a busy moment of a shared machine falls on all of them alike.

Variants: `now` is the shipped default; `main` the setup before issue 21 (the full chromium, a new page per
request); each other
variant takes one change back from `now` (or adds one, `+...`), so its difference from `now` is what that change is
worth.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.crawl import _crawl
from bench.process_cpu import DescendantCpu
from tests.crawling import crawl_settings, stored_adverts
from testworld.fixture_site import FixtureSite

RATE = {"requests_per_second": 1000, "delay_seconds": 0, "concurrency": 4}


@dataclass(frozen=True)
class Variant:
    what: str
    browser: dict[str, Any] = field(default_factory=dict)  # merged into the site file's `browser` section
    chromium: str | None = None  # crawl.chromium_path; None: the shipped choice (the headless shell when installed)


FULL_CHROMIUM = "/usr/bin/chromium"
VARIANTS = {
    "now": Variant("shipped defaults"),
    "main": Variant("before issue 21: chromium, a new page per request", {"reuse_pages": False}, FULL_CHROMIUM),
    "no-reuse": Variant("now, but a new page per request", {"reuse_pages": False}),
    "chromium": Variant("now, but the full chromium instead of its headless shell", chromium=FULL_CHROMIUM),
    "no-block": Variant("now, but images, media and fonts fetched", {"block": []}),
    "+stylesheet": Variant("now, and stylesheets blocked too", {"block": ["image", "media", "font", "stylesheet"]}),
}

DEFAULT_VARIANTS = ("now", "main", "no-reuse", "chromium", "no-block")


def run(variant: Variant, adverts: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="outreach-bench-crawl-js-"))
    with FixtureSite(seed=3, count=adverts, layout="js") as site:
        browser = {"listing_ready": "p.rendered", "detail_ready": "p.rendered", **variant.browser}
        site.write_site_file(folder / "sites", name="jsapp", rate_limit=RATE, browser=browser)
        settings = crawl_settings(folder, crawl={"chromium_path": variant.chromium} if variant.chromium else {})
        with DescendantCpu() as cpu:
            elapsed, stats = _crawl(settings, "jsapp")
        stored = stored_adverts(settings)
        truth = {ad.id: ad for ad in site.listed()}
    wrong = [ad_id for ad_id, ad in truth.items() if ad_id not in stored or stored[ad_id][0].title != ad.title]
    if len(stored) != adverts or wrong:
        raise SystemExit(f"{variant.what}: {len(stored)} adverts stored, {len(wrong)} differ from the ground truth")
    seconds = cpu.seconds()
    result = {
        "adverts/s": stats.get("adverts_new", 0) / elapsed,
        "seconds": elapsed,
        "pages opened": float(stats.get("playwright/page_count", 0)),
    }
    for name in ("chromium", "crawl", "driver"):
        result[f"{name} CPU ms/advert"] = seconds.get(name, 0.0) / adverts * 1000
    result["total CPU ms/advert"] = sum(seconds.values()) / adverts * 1000
    return result


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adverts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--variants", default=",".join(DEFAULT_VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}"
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")

    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_number in range(args.runs):
        for name in names:
            result = run(VARIANTS[name], args.adverts)
            results[name].append(result)
            print(f"round {round_number + 1} {name}: {result['adverts/s']:.2f} adverts/s", flush=True)

    keys = list(next(iter(results.values()))[0])
    print(f"\nJavaScript layout, {args.adverts} adverts, concurrency 4, {args.runs} runs: median (min-max)")
    print("| variant | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for name, runs in results.items():
        cells = [_median([r[key] for r in runs]) for key in keys]
        print(f"| {name}: {VARIANTS[name].what} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
