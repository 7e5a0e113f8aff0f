"""The contact rhythm with a clock the test controls: a first contact; one reminder after
`targeting.reminder.after_days` without a reply, never twice, never after a reply or an opt-out; then nothing until
the re-contact window is over AND the person advertises again. Per person, across sites. Messages really go through
the outbox to the Twilio test gateway."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from messaging.language import make_detector
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.people.inbound import Inbound, receive
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.store.models import AdvertReason, Message, Person
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.targeting.contact_pass import Queued, first_contact_templates, select_and_queue
from tests.messaging_world import messaging_settings, outbox_for
from tests.targeting_world import Made, make_advert, number
from testworld.twilio_gateway import TwilioGateway

DAY = timedelta(days=1)


class World:
    """A store, the gateway and a clock: `at(days)` runs one selection pass and drains the outbox."""

    def __init__(self, settings: Settings, gateway: TwilioGateway) -> None:
        self.settings, self.gateway = settings, gateway
        self.store = Store(settings.database_url)
        self.vault = PhoneVault.from_settings(settings)
        self.detector = make_detector(settings)
        self.templates = first_contact_templates(settings)
        self.start = utcnow()

    def advert(self, days: float, index: int, site: str = "fixture", **fields: Any) -> Made:
        """An advert first seen `days` after the start, with the generated number `index`."""
        with self.store.session() as session:
            moment = self.start + days * DAY
            return make_advert(session, self.vault, moment, phone=number(index), site=site, **fields)

    def at(self, days: float) -> Queued:
        now = self.start + days * DAY
        queued = select_and_queue(
            self.store, self.settings, now=now, actor="alice", detector=self.detector, templates=self.templates
        )
        outbox_for(self.settings, self.store).drain()
        return queued

    def reason(self, made: Made) -> tuple[str, str | None]:
        with self.store.session() as session:
            row = session.execute(
                select(AdvertReason.reason, AdvertReason.detail).where(
                    AdvertReason.advert_id == made.advert_id, AdvertReason.person_id == made.person_id
                )
            ).one()
        return row[0], row[1]

    def kinds_sent(self, index: int) -> list[str]:
        """What the gateway received for this number, as message kinds (from our own rows, by provider sid)."""
        sids = [m.sid for m in self.gateway.sent_to().get(number(index), [])]
        with self.store.session() as session:
            kinds = dict(
                session.execute(select(Message.provider_sid, Message.kind).where(Message.provider_sid.in_(sids))).all()
            )
        return [kinds[sid] for sid in sids]

    def day(self, days: float) -> str:
        moment: datetime = self.start + days * DAY
        return moment.date().isoformat()


def _world(database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway) -> World:
    settings = messaging_settings(
        database_url, keys, tmp_path, gateway, language={"detector": "py3langid"}, recontact_days=180
    )
    return World(settings, gateway)


def test_one_reminder_after_five_days_then_nothing_until_a_new_advert_after_the_window(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    world = _world(database_url, keys, tmp_path, gateway)
    try:
        first = world.advert(0, 1)
        other_site = world.advert(0, 1, site="profiles")  # the same person on a second site
        assert sum(world.at(0).first_contacts.values()) == 1
        assert world.kinds_sent(1) == ["first_contact"]
        # Answered through the newest advert (the second site's, same moment, higher id); the other says so.
        assert world.reason(other_site)[0] == "messaged"
        assert world.reason(first) == ("other_advert", str(other_site.advert_id))

        for days in (1, 4, 4.9):
            assert world.at(days).reminders == 0
        assert world.kinds_sent(1) == ["first_contact"]
        assert world.reason(first) == world.reason(other_site) == ("contacted", world.day(0))

        queued = world.at(5.1)
        assert queued.reminders == 1 and sum(queued.first_contacts.values()) == 0
        assert world.kinds_sent(1) == ["first_contact", "reminder"]
        reminder_body = world.gateway.sent_to()[number(1)][1].body
        assert "Demo Outreach" in reminder_body and "STOP" in reminder_body

        for days in (5.2, 6, 30, 179):
            assert world.at(days).reminders == 0
        assert world.kinds_sent(1) == ["first_contact", "reminder"]
        assert world.reason(first) == ("reminder_sent", world.day(5.1))

        # The window is over, but the person still shows the same old adverts: nothing.
        world.at(181)
        assert world.kinds_sent(1) == ["first_contact", "reminder"]
        assert world.reason(first) == ("not_advertised_again", world.day(0))
        # A new advert after the window: a new first contact, answered through the new advert.
        again = world.advert(200, 1)
        world.at(200)
        assert world.kinds_sent(1) == ["first_contact", "reminder", "first_contact"]
        assert world.reason(again)[0] == "messaged"
    finally:
        world.store.close()


def test_no_reminder_after_a_reply(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    world = _world(database_url, keys, tmp_path, gateway)
    try:
        made = world.advert(0, 2)
        world.at(0)
        with world.store.session() as session:
            receive(session, world.vault, world.settings, Inbound("SMreply1", number(2), "Dank je, wie ben je?"))
        for days in (5.1, 6, 200):
            world.at(days)
        world.advert(210, 2)  # even a new advert after the window: a fieldworker's conversation
        world.at(210)
        assert world.kinds_sent(2) == ["first_contact"]
        assert world.reason(made) == ("replied", None)
    finally:
        world.store.close()


def test_no_reminder_to_someone_who_opted_out_in_between(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    world = _world(database_url, keys, tmp_path, gateway)
    try:
        made, late = world.advert(0, 3), world.advert(0, 4)
        world.at(0)
        with world.store.session() as session:
            key = session.execute(select(Person.key).where(Person.id == made.person_id)).scalar_one()
            optouts.stop(session, key, kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
        world.at(6)
        assert world.kinds_sent(3) == ["first_contact"]
        assert world.reason(made) == ("opted_out", None)
        assert world.kinds_sent(4) == ["first_contact", "reminder"]
        assert world.reason(late) == ("reminded", None)

        # Opting out after the reminder was queued but before it went: the outbox cancels it.
        slow = world.advert(10, 5)
        world.at(10)
        queued = select_and_queue(
            world.store,
            world.settings,
            now=world.start + 15.2 * DAY,
            actor="alice",
            detector=world.detector,
            templates=world.templates,
        )
        assert queued.reminders == 1
        with world.store.session() as session:
            key = session.execute(select(Person.key).where(Person.id == slow.person_id)).scalar_one()
            optouts.stop(session, key, kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
        outbox_for(world.settings, world.store).drain()
        assert world.kinds_sent(5) == ["first_contact"]
    finally:
        world.store.close()


def test_reminders_can_be_switched_off(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    settings = messaging_settings(
        database_url,
        keys,
        tmp_path,
        gateway,
        language={"detector": "py3langid"},
        targeting={"reminder": {"enabled": False}},
    )
    world = World(settings, gateway)
    try:
        made = world.advert(0, 6)
        for days in (0, 6, 30):
            world.at(days)
        assert world.kinds_sent(6) == ["first_contact"]
        assert world.reason(made) == ("contacted", world.day(0))
    finally:
        world.store.close()
