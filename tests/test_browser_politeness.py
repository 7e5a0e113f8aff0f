"""A page load in the browser is paced like the crawl's own requests, judged by the fixture site's request log: its
document, scripts, styles and data requests keep the Crawl-delay and Retry-After; images, fonts and other hosts are
never asked; a script or stylesheet is fetched once per crawl, not once per page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawling import cpu_burner, crawl, crawl_settings, smallest_gap
from testworld.fixture_site import Fault, FixtureSite
from testworld.js_layout import TRACKER_PATH


@pytest.mark.slow
def test_everything_a_page_load_fetches_keeps_the_crawl_delay_and_retry_after_on_a_loaded_machine(
    tmp_path: Path,
) -> None:
    with FixtureSite(seed=13, count=30, layout="js") as site:
        site.crawl_delay = 0.3
        # A stylesheet is refused: the site is paused, not just that request, and the refusal is not kept.
        site.add_fault(Fault("503", path_prefix="/static/app.css", times=1, retry_after="1"))
        site.write_site_file(
            tmp_path / "sites",
            name="jsapp",
            rate_limit={"requests_per_second": 20, "delay_seconds": 0, "concurrency": 2},
            limits={"max_pages": 4},  # robots.txt, the listing and two detail pages
        )
        settings = crawl_settings(tmp_path)
        with cpu_burner(site):
            crawled = crawl(settings, "jsapp")
        requests = sorted(site.requests_to(), key=lambda r: r.at)

    paths = [request.path for request in requests]
    assert sum(path.startswith("/app/advert/") for path in paths) == 2
    assert sum(path.startswith("/api/adverts/") for path in paths) >= 3  # what the pages' own scripts asked for
    assert smallest_gap(requests) >= 0.3  # all of it, as the site's own clock measured it
    refused = next(request for request in requests if request.status == 503)
    assert next(request for request in requests if request.at > refused.at).at - refused.at >= 1.0
    # For three pages: the script once (and its redirect, which also took its turn), the stylesheet twice (the 503
    # was not kept).
    assert paths.count("/static/main.js") == paths.count("/static/app.js") == 1
    assert paths.count("/static/app.css") == 2
    assert crawled.count("browser/static_reused") == 3
    never = [path for path in paths if path.endswith((".png", ".woff2")) or path == TRACKER_PATH]
    assert never == []
    assert crawled.count("browser/blocked/other_host") == 3
