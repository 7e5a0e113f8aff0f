"""Each fixture layout, crawled for real, yields exactly its ground truth: every advert with its title, city,
category and phone number. The JavaScript layout goes through scrapy-playwright and Debian's chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.settings import Settings
from tests.crawling import busiest_window, crawl, crawl_settings, stored_adverts
from testworld.fixture_site import FixtureSite

FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}


def _stored(settings: Settings) -> dict[str, tuple[str, str | None, str | None, set[str]]]:
    """site_ad_id -> (title, city, category, E.164 numbers)."""
    return {
        ad_id: (ad.title, ad.city, ad.category, numbers) for ad_id, (ad, numbers) in stored_adverts(settings).items()
    }


def _truth(site: FixtureSite) -> dict[str, tuple[str, str | None, str | None, set[str]]]:
    """Landlines are kept out: only mobile numbers (of accepted countries: all the fixture generates) count."""
    mobile = {ad.id: {ad.phone} if ad.phone and ad.phone_kind == "mobile" else set() for ad in site.listed()}
    return {ad.id: (ad.title, ad.city, ad.category, mobile[ad.id]) for ad in site.listed()}


@pytest.mark.parametrize("layout", ["kinky", "profiles"])
def test_a_crawl_of_a_server_rendered_layout_matches_its_ground_truth(tmp_path: Path, layout: str) -> None:
    with FixtureSite(seed=11, count=40, layout=layout) as site:
        site.write_site_file(tmp_path / "sites", name=layout, rate_limit=FAST)
        settings = crawl_settings(tmp_path)
        crawled = crawl(settings, layout)
        assert _stored(settings) == _truth(site)
    assert crawled.count("adverts_new") == 40


def test_the_profiles_layout_is_crawled_through_its_age_gate_and_show_number_button(tmp_path: Path) -> None:
    with FixtureSite(seed=12, count=10, layout="profiles") as site:
        site.write_site_file(tmp_path / "sites", name="profiles", rate_limit=FAST)
        crawled = crawl(crawl_settings(tmp_path), "profiles")
        paths = [r.path for r in site.requests_to()]
        with_number = sum(1 for ad in site.generated.adverts if ad.phone)
    assert crawled.count("gate_accepted") == 1
    assert not any(p.startswith("/gate?") for p in paths)  # never bounced to the gate
    assert sum(p.endswith("/nummer") for p in paths) == with_number == crawled.count("numbers_revealed")


def test_the_profiles_layout_gate_can_be_accepted_by_a_cookie(tmp_path: Path) -> None:
    with FixtureSite(seed=12, count=10, layout="profiles") as site:
        site.write_site_file(
            tmp_path / "sites", name="profiles", rate_limit=FAST, gate={"cookies": {"adult_ok": "1"}, "form_url": None}
        )
        settings = crawl_settings(tmp_path)
        crawl(settings, "profiles")
        assert _stored(settings) == _truth(site)
        assert not any(r.path.startswith("/gate") for r in site.requests_to())


@pytest.mark.slow
def test_a_browser_crawl_of_the_javascript_layout_matches_its_ground_truth(tmp_path: Path) -> None:
    """Through the gate by a click, every number revealed by a click, within the rate limit (page loads count
    with their data requests)."""
    with FixtureSite(seed=13, count=30, layout="js") as site:
        site.write_site_file(
            tmp_path / "sites",
            name="jsapp",
            rate_limit={"requests_per_second": 20, "delay_seconds": 0, "concurrency": 2},
        )
        settings = crawl_settings(tmp_path)
        crawled = crawl(settings, "jsapp")
        assert _stored(settings) == _truth(site)
        requests = site.requests_to()
    assert crawled.count("adverts_new") == 30
    assert any(r.path.startswith("/api/adverts/") for r in requests)  # the data came through the page's own script
    assert sum(r.path.endswith("/number") for r in requests) == 30  # one click on "show number" per advert
    assert busiest_window(requests) <= 20
    # 31 page loads in at most 2 pages, one per request in flight: each page is navigated to the next URL.
    assert 1 <= crawled.count("playwright/page_count") <= 2


@pytest.mark.slow
def test_blocking_images_fonts_and_media_hides_nothing_an_advert_holds(tmp_path: Path) -> None:
    """The same JavaScript site crawled with the default `browser.block` and with nothing blocked (and a new page
    per request, as before pages were reused): the stored adverts are identical, field by field and number by
    number. Only the blocked crawl never asked for the logo and the font."""
    stored, asked = [], []
    with FixtureSite(seed=15, count=12, layout="js") as site:
        for block, reuse in (([], False), (None, True)):
            folder = tmp_path / ("unblocked" if block == [] else "blocked")
            browser = {"listing_ready": "p.rendered", "detail_ready": "p.rendered", "reuse_pages": reuse}
            site.write_site_file(
                folder / "sites",
                name="jsapp",
                rate_limit={"requests_per_second": 50, "delay_seconds": 0, "concurrency": 2},
                browser=browser if block is None else {**browser, "block": block},
            )
            settings = crawl_settings(folder)
            before = len(site.requests_to())
            assert crawl(settings, "jsapp").count("adverts_new") == 12
            asked.append({r.path for r in site.requests_to()[before:]})
            stored.append(_everything_stored(settings))
    unblocked, blocked = stored
    assert blocked == unblocked and len(blocked) == 12
    assert {"/static/logo.png", "/static/fixture-sans.woff2"} <= asked[0]
    assert not {"/static/logo.png", "/static/fixture-sans.woff2"} & asked[1]


def _everything_stored(settings: Settings) -> dict[str, tuple[object, ...]]:
    return {
        ad_id: (
            ad.site_id,
            ad.title,
            ad.text,
            ad.city,
            ad.category,
            ad.language,
            ad.has_whatsapp,
            ad.phone_count,
            ad.numbers_left_out,
            ad.content_hash,
            ad.listing_hash,
            frozenset(numbers),
        )
        for ad_id, (ad, numbers) in stored_adverts(settings).items()
    }


@pytest.mark.slow
def test_a_browser_sites_gate_can_be_accepted_by_cookies_on_the_browser_context(tmp_path: Path) -> None:
    """The JavaScript layout's data calls need the gate's cookie: set on the context, no click is needed."""
    with FixtureSite(seed=14, count=6, layout="js") as site:
        site.write_site_file(
            tmp_path / "sites",
            name="jsapp",
            gate={"cookies": {"gate": "ok"}, "click": None},
            rate_limit={"requests_per_second": 20, "delay_seconds": 0, "concurrency": 2},
        )
        settings = crawl_settings(tmp_path)
        crawled = crawl(settings, "jsapp")
        assert _stored(settings) == _truth(site)
    assert crawled.count("adverts_new") == 6


def test_without_a_browser_the_javascript_layout_shows_no_adverts(tmp_path: Path) -> None:
    with FixtureSite(seed=13, count=5, layout="js") as site:
        site.write_site_file(
            tmp_path / "sites",
            name="jsapp",
            needs_browser=False,
            browser=None,
            gate=None,
            detail={"reveal_number": None},
        )
        crawled = crawl(crawl_settings(tmp_path), "jsapp")
    assert crawled.count("listing_entries") == 0
    assert crawled.count("adverts_seen") == 0
