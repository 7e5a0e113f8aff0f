"""The browser is configured for JavaScript sites only: Debian's headless shell (or chromium), headless, bounded,
no heavy resources."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler.browser import CHROMIUM, HEADLESS_SHELL, AbortBlocked, blocked_resources, browser_settings
from crawler.sites import load_site
from tests.crawling import crawl_settings

SITES = Path(__file__).resolve().parent.parent / "testworld" / "sites"


def test_only_a_site_that_needs_a_browser_gets_one(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    assert browser_settings(settings, load_site(SITES / "kinky_like.yaml")) == {}

    js = browser_settings(settings, load_site(SITES / "js_like.yaml"))
    launch = js["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["headless"] is True
    assert ("--no-sandbox" in launch["args"]) == (os.geteuid() == 0)
    assert js["PLAYWRIGHT_MAX_CONTEXTS"] == 1
    assert js["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] == 4  # the site's concurrency
    assert js["DOWNLOAD_HANDLERS"]["http"] == "crawler.handlers.PacedBrowserDownloadHandler"  # scrapy-playwright


def test_the_headless_shell_is_used_when_installed_unless_a_chromium_is_configured(tmp_path: Path) -> None:
    site = load_site(SITES / "js_like.yaml")
    chosen = browser_settings(crawl_settings(tmp_path), site)["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"]
    assert chosen == str(HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM)
    configured = crawl_settings(tmp_path, crawl={"chromium_path": "/opt/chromium/chrome"})
    assert browser_settings(configured, site)["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == "/opt/chromium/chrome"


def test_images_fonts_and_media_are_never_loaded_unless_the_site_says_otherwise() -> None:
    kinds = ["document", "script", "fetch", "xhr", "stylesheet", "image", "font", "media"]
    site = load_site(SITES / "js_like.yaml")
    abort = AbortBlocked(blocked_resources(site))
    assert [kind for kind in kinds if abort(SimpleNamespace(resource_type=kind))] == ["image", "font", "media"]

    assert site.browser is not None
    stylish = site.model_copy(update={"browser": site.browser.model_copy(update={"block": ["image", "stylesheet"]})})
    abort = AbortBlocked(blocked_resources(stylish))
    assert [kind for kind in kinds if abort(SimpleNamespace(resource_type=kind))] == ["stylesheet", "image"]


@pytest.mark.parametrize("kind", ["document", "script", "fetch"])
def test_what_carries_the_adverts_cannot_be_blocked(tmp_path: Path, kind: str) -> None:
    text = (SITES / "js_like.yaml").read_text(encoding="utf-8")
    path = tmp_path / "jsapp.yaml"
    path.write_text(text.replace('detail_ready: "p.rendered"', f'detail_ready: "p.rendered"\n  block: [{kind}]'))
    with pytest.raises(Exception, match="block"):
        load_site(path)
