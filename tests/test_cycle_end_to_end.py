"""One real cycle from advert to delivered SMS, against the fixture ad site and the Twilio test gateway."""

from __future__ import annotations

from sqlalchemy import func, select

from outreach import audit
from outreach.cycle.run import run_cycle
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Message
from testworld.fixture_site import FixtureSite
from testworld.twilio_gateway import TwilioGateway


def _language_of(body: str) -> str:
    openings = {"Hoi,": "nl", "Hi,": "en", "Buna,": "ro", "Czesc,": "pl", "Hola,": "es"}  # ro, pl: GSM-7 spelling
    return next(lang for opening, lang in openings.items() if body.startswith(opening))


def test_it_messages_exactly_the_eligible_persons_once_in_their_language(
    world_settings: Settings, fixture_site: FixtureSite, gateway: TwilioGateway
) -> None:
    expected = fixture_site.generated.eligible(set(world_settings.mobile_countries))
    assert len(expected) > 150  # the world has enough people to make the comparison mean something

    report = run_cycle(world_settings, actor="alice")

    sent = gateway.sent_to()
    assert set(sent) == set(expected)
    assert all(len(messages) == 1 for messages in sent.values())
    wrong_language = {
        n: (_language_of(m[0].body), expected[n]) for n, m in sent.items() if _language_of(m[0].body) != expected[n]
    }
    assert wrong_language == {}
    assert report.adverts_seen == len(fixture_site.generated.adverts)
    assert report.eligible == len(expected)
    assert sum(report.sent.values()) == len(expected)
    assert report.statuses["delivered"] == len(expected)
    for messages in sent.values():
        body = messages[0].body
        assert world_settings.organisation.name in body and "STOP" in body

    with Store(world_settings.database_url) as store, store.session() as session:
        states = dict(session.execute(select(Message.status, func.count()).group_by(Message.status)).all())
        assert states == {"delivered": len(expected)}
        assert audit.verify(session) == []


def test_a_second_cycle_sends_nothing(world_settings: Settings, gateway: TwilioGateway) -> None:
    first = run_cycle(world_settings, actor="alice")
    count_after_first = len(gateway.messages)
    second = run_cycle(world_settings, actor="alice")

    assert sum(first.sent.values()) == count_after_first > 0
    # Incremental recrawl: unchanged adverts are not fetched again (tests/test_incremental_crawl.py).
    assert second.adverts_seen < first.adverts_seen
    assert second.adverts_new == 0
    assert second.eligible == 0
    assert len(gateway.messages) == count_after_first
