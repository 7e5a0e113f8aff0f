"""The appdata layout (testworld/appdata_layout.py), a JavaScript app crawled without a browser: through its consent
link, listing adverts read from the page's JSON with a "load more" offset, ids from the URL, numbers revealed by a
POST with the page's CSRF token, WhatsApp from an icon, and robots.txt obeyed. A broken reveal or listing is never
an "ok" crawl."""

from __future__ import annotations

import json
import re
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import pytest

from outreach.cli import run
from outreach.settings import Settings
from tests.conftest import make_settings
from tests.crawling import crawl, crawl_settings, stored_adverts
from testworld.appdata_layout import STATS_PATH, shown_number
from testworld.fixture_site import Fault, FixtureSite

FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}
Row = tuple[str, str | None, str | None, bool, set[str]]


def _stored(settings: Settings) -> dict[str, Row]:
    """site_ad_id -> (title, city, category, has_whatsapp, E.164 numbers)."""
    return {
        ad_id: (ad.title, ad.city, ad.category, ad.has_whatsapp, numbers)
        for ad_id, (ad, numbers) in stored_adverts(settings).items()
    }


def _truth(site: FixtureSite, numbers: bool = True) -> dict[str, Row]:
    """Mobile numbers only (landlines are kept out); WhatsApp for the adverts that show its icon."""
    return {
        ad.id: (
            ad.title,
            ad.city,
            ad.category,
            ad.whatsapp is not None,
            {ad.phone} if numbers and ad.phone and ad.phone_kind == "mobile" else set(),
        )
        for ad in site.listed()
    }


