"""The contact rhythm with a clock the test controls: a first contact; one reminder after
`targeting.reminder.after_days` without a reply, never twice, never after a reply or an opt-out; then nothing until
the re-contact window is over AND the person advertises again. Per person, across sites. Messages really go through
the outbox to the Twilio test gateway."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from messaging.language import make_detector
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.people.inbound import Inbound, receive
from outreach.settings import Settings
from outreach.store.models import AdvertReason, Message, Person
from outreach.store.states import StopKind
from outreach.store.types import utcnow
from outreach.targeting.contact_pass import Queued, first_contact_templates, select_and_queue
from tests.conftest import World
from tests.messaging_world import messaging_settings, outbox_for
from tests.targeting_world import Made, make_advert, number

DAY = timedelta(days=1)


class Rhythm:
    """A world's store and gateway and a clock: `at(days)` runs one selection pass and drains the outbox."""

    def __init__(self, world: World, settings: Settings) -> None:
        self.settings, self.gateway = settings, world.gateway
        self.store = world.store()
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


def _rhythm(world: World) -> Rhythm:
    settings = messaging_settings(world, language={"detector": "py3langid"}, recontact_days=180)
    return Rhythm(world, settings)


def test_one_reminder_after_five_days_then_nothing_until_a_new_advert_after_the_window(world: World) -> None:
    rhythm = _rhythm(world)
    first = rhythm.advert(0, 1)
    other_site = rhythm.advert(0, 1, site="profiles")  # the same person on a second site
    assert sum(rhythm.at(0).first_contacts.values()) == 1
    assert rhythm.kinds_sent(1) == ["first_contact"]
    # Answered through the newest advert (the second site's, same moment, higher id); the other says so.
    assert rhythm.reason(other_site)[0] == "messaged"
    assert rhythm.reason(first) == ("other_advert", str(other_site.advert_id))

    for days in (1, 4, 4.9):
        assert rhythm.at(days).reminders == 0
    assert rhythm.kinds_sent(1) == ["first_contact"]
    assert rhythm.reason(first) == rhythm.reason(other_site) == ("contacted", rhythm.day(0))

    queued = rhythm.at(5.1)
    assert queued.reminders == 1 and sum(queued.first_contacts.values()) == 0
    assert rhythm.kinds_sent(1) == ["first_contact", "reminder"]
    reminder_body = rhythm.gateway.sent_to()[number(1)][1].body
    assert "Demo Outreach" in reminder_body and "STOP" in reminder_body

    for days in (5.2, 6, 30, 179):
        assert rhythm.at(days).reminders == 0
    assert rhythm.kinds_sent(1) == ["first_contact", "reminder"]
    assert rhythm.reason(first) == ("reminder_sent", rhythm.day(5.1))

    # The window is over, but the person still shows the same old adverts: nothing.
    rhythm.at(181)
    assert rhythm.kinds_sent(1) == ["first_contact", "reminder"]
    assert rhythm.reason(first) == ("not_advertised_again", rhythm.day(0))
    # A new advert after the window: a new first contact, answered through the new advert.
    again = rhythm.advert(200, 1)
    rhythm.at(200)
    assert rhythm.kinds_sent(1) == ["first_contact", "reminder", "first_contact"]
    assert rhythm.reason(again)[0] == "messaged"


def test_no_reminder_after_a_reply(world: World) -> None:
    rhythm = _rhythm(world)
    made = rhythm.advert(0, 2)
    rhythm.at(0)
    with rhythm.store.session() as session:
        receive(session, rhythm.vault, rhythm.settings, Inbound("SMreply1", number(2), "Dank je, wie ben je?"))
    for days in (5.1, 6, 200):
        rhythm.at(days)
    rhythm.advert(210, 2)  # even a new advert after the window: a fieldworker's conversation
    rhythm.at(210)
    assert rhythm.kinds_sent(2) == ["first_contact"]
    assert rhythm.reason(made) == ("replied", None)


def test_no_reminder_to_someone_who_opted_out_in_between(world: World) -> None:
    rhythm = _rhythm(world)
    made, late = rhythm.advert(0, 3), rhythm.advert(0, 4)
    rhythm.at(0)
    with rhythm.store.session() as session:
        key = session.execute(select(Person.key).where(Person.id == made.person_id)).scalar_one()
        optouts.stop(session, key, kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
    rhythm.at(6)
    assert rhythm.kinds_sent(3) == ["first_contact"]
    assert rhythm.reason(made) == ("opted_out", None)
    assert rhythm.kinds_sent(4) == ["first_contact", "reminder"]
    assert rhythm.reason(late) == ("reminded", None)

    # Opting out after the reminder was queued but before it went: the outbox cancels it.
    slow = rhythm.advert(10, 5)
    rhythm.at(10)
    queued = select_and_queue(
        rhythm.store,
        rhythm.settings,
        now=rhythm.start + 15.2 * DAY,
        actor="alice",
        detector=rhythm.detector,
        templates=rhythm.templates,
    )
    assert queued.reminders == 1
    with rhythm.store.session() as session:
        key = session.execute(select(Person.key).where(Person.id == slow.person_id)).scalar_one()
        optouts.stop(session, key, kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
    outbox_for(rhythm.settings, rhythm.store).drain()
    assert rhythm.kinds_sent(5) == ["first_contact"]


def test_reminders_can_be_switched_off(world: World) -> None:
    settings = messaging_settings(world, language={"detector": "py3langid"}, targeting={"reminder": {"enabled": False}})
    rhythm = Rhythm(world, settings)
    made = rhythm.advert(0, 6)
    for days in (0, 6, 30):
        rhythm.at(days)
    assert rhythm.kinds_sent(6) == ["first_contact"]
    assert rhythm.reason(made) == ("contacted", rhythm.day(0))


def test_people_first_contacted_in_the_same_pass_each_get_their_own_reminder(world: World) -> None:
    """Found by `make mutate`: a cycle contacts everyone at one instant, so the reminder decision must be about this
    person only; a condition that matched everyone contacted at that instant gave the first one a reminder and
    silently used up the others'."""
    rhythm = _rhythm(world)
    for index in (21, 22, 23):
        rhythm.advert(0, index)
    assert sum(rhythm.at(0).first_contacts.values()) == 3
    assert rhythm.at(5.1).reminders == 3
    assert [rhythm.kinds_sent(index) for index in (21, 22, 23)] == [["first_contact", "reminder"]] * 3
