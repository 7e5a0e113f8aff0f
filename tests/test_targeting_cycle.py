"""A real cycle with a targeting policy, against the fixture ad site and the Twilio test gateway: only persons who
advertise in the served region are messaged, the rest are stored with their reason, and a daily cap leaves the
remainder marked as such."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.parsing.places import municipality
from outreach.store.db import Store
from outreach.targeting.reasons import reason_counts
from tests.conftest import World
from tests.messaging_world import config_file
from testworld.policy import WORLD_SENDING

SERVED = {"Rotterdam", "Den Haag"}
CAP = 20


def test_a_cycle_messages_only_the_served_region_and_stores_why_not(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.cycle_settings(
        sending={**WORLD_SENDING, "daily_cap": CAP},
        targeting={"municipalities": ["Rotterdam", "The Hague"]},
    )
    generated = world.site.generated
    eligible = generated.eligible(set(settings.mobile_countries))
    in_region = {ad.phone for ad in generated.adverts if municipality(ad.city) in SERVED}
    expected = {number for number in eligible if number in in_region}
    assert CAP < len(expected) < len(eligible) - 40  # the policy decides something, both ways

    report = run_cycle(settings, actor="alice")

    sent = world.gateway.sent_to()
    assert len(sent) == CAP and set(sent) <= expected
    assert report.eligible == len(expected)
    with Store(settings.database_url) as store, store.session() as session:
        counts = reason_counts(session)
    assert counts["messaged"] == CAP
    assert counts["daily_cap"] == len(expected) - CAP
    out_of_region = sum(1 for ad in generated.adverts if ad.phone in eligible and municipality(ad.city) not in SERVED)
    # An advert out of region whose person is messaged through another advert says "other advert" instead.
    assert 0 < counts["out_of_region"] <= out_of_region
    assert sum(counts.values()) == len(generated.adverts)
    capsys.readouterr()
    assert run(["stats", "--by", "reason", "--json", "--config", config_file(settings, tmp_path)]) == 0
    shown = {row["reason"]: row["adverts"] for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert shown == counts
