"""No plaintext phone number or reply text at rest: the raw database (file or dump) is searched for every number in
the world and every word people wrote back."""

from __future__ import annotations

import pytest

from outreach.cycle.run import run_cycle
from outreach.settings import Settings
from outreach.web.app import create_app
from tests.conftest import World
from tests.messaging_world import numbers
from tests.raw_dump import phone_spellings, raw_database
from testworld.fixture_site import FixtureSite
from testworld.web_server import UvicornThread, free_port

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


def test_the_database_holds_no_plaintext_phone_number_and_no_advert_address(
    world_settings: Settings, fixture_site: FixtureSite
) -> None:
    """Nor an advert's address: the site's page behind it shows the number (issue 19, item 3)."""
    report = run_cycle(world_settings, actor="alice")
    assert sum(report.sent.values()) > 0

    raw = raw_database(world_settings.database_url)
    titles = [ad.title for ad in fixture_site.generated.adverts if ad.title]
    assert sum(title.encode() in raw for title in titles) > len(titles) // 2  # the search reads real content
    leaked = sorted(s for s in phone_spellings(fixture_site) if s.encode() in raw)
    assert leaked == []
    # (The crawl's diagnostics keep the first address of an advert without a number as an example: no number
    # behind it, so only the adverts that show one are searched for.)
    paths = [ad.path for ad in fixture_site.generated.adverts if ad.phone]
    assert len(paths) > 100 and sorted(path for path in paths if path.encode() in raw) == []


def test_replies_leave_no_text_and_no_number_in_the_database(world: World) -> None:
    """People answer, and what they write (often a name, another number, where they are) is kept encrypted."""
    port = free_port()
    settings = world.cycle_settings(web={"public_url": f"http://127.0.0.1:{port}"})
    assert sum(run_cycle(settings, actor="alice").sent.values()) >= 3
    repliers = sorted(world.gateway.sent_to())[:3]
    other_numbers = numbers(3, start=9000)
    replies = [
        f"Hoi, ik ben Zonnebloem{i}. Bel me liever op {other} na acht uur, ik woon bij het Vondelpark."
        for i, other in enumerate(other_numbers)
    ]
    with UvicornThread(create_app(settings), port):
        for number, reply in zip(repliers, replies, strict=True):
            assert world.gateway.inbound(f"{settings.web.public_url}/twilio/inbound", number, reply) == 200

    raw = raw_database(settings.database_url)
    assert b"advertentie" in raw  # the search reads real content
    secrets = [*replies, *(f"Zonnebloem{i}" for i in range(3)), "Vondelpark", *repliers, *other_numbers]
    secrets += [n.removeprefix("+31") for n in other_numbers] + ["0" + n.removeprefix("+31") for n in other_numbers]
    assert sorted(s for s in secrets if s.encode() in raw) == []
