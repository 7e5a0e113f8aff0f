"""A sender killed with SIGKILL after Twilio accepted a message and before it recorded the answer leaves no
duplicate: the message is reconciled against the provider's list, never resent blindly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from outreach.crypto import PhoneVault
from outreach.store.models import Message
from outreach.store.types import utcnow
from tests.conftest import World
from tests.messaging_world import messaging_settings, numbers, outbox_for, queue
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import GatewayMessage

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("kill_at", [1, 4])
def test_a_sender_killed_between_the_api_call_and_recording_sends_nothing_twice(
    kill_at: int, world: World, tmp_path: Path
) -> None:
    settings = messaging_settings(world)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    people = numbers(6)
    for number in people:
        queue(store, vault, number)
    config = tmp_path / "sender.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": world.database_url,
                **world.keys,
                "dry_run": False,
                "twilio": world.gateway.twilio_settings(),
                "sending": WORLD_SENDING,
                "sites_dir": str(tmp_path),
            }
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)  # it holds the keys
    child = subprocess.Popen(
        [sys.executable, "-m", "outreach", "send", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    created: list[GatewayMessage] = []

    def kill_on_nth(message: GatewayMessage) -> None:
        created.append(message)
        if len(created) == kill_at:
            os.kill(child.pid, signal.SIGKILL)  # Twilio has it; the sender never hears back

    world.gateway.on_create = kill_on_nth
    assert child.wait(timeout=60) == -signal.SIGKILL
    world.gateway.on_create = None
    with store.session() as session:
        assert session.execute(select(Message.status).where(Message.status == "sending")).scalars().all() == ["sending"]
    # The next sender, once the claim is stale, reconciles and finishes the rest.
    outbox_for(settings, store).drain(now=utcnow() + timedelta(minutes=settings.sending.stale_claim_minutes + 1))
    assert {n: len(m) for n, m in world.gateway.sent_to().items()} == dict.fromkeys(people, 1)
    with store.session() as session:
        assert set(session.execute(select(Message.status)).scalars()) == {"sent"}
