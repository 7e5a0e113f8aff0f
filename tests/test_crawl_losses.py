"""A crawl that loses adverts says so and gets them next time: detail pages given up after their retries are counted,
listed and fetched again by the next run; `outreach crawl` exits 3 when a site is degraded and 1 when it failed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import Advert
from tests.crawling import crawl, crawl_settings
from testworld.fixture_site import Fault, FixtureSite

FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}
# One retry after a 503, no real waiting, and a site that answers 503 a few times is not abandoned.
FORGIVING = {"base_seconds": 0.01, "cap_seconds": 0.05, "max_retries_per_request": 1, "max_consecutive_failures": 50}


def _stored_ids(database_url: str) -> set[str]:
    with Store(database_url) as store, store.session() as session:
        return set(session.execute(select(Advert.site_ad_id)).scalars())


def test_adverts_given_up_after_their_retries_are_listed_and_fetched_again_next_run(tmp_path: Path) -> None:
    with FixtureSite(seed=21, count=40) as site:
        # The failing adverts are on the second listing page: the next run's listing walk stops at the first page
        # (it shows only known, unchanged adverts), so only the list of given-up pages brings them back.
        failing = site.generated.adverts[30:33]
        for ad in failing:
            site.add_fault(Fault("503", path_prefix=ad.path, times=100, retry_after="0"))
        site.write_site_file(tmp_path / "sites", rate_limit=FAST, backoff=FORGIVING)
        settings = crawl_settings(tmp_path)

        first = crawl(settings)
        everyone = {ad.id for ad in site.generated.adverts}
        assert _stored_ids(settings.database_url) == everyone - {ad.id for ad in failing}
        assert first.site["health"] == "degraded"
        assert first.count("problems/detail_failed") == 3
        # Kept masked to show, and encrypted for the next run: the pages behind them show numbers.
        assert first.site["given_up"] == ["127.0.0.1/•••"] * 3
        vault = PhoneVault.from_settings(settings)
        retried = sorted(vault.decrypt(token) for token in first.site["given_up_encrypted"])
        assert retried == sorted(f"{site.url}{ad.path}" for ad in failing)

        site.faults.clear()
        second = crawl(settings)
    assert _stored_ids(settings.database_url) == {ad.id for ad in site.generated.adverts}
    assert second.count("details_retried") == 3
    assert second.site["health"] == "ok" and second.site.get("given_up", []) == []
    assert second.count("listing_pages") == 1  # the incremental walk still stopped early


def _config(tmp_path: Path, settings_text: str) -> Path:
    config = tmp_path / "crawl.yaml"
    config.write_text(settings_text, encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    return config


@pytest.mark.parametrize(
    ("listing", "detail", "code", "shown"),
    [
        ({"advert_card": "article.nothing-here"}, {}, 1, "the listing selectors found no advert"),
        ({}, {"city": "li.no-such-city::text"}, 3, "`city` found nothing on any of 24 adverts"),
        ({}, {}, 0, "crawl run 1: ok"),
    ],
)
def test_the_crawl_command_exits_by_the_crawls_health_and_prints_why(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    listing: dict[str, str],
    detail: dict[str, str],
    code: int,
    shown: str,
) -> None:
    with FixtureSite(seed=22, count=24) as site:
        path = site.write_site_file(tmp_path / "sites", rate_limit=FAST)
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        definition["listing"].update(listing)
        definition["detail"].update(detail)
        path.write_text(yaml.safe_dump(definition), encoding="utf-8")
        path.chmod(0o600)  # it holds the keys
        # `outreach crawl` checks the templates too: the test organisation's long name needs room.
        config = _config(tmp_path, crawl_settings(tmp_path, templates={"max_segments": 4}).for_child())
        assert run(["crawl", "--config", str(config)]) == code
    captured = capsys.readouterr()
    assert shown in captured.out
    if code:
        # Where to look: a listing page as it is; an advert's page masked (the page shows the number; at rest too).
        where = site.url if listing else "127.0.0.1/•••"
        assert "first example" in captured.out and where in captured.out
        assert listing or "/advertentie/" not in captured.out
        assert captured.err.splitlines()[-1].startswith("error: crawl run 1 ")
