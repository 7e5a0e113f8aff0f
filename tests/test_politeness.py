"""Politeness, judged by the fixture site's own request log: rate windows, gaps, Retry-After, backoff, abandoning,
User-Agent and per-run limits. Every test runs the real crawl child against a real local server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path

import pytest

from crawler.pace import WINDOW_SECONDS, Pace, retry_after_seconds
from tests.crawling import busiest_window, crawl, crawl_settings, smallest_gap
from testworld.fixture_site import Fault, FixtureSite


@pytest.fixture
def small_site() -> Iterator[FixtureSite]:
    """Two listing pages and 30 adverts: enough requests to fill several one-second windows."""
    with FixtureSite(seed=3, count=30) as site:
        yield site


def test_it_never_exceeds_the_rate_limit_in_any_one_second_window(small_site: FixtureSite, tmp_path: Path) -> None:
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 10, "concurrency": 4})
    crawled = crawl(crawl_settings(tmp_path))

    requests = small_site.requests_to()
    assert crawled.count("adverts_seen") == 30
    assert len(requests) >= 33  # robots.txt, two listing pages, 30 adverts
    assert busiest_window(requests) <= 10


def test_it_keeps_the_larger_of_the_site_delay_and_the_robots_crawl_delay(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.crawl_delay = 0.3
    small_site.write_site_file(
        tmp_path / "sites",
        rate_limit={"requests_per_second": 50, "delay_seconds": 0.1, "concurrency": 4},
        limits={"max_pages": 8},
    )
    crawled = crawl(crawl_settings(tmp_path))

    requests = small_site.requests_to()
    assert len(requests) >= 6
    assert smallest_gap(requests) >= 0.28  # the server clock sees a few ms of jitter
    assert crawled.site["politeness/robots_crawl_delay"] == 0.3


def test_it_waits_as_long_as_retry_after_says_before_asking_again(small_site: FixtureSite, tmp_path: Path) -> None:
    small_site.add_fault(Fault("429", path_prefix="/advertentie/", times=1, retry_after="2"))
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 50, "concurrency": 1})
    crawled = crawl(crawl_settings(tmp_path))

    requests = sorted(small_site.requests_to(), key=lambda r: r.at)
    refused = next(r for r in requests if r.status == 429)
    after = [r for r in requests if r.at > refused.at]
    assert after and after[0].at - refused.at >= 1.95
    assert crawled.count("adverts_seen") == 30  # the refused advert was fetched again later
    assert crawled.count("politeness/retried") == 1


def test_it_backs_off_exponentially_and_abandons_a_site_that_keeps_failing(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.add_fault(Fault("503", path_prefix="/advertenties", times=1000))
    small_site.write_site_file(
        tmp_path / "sites",
        rate_limit={"requests_per_second": 50, "concurrency": 1},
        backoff={"base_seconds": 0.2, "cap_seconds": 0.5, "max_consecutive_failures": 4},
    )
    crawled = crawl(crawl_settings(tmp_path))

    listing = sorted(small_site.requests_to("/advertenties"), key=lambda r: r.at)
    assert len(listing) == 4  # the fourth failure in a row abandons the site
    gaps = [b.at - a.at for a, b in pairwise(listing)]
    assert gaps[0] >= 0.19 and gaps[1] >= 0.39 and gaps[2] >= 0.49  # 0.2, 0.4, then capped at 0.5
    assert "4 failures in a row" in crawled.site["abandoned"]
    assert crawled.site["finish_reason"] == "abandoned"


def test_it_abandons_a_site_that_asks_for_a_wait_longer_than_allowed(small_site: FixtureSite, tmp_path: Path) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    small_site.add_fault(Fault("503", path_prefix="/advertenties", times=1000, retry_after=later))
    small_site.write_site_file(tmp_path / "sites", backoff={"max_retry_after_seconds": 60})
    crawled = crawl(crawl_settings(tmp_path))

    assert len(small_site.requests_to("/advertenties")) == 1
    assert "Retry-After" in crawled.site["abandoned"]


def test_it_names_the_organisation_and_its_contact_url_in_the_user_agent(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 100}, limits={"max_pages": 3})
    crawl(crawl_settings(tmp_path))

    agents = {request.user_agent for request in small_site.requests_to()}
    assert agents == {
        "Test Outreach outreach crawler (help organisation fieldwork; +https://outreach.example.org/crawler)"
    }


@pytest.mark.parametrize("trap", ["loop", "endless"])
def test_it_stops_cleanly_at_a_pagination_trap(small_site: FixtureSite, tmp_path: Path, trap: str) -> None:
    small_site.pagination_trap = trap
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 200, "concurrency": 4})
    crawled = crawl(crawl_settings(tmp_path))

    assert crawled.count("adverts_seen") == 30
    assert len(small_site.requests_to("/advertenties")) <= 3
    assert crawled.site["pagination_stopped"]
    assert crawled.site["finish_reason"] == "finished"


def test_it_stops_at_the_page_limit(small_site: FixtureSite, tmp_path: Path) -> None:
    small_site.write_site_file(
        tmp_path / "sites", rate_limit={"requests_per_second": 200, "concurrency": 1}, limits={"max_pages": 5}
    )
    crawled = crawl(crawl_settings(tmp_path))

    assert len(small_site.requests_to()) == 5  # robots.txt included: a promise about requests, held ones dropped
    assert crawled.site["finish_reason"] == "max_pages"


def test_it_gives_up_on_a_slow_page_at_the_download_timeout_and_goes_on(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.add_fault(Fault("slow", path_prefix="/advertentie/", times=3, seconds=1.5))
    small_site.write_site_file(
        tmp_path / "sites",
        rate_limit={"requests_per_second": 200, "concurrency": 4},
        limits={"download_timeout_seconds": 0.5},
        backoff={"base_seconds": 0.1},
    )
    crawled = crawl(crawl_settings(tmp_path))

    assert crawled.count("adverts_seen") >= 29  # a timed-out page is retried; at worst one is lost
    assert sum(v for k, v in crawled.site.items() if k.startswith("politeness/errors/")) >= 1


def test_the_pace_keeps_every_window_under_the_limit_and_every_gap_above_the_minimum() -> None:
    pace = Pace(requests_per_second=5, min_gap=0.05)
    times = [pace.reserve(now=0.0) for _ in range(40)]
    assert times == sorted(times)
    assert all(b - a >= 0.05 - 1e-9 for a, b in pairwise(times))
    assert all(times[i + 5] - times[i] >= WINDOW_SECONDS - 1e-9 for i in range(len(times) - 5))


def test_a_slow_rate_spreads_requests_instead_of_bursting() -> None:
    pace = Pace(requests_per_second=0.5, min_gap=0.0)
    assert [pace.reserve(now=0.0) for _ in range(3)] == [0.0, 2.0, 4.0]


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 27, 18, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(b"7", now) == 7.0
    assert retry_after_seconds("Fri, 27 Nov 2026 18:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Fri, 27 Nov 2026 17:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_it_never_requests_what_robots_txt_disallows(small_site: FixtureSite, tmp_path: Path) -> None:
    forbidden = small_site.generated.adverts[7].path
    small_site.disallow = [forbidden]
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 200, "concurrency": 4})
    crawled = crawl(crawl_settings(tmp_path))

    assert forbidden not in {request.path for request in small_site.requests_to()}
    assert crawled.count("robotstxt/forbidden") == 1
    assert crawled.count("adverts_seen") == 29


def test_it_reads_the_detail_pages_of_a_listing_page_before_the_next_listing_page(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 200, "concurrency": 1})
    crawl(crawl_settings(tmp_path))

    paths = [request.path for request in sorted(small_site.requests_to(), key=lambda r: r.at)]
    first_page = {ad.path for ad in small_site.generated.adverts[:24]}
    assert max(paths.index(path) for path in first_page) < paths.index("/advertenties?page=2")
