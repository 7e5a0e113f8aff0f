"""`outreach crawl` crawls without messaging and `--stats` shows what the run recorded; `outreach status` names
sites whose markup seems to have changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.settings import Settings
from tests.conftest import World
from testworld.fixture_site import FixtureSite
from testworld.twilio_gateway import TwilioGateway


def test_crawl_then_stats_and_status(
    world_settings: Settings, tmp_path: Path, gateway: TwilioGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "crawl.yaml"
    config.write_text(world_settings.for_child(), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    assert run(["crawl", "--config", str(config)]) == 0
    crawled = capsys.readouterr().out
    assert "crawl run 1: ok" in crawled and gateway.messages == []
    assert run(["crawl", "--stats", "--config", str(config)]) == 0
    assert "crawl run 1" in capsys.readouterr().out
    assert run(["status", "--json", "--config", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sites_failing"] == {} and shown["messages_waiting"]["queued"] == 0


def test_adverts_found_by_a_crawl_only_run_get_their_message_in_the_next_cycle(
    world_settings: Settings, tmp_path: Path, gateway: TwilioGateway, fixture_site: FixtureSite
) -> None:
    config = tmp_path / "crawl.yaml"
    config.write_text(world_settings.for_child(), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    assert run(["crawl", "--config", str(config)]) == 0
    report = run_cycle(world_settings, actor="alice")
    expected = fixture_site.generated.eligible(set(world_settings.mobile_countries))
    assert report.adverts_new == 0 and set(gateway.sent_to()) == set(expected)


def test_a_fieldworker_sets_an_adverts_language_and_the_message_follows_it(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import select

    from outreach.store.models import AdvertPerson, Message

    settings = world.cycle_settings()
    config = tmp_path / "crawl.yaml"
    config.write_text(settings.for_child(), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    assert run(["crawl", "--config", str(config)]) == 0
    store = world.store()
    with store.session() as session:
        # An advert that is its person's only one, so the cycle answers exactly this advert.
        counts: dict[int, list[int]] = {}
        for advert_id, person_id in session.execute(select(AdvertPerson.advert_id, AdvertPerson.person_id)):
            counts.setdefault(person_id, []).append(advert_id)
        advert_id = next(adverts[0] for adverts in counts.values() if len(adverts) == 1)
    assert run(["advert", "language", str(advert_id), "xx", "--reason", "r", "--config", str(config)]) == 2
    assert run(["advert", "language", str(advert_id), "pl", "--config", str(config)]) == 2  # no reason
    args = ["--reason", "Polish, the detector said otherwise", "--config", str(config)]
    assert run(["advert", "language", str(advert_id), "pl", *args]) == 0
    run_cycle(settings, actor="alice")
    with store.session() as session:
        message = session.execute(select(Message).where(Message.advert_id == advert_id)).scalar_one()
    assert (message.language, message.language_rule) == ("pl", "override")
