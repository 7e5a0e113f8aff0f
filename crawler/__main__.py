"""The crawl child: `python -m crawler --run-id N [--site NAME]`, settings on stdin (see Settings.for_child);
`--try FILE --out REPORT` for `outreach site try`.

Exit codes: 0 crawled, 1 a site's crawl failed to run (see the log), 2 configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.utils.reactor import install_reactor
from twisted.python.failure import Failure

from crawler.settings import REACTOR, process_settings, scrapy_settings
from crawler.sites import SiteDefinition, load_site, load_sites
from crawler.spiders.generic import GenericAdSpider
from outreach.errors import ConfigError
from outreach.settings import load_child_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler")
    parser.add_argument("--run-id", type=int, default=0)
    parser.add_argument("--site", action="append", default=[], help="only these sites (default: all enabled)")
    parser.add_argument("--try", dest="trial", type=Path, help="`outreach site try`: this site file, stored nowhere")
    parser.add_argument("--pages", type=int, default=2, help="with --try: listing pages to read")
    parser.add_argument("--adverts", type=int, default=10, help="with --try: detail pages to read")
    parser.add_argument("--out", type=Path, help="with --try: where the report goes (JSON)")
    parser.add_argument(
        "--parent-pid",
        type=int,
        help="the process that started us (its own pid, passed by it): we stop when it is gone. Read from the OS "
        "instead, it would be read after the imports (seconds), and a parent that died meanwhile would never be missed",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_child_settings(sys.stdin.read())
        if args.trial is not None:
            sites = [trial_site(load_site(args.trial), args.pages)]
        else:
            sites = load_sites(settings.sites_dir)
        if args.site:
            unknown = set(args.site) - {site.name for site in sites}
            if unknown:
                raise ConfigError(f"unknown or disabled site: {', '.join(sorted(unknown))}")
            sites = [site for site in sites if site.name in args.site]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Each site gets its own Crawler (created here, not by the process), so the reactor is installed up front.
    install_reactor(REACTOR)
    process = CrawlerProcess(process_settings(settings))
    failed: list[str] = []
    for site in sites:
        # One Crawler per site: its own politeness settings, stats and limits.
        options = scrapy_settings(settings, site, args.run_id, args.out if args.trial is not None else None)
        limit = {"detail_limit": args.adverts} if args.trial is not None else {}
        crawl = process.crawl(Crawler(GenericAdSpider, options), site=site, **limit)
        crawl.addErrback(_record_failure, site.name, failed)
    _stop_when_orphaned(args.parent_pid or os.getppid())
    process.start()
    if failed:
        # The parent marks the run failed; the log above holds the traceback.
        print(f"error: the crawl of {', '.join(failed)} failed", file=sys.stderr)
        return 1
    return 0


def trial_site(site: SiteDefinition, pages: int) -> SiteDefinition:
    """The site as `site try` crawls it: a few listing pages, never incremental (it reads no store)."""
    return site.model_copy(
        update={
            "incremental": site.incremental.model_copy(update={"enabled": False}),
            "limits": site.limits.model_copy(update={"max_listing_pages": max(1, pages)}),
        }
    )


def _stop_when_orphaned(parent: int) -> None:
    """Exit once the cycle that started us is gone (killed, out of memory): the restarted cycle starts its own
    crawl, and two crawls of one site would together exceed its request rate. At once, not by Scrapy's graceful
    stop, which still downloads every request already queued for the site. Ending like this is the same as being
    killed with the parent: every store write is one transaction, and what was not stored the next crawl fetches."""
    from twisted.internet import task

    def check() -> None:
        if os.getppid() != parent:
            logging.getLogger(__name__).warning("the parent process %s is gone: stopping the crawl now", parent)
            logging.shutdown()
            os._exit(1)

    task.LoopingCall(check).start(0.5, now=True)  # now: a parent gone before the first request stops it


def _record_failure(failure: Failure, site: str, failed: list[str]) -> None:
    failed.append(site)
    logging.getLogger(__name__).error("crawl of site %s failed: %s", site, failure.getTraceback())


if __name__ == "__main__":
    sys.exit(main())
