"""The crawl contacts only the sites it crawls.

Scrapy's cookie middleware asks tldextract whether a cookie's domain is a public suffix (a module-level
`TLDExtract()` in scrapy/downloadermiddlewares/cookies.py). Left as it is, tldextract downloads the public-suffix
list on first use and caches it under ~/.cache: every new machine's first crawl of a site that sets a cookie asked
publicsuffix.org and GitHub for it (and logged two warning tracebacks where it could not), and wrote outside var/.
Scrapy has no setting for it, so this extension, enabled in crawler/settings.py, gives the middleware an extractor
that reads the list shipped inside the installed tldextract package (updated with each release, pinned by the lock
file): no fetch, no cache.
"""

from __future__ import annotations

import logging

import tldextract
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares import cookies

logger = logging.getLogger(__name__)


def shipped_suffix_list() -> tldextract.TLDExtract:
    """What Scrapy builds (private domains included), from the package's own snapshot of the list."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


class ShippedSuffixList:
    """Scrapy extension: before the first request, Scrapy's cookie middleware gets the offline extractor (once per
    process; every crawler in it shares the middleware's module)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ShippedSuffixList:
        current = getattr(cookies, "_split_domain", None)
        if not isinstance(current, tldextract.TLDExtract):
            # Scrapy moved it: the crawl still works, but may fetch the list (tests/test_network_guard.py fails).
            logger.warning("Scrapy's cookie middleware has no tldextract extractor to replace; see crawler/offline.py")
        elif current.suffix_list_urls:
            cookies._split_domain = shipped_suffix_list()
        return cls()
