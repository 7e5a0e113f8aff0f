"""Twilio's webhooks through `outreach serve`: signed status callbacks and inbound messages, STOP in every
language, replies for a fieldworker, and forged requests that change nothing."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from outreach.crypto import PhoneVault
from outreach.store.models import Message, Person
from tests.conftest import World
from tests.messaging_world import (
    audit_count,
    numbers,
    opt_out_sources,
    outbox_for,
    queue,
    status_of,
    webhook_server,
)
from testworld.twilio_gateway import TWILIO_STOP_WORDS

# Whole-message opt-outs in every template language and Twilio's own; accents and case do not matter.
STOP_WORDS = ["STOP", "stop", "Stoppen", "AFMELDEN", "unsubscribe", "Dezabonare", "стоп", "ОТПИСВАНЕ", "wypisz",
              "Rezygnuję", "baja", "Parar", "sair", "Leiratkozás", "  Stöp! "]  # fmt: skip


def test_a_forged_or_unsigned_webhook_is_rejected_and_changes_nothing(world: World) -> None:
    with webhook_server(world) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        message_id = queue(store, vault, number, status="sent", provider_sid="SM" + "1" * 32)
        status_url = f"{server.url}/twilio/status/{message_id}"
        params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "AccountSid": world.gateway.account_sid}
        assert world.gateway.post_signed(status_url, params, signature="forged") == 403
        assert world.gateway.post_signed(status_url, params, signature="") == 403
        # Signed for another URL (a replay against a different message) is forged too.
        other = world.gateway.sign(f"{server.url}/twilio/status/{message_id + 1}", params)
        assert world.gateway.post_signed(status_url, params, signature=other) == 403
        assert world.gateway.inbound(f"{server.url}/twilio/inbound", number, "STOP", signature="forged") == 403
        assert status_of(store, message_id) == "sent"
        assert opt_out_sources(store) == []
        with store.session() as session:
            assert session.execute(select(Message).where(Message.direction == "in")).first() is None
        # The genuine request is accepted.
        assert world.gateway.post_signed(status_url, params) == 200
        assert status_of(store, message_id) == "delivered"


@pytest.mark.parametrize("order", ["in_order", "reversed", "twice"])
def test_status_callbacks_only_move_a_message_forward(order: str, world: World) -> None:
    world.gateway.callbacks = order
    with webhook_server(world) as (settings, _server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        ids = [queue(store, vault, number) for number in numbers(3)]
        report = outbox_for(settings, store).drain()
        assert sum(report.sent.values()) == 3
        world.gateway.wait_for_callbacks()
        assert all(code == 200 for _, _, code in world.gateway.callback_log)
        assert [status_of(store, i) for i in ids] == ["delivered"] * 3
        # sent -> delivered at most: two forward moves per message, whatever the order or repetition.
        assert 3 <= audit_count(store, "message.status") <= 6


def test_stop_in_every_language_stops_all_further_messages(world: World) -> None:
    with webhook_server(world) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        people = numbers(len(STOP_WORDS))
        for number in people:
            queue(store, vault, number)
        outbox_for(settings, store).drain()
        pending = [queue(store, vault, number) for number in people]  # e.g. a reminder already queued
        for number, word in zip(people, STOP_WORDS, strict=True):
            assert world.gateway.inbound(f"{server.url}/twilio/inbound", number, word) == 200
        assert [status_of(store, i) for i in pending] == ["cancelled"] * len(people)
        assert len(opt_out_sources(store)) == len(people)
        before = {number: len(sent) for number, sent in world.gateway.sent_to().items()}
        for number in people:
            queue(store, vault, number)  # a later path tries again: it must not get through
        report = outbox_for(settings, store).drain()
        after = world.gateway.sent_to()
        for number, word in zip(people, STOP_WORDS, strict=True):
            extra = [m.body for m in after[number][before[number] :]]
            twilio_handled = word.strip().upper() in TWILIO_STOP_WORDS
            # Only our own confirmation, once, for keywords Twilio does not answer itself.
            assert len(extra) == (0 if twilio_handled else 1), (word, extra)
            assert all("Demo Outreach" in body for body in extra)
        assert report.cancelled == len(people)


def test_start_undoes_an_opt_out_with_an_audit_event(world: World) -> None:
    with webhook_server(world) as (_settings, server):
        store = world.store()
        [number] = numbers(1)
        world.gateway.inbound(f"{server.url}/twilio/inbound", number, "STOP")
        assert opt_out_sources(store) == ["twilio-optout"]
        world.gateway.inbound(f"{server.url}/twilio/inbound", number, "START")
        assert opt_out_sources(store) == []
        assert audit_count(store, "person.un_opt_out") == 1


def test_a_longer_message_with_stop_pauses_and_goes_to_a_fieldworker(world: World) -> None:
    with webhook_server(world) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        waiting = queue(store, vault, number, kind="first_contact")
        world.gateway.inbound(f"{server.url}/twilio/inbound", number, "stop sturen aub, wie ben jij?")
        assert opt_out_sources(store) == []  # a person decides, not a keyword match
        assert status_of(store, waiting) == "cancelled"
        with store.session() as session:
            person = session.execute(select(Person)).scalar_one()
            assert person.paused_reason == "possible opt-out" and person.needs_fieldworker_since is not None


def test_a_reply_is_stored_encrypted_and_a_fieldworker_is_told(world: World, caplog: pytest.LogCaptureFixture) -> None:
    text = "Hoi Sanne, kan ik dinsdag langskomen?"
    with webhook_server(world) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        with caplog.at_level(logging.WARNING, logger="outreach.support.notify"):
            assert world.gateway.inbound(f"{server.url}/twilio/inbound", number, text) == 200
            # Twilio retries a webhook it thinks failed: the same MessageSid is stored once.
        with store.session() as session:
            stored = session.execute(select(Message).where(Message.direction == "in")).scalar_one()
            person = session.execute(select(Person)).scalar_one()
            assert stored.body != text and vault.decrypt(stored.body) == text
            assert person.needs_fieldworker_since is not None and person.last_inbound_at is not None
        assert any("reply.waiting" in record.getMessage() for record in caplog.records)
        assert not any(text in record.getMessage() or number in record.getMessage() for record in caplog.records)


def test_the_same_inbound_message_delivered_twice_is_stored_once(world: World) -> None:
    with webhook_server(world) as (_settings, server):
        store = world.store()
        [number] = numbers(1)
        params = {"MessageSid": "SM" + "2" * 32, "From": number, "To": world.gateway.from_number, "Body": "hallo"}
        assert world.gateway.post_signed(f"{server.url}/twilio/inbound", params) == 200
        assert world.gateway.post_signed(f"{server.url}/twilio/inbound", params) == 200
        with store.session() as session:
            assert len(session.execute(select(Message.id).where(Message.direction == "in")).all()) == 1
