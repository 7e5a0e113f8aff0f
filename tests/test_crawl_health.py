"""The rules that make a site's crawl ok, degraded or failed (crawler/health.py), one case each."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.health import assess, health_of, worst

GOOD: dict[str, Any] = {
    "listing_pages": 3,
    "listing_entries": 60,
    "details_requested": 60,
    "details_parsed": 60,
    "adverts_seen": 60,
    "adverts_with_phone": 50,
    "fields/title/found": 60,
    "fields/city/found": 57,
    "fields/city/missing": 3,
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **{name.replace("__", "/"): value for name, value in changes.items()}}


@pytest.mark.parametrize(
    ("counters", "previous", "health", "reasons"),
    [
        (GOOD, None, "ok", []),
        (GOOD, GOOD, "ok", []),
        (_with(listing_pages=0, listing_entries=0), None, "failed", ["no_listing"]),
        (_with(listing_entries=0, examples__listing_empty="http://site/list"), None, "failed", ["no_adverts"]),
        (_with(details_parsed=0, adverts_seen=0, problems__no_ad_id=60), None, "failed", ["no_details"]),
        # Three of sixty lost is 5%: not more than the share. Four is.
        (_with(problems__detail_failed=3), None, "ok", []),
        (_with(problems__detail_failed=2, problems__detail_error=2), None, "degraded", ["lost_details"]),
        (_with(**{"fields__city__found": 0, "fields__city__missing": 60}), None, "degraded", ["field_lost:city"]),
        (_with(**{"fields__city__found": 40, "fields__city__missing": 20}), GOOD, "degraded", ["field_lost:city"]),
        (_with(**{"fields__city__found": 40, "fields__city__missing": 20}), None, "ok", []),
        (_with(adverts_with_phone=0), None, "degraded", ["no_numbers"]),
        (_with(adverts_with_phone=0), GOOD, "degraded", ["no_numbers"]),
        (_with(reveal_attempts=60, problems__reveal_failed=31), None, "degraded", ["reveal_failed"]),
        (_with(reveal_attempts=60, problems__reveal_failed=30), None, "ok", []),
        (_with(abandoned="6 failures in a row"), None, "degraded", ["abandoned"]),
        # An incremental recrawl that fetched no detail page is fine.
        (_with(details_requested=0, details_parsed=0, adverts_seen=0, adverts_with_phone=0), GOOD, "ok", []),
        # A handful of adverts is not enough to judge a share.
        (
            _with(listing_entries=3, details_requested=3, details_parsed=3, adverts_seen=3, adverts_with_phone=0),
            None,
            "ok",
            [],
        ),
    ],
)
def test_a_crawl_is_judged_by_what_it_lost(
    counters: dict[str, Any], previous: dict[str, Any] | None, health: str, reasons: list[str]
) -> None:
    problems = assess(counters, previous)
    assert health_of(problems) == health
    assert [problem.reason for problem in problems] == reasons


def test_a_problem_names_its_first_example() -> None:
    counters = _with(listing_entries=0, examples__listing_empty="http://127.0.0.1/list?page=1")
    (problem,) = assess(counters, None)
    assert problem.example == "http://127.0.0.1/list?page=1"
    assert "no advert" in problem.message


def test_a_run_is_as_bad_as_its_worst_site() -> None:
    assert worst(["ok", "degraded", "ok"]) == "degraded"
    assert worst(["ok", "failed", "degraded"]) == "failed"
    assert worst([]) == "ok"
