"""Nobody waits unseen: with a fake clock, a case whose person waited longer than the limit in office hours is
flagged once and the supervisors are notified with ids and a link only; time outside office hours does not count."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.cycle.escalate import run_escalation
from outreach.people.escalation import office_minutes
from outreach.people.inbound import Inbound, receive
from outreach.settings import CaseSettings
from outreach.store.models import Case, Person
from tests.conftest import World
from tests.dashboard_world import add_users, seed
from tests.messaging_world import audit_count, config_file, messaging_settings

ZONE = "Europe/Amsterdam"
HOURS = CaseSettings()  # Monday to Friday, 09:00 to 17:00


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """`day` days after Monday 30 Nov 2026, at this local time in Amsterdam, as UTC."""
    return (datetime(2026, 11, 30, hour, minute, tzinfo=ZoneInfo(ZONE)) + timedelta(days=day)).astimezone(UTC)


def test_office_minutes_count_only_office_hours() -> None:
    monday_0930, monday_1031 = _local(0, 9, 30), _local(0, 10, 31)
    assert office_minutes(monday_0930, monday_1031, ZONE, HOURS) == 61
    assert office_minutes(_local(0, 7), _local(0, 9, 15), ZONE, HOURS) == 15  # before 09:00 does not count
    friday_1630, monday_0931 = _local(4, 16, 30), _local(7, 9, 31)  # 4 Dec (Fri) to 7 Dec (Mon)
    assert office_minutes(friday_1630, monday_0931, ZONE, HOURS) == 30 + 31
    saturday_noon, monday_0959 = _local(5, 12), _local(7, 9, 59)
    assert office_minutes(saturday_noon, monday_0959, ZONE, HOURS) == 59
    assert office_minutes(monday_1031, monday_0930, ZONE, HOURS) == 0


def test_a_case_waiting_too_long_is_flagged_once_and_supervisors_told_without_personal_data(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://outreach.example.org"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store)  # person 0 wrote back: an open case
    with store.session() as session:
        session.execute(
            update(Person).where(Person.id == seeded.replier_id).values(needs_fieldworker_since=_local(0, 9, 30))
        )
        case_id = session.execute(select(Case.id).where(Case.person_id == seeded.replier_id)).scalar_one()

    assert run_escalation(settings, store, now=_local(0, 10, 29)) == []  # 59 minutes: not yet
    caplog.set_level(logging.WARNING, logger="outreach.support.notify")
    flagged = run_escalation(settings, store, now=_local(0, 10, 31))
    assert [(item.case_id, item.waited_minutes) for item in flagged] == [(case_id, 61)]
    notices = [record.getMessage() for record in caplog.records if "case.waiting" in record.getMessage()]
    assert len(notices) == 1
    fields = json.loads(notices[0].split("case.waiting ", 1)[1])
    assert fields["case"] == case_id and fields["link"] == f"https://outreach.example.org/cases/{case_id}"
    assert all(number[3:] not in notices[0] for number in seeded.numbers)
    assert "script" not in notices[0]  # the person's text (an XSS payload in this world) is not in it
    assert run_escalation(settings, store, now=_local(0, 12)) == []  # once per wait
    assert audit_count(store, "case.escalated") == 1

    # A new message after an answer is a new wait, flagged again when it too waits too long.
    vault = PhoneVault.from_settings(settings)
    with store.session() as session:
        session.execute(update(Person).where(Person.id == seeded.replier_id).values(needs_fieldworker_since=None))
        receive(
            session, vault, settings, Inbound("SM" + "5" * 32, seeded.numbers[0], "Nog een vraag"), now=_local(1, 9)
        )
    assert run_escalation(settings, store, now=_local(1, 9, 30)) == []
    assert [item.case_id for item in run_escalation(settings, store, now=_local(1, 10, 5))] == [case_id]


def test_outreach_escalate_runs_it_once(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world.gateway.callbacks = "none"
    settings = messaging_settings(world)
    store = world.store()
    seeded = seed(settings, store)
    with store.session() as session:
        session.execute(
            update(Person)
            .where(Person.id == seeded.replier_id)
            .values(needs_fieldworker_since=datetime.now(UTC) - timedelta(days=14))
        )
    assert run(["escalate", "--config", config_file(settings, tmp_path)]) == 0
    assert "1 conversation(s) waited too long" in capsys.readouterr().out


def test_a_person_who_wrote_before_cases_existed_gets_a_case_and_is_escalated(world: World) -> None:
    """Migration 0009 made no case for persons already waiting: the escalation run opens one, in the organisation
    their message went to, so they appear in the case list and are escalated like anyone else."""
    world.gateway.callbacks = "none"
    settings = messaging_settings(world, web={"public_url": "https://outreach.example.org"})
    store = world.store()
    add_users(store)
    seeded = seed(settings, store)
    with store.session() as session:
        session.execute(delete(Case))  # as before migration 0009
        session.execute(
            update(Person).where(Person.id == seeded.replier_id).values(needs_fieldworker_since=_local(0, 9, 30))
        )
    flagged = run_escalation(settings, store, now=_local(0, 10, 31))
    with store.session() as session:
        case = session.execute(select(Case).where(Case.person_id == seeded.replier_id)).scalar_one()
        others = session.execute(select(Case).where(Case.person_id != seeded.replier_id)).scalars().all()
    assert case.status == "open" and [item.case_id for item in flagged] == [case.id]
    assert others == []  # only persons who wait get a case
    assert run_escalation(settings, store, now=_local(0, 10, 40)) == []  # opened once, flagged once
