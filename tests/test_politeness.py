"""Politeness, judged by the fixture site's own request log: rate windows, gaps, Retry-After, backoff, abandoning,
User-Agent and per-run limits. Every test runs the real crawl child against a real local server; those about the
pace run it beside a CPU burner, because a loaded machine is where requests used to crowd each other."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path

import pytest

from crawler.pace import MARGIN_SECONDS, Pace, retry_after_seconds
from tests.crawling import busiest_window, cpu_burner, crawl, crawl_settings, smallest_gap
from testworld.fixture_site import Fault, FixtureSite


@pytest.fixture
def small_site() -> Iterator[FixtureSite]:
    """Two listing pages and 30 adverts: enough requests to fill several one-second windows."""
    with FixtureSite(seed=3, count=30) as site:
        yield site


@pytest.mark.slow
def test_it_never_exceeds_the_rate_limit_in_any_one_second_window_even_on_a_loaded_machine(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.write_site_file(tmp_path / "sites", rate_limit={"requests_per_second": 10, "concurrency": 4})
    settings = crawl_settings(tmp_path)
    with cpu_burner(small_site):
        crawled = crawl(settings)

    requests = small_site.requests_to()
    assert crawled.count("adverts_seen") == 30
    assert len(requests) >= 33  # robots.txt, two listing pages, 30 adverts
    assert busiest_window(requests) <= 10


@pytest.mark.slow
def test_the_site_never_sees_two_requests_closer_than_the_larger_of_delay_and_crawl_delay_on_a_loaded_machine(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    small_site.crawl_delay = 0.3
    small_site.write_site_file(
        tmp_path / "sites",
        rate_limit={"requests_per_second": 50, "delay_seconds": 0.1, "concurrency": 4},
        limits={"max_pages": 8},
    )
    settings = crawl_settings(tmp_path)
    with cpu_burner(small_site):
        crawled = crawl(settings)

    requests = small_site.requests_to()
    assert len(requests) == 8
    assert smallest_gap(requests) >= 0.3  # as the site's own clock measured them, no allowance for jitter
    assert crawled.site["politeness/robots_crawl_delay"] == 0.3


@pytest.mark.slow
def test_retry_after_holds_for_every_request_to_the_site_even_on_a_loaded_machine(
    small_site: FixtureSite, tmp_path: Path
) -> None:
    """With two requests at a time, the other one waits too, also when it was already waiting for its turn."""
    small_site.add_fault(Fault("429", path_prefix="/advertentie/", times=1, retry_after="2"))
    small_site.write_site_file(
        tmp_path / "sites",
        rate_limit={"requests_per_second": 50, "delay_seconds": 0.2, "concurrency": 2},
        limits={"max_pages": 8},
    )
    settings = crawl_settings(tmp_path)
    with cpu_burner(small_site):
        crawled = crawl(settings)

    requests = sorted(small_site.requests_to(), key=lambda r: r.at)
    refused = next(r for r in requests if r.status == 429)
    after = [r for r in requests if r.at > refused.at]
    assert len(after) >= 3 and after[0].at - refused.at >= 2.0
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


def _paced(pace: Pace, latencies: list[float], concurrency: int) -> list[tuple[float, float]]:
    """(left, answered) of requests sent as soon as `pace` and `concurrency` allow, each answered `latency` after
    it left: a small simulation of the crawl against a site whose answers take that long."""
    now, flying, done = 0.0, dict[int, tuple[float, float]](), list[tuple[float, float]]()
    for latency in latencies:
        while len(flying) >= concurrency or pace.earliest(now) > now:
            next_answer = min((answered for _, answered in flying.values()), default=math.inf)
            now = max(now, min(next_answer, pace.earliest(now) if len(flying) < concurrency else math.inf))
            for ticket, (_, answered) in list(flying.items()):
                if answered <= now:
                    pace.answered(ticket, answered)
                    done.append(flying.pop(ticket))
        flying[pace.leave(now)] = (now, now + latency)
    return sorted(done + list(flying.values()))


def test_the_pace_counts_from_answers_so_a_late_request_cannot_crowd_the_next() -> None:
    """A request reached the site somewhere between leaving and its answer: whatever the moment, the site sees
    no gap under the minimum and no more than the rate in any one second."""
    latencies = [random.Random(7).choice([0.001, 0.02, 0.3, 0.7]) for _ in range(60)]
    windowed = _paced(Pace(requests_per_second=5, min_gap=0.0), latencies, concurrency=4)
    for index, (left, _) in enumerate(windowed):
        possibly_within_a_second = [a for _, a in windowed[:index] if a > left - 1.0]
        assert len(possibly_within_a_second) < 5
    gapped = _paced(Pace(requests_per_second=50, min_gap=0.25), latencies, concurrency=4)
    assert all(later_left - answered >= 0.25 for (_, answered), (later_left, _) in pairwise(gapped))


def test_a_slow_rate_spreads_requests_instead_of_bursting() -> None:
    left = [left for left, _ in _paced(Pace(requests_per_second=0.5, min_gap=0.0), [0.0] * 3, concurrency=4)]
    assert left == pytest.approx([0.0, 2 + MARGIN_SECONDS, 4 + 2 * MARGIN_SECONDS])


def test_a_request_whose_answer_never_comes_stops_holding_the_others_after_a_while() -> None:
    pace = Pace(requests_per_second=1, min_gap=1.0, stale_after=30.0)
    pace.leave(0.0)
    assert pace.earliest(5.0) == 30.0  # then the request counts as answered
    assert pace.earliest(30.0) == pytest.approx(30.0 + 1.0 + MARGIN_SECONDS)


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
