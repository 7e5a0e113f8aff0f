"""WhatsApp only where Meta's rules allow it: inside the 24-hour window after the person wrote to us there; a
message WhatsApp refuses (63016 outside the window, 63024 not a WhatsApp user) falls back to SMS when configured."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from messaging.outbox.factory import make_outbox
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.people.conversations import queue_reply
from outreach.people.inbound import Inbound, receive
from outreach.store.models import Case, Message
from tests.conftest import World
from tests.messaging_world import messaging_settings, numbers

WHATSAPP = {"enabled": True, "from_number": "+15555550102", "fallback_to_sms": True}


def test_a_reply_to_someone_who_wrote_on_whatsapp_goes_by_whatsapp(world: World) -> None:
    settings = messaging_settings(world, whatsapp=WHATSAPP)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    [number] = numbers(1)
    world.gateway.whatsapp_users.add(number)
    world.gateway.inbound_numbers[number] = datetime.now(UTC)  # they wrote: WhatsApp's 24-hour window is open
    with store.session() as session:
        asked = receive(session, vault, settings, Inbound("SM" + "c" * 32, f"whatsapp:{number}", "Hoi, wie ben jij?"))
        assert asked.person_id is not None
        reply_id = queue_reply(session, asked.person_id, "Hoi! Ik ben Sanne van Demo Outreach.", settings, "sanne")
    report = make_outbox(settings, store, "sanne", optouts).send_one(reply_id)
    assert sum(report.sent.values()) == 1
    assert [m.to for m in world.gateway.messages] == [f"whatsapp:{number}"]
    assert world.gateway.messages[0].from_ == "whatsapp:+15555550102"


def test_outside_the_window_whatsapp_falls_back_to_sms(world: World) -> None:
    settings = messaging_settings(world, whatsapp=WHATSAPP)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    [number] = numbers(1)
    world.gateway.whatsapp_users.add(number)  # a WhatsApp user, but the gateway never saw them write: 63016
    with store.session() as session:
        asked = receive(session, vault, settings, Inbound("SM" + "d" * 32, f"whatsapp:{number}", "Hoi"))
        assert asked.person_id is not None
        reply_id = queue_reply(session, asked.person_id, "Hoi! Ik ben Sanne van Demo Outreach.", settings, "sanne")
    outbox = make_outbox(settings, store, "sanne", optouts)
    first = outbox.send_one(reply_id)
    assert first.fell_back == 1 and world.gateway.messages == []
    outbox.drain()
    assert [m.to for m in world.gateway.messages] == [number]
    with store.session() as session:
        message = session.get(Message, reply_id)
        assert message is not None and (message.channel, message.status) == ("sms", "sent")
        assert session.execute(select(Message.error_code).where(Message.id == reply_id)).scalar_one() == 63016


def test_first_contact_over_whatsapp_only_with_the_setting_and_an_approved_template(world: World) -> None:
    from outreach.cycle.crawl import run_crawl
    from outreach.cycle.run import run_cycle
    from outreach.store.models import Advert, AdvertPerson, Person

    content = {"nl": "HX" + "1" * 32, "en": "HX" + "2" * 32}
    cycle = world.cycle_settings()
    settings = cycle.model_copy(
        update={
            "whatsapp": cycle.whatsapp.model_copy(update={**WHATSAPP, "first_contact": True, "content_sids": content})
        }
    )
    store, vault = world.store(), PhoneVault.from_settings(settings)
    run_crawl(settings, store, "alice")
    with store.session() as session:
        for encrypted in session.execute(select(Person.phone_encrypted)).scalars():
            world.gateway.whatsapp_users.add(vault.decrypt(encrypted))
        offers_whatsapp = {
            vault.decrypt(encrypted)
            for encrypted in session.execute(
                select(Person.phone_encrypted)
                .join(AdvertPerson, AdvertPerson.person_id == Person.id)
                .join(Advert, Advert.id == AdvertPerson.advert_id)
                .where(Advert.has_whatsapp.is_(True))
            ).scalars()
        }
    run_cycle(settings, actor="alice")
    by_whatsapp = [m for m in world.gateway.messages if m.to.startswith("whatsapp:")]
    assert by_whatsapp, "some adverts in nl or en offer WhatsApp"
    for message in by_whatsapp:
        assert message.content_sid in content.values() and message.body == ""
        assert message.to.removeprefix("whatsapp:") in offers_whatsapp
    with store.session() as session:
        languages = set(session.execute(select(Message.language).where(Message.channel == "whatsapp")).scalars())
    assert languages <= {"nl", "en"}  # other languages have no approved template: they go by SMS


def test_the_case_page_says_which_channel_an_answer_leaves_by(world: World) -> None:
    from outreach.web.app import create_app
    from tests.dashboard_world import add_users, client_for, log_in

    settings = messaging_settings(world, whatsapp=WHATSAPP, web={"public_url": "https://testserver", "language": "en"})
    store, vault = world.store(), PhoneVault.from_settings(settings)
    add_users(store)
    by_whatsapp, by_sms = numbers(2)
    with store.session() as session:
        receive(session, vault, settings, Inbound("SM" + "e" * 32, f"whatsapp:{by_whatsapp}", "Hoi, wie ben jij?"))
        receive(session, vault, settings, Inbound("SM" + "f" * 32, by_sms, "Hoi, wie ben jij?"))
        rows = session.execute(select(Message.channel, Case.id).join(Case, Case.person_id == Message.person_id))
        cases = {channel: case for channel, case in rows}
    with client_for(create_app(settings)) as client:
        log_in(client, "alice")
        whatsapp_page = client.get(f"/cases/{cases['whatsapp']}").text
        sms_page = client.get(f"/cases/{cases['sms']}").text
    assert (
        'id="reply-channel">(by WhatsApp)' in whatsapp_page and '<span class="channel">WhatsApp</span>' in whatsapp_page
    )
    assert 'id="reply-channel">(by SMS)' in sms_page and '<span class="channel">SMS</span>' in sms_page
