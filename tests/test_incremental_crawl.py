"""Incremental recrawl, gone adverts, the crawl run record and markup-change flags, against the real crawl child,
the fixture site and both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.reports.crawl_report import run_summary, site_warnings, summary_rows
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Advert
from tests.crawling import crawl, crawl_settings
from testworld.fixture_site import FixtureSite

FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    """60 adverts on three listing pages of 24."""
    with FixtureSite(seed=5, count=60) as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """On SQLite and PostgreSQL: for what writes or marks adverts in the store."""
    return crawl_settings(tmp_path, database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """SQLite only, to keep the suite fast: for what the spider decides, which does not depend on the database."""
    return crawl_settings(tmp_path)


def _adverts(settings: Settings) -> dict[str, Advert]:
    with Store(settings.database_url) as store, store.session() as session:
        return {advert.site_ad_id: advert for advert in session.execute(select(Advert)).scalars()}


def test_a_recrawl_of_an_unchanged_site_reads_one_listing_page_and_no_detail_page(
    site: FixtureSite, settings: Settings, tmp_path: Path
) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST)
    first = crawl(settings)
    before = len(site.requests_to())
    second = crawl(settings)

    assert first.count("adverts_new") == 60
    assert len(site.requests_to()) - before == 2  # robots.txt and the first listing page
    assert second.count("adverts_seen") == 0
    assert second.count("details_skipped") == 24
    assert second.count("adverts_listed_unchanged") == 24
    assert second.site["pagination_stopped"] == "listing page shows only known, unchanged adverts"


def test_it_fetches_new_adverts_on_top_and_stops_at_the_first_page_without_news(
    site: FixtureSite, settings: Settings, tmp_path: Path
) -> None:
    newest = [ad.id for ad in site.generated.adverts[:3]]
    site.hide(*newest)
    site.write_site_file(tmp_path / "sites", rate_limit=FAST)
    crawl(settings)
    site.publish(*newest)
    before = len(site.requests_to())
    second = crawl(settings)

    fetched = [r.path for r in site.requests_to()[before:]]
    assert sorted(p for p in fetched if p.startswith("/advertentie/")) == sorted(f"/advertentie/{i}" for i in newest)
    assert [p for p in fetched if p.startswith("/advertenties")] == ["/advertenties?page=1", "/advertenties?page=2"]
    assert second.count("adverts_new") == 3
    assert set(_adverts(settings)) == {ad.id for ad in site.generated.adverts}


def test_it_fetches_an_advert_again_when_its_listing_entry_changed(
    site: FixtureSite, sqlite_settings: Settings, tmp_path: Path
) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST)
    crawl(sqlite_settings)
    changed = site.generated.adverts[5]
    changed.title = "Nieuw: " + changed.title
    before = len(site.requests_to())
    second = crawl(sqlite_settings)

    assert [r.path for r in site.requests_to()[before:] if r.path.startswith("/advertentie/")] == [changed.path]
    assert second.count("adverts_changed") == 1
    assert _adverts(sqlite_settings)[changed.id].title == changed.title


def test_it_fetches_unchanged_adverts_again_after_the_refresh_interval(
    site: FixtureSite, sqlite_settings: Settings, tmp_path: Path
) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST, incremental={"refresh_days": 0})
    crawl(sqlite_settings)
    second = crawl(sqlite_settings)

    assert second.count("adverts_seen") == 60
    assert second.count("adverts_new") == second.count("adverts_changed") == 0


def test_a_full_walk_marks_unlisted_adverts_gone_and_keeps_them(
    site: FixtureSite, settings: Settings, tmp_path: Path
) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST, incremental={"full_walk_hours": 0})
    crawl(settings)
    withdrawn = site.generated.adverts[50]
    last_seen = _adverts(settings)[withdrawn.id].last_seen
    site.hide(withdrawn.id)
    second = crawl(settings)

    adverts = _adverts(settings)
    assert second.count("adverts_gone") == 1
    assert adverts[withdrawn.id].gone_at is not None
    assert adverts[withdrawn.id].last_seen == last_seen
    assert len(adverts) == 60 and sum(a.gone_at is not None for a in adverts.values()) == 1

    site.publish(withdrawn.id)
    third = crawl(settings)
    assert third.count("adverts_gone") == 0
    assert _adverts(settings)[withdrawn.id].gone_at is None


def test_an_incremental_walk_never_marks_adverts_gone(site: FixtureSite, settings: Settings, tmp_path: Path) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST)  # a full walk at most daily: the first crawl
    crawl(settings)
    second = crawl(settings)

    assert second.count("adverts_gone") == 0
    assert all(advert.gone_at is None for advert in _adverts(settings).values())


def test_each_crawl_run_records_requests_statuses_adverts_and_duration(
    site: FixtureSite, sqlite_settings: Settings, tmp_path: Path
) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST)
    crawled = crawl(sqlite_settings)

    with Store(sqlite_settings.database_url) as store, store.session() as session:
        summary = run_summary(session, crawled.outcome.run_id)
    assert summary is not None and summary.duration_seconds is not None
    [fixture] = summary.sites
    assert fixture.finish_reason == "finished"
    assert fixture.responses_by_status == {200: 64}  # robots.txt, three listing pages, 60 adverts
    assert fixture.counters["downloader/request_count"] == 64
    assert fixture.counters["adverts_new"] == 60
    assert fixture.counters["adverts_seen"] == 60
    assert fixture.counters["elapsed_time_seconds"] > 0
    assert ("fixture", "responses 200", "64") in summary_rows(summary)


@pytest.mark.parametrize(
    ("change", "flag", "health", "reason"),
    [
        ("cards_renamed", "zero_adverts", "failed", "no_adverts"),
        ("numbers_hidden", "no_numbers", "degraded", "no_numbers"),
    ],
)
def test_it_flags_a_site_whose_markup_changed(
    site: FixtureSite, sqlite_settings: Settings, tmp_path: Path, change: str, flag: str, health: str, reason: str
) -> None:
    site.write_site_file(tmp_path / "sites", rate_limit=FAST, incremental={"refresh_days": 0})
    first = crawl(sqlite_settings)
    site.markup_change = change
    second = crawl(sqlite_settings)

    assert "markup_flags" not in first.site and first.site["health"] == "ok"
    assert [f.split(":")[0] for f in second.site["markup_flags"]] == [flag]
    assert second.site["health"] == health
    assert [problem["reason"] for problem in second.site["problems"]] == [reason]
    with Store(sqlite_settings.database_url) as store, store.session() as session:
        warnings = site_warnings(session)
    assert [w.split(":")[0] for w in warnings["fixture"]] == [health]
