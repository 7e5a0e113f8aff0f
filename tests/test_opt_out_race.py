"""Opt-out under race (invariant 1): a STOP that reaches `/twilio/inbound` while the outbox is sending to that very
person. Once the webhook has answered (the opt-out is committed), the gateway never receives another first
contact for that person; only the one confirmation that the opt-out worked may follow.

The STOP arrives while the sender is between the previous person's send and this person's (pacing: 1 per second,
the default), and, for another person, the moment the gateway has accepted their own message. The sender used to
claim the next message (`queued -> sending`, the last opt-out check) and then wait for its pacing turn, so a STOP in
that second was recorded and the message still went: this test found it; the pacer now waits before the claim.
What is left is the time between the claim and the provider call (milliseconds, no waiting in it); for Twilio's
own keywords Twilio refuses that send itself (21610)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import Message
from tests.conftest import World
from tests.messaging_world import BODY, numbers, outbox_for, queue, webhook_server
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import GatewayMessage

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


def _status(store: Store, message_id: int) -> str:
    with store.session() as session:
        return session.execute(select(Message.status).where(Message.id == message_id)).scalar_one()


@pytest.mark.parametrize("word", ["STOPPEN", "STOP"])  # ours only, and Twilio's own keyword too
def test_a_stop_arriving_while_the_person_is_being_sent_to_stops_every_later_message(word: str, world: World) -> None:
    sending = {**WORLD_SENDING, "per_second": 1}  # the default
    with webhook_server(world, sending=sending) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        people = numbers(6)
        ids = {number: queue(store, vault, number) for number in people}
        # STOP 0.3 s after the gateway accepted the previous person's message: the sender is between two sends,
        # this person's message next in line. Pacing is 1 per second, so it is claimed about 0.7 s later.
        next_in_line = {people[1]: people[2], people[3]: people[4]}
        accepted_then_stopped = people[5]  # STOP the moment the gateway has accepted their own message
        recorded: dict[str, float] = {}  # number -> when the webhook had answered (the opt-out committed)
        timers: list[threading.Timer] = []

        def post_stop(number: str) -> None:
            assert world.gateway.inbound(f"{server.url}/twilio/inbound", number, word) == 200
            recorded[number] = time.monotonic()

        def on_create(message: GatewayMessage) -> None:
            if message.to in next_in_line:
                timers.append(threading.Timer(0.3, post_stop, [next_in_line[message.to]]))
                timers[-1].start()
            elif message.to == accepted_then_stopped:
                post_stop(accepted_then_stopped)

        world.gateway.on_create = on_create
        outbox = outbox_for(settings, store)
        outbox.drain()
        for timer in timers:
            timer.join()
        outbox.drain()  # the confirmations queued by the STOPs
        world.gateway.on_create = None

        assert set(recorded) == {*next_in_line.values(), accepted_then_stopped}
        arrivals = dict(zip([id(m) for m in world.gateway.messages], world.gateway.arrivals, strict=True))
        for number, stopped_at in recorded.items():
            later = [m.body for m in world.gateway.sent_to().get(number, []) if arrivals[id(m)] > stopped_at]
            assert BODY not in later, f"a first contact reached {number} after its opt-out was recorded"
            assert len(later) <= 1  # at most the confirmation
        for number in next_in_line.values():
            assert BODY not in [m.body for m in world.gateway.sent_to().get(number, [])]
            assert _status(store, ids[number]) in ("cancelled", "failed")  # failed: Twilio's own 21610
        assert _status(store, ids[accepted_then_stopped]) in ("sent", "delivered")  # it did go, before the STOP
        for number in set(people) - set(recorded):
            assert [m.body for m in world.gateway.sent_to()[number]] == [BODY]
