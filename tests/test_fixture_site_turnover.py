"""The fixture site's turnover knob (bench/scheduler_day.py): adverts held back appear at the top of the listing one
batch at a time, and listed ones are withdrawn, between two crawls."""

from __future__ import annotations

from testworld.fixture_site import FixtureSite


def test_held_back_adverts_appear_at_the_top_of_the_listing_and_withdrawn_ones_leave_it() -> None:
    with FixtureSite(seed=1, count=40) as site:
        site.hold_back(10)
        ordered = [ad.id for ad in site.generated.adverts]
        assert [ad.id for ad in site.listed()] == ordered[10:]
        appeared, withdrawn = site.turn_over(new=3, gone=2, seed=7)
        assert appeared == ordered[7:10]
        listed = [ad.id for ad in site.listed()]
        assert listed[:3] == appeared  # the newest come first, as a recrawl expects
        assert len(withdrawn) == 2 and not set(withdrawn) & set(listed) and not set(withdrawn) & set(appeared)
        assert len(listed) == 30 + 3 - 2
        second, _ = site.turn_over(new=3, gone=2, seed=7)
        assert second == ordered[4:7] and [ad.id for ad in site.listed()][:6] == second + appeared
        last, _ = site.turn_over(new=10, gone=0)
        assert last == ordered[:4]  # fewer once nothing more is held back
        assert site.turn_over(new=3, gone=0) == ([], [])
