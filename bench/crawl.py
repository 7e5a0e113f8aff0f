"""Benchmark: the crawler end to end (child process -> politeness -> extraction -> store) against fixture sites on
127.0.0.1, on a fresh SQLite database per run.

    .venv/bin/python -m bench.crawl [--adverts 5000] [--runs 3] [--limited-pages 150] [--js-adverts 300]

Scenarios:
- unlimited: the Kinky.nl-like layout without a rate limit (concurrency 8): pages/s, adverts/s, peak RSS;
- recrawl: the same site again, unchanged: requests as a share of the first crawl's;
- limited: 5 requests/s, `--limited-pages` requests: achieved rate and the busiest one-second window (server log);
- js: the JavaScript layout through chromium: adverts/s and peak RSS.

Peak RSS is `getrusage(RUSAGE_CHILDREN).ru_maxrss`: the largest single process among the crawl children (and, for
the JS layout, chromium's processes) so far, so scenarios run in order of expected size.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from outreach.cycle.crawl import run_crawl
from outreach.settings import Settings
from outreach.store.db import Store
from tests.crawling import busiest_window, crawl_settings
from testworld.fixture_site import FixtureSite

UNLIMITED = {"requests_per_second": 1000, "delay_seconds": 0, "concurrency": 8}


def _crawl(settings: Settings, site: str) -> tuple[float, dict[str, Any]]:
    store = Store(settings.database_url)
    try:
        start = time.perf_counter()
        outcome = run_crawl(settings, store, actor="bench", sites=[site])
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    if not outcome.ok:
        raise SystemExit(f"crawl failed: {outcome.error}")
    return elapsed, outcome.stats.get(site, {})


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def unlimited_and_recrawl(adverts: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="outreach-bench-crawl-"))
    with FixtureSite(seed=1, count=adverts) as site:
        site.write_site_file(
            folder / "sites", rate_limit=UNLIMITED, limits={"max_pages": 100_000, "max_listing_pages": 1000}
        )
        settings = crawl_settings(folder)
        elapsed, stats = _crawl(settings, "fixture")
        first_requests = len(site.requests)
        re_elapsed, re_stats = _crawl(settings, "fixture")
        recrawl_requests = len(site.requests) - first_requests
    return {
        "seconds": elapsed,
        "adverts": float(stats.get("adverts_new", 0)),
        "adverts/s": stats.get("adverts_new", 0) / elapsed,
        "pages/s": stats.get("downloader/response_count", 0) / elapsed,
        "requests": float(first_requests),
        "recrawl requests": float(recrawl_requests),
        "recrawl share": recrawl_requests / first_requests,
        "recrawl seconds": re_elapsed,
        "recrawl new": float(re_stats.get("adverts_new", 0)),
    }


def limited(pages: int, rate: int = 5) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="outreach-bench-crawl-"))
    with FixtureSite(seed=2, count=max(pages * 2, 100)) as site:
        site.write_site_file(
            folder / "sites",
            rate_limit={"requests_per_second": rate, "delay_seconds": 0, "concurrency": 4},
            limits={"max_pages": pages},
        )
        _crawl(crawl_settings(folder), "fixture")
        times = sorted(request.at for request in site.requests)
    span = times[-1] - times[0]
    return {
        "requests": float(len(times)),
        "achieved rate": (len(times) - 1) / span,
        "achieved share": (len(times) - 1) / span / rate,
        "busiest window": float(busiest_window(site.requests)),
    }


def javascript(adverts: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="outreach-bench-crawl-"))
    with FixtureSite(seed=3, count=adverts, layout="js") as site:
        site.write_site_file(folder / "sites", name="jsapp", rate_limit={**UNLIMITED, "concurrency": 4})
        elapsed, stats = _crawl(crawl_settings(folder), "jsapp")
    return {
        "seconds": elapsed,
        "adverts": float(stats.get("adverts_new", 0)),
        "adverts/s": stats.get("adverts_new", 0) / elapsed,
    }


def _median(runs: list[dict[str, float]], key: str) -> str:
    values = sorted(run[key] for run in runs)
    return f"{statistics.median(values):.3g} (min {values[0]:.3g}, max {values[-1]:.3g})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adverts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limited-pages", type=int, default=150)
    parser.add_argument("--js-adverts", type=int, default=300)
    args = parser.parse_args()

    runs = [unlimited_and_recrawl(args.adverts) for _ in range(args.runs)]
    print(f"unlimited rate, {args.adverts} adverts, {args.runs} runs (median, min, max):")
    for key in ("seconds", "adverts/s", "pages/s", "requests", "recrawl requests", "recrawl share", "recrawl seconds"):
        print(f"  {key:18s} {_median(runs, key)}")
    print(f"  peak RSS (largest crawl child) {_peak_rss_mb():.0f} MB")

    rate = limited(args.limited_pages)
    print(f"limited to 5 requests/s, {args.limited_pages} requests:")
    for key, value in rate.items():
        print(f"  {key:18s} {value:.3g}")

    js = javascript(args.js_adverts)
    print(f"JavaScript layout through chromium, {args.js_adverts} adverts, concurrency 4:")
    for key, value in js.items():
        print(f"  {key:18s} {value:.3g}")
    print(f"  peak RSS (largest process, chromium included) {_peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
