"""Each person who opts out gets exactly one confirmation: Twilio's or ours, never both, never none, whether the
number has Twilio's Advanced Opt-Out or not.

What Twilio does (help.twilio.com, "Twilio support for opt-out keywords" and "How to track opt-out, opt-in and help
messages using the OptOutType parameter"): on every number it handles its default keywords (STOP, STOPALL,
UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT; the whole message, any case), blocks the sender, answers with its own
confirmation and passes the message on. The webhook carries `OptOutType` (STOP, START, HELP) only for a number in a
Messaging Service with Advanced Opt-Out, whose keyword lists and answers the organisation may change (add STOPPEN,
say). The test gateway does the same in both modes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from outreach.crypto import PhoneVault
from outreach.store.models import Message, Person
from tests.conftest import World
from tests.messaging_world import numbers, outbox_for, queue, webhook_server

# Twilio's words in several spellings, our own in several languages, and a word of ours that an organisation added
# to its Advanced Opt-Out list.
WORDS = ["STOP", "stop", " Unsubscribe ", "QUIT", "STOPPEN", "Afmelden", "Dezabonare", "СТОП"]


def _ours(world: World, vault: PhoneVault, number: str) -> int:
    """Our confirmations to this number: each one decided on must also have reached the provider (a confirmation
    to someone Twilio already answered would be refused with 21610: an attempt that must not happen)."""
    store = world.store()
    with store.session() as session:
        rows = session.execute(
            select(Message.provider_sid, Message.status)
            .join(Person, Person.id == Message.person_id)
            .where(Message.kind == "opt_out_confirmation", Person.key == vault.key(number))
        ).all()
    reached = {message.sid for message in world.gateway.sent_to().get(number, [])}
    assert all(sid in reached for sid, _status in rows), rows
    return len(rows)


@pytest.mark.parametrize("advanced", [False, True], ids=["plain number", "advanced opt-out"])
def test_every_person_who_opts_out_gets_exactly_one_confirmation(world: World, advanced: bool) -> None:
    world.gateway.advanced_opt_out = advanced
    if advanced:
        world.gateway.keywords["STOP"].add("STOPPEN")  # a Dutch organisation's own list
    with webhook_server(world) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        people = numbers(len(WORDS), start=300)
        for number in people:
            queue(store, vault, number)
        outbox_for(settings, store).drain()  # the first contacts
        url = f"{server.url}/twilio/inbound"
        for number, word in zip(people, WORDS, strict=True):
            assert world.gateway.inbound(url, number, word) == 200
            assert world.gateway.inbound(url, number, word.lower()) == 200  # the same person, again
        outbox_for(settings, store).drain()  # our confirmations
        answered = {
            word: (world.gateway.twilio_answers_to(number) > 0, _ours(world, vault, number))
            for number, word in zip(people, WORDS, strict=True)
        }
    twilio_words = {"STOP", "stop", " Unsubscribe ", "QUIT"} | ({"STOPPEN"} if advanced else set())
    # Twilio answers its own words (each time; that is Twilio's to decide); we answer the rest, once.
    assert answered == {word: (word in twilio_words, 0 if word in twilio_words else 1) for word in WORDS}
