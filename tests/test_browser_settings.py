"""The browser is configured for JavaScript sites only: Debian's chromium, headless, bounded, no heavy resources."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from crawler.browser import abort_heavy_resources, browser_settings
from crawler.sites import load_site
from tests.crawling import crawl_settings

SITES = Path(__file__).resolve().parent.parent / "testworld" / "sites"


def test_only_a_site_that_needs_a_browser_gets_one(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    assert browser_settings(settings, load_site(SITES / "kinky_like.yaml")) == {}

    js = browser_settings(settings, load_site(SITES / "js_like.yaml"))
    launch = js["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["executable_path"] == "/usr/bin/chromium" and launch["headless"] is True
    assert ("--no-sandbox" in launch["args"]) == (os.geteuid() == 0)
    assert js["PLAYWRIGHT_MAX_CONTEXTS"] == 1
    assert js["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] == 4  # the site's concurrency
    assert js["DOWNLOAD_HANDLERS"]["http"] == "crawler.handlers.PacedBrowserDownloadHandler"  # scrapy-playwright


def test_images_fonts_and_media_are_never_loaded() -> None:
    kinds = ["document", "script", "fetch", "xhr", "stylesheet", "image", "font", "media"]
    blocked = [kind for kind in kinds if abort_heavy_resources(SimpleNamespace(resource_type=kind))]
    assert blocked == ["image", "font", "media"]
