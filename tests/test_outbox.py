"""The outbox never sends twice and never sends to someone who stopped, also after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from messaging.channels.base import Outbound
from messaging.outbox.drain import Outbox
from messaging.outbox.factory import make_outbox
from outreach.crypto import PhoneVault
from outreach.errors import OutreachError
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.db import Store
from outreach.store.models import Message, OptOut
from outreach.store.types import utcnow
from tests.conftest import World

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres

NUMBER = "+31612345678"


@pytest.fixture
def settings(world: World) -> Settings:
    from outreach.store.db import upgrade

    settings = world.settings(twilio=world.gateway.twilio_settings())
    upgrade(world.database_url)
    return settings


def _queue(store: Store, vault: PhoneVault, status: str = "queued", claimed_ago: timedelta | None = None) -> int:
    now = utcnow()
    with store.session() as session:
        pid = person_id(session, vault, FoundPhone(NUMBER, "NL", True), now)
        message = Message(
            person_id=pid,
            body="Hoi, test. Antwoord STOP.",
            language="nl",
            status=status,
            claimed_at=now - claimed_ago if claimed_ago else None,
        )
        session.add(message)
        session.flush()
        return message.id


def _outbox(world: World, settings: Settings) -> tuple[Outbox, Store, PhoneVault]:
    store = world.store()
    return make_outbox(settings, store, "alice", optouts, dry_run=False), store, PhoneVault.from_settings(settings)


def _status(store: Store, message_id: int) -> str:
    with store.session() as session:
        return session.execute(select(Message.status).where(Message.id == message_id)).scalar_one()


def test_it_never_messages_an_opted_out_person_even_when_already_queued(world: World, settings: Settings) -> None:
    outbox, store, vault = _outbox(world, settings)
    message_id = _queue(store, vault)
    with store.session() as session:
        session.add(OptOut(person_key=vault.key(NUMBER), kind="opt_out", source="test", actor="bob"))
    report = outbox.drain()
    assert report.cancelled == 1 and _status(store, message_id) == "cancelled"
    assert world.gateway.messages == []


def test_a_message_the_provider_got_before_a_crash_is_not_sent_again(world: World, settings: Settings) -> None:
    outbox, store, vault = _outbox(world, settings)
    # The process died after Twilio accepted the message and before the answer was recorded.
    message_id = _queue(store, vault, status="sending", claimed_ago=timedelta(minutes=30))
    with store.session() as session:
        body = session.get(Message, message_id).body  # type: ignore[union-attr]
    sid = outbox.channels["sms"].send(Outbound(NUMBER, body)).provider_sid
    # It went at the claim, half an hour ago: reconciliation must search from the claim, not from "now".
    world.gateway.backdate(sid, utcnow() - timedelta(minutes=30) + timedelta(seconds=2))
    report = outbox.drain()
    assert report.reconciled == 1 and sum(report.sent.values()) == 0
    assert _status(store, message_id) == "sent"
    assert len(world.gateway.messages) == 1


def test_a_message_the_provider_never_got_is_sent_once_after_a_crash(world: World, settings: Settings) -> None:
    outbox, store, vault = _outbox(world, settings)
    message_id = _queue(store, vault, status="sending", claimed_ago=timedelta(minutes=30))
    report = outbox.drain()
    assert report.reconciled == 1 and sum(report.sent.values()) == 1
    assert _status(store, message_id) == "sent"
    assert len(world.gateway.messages) == 1


def test_a_fresh_claim_of_another_sender_is_left_alone(world: World, settings: Settings) -> None:
    outbox, store, vault = _outbox(world, settings)
    message_id = _queue(store, vault, status="sending", claimed_ago=timedelta(seconds=5))
    outbox.drain()
    assert _status(store, message_id) == "sending"
    assert world.gateway.messages == []


def test_a_permanent_error_fails_the_message_with_its_code(world: World, settings: Settings) -> None:
    outbox, store, vault = _outbox(world, settings)
    world.gateway.opted_out.add(NUMBER)
    message_id = _queue(store, vault)
    report = outbox.drain()
    assert report.failed == 1
    with store.session() as session:
        message = session.get(Message, message_id)
        assert message is not None and (message.status, message.error_code) == ("failed", 21610)


@pytest.mark.parametrize("status", ["sent", "sending", "unknown", "cancelled", "draft"])
def test_sending_one_message_again_never_reclaims_it_from_another_state(
    world: World, settings: Settings, status: str
) -> None:
    """A double click on "send", or a drain racing an approval: `send_one` claims only a message still queued."""
    outbox, store, vault = _outbox(world, settings)
    message_id = _queue(store, vault, status=status)
    with pytest.raises(OutreachError, match=f"message {message_id} is not queued: someone else handled it"):
        outbox.send_one(message_id)
    assert _status(store, message_id) == status and world.gateway.messages == []


def test_a_double_click_on_send_sends_once(world: World, settings: Settings) -> None:
    outbox, store, vault = _outbox(world, settings)
    message_id = _queue(store, vault)
    assert sum(outbox.send_one(message_id).sent.values()) == 1
    with pytest.raises(OutreachError, match="someone else handled it"):
        outbox.send_one(message_id)
    assert len(world.gateway.messages) == 1


def test_a_blocked_person_gets_no_opt_out_confirmation_either(world: World, settings: Settings) -> None:
    """Found by `make mutate`: the one message an opt-out lets through must not pass a block as well."""
    outbox, store, vault = _outbox(world, settings)
    message_id = _queue(store, vault)
    with store.session() as session:
        session.get_one(Message, message_id).kind = "opt_out_confirmation"
        for kind in ("opt_out", "block"):
            session.add(OptOut(person_key=vault.key(NUMBER), kind=kind, source="test", actor="bob"))
    assert outbox.drain().cancelled == 1 and _status(store, message_id) == "cancelled"
    assert world.gateway.messages == []


def test_refreshing_delivery_states_while_the_provider_is_down_changes_nothing_and_raises_nothing(
    world: World, settings: Settings
) -> None:
    """Found by `make mutate`: an unreachable provider during the status refresh must not end the cycle."""
    from testworld.web_server import free_port

    down = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"api_base_url": f"http://127.0.0.1:{free_port()}"})}
    )
    outbox, store, vault = _outbox(world, down)
    message_id = _queue(store, vault, status="sent")
    with store.session() as session:
        session.get_one(Message, message_id).provider_sid = "SM" + "1" * 32
    assert outbox.refresh_statuses() == {}
    assert _status(store, message_id) == "sent"
