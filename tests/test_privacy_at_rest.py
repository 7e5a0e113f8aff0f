"""No plaintext phone number at rest: the raw database (file or dump) is searched for every number in the world."""

from __future__ import annotations

import pytest

from outreach.cycle.run import run_cycle
from outreach.settings import Settings
from tests.raw_dump import phone_spellings, raw_database
from testworld.fixture_site import FixtureSite

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


def test_the_database_holds_no_plaintext_phone_number(world_settings: Settings, fixture_site: FixtureSite) -> None:
    report = run_cycle(world_settings, actor="alice")
    assert sum(report.sent.values()) > 0

    raw = raw_database(world_settings.database_url)
    assert b"advertentie" in raw  # the search reads real content (advert URLs are stored)
    leaked = sorted(s for s in phone_spellings(fixture_site) if s.encode() in raw)
    assert leaked == []