class _Browserless:
    """A client with a cookie jar that does not follow redirects: what the crawler sees of the site."""

    def __init__(self, site: FixtureSite) -> None:
        self.base = site.url
        no_redirects = type("NoRedirects", (HTTPRedirectHandler,), {"redirect_request": lambda *args: None})
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), no_redirects)

    def fetch(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        data = urlencode(form).encode() if form is not None else None
        try:
            request = Request(self.base + path, data=data, headers=headers or {})  # noqa: S310 (http://127.0.0.1)
            with self.opener.open(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()


def test_the_appdata_site_hides_behind_its_wall_keeps_its_data_in_json_and_checks_the_token() -> None:
    with FixtureSite(seed=14, count=30, layout="appdata") as site:
        client = _Browserless(site)
        status, headers, _ = client.fetch("/aanbod?offset=0")
        assert (status, headers["Location"]) == (302, "/toegang?terug=%2Faanbod%3Foffset%3D0")
        status, headers, _ = client.fetch("/toegang/ja?terug=%2Faanbod%3Foffset%3D0")
        assert (status, headers["Location"]) == (302, "/aanbod?offset=0")

        _, _, listing = client.fetch("/aanbod?offset=0")
        root = re.search(r'<div id="root">(.*?)</div>', listing)
        assert root is not None and "advert" not in root.group(1)  # nothing rendered, only the "Meer laden" button
        first = site.generated.adverts[0]
        assert first.title in listing and first.path not in listing  # the link is built from slug and id

        ad = next(ad for ad in site.generated.adverts if ad.phone)
        status, _, page = client.fetch(ad.path)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert status == 200 and token is not None
        assert ad.id not in page.replace(token.group(1), "")  # the id is only in the URL
        ask = {"advert": ad.id, "_token": token.group(1)}
        assert client.fetch("/api/nummer", ask)[0] == 200
        assert client.fetch("/api/nummer", {"advert": ad.id}, {"X-CSRF-Token": token.group(1)})[0] == 200
        assert json.loads(client.fetch("/api/nummer", ask)[2]) == {"nummer": shown_number(ad)}
        assert client.fetch("/api/nummer", {"advert": ad.id})[0] == 419  # no token
        assert client.fetch("/api/nummer", {**ask, "_token": "guessed"})[0] == 419
        other = next(other for other in site.generated.adverts if other.id != ad.id)
        assert client.fetch("/api/nummer", {**ask, "advert": other.id})[0] == 419  # another page's token
        assert client.fetch("/api/nummer")[0] == 405

        silent = next(ad for ad in site.generated.adverts if not ad.phone)
        page = client.fetch(silent.path)[2]
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert token is not None and "toon-nummer" not in page
        assert json.loads(client.fetch("/api/nummer", {"advert": silent.id, "_token": token.group(1)})[2]) == {
            "nummer": None
        }
    assert "Disallow: /api/stats" in site.robots_txt()


def _site_file(site: FixtureSite, folder: Path, **overrides: Any) -> None:
    site.write_site_file(folder / "sites", name="appdata", rate_limit=FAST, **overrides)


def test_a_crawl_of_the_appdata_layout_matches_its_ground_truth_without_a_browser(tmp_path: Path) -> None:
    with FixtureSite(seed=14, count=40, layout="appdata") as site:
        _site_file(site, tmp_path)
        settings = crawl_settings(tmp_path)
        crawled = crawl(settings, "appdata")
        assert _stored(settings) == _truth(site)
        paths = [request.path for request in site.requests_to()]
        reveals = site.requests_to("/api/nummer")
        with_number = sum(1 for ad in site.generated.adverts if ad.phone)
    assert crawled.count("adverts_new") == 40
    assert crawled.count("gate_accepted") == 1
    assert not any(path.startswith("/toegang?") for path in paths)  # never bounced to the wall
    # "Meer laden" walked by offset until a page listed nothing more.
    assert [path for path in paths if path.startswith("/aanbod")] == [f"/aanbod?offset={n}" for n in range(0, 60, 12)]
    # Every number came from the token POST, and the server accepted every token.
    assert len(reveals) == with_number == crawled.count("numbers_revealed") == crawled.count("reveal_attempts")
    assert crawled.count("reveal_absent") == 40 - with_number  # no button, no number: not a failed reveal
    assert {(request.method, request.status) for request in reveals} == {("POST", 200)}
    assert not any(path.startswith(STATS_PATH) for path in paths)  # disallowed by robots.txt
    assert crawled.site["health"] == "ok", crawled.site["problems"]


@pytest.mark.parametrize("broken", ["server_error", "wrong_token", "disallowed_by_robots"])
def test_when_the_number_reveal_fails_every_advert_is_stored_without_numbers_and_the_crawl_is_degraded(
    tmp_path: Path, broken: str
) -> None:
    with FixtureSite(seed=15, count=30, layout="appdata") as site:
        reveal: dict[str, Any] = {
            "request_url": "button.toon-nummer::attr(data-href)",
            "method": "POST",
            "form": {"advert": {"value": "{ad_id}"}, "_token": "meta[name=csrf-token]::attr(content)"},
            "number": {"json": "nummer"},
        }
        backoff: dict[str, Any] = {"base_seconds": 0.01, "cap_seconds": 0.02}
        if broken == "server_error":
            site.add_fault(Fault("500", path_prefix="/api/nummer", times=10_000))
            # 5xx pause the host and, this many in a row, abandon the site for the run (crawler/politeness.py): it
            # cannot tell a broken endpoint from an overloaded server. Here the reveal's failures alone are tested.
            backoff["max_consecutive_failures"] = 1000
        elif broken == "wrong_token":
            reveal["form"]["_token"] = {"value": "not-the-token"}
        else:
            reveal["request_url"] = {"value": STATS_PATH}
        _site_file(site, tmp_path, detail={"reveal_number": reveal}, backoff=backoff)
        settings = crawl_settings(tmp_path)
        crawled = crawl(settings, "appdata")
        assert _stored(settings) == _truth(site, numbers=False)
        # Adverts without a number show no "Toon nummer" button: nothing to reveal there (a fixed URL is always
        # asked).
        revealed = [ad for ad in site.generated.adverts if ad.phone or broken == "disallowed_by_robots"]
        statuses = {request.status for request in site.requests_to("/api/")}
    assert crawled.count("problems/reveal_failed") == crawled.count("reveal_attempts") == len(revealed)
    assert crawled.site["health"] == "degraded"
    assert {problem["reason"] for problem in crawled.site["problems"]} == {"reveal_failed", "no_numbers"}
    expected = {"server_error": {500}, "wrong_token": {419}, "disallowed_by_robots": set()}
    assert statuses == expected[broken]


def test_a_wrong_listing_json_path_fails_the_crawl_and_outreach_crawl_says_so(
    database_url: str, keys: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FixtureSite(seed=16, count=30, layout="appdata") as site:
        _site_file(site, tmp_path, listing={"json_entries": "props.pageProps.items"})
        settings = make_settings(database_url, keys, tmp_path)
        config = tmp_path / "outreach.yaml"
        config.write_text(settings.for_child(), encoding="utf-8")
        config.chmod(0o600)  # it holds the keys
        assert run(["crawl", "--site", "appdata", "--config", str(config)]) == 1
        listing_requests = site.requests_to("/aanbod")
    shown = capsys.readouterr()
    assert "crawl run 1: failed" in shown.out
    assert "what was lost or looks wrong" in shown.out and "found no advert" in shown.out
    assert "/aanbod?offset=0" in shown.out  # the first example URL
    assert "failed: nothing could be read from appdata" in shown.err
    assert len(listing_requests) == 1  # nothing listed: no "load more"
