"""scrapy-playwright for the sites that need JavaScript, and only for their requests (meta playwright=True).

Debian's chromium (`playwright install` needs the internet); one context with a bounded number of pages.
scrapy-playwright closes each page after its response (we never ask for the page object) and the browser when the
crawl ends. What a page may fetch, and when, is decided in crawler/page_requests.py, installed on every page by the
PolitenessMiddleware; the abort rule here repeats its rule for images, fonts and media (we store no photos, and they
are most of a page's weight for the site too) should a page ever load without it.
"""

from __future__ import annotations

import os
from typing import Any

from crawler.sites import SiteDefinition
from outreach.settings import Settings

BLOCKED_RESOURCES = frozenset({"image", "font", "media"})


def abort_heavy_resources(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: True for requests the page makes that we do not want."""
    return str(request.resource_type) in BLOCKED_RESOURCES


def browser_settings(settings: Settings, site: SiteDefinition) -> dict[str, Any]:
    if not site.needs_browser:
        return {}
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses to run as root inside its sandbox
    return {
        "DOWNLOAD_HANDLERS": {
            "http": "crawler.handlers.PacedBrowserDownloadHandler",
            "https": "crawler.handlers.PacedBrowserDownloadHandler",
        },
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": str(settings.crawl.chromium_path),
            "headless": True,
            "args": args,
        },
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": site.rate_limit.concurrency,
        "PLAYWRIGHT_ABORT_REQUEST": abort_heavy_resources,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": site.limits.download_timeout_seconds * 1000,
        **_gate_cookies(site),
    }


def _gate_cookies(site: SiteDefinition) -> dict[str, Any]:
    """`gate.cookies` on a browser site: set on the browser context the pages open in (a Cookie header on the
    request would be dropped by the browser, and the page's own data calls would not carry it)."""
    if site.gate is None or not site.gate.cookies:
        return {}
    cookies = [{"name": name, "value": value, "url": str(site.base_url)} for name, value in site.gate.cookies.items()]
    return {"PLAYWRIGHT_CONTEXTS": {"default": {"storage_state": {"cookies": cookies, "origins": []}}}}
