"""scrapy-playwright for the sites that need JavaScript, and only for their requests (meta playwright=True).

Debian's chromium-headless-shell, or its chromium (`playwright install` needs the internet). One context per crawl
with at most the site's concurrency in pages, each kept open and navigated to the next URL (crawler/page_pool.py: a
new page costs a new renderer process), closed with the browser when the crawl ends. What a page may fetch, and
when, is decided in crawler/page_requests.py, installed on every page by the PolitenessMiddleware; the abort rule
here repeats its rule for the site's `browser.block` (images, fonts and media by default: we store no photos, and
they are most of a page's weight for the site too) should a page ever load without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crawler.sites import SiteDefinition
from outreach.settings import Settings

# Debian's packages: the headless shell is chromium's old headless mode, without the full browser around it.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
CHROMIUM = Path("/usr/bin/chromium")


def chromium_executable(settings: Settings) -> Path:
    """`crawl.chromium_path` when set; else the headless shell when installed (a page costs it about a third less CPU
    than the full browser: bench/crawl_js.py), else chromium."""
    if settings.crawl.chromium_path is not None:
        return settings.crawl.chromium_path
    return HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM


class AbortBlocked:
    """PLAYWRIGHT_ABORT_REQUEST: True for requests the page makes that the site's `browser.block` refuses."""

    def __init__(self, blocked: frozenset[str]) -> None:
        self.blocked = blocked

    def __call__(self, request: Any) -> bool:
        return str(request.resource_type) in self.blocked


def blocked_resources(site: SiteDefinition) -> frozenset[str]:
    return frozenset(site.browser.block) if site.browser is not None else frozenset()


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
            "executable_path": str(chromium_executable(settings)),
            "headless": True,
            "args": args,
        },
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": site.rate_limit.concurrency,
        "PLAYWRIGHT_ABORT_REQUEST": AbortBlocked(blocked_resources(site)),
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
