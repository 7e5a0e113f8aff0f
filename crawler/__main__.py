"""The crawl child: `python -m crawler --run-id N [--site NAME]`, settings on stdin (see Settings.for_child).

Exit codes: 0 crawled, 1 a site's crawl failed to run (see the log), 2 configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.utils.reactor import install_reactor
from twisted.python.failure import Failure

from crawler.settings import REACTOR, process_settings, scrapy_settings
from crawler.sites import load_sites
from crawler.spiders.generic import GenericAdSpider
from outreach.errors import ConfigError
from outreach.settings import load_child_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler")
    parser.add_argument("--run-id", type=int, default=0)
    parser.add_argument("--site", action="append", default=[], help="only these sites (default: all enabled)")
    args = parser.parse_args(argv)
    try:
        settings = load_child_settings(sys.stdin.read())
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
        crawl = process.crawl(Crawler(GenericAdSpider, scrapy_settings(settings, site, args.run_id)), site=site)
        crawl.addErrback(_record_failure, site.name, failed)
    _stop_when_orphaned(os.getppid())
    process.start()
    if failed:
        # The parent marks the run failed; the log above holds the traceback.
        print(f"error: the crawl of {', '.join(failed)} failed", file=sys.stderr)
        return 1
    return 0


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

    task.LoopingCall(check).start(0.5, now=False)


def _record_failure(failure: Failure, site: str, failed: list[str]) -> None:
    failed.append(site)
    logging.getLogger(__name__).error("crawl of site %s failed: %s", site, failure.getTraceback())


if __name__ == "__main__":
    sys.exit(main())
