"""The dashboard in Dutch by default and in English by choice, with times in the organisation's time zone, through
Starlette's TestClient on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import Message, User
from outreach.support import local_time
from outreach.web.app import create_app
from outreach.web.dashboard import overview
from outreach.web.dashboard.core import LANGUAGE_COOKIE
from tests.conftest import World
from tests.dashboard_world import Seeded, add_users, client_for, csrf_of, log_in, page_csrf, seed
from tests.messaging_world import messaging_settings


@dataclass
class Dashboard:
    settings: Settings
    store: Store
    seeded: Seeded
    client: TestClient


@pytest.fixture
def dashboard(world: World) -> Iterator[Dashboard]:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://testserver"})  # web.language: the default
    store = world.store()
    add_users(store)
    seeded = seed(settings, store)
    with client_for(create_app(settings)) as client:
        yield Dashboard(settings, store, seeded, client)


def test_the_dashboard_speaks_dutch_unless_a_user_chooses_english(dashboard: Dashboard) -> None:
    client = dashboard.client
    login = client.get("/login").text
    assert '<html lang="nl">' in login and "<h1>Inloggen</h1>" in login and "Wachtwoord" in login
    assert log_in(client, "alice").status_code == 303
    page = client.get("/").text
    assert "<h1>Overzicht</h1>" in page and "Personen benaderd" in page and "Overview" not in page

    answer = client.post("/language", data={"csrf": page_csrf(client), "language": "en", "next": "/log"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/log")
    assert "<h1>Contact log</h1>" in client.get("/log").text
    with dashboard.store.session() as session:
        assert session.execute(select(User.language).where(User.name == "alice")).scalar_one() == "en"

    # The choice belongs to the user: a new browser (no cookie) logs in and gets English after log-in.
    with client_for(client.app) as other:
        assert "Inloggen" in other.get("/login").text
        log_in(other, "alice")
        assert "<h1>Overview</h1>" in other.get("/").text
    # ... and another user still gets the installation's Dutch.
    with client_for(client.app) as colleague:
        log_in(colleague, "bob")
        assert "<h1>Overzicht</h1>" in colleague.get("/").text


def test_an_error_page_and_a_refusal_are_in_the_users_language(dashboard: Dashboard) -> None:
    client = dashboard.client
    log_in(client, "alice")  # a fieldworker
    refused = client.get("/audit")
    assert refused.status_code == 403 and "Deze pagina is voor leidinggevenden." in refused.text
    missing = client.get("/persons/999999")
    assert missing.status_code == 404 and "Deze persoon bestaat niet." in missing.text
    case = dashboard.seeded.replier_case_id
    empty = client.post(f"/cases/{case}/reply", data={"csrf": page_csrf(client), "body": " "})
    assert empty.status_code == 400 and "het antwoord is leeg" in empty.text
    bad = client.get("/log?page=x")
    assert bad.status_code == 400 and "page: verwacht een getal" in bad.text


def test_the_log_in_page_takes_a_language_before_anyone_logs_in(dashboard: Dashboard) -> None:
    client = dashboard.client
    chosen = client.get("/login?language=en")
    assert chosen.status_code == 303 and chosen.cookies.get(LANGUAGE_COOKIE) == "en"
    page = client.get("/login").text
    assert '<html lang="en">' in page and "<h1>Log in</h1>" in page
    wrong = client.post("/login", data={"csrf": csrf_of(page), "name": "alice", "password": "not the password!"})
    assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
    assert client.get("/login?language=xx").status_code == 200  # an unknown language changes nothing


def test_choosing_a_language_is_a_checked_form_that_never_leaves_the_site(dashboard: Dashboard) -> None:
    client = dashboard.client
    log_in(client, "alice")
    csrf = page_csrf(client)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        answer = client.post("/language", data={"csrf": csrf, "language": "en", "next": target})
        assert (answer.status_code, answer.headers["location"]) == (303, "/"), target
    assert client.post("/language", data={"csrf": csrf, "language": "fr"}).status_code == 400
    assert client.post("/language", data={"csrf": "forged", "language": "en"}).status_code == 403


def test_times_show_in_the_organisations_zone_in_a_form_people_read(dashboard: Dashboard) -> None:
    client = dashboard.client
    person = dashboard.seeded.replier_id
    with dashboard.store.session() as session:  # 09:12 UTC is 10:12 in Amsterdam in November
        session.execute(update(Message).where(Message.person_id == person).values(created_at=_nov30(9, 12)))
    log_in(client, "alice")
    page = client.get(f"/persons/{person}").text
    assert '<time datetime="2026-11-30T09:12:00+00:00">ma 30 nov 2026 10:12</time>' in page or (
        '<time datetime="2026-11-30T09:12:00+00:00">ma 30 nov 10:12</time>' in page
    )
    assert "T09:12:00+00:00</td>" not in page  # no bare ISO string for people to read


def test_local_time_formats_and_days() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert local_time.short(_nov30(9, 12), "Europe/Amsterdam", "nl", now) == "ma 30 nov 10:12"
    assert local_time.short(_nov30(9, 12), "Europe/Amsterdam", "en", now) == "Mon 30 Nov 10:12"
    assert local_time.short("2025-07-01T22:30:00+00:00", "Europe/Amsterdam", "nl", now) == "wo 2 jul 2025 00:30"
    assert local_time.ago(now - timedelta(hours=3), "nl", now) == "3 uur geleden"
    assert local_time.ago(now - timedelta(minutes=50), "en", now) == "50 minutes ago"
    # Local midnight: 23:00 UTC on the 29th in winter, 22:00 UTC in summer.
    assert local_time.day_start(now, "Europe/Amsterdam") == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert local_time.day_start(summer, "Europe/Amsterdam", 1) == datetime(2026, 6, 29, 22, 0, tzinfo=UTC)


def test_the_overview_counts_local_days(world: World) -> None:
    """A message at 23:30 UTC on the 29th was sent at 00:30 on the 30th in Amsterdam: it is today's, not
    yesterday's, as `outreach stats` counts it."""
    settings = messaging_settings(world)
    store = world.store()
    seed(settings, store, count=2)
    now = _nov30(11, 0)
    with store.session() as session:
        session.execute(update(Message).values(created_at=_nov30(0, 0) - timedelta(minutes=30)))
        days = overview.per_day(session, now, "Europe/Amsterdam", days=3)
        utc_days = overview.per_day(session, now, "UTC", days=3)
    assert [(d.day.day, d.messages, d.replies) for d in days] == [(28, 0, 0), (29, 0, 0), (30, 2, 1)]
    assert [(d.day.day, d.messages, d.replies) for d in utc_days] == [(28, 0, 0), (29, 2, 1), (30, 0, 0)]
    assert overview.period_start(now, "Europe/Amsterdam", 0) == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)


def _nov30(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 30, hour, minute, tzinfo=UTC)
