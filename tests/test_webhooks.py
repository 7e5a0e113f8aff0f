"""Twilio's webhooks through `outreach serve`: signed status callbacks and inbound messages, STOP in every
language, replies for a fieldworker, and forged requests that change nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import Message, Person
from tests.messaging_world import (
    audit_count,
    numbers,
    opt_out_sources,
    outbox_for,
    queue,
    status_of,
    webhook_server,
)
from testworld.twilio_gateway import TWILIO_STOP_WORDS, TwilioGateway

# Whole-message opt-outs in every template language and Twilio's own; accents and case do not matter.
STOP_WORDS = ["STOP", "stop", "Stoppen", "AFMELDEN", "unsubscribe", "Dezabonare", "стоп", "ОТПИСВАНЕ", "wypisz",
              "Rezygnuję", "baja", "Parar", "sair", "Leiratkozás", "  Stöp! "]  # fmt: skip


def test_a_forged_or_unsigned_webhook_is_rejected_and_changes_nothing(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, server):
        store, vault = Store(settings.database_url), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        message_id = queue(store, vault, number, status="sent", provider_sid="SM" + "1" * 32)
        status_url = f"{server.url}/twilio/status/{message_id}"
        params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "AccountSid": gateway.account_sid}
        assert gateway.post_signed(status_url, params, signature="forged") == 403
        assert gateway.post_signed(status_url, params, signature="") == 403
        # Signed for another URL (a replay against a different message) is forged too.
        other = gateway.sign(f"{server.url}/twilio/status/{message_id + 1}", params)
        assert gateway.post_signed(status_url, params, signature=other) == 403
        assert gateway.inbound(f"{server.url}/twilio/inbound", number, "STOP", signature="forged") == 403
        assert status_of(store, message_id) == "sent"
        assert opt_out_sources(store) == []
        with store.session() as session:
            assert session.execute(select(Message).where(Message.direction == "in")).first() is None
        # The genuine request is accepted.
        assert gateway.post_signed(status_url, params) == 200
        assert status_of(store, message_id) == "delivered"
        store.close()


@pytest.mark.parametrize("order", ["in_order", "reversed", "twice"])
def test_status_callbacks_only_move_a_message_forward(
    order: str, database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    gateway.callbacks = order
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, _server):
        store, vault = Store(settings.database_url), PhoneVault.from_settings(settings)
        ids = [queue(store, vault, number) for number in numbers(3)]
        report = outbox_for(settings, store).drain()
        assert sum(report.sent.values()) == 3
        gateway.wait_for_callbacks()
        assert all(code == 200 for _, _, code in gateway.callback_log)
        assert [status_of(store, i) for i in ids] == ["delivered"] * 3
        # sent -> delivered at most: two forward moves per message, whatever the order or repetition.
        assert 3 <= audit_count(store, "message.status") <= 6
        store.close()


def test_stop_in_every_language_stops_all_further_messages(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, server):
        store, vault = Store(settings.database_url), PhoneVault.from_settings(settings)
        people = numbers(len(STOP_WORDS))
        for number in people:
            queue(store, vault, number)
        outbox_for(settings, store).drain()
        pending = [queue(store, vault, number) for number in people]  # e.g. a reminder already queued
        for number, word in zip(people, STOP_WORDS, strict=True):
            assert gateway.inbound(f"{server.url}/twilio/inbound", number, word) == 200
        assert [status_of(store, i) for i in pending] == ["cancelled"] * len(people)
        assert len(opt_out_sources(store)) == len(people)
        before = {number: len(sent) for number, sent in gateway.sent_to().items()}
        for number in people:
            queue(store, vault, number)  # a later path tries again: it must not get through
        report = outbox_for(settings, store).drain()
        after = gateway.sent_to()
        for number, word in zip(people, STOP_WORDS, strict=True):
            extra = [m.body for m in after[number][before[number] :]]
            twilio_handled = word.strip().upper() in TWILIO_STOP_WORDS
            # Only our own confirmation, once, for keywords Twilio does not answer itself.
            assert len(extra) == (0 if twilio_handled else 1), (word, extra)
            assert all("Demo Outreach" in body for body in extra)
        assert report.cancelled == len(people)
        store.close()


def test_start_undoes_an_opt_out_with_an_audit_event(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, server):
        store = Store(settings.database_url)
        [number] = numbers(1)
        gateway.inbound(f"{server.url}/twilio/inbound", number, "STOP")
        assert opt_out_sources(store) == ["twilio-optout"]
        gateway.inbound(f"{server.url}/twilio/inbound", number, "START")
        assert opt_out_sources(store) == []
        assert audit_count(store, "person.un_opt_out") == 1
        store.close()


def test_a_longer_message_with_stop_pauses_and_goes_to_a_fieldworker(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, server):
        store, vault = Store(settings.database_url), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        waiting = queue(store, vault, number, kind="first_contact")
        gateway.inbound(f"{server.url}/twilio/inbound", number, "stop sturen aub, wie ben jij?")
        assert opt_out_sources(store) == []  # a person decides, not a keyword match
        assert status_of(store, waiting) == "cancelled"
        with store.session() as session:
            person = session.execute(select(Person)).scalar_one()
            assert person.paused_reason == "possible opt-out" and person.needs_fieldworker_since is not None
        store.close()


def test_a_reply_is_stored_encrypted_and_a_fieldworker_is_told(
    database_url: str,
    keys: dict[str, str],
    tmp_path: Path,
    gateway: TwilioGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "Hoi Sanne, kan ik dinsdag langskomen?"
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, server):
        store, vault = Store(settings.database_url), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        with caplog.at_level(logging.WARNING, logger="outreach.support.notify"):
            assert gateway.inbound(f"{server.url}/twilio/inbound", number, text) == 200
            # Twilio retries a webhook it thinks failed: the same MessageSid is stored once.
        with store.session() as session:
            stored = session.execute(select(Message).where(Message.direction == "in")).scalar_one()
            person = session.execute(select(Person)).scalar_one()
            assert stored.body != text and vault.decrypt(stored.body) == text
            assert person.needs_fieldworker_since is not None and person.last_inbound_at is not None
        assert any("reply.waiting" in record.getMessage() for record in caplog.records)
        assert not any(text in record.getMessage() or number in record.getMessage() for record in caplog.records)
        store.close()


def test_the_same_inbound_message_delivered_twice_is_stored_once(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    with webhook_server(database_url, keys, tmp_path, gateway) as (settings, server):
        store = Store(settings.database_url)
        [number] = numbers(1)
        params = {"MessageSid": "SM" + "2" * 32, "From": number, "To": gateway.from_number, "Body": "hallo"}
        assert gateway.post_signed(f"{server.url}/twilio/inbound", params) == 200
        assert gateway.post_signed(f"{server.url}/twilio/inbound", params) == 200
        with store.session() as session:
            assert len(session.execute(select(Message.id).where(Message.direction == "in")).all()) == 1
        store.close()
