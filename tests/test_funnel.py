"""The funnel, hand-counted: from the adverts first seen in a period to the persons who answered, the same in
`outreach stats --by funnel`, the dashboard's overview and /stats, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.reports.funnel import Funnel, funnel
from outreach.reports.outcome_stats import load
from outreach.settings import Settings
from outreach.store.adverts import FoundAdvert, FoundPhone, save_advert, site_id
from outreach.store.db import Store
from outreach.store.models import Advert, AdvertPerson, AdvertReason, Message
from outreach.store.states import MessageStatus, StopKind
from outreach.store.types import utcnow
from outreach.support.local_time import local
from outreach.targeting.reasons import Reason
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import add_users, client_for, log_in, seed
from tests.messaging_world import config_file, messaging_settings, numbers

# 8 adverts first seen in the period: 4 messaged by seed(), one without a number, one out of region, one waiting
# for the daily cap, one more advert of the first person. 6 persons behind them; 5 eligible (not the one out of
# region); 4 contacted; 1 delivered; 1 replied (seed's reply); 1 opted out after the contact.
EXPECTED = Funnel(
    adverts_found=8,
    adverts_with_number=7,
    persons_found=6,
    persons_eligible=5,
    persons_contacted=4,
    delivered=1,
    replied=1,
    opted_out=1,
)


def _world(world: World) -> tuple[Settings, Store]:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver", "language": "en"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store, count=4)
    vault = PhoneVault.from_settings(settings)
    now = utcnow()
    extra = numbers(2, start=500)
    with store.session() as session:

        def advert(name: str, phones: list[str], reason: Reason | None = None) -> None:
            saved = save_advert(
                session,
                vault,
                FoundAdvert(
                    site="kinky",
                    site_ad_id=name,
                    url=f"http://127.0.0.1/ads/{name}",
                    title=name,
                    text="Lieve groet",
                    city="Rotterdam",
                    category="escort",
                    has_whatsapp=False,
                    content_hash=f"hash-{name}",
                    phones=[FoundPhone(phone, "NL", True) for phone in phones],
                ),
                None,
                now,
                site_id(session, "kinky"),
            )
            if reason is not None:
                for person in session.execute(
                    select(AdvertPerson.person_id).where(AdvertPerson.advert_id == saved.advert_id)
                ).scalars():
                    session.add(AdvertReason(advert_id=saved.advert_id, person_id=person, reason=reason))

        advert("no-number", [])
        advert("elsewhere", [extra[0]], Reason.OUT_OF_REGION)
        advert("waiting", [extra[1]], Reason.DAILY_CAP)
        advert("second-of-first", [seeded.numbers[0]], Reason.CONTACTED)
        # An advert first seen 40 days ago, its person contacted then: outside the 30-day cohort.
        old = numbers(1, start=600)[0]
        advert("old", [old])
        session.execute(update(Advert).where(Advert.site_ad_id == "old").values(first_seen=now - timedelta(days=40)))
        session.execute(
            update(Message).where(Message.person_id == seeded.person_ids[1]).values(status=MessageStatus.DELIVERED)
        )
        optouts.stop(session, vault.key(seeded.numbers[2]), kind=StopKind.OPT_OUT, source="inbound", actor="twilio")
    return settings, store


def test_the_funnel_follows_the_adverts_of_the_period(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    settings, store = _world(world)
    with store.session() as session:
        counted = funnel(load(session, utcnow() - timedelta(days=30)))
    assert counted == EXPECTED

    capsys.readouterr()
    config = config_file(settings, settings.log_dir.parent)
    assert run(["stats", "--by", "funnel", "--since", "30d", "--json", "--config", config]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["stage"]: row["count"] for row in rows} == EXPECTED.as_dict()

    with client_for(create_app(settings)) as client:
        log_in(client, "alice")
        for path in ("/", "/stats?days=30"):
            page = client.get(path).text
            table = page.split('<table class="funnel">')[1].split("</table>")[0]
            cells = [row.split("<td>")[1].split("</td>")[0] for row in table.split("<tr>")[2:]]
            assert cells == [str(count) for _stage, count in EXPECTED.stages()], path
            assert "Opted out after the message: 1." in page


def test_the_stats_page_takes_a_period_and_refuses_a_wrong_one(world: World) -> None:
    settings, _store = _world(world)
    today = local(utcnow(), settings.sending.timezone).date()  # the report counts local days
    with client_for(create_app(settings)) as client:
        log_in(client, "alice")
        assert client.get("/stats").status_code == 200  # 90 days
        page = client.get(f"/stats?from={(today - timedelta(days=3)).isoformat()}&to={today.isoformat()}").text
        assert "Week by week" in page and "rate-bar" in page and "the 95% interval" in page
        assert client.get("/stats?days=13").status_code == 400
        assert client.get("/stats?from=2026-13-01").status_code == 400
        assert client.get("/stats?from=2026-11-20&to=2026-11-01").status_code == 400
        assert client.get("/stats?from=2020-01-01&to=2026-01-01").status_code == 400
