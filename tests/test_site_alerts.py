"""A site that suddenly yields no adverts or no numbers (it changed its layout) reaches a supervisor as a notification,
not only as a line in `outreach status`; the notification names the site and counts, nothing about a person."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach.store.db import Store
from outreach.store.models import CrawlRun
from tests.crawling import crawl, crawl_settings
from tests.test_notify import NotificationSink
from testworld.fixture_site import FixtureSite

FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with NotificationSink() as server:
        yield server


@pytest.mark.parametrize(("change", "health"), [("cards_renamed", "failed"), ("numbers_hidden", "degraded")])
def test_a_site_whose_layout_changed_notifies_a_supervisor(
    database_url: str, tmp_path: Path, sink: NotificationSink, change: str, health: str
) -> None:
    settings = crawl_settings(tmp_path, database_url, notify={"method": "webhook", "webhook_url": f"{sink.url}/hook"})
    seen_while_alerting: list[tuple[str, bool]] = []

    def read_run(alert: dict[str, object]) -> None:
        # Another connection, while the alert is being delivered: the run must already be committed.
        with Store(database_url) as store, store.session() as session:
            run = session.get(CrawlRun, alert["run_id"])
            assert run is not None
            seen_while_alerting.append((run.status, run.finished_at is not None))

    sink.on_receive = read_run
    with FixtureSite(seed=5, count=60) as site:
        site.write_site_file(tmp_path / "sites", rate_limit=FAST, incremental={"refresh_days": 0})
        crawl(settings)
        assert sink.received == []  # a healthy crawl is not news
        site.markup_change = change
        second = crawl(settings)
        adverts = site.generated.adverts

    assert len(sink.received) == 1
    assert seen_while_alerting == [(health, True)]  # sent after the crawl run's transaction, not inside it
    alert = sink.received[0]
    assert alert["event"] == "site.needs_attention" and alert["site"] == "fixture"
    assert alert["run_id"] == second.outcome.run_id
    assert alert["health"] == health
    assert [str(warning).split(":")[0] for warning in alert["warnings"]] == [health]  # type: ignore[attr-defined]
    assert set(alert) == {
        "event",
        "organisation",
        "site",
        "run_id",
        "health",
        "warnings",
        "listing_entries",
        "adverts_seen",
        "adverts_with_phone",
    }
    body = json.dumps(alert)
    assert not any(ad.phone and ad.phone[3:] in body for ad in adverts)
