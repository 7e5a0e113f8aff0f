"""The crawl log holds no personal data, even at DEBUG level: no number in any spelling, no advert text."""

from __future__ import annotations

from pathlib import Path

from tests.crawling import crawl, crawl_settings
from testworld.fixture_site import Fault, FixtureSite


def test_the_crawl_log_holds_no_number_and_no_advert_text_even_at_debug_level(tmp_path: Path) -> None:
    with FixtureSite(seed=31, count=30) as site:
        # A broken page as well: warnings about it name the URL, never the content.
        site.add_fault(Fault("malformed", path_prefix=site.generated.adverts[0].path, times=5))
        site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 500, "concurrency": 4})
        crawled = crawl(crawl_settings(tmp_path, crawl={"log_level": "DEBUG"}))
        adverts = site.generated.adverts

    log = crawled.outcome.log_file.read_text(encoding="utf-8")
    assert "Scraped from" in log and adverts[5].path in log  # the log is real and names adverts by URL
    spellings = set()
    for ad in adverts:
        if ad.phone:
            spellings |= {ad.phone, ad.phone.lstrip("+"), ad.phone[3:]}
        if ad.phone_written:
            spellings.add(ad.phone_written)
    assert sorted(s for s in spellings if s in log) == []
    assert not any(ad.text[:40] in log for ad in adverts)
