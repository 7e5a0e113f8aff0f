"""Concurrency on PostgreSQL, where several processes may work on one database: two `outreach cycle` and two
`outreach send` processes started at once. One cycle runs, the other exits at once with a clear one-line error;
the senders and the running cycle drain one outbox together and nobody is messaged twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import AuditEvent
from tests.conftest import _postgres_database
from tests.messaging_world import numbers, queue
from tests.process_world import fast_world_settings, outbound_states, start
from testworld.fixture_site import FixtureSite
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import TwilioGateway

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres

ROUNDS = 3
WAITING = 40


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.mark.slow
def test_two_cycles_and_two_senders_at_once_run_one_cycle_and_send_nothing_twice(
    postgres_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    gateway.callbacks = "none"
    with FixtureSite(seed=41, count=ROUNDS * 15) as site:
        adverts = site.generated.adverts
        site.hide(*(ad.id for ad in adverts))
        # 10 per second per process: the senders are still draining when the running cycle queues its messages.
        sending = {**WORLD_SENDING, "per_second": 10}
        settings = fast_world_settings(postgres_url, keys, tmp_path, site, gateway, sending=sending)
        vault = PhoneVault.from_settings(settings)
        queued: list[str] = []
        with Store(settings.database_url) as store:
            for round_ in range(ROUNDS):
                # New adverts for the cycle, and messages already waiting for the senders.
                published = adverts[len(adverts) - (round_ + 1) * 15 :]
                site.publish(*(ad.id for ad in published))
                waiting = numbers(WAITING, start=round_ * WAITING)
                for number in waiting:
                    queue(store, vault, number)
                queued += waiting

                commands = [("cycle", "cycle-a"), ("send", "sender-a"), ("cycle", "cycle-b"), ("send", "sender-b")]
                children = [start([command, "--as", actor], settings, tmp_path) for command, actor in commands]
                outputs = [child.communicate(timeout=120) for child in children]
                results = [(command, out, err, child.returncode) for (command, _), (out, err), child in zip(
                    commands, outputs, children, strict=True)]  # fmt: skip
                cycles = [(out, err, code) for command, out, err, code in results if command == "cycle"]
                senders = [(out, err, code) for command, out, err, code in results if command == "send"]
                assert sorted(code for _, _, code in cycles) == [0, 1], cycles
                [(_, refused, _)] = [cycle for cycle in cycles if cycle[2] == 1]
                assert refused.startswith("error: another cycle is running (") and refused.count("\n") == 1, refused
                assert refused.strip().endswith("this one did not start")
                assert all(code == 0 for _, _, code in senders), senders

                sent = {number: len(messages) for number, messages in gateway.sent_to().items()}
                assert {number: count for number, count in sent.items() if count > 1} == {}
                expected = set(site.generated.eligible(set(settings.mobile_countries), published)) | set(queued)
                assert set(sent) == expected
                assert set(outbound_states(store)) <= {"sent", "delivered"}
            with store.session() as session:
                sends = select(AuditEvent.actor, func.count()).where(AuditEvent.name == "message.sent")
                by_actor = {actor: count for actor, count in session.execute(sends.group_by(AuditEvent.actor))}
    print(f"\nconcurrency on postgresql: {ROUNDS} rounds, messages sent by {by_actor}, 0 twice")
    assert by_actor.get("sender-a") and by_actor.get("sender-b")  # both senders really drained the same outbox
