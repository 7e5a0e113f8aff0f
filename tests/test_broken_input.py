"""Broken pages never crash a crawl and never leave a half-written advert: they are counted and logged with their
URL, and everything else on the site is still stored."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from outreach.store.db import Store
from outreach.store.models import Advert
from tests.crawling import crawl, crawl_settings
from testworld.fixture_site import Fault, FixtureSite


def test_malformed_huge_binary_and_misencoded_pages_are_counted_and_the_rest_is_stored(tmp_path: Path) -> None:
    with FixtureSite(seed=21, count=30) as site:
        ads = site.generated.adverts
        broken = {"malformed": ads[1], "huge": ads[2], "binary": ads[3], "wrong_encoding": ads[4]}
        for kind, ad in broken.items():
            site.add_fault(Fault(kind, path_prefix=ad.path, times=100))
        site.write_site_file(
            tmp_path / "sites",
            rate_limit={"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4},
            backoff={"base_seconds": 0.05},
            limits={"max_response_bytes": 5 * 1024 * 1024},
        )
        settings = crawl_settings(tmp_path)
        crawled = crawl(settings)

    with Store(settings.database_url) as store, store.session() as session:
        stored = {advert.site_ad_id: advert for advert in session.execute(select(Advert)).scalars()}
    assert crawled.site["finish_reason"] == "finished"
    # The huge page is refused at the size limit, the binary one has no advert on it; the others are stored.
    assert set(stored) == {ad.id for ad in ads} - {broken["huge"].id, broken["binary"].id}
    assert all(a.title and a.url_encrypted and len(a.content_hash) == 64 for a in stored.values())
    assert "ï¿½" not in stored[broken["wrong_encoding"].id].text  # decoded, not double-encoded garbage
    assert crawled.count("problems/no_ad_id") == 1
    # Losing pages is never "ok": the run says what was lost and where.
    assert crawled.site["health"] == "degraded"
    assert [problem["reason"] for problem in crawled.site["problems"]] == ["lost_details"]
    assert sum(v for k, v in crawled.site.items() if k.startswith("downloader/exception_type_count/")) >= 1
    log = crawled.outcome.log_file.read_text(encoding="utf-8")
    assert broken["binary"].path in log and broken["huge"].path in log
