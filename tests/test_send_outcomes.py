"""What each Twilio answer does, and the send policy: window, validity period, caps, rate limits, faults."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from messaging.outbox.drain import SendingHalted, Stop
from messaging.outbox.send_policy import ARRIVAL_MARGIN_SECONDS, Pacer, SendWindow
from outreach.crypto import PhoneVault
from outreach.settings import SendingSettings, Settings
from outreach.store.db import Store, upgrade
from outreach.store.locks import Lease
from outreach.store.models import Message, Person
from tests.conftest import World, make_settings
from tests.messaging_world import (
    audit_count,
    messaging_settings,
    numbers,
    opt_out_sources,
    outbox_for,
    queue,
    status_of,
)
from testworld.twilio_gateway import Faults, TwilioGateway


def _messaging(world: World, **overrides: object) -> tuple[Settings, Store, PhoneVault]:
    settings = messaging_settings(world, **overrides)
    return settings, world.store(), PhoneVault.from_settings(settings)


def test_21610_records_an_opt_out_and_is_never_retried(world: World) -> None:
    settings, store, vault = _messaging(world)
    [number] = numbers(1)
    world.gateway.opted_out.add(number)
    first = queue(store, vault, number)
    later = queue(store, vault, number, status="draft")
    report = outbox_for(settings, store).drain()
    assert report.failed == 1 and status_of(store, first) == "failed"
    assert opt_out_sources(store) == ["twilio-21610"]
    assert status_of(store, later) == "cancelled"  # what waited for that person is cancelled too
    assert outbox_for(settings, store).drain().failed == 0 and world.gateway.messages == []


@pytest.mark.parametrize("code", [21211, 21614, 30006])
def test_an_invalid_number_is_marked_and_never_tried_again(code: int, world: World) -> None:
    settings, store, vault = _messaging(world)
    [number] = numbers(1)
    world.gateway.forced_errors[number] = (400, code)
    queue(store, vault, number)
    outbox_for(settings, store).drain()
    with store.session() as session:
        assert session.execute(select(Person.invalid_at)).scalar_one() is not None
    del world.gateway.forced_errors[number]
    again = queue(store, vault, number)
    outbox_for(settings, store).drain()
    assert status_of(store, again) == "failed" and world.gateway.messages == []


def test_21408_halts_sending_with_a_clear_message_and_loses_nothing(world: World) -> None:
    settings, store, vault = _messaging(world)
    first, second = numbers(2)
    world.gateway.forced_errors[first] = (400, 21408)
    ids = [queue(store, vault, first), queue(store, vault, second)]
    with pytest.raises(SendingHalted, match="21408"):
        outbox_for(settings, store).drain()
    assert [status_of(store, i) for i in ids] == ["queued", "queued"]
    assert audit_count(store, "sending.halted") == 1


def test_spam_filtering_pauses_all_sending_until_a_supervisor_resumes(world: World) -> None:
    from messaging.outbox.delivery import resume_sending

    settings, store, vault = _messaging(world)
    first, second, third = numbers(3)
    world.gateway.final_error[first] = 30007  # accepted, then filtered by the carrier (seen by polling here)
    told: list[str] = []
    outbox = outbox_for(settings, store, notify=lambda event, fields: told.append(event))
    queue(store, vault, first)
    outbox.drain()
    outbox.refresh_statuses()
    assert told == ["sending.paused"]
    waiting = [queue(store, vault, second), queue(store, vault, third)]
    report = outbox.drain()
    assert report.stopped is Stop.PAUSED and [status_of(store, i) for i in waiting] == ["queued", "queued"]
    with store.session() as session:
        resume_sending(session, "bob", "carrier filter lifted")
    assert sum(outbox.drain().sent.values()) == 2


def test_rate_limited_sends_are_retried_with_backoff_and_sent_exactly_once(world: World) -> None:
    settings, store, vault = _messaging(world)
    world.gateway.faults = Faults(rate=0.5, kinds=("429",), seed=3)
    people = numbers(20)
    for number in people:
        queue(store, vault, number)
    waits: list[float] = []
    report = outbox_for(settings, store, sleep=waits.append, rng=random.Random(1)).drain()
    assert sum(report.sent.values()) == 20 and report.retried == world.gateway.faults.injected["429"] > 0
    assert {n: len(m) for n, m in world.gateway.sent_to().items()} == dict.fromkeys(people, 1)
    assert all(0 <= wait <= settings.sending.retry_max_seconds for wait in waits if wait > 0.02)


def test_faults_after_acceptance_are_reconciled_never_resent(world: World) -> None:
    settings, store, vault = _messaging(world, twilio={**world.gateway.twilio_settings(), "timeout_seconds": 1})
    world.gateway.faults = Faults(rate=0.3, kinds=("500_before", "500_after", "timeout_after", "drop_after"), seed=7,
                                  hang_seconds=1.5)  # fmt: skip
    people = numbers(30)
    ids = [queue(store, vault, number) for number in people]
    outbox = outbox_for(settings, store)
    report = outbox.drain()
    # Each went in doubt and was reconciled in the same drain: none is left counted as in doubt.
    assert report.went_unknown and report.reconciled >= len(report.went_unknown) and report.unknown == 0
    outbox.drain()  # anything queued again after a 5xx before acceptance goes now
    assert {status_of(store, i) for i in ids} == {"sent"}
    assert {n: len(m) for n, m in world.gateway.sent_to().items()} == dict.fromkeys(people, 1)


def test_nothing_is_sent_outside_the_window_and_twilio_gets_the_validity_period(world: World) -> None:
    window = {"window_start": "10:00", "window_end": "20:00", "per_second": 100}
    settings, store, vault = _messaging(world, sending=window)
    [first] = numbers(1)
    queue(store, vault, first)
    night = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
    report = outbox_for(settings, store).drain(now=night)
    assert report.stopped is Stop.WINDOW and world.gateway.messages == []
    afternoon = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # 18:00 in Amsterdam: two hours left
    assert sum(outbox_for(settings, store).drain(now=afternoon).sent.values()) == 1
    assert world.gateway.messages[0].validity_period == 2 * 3600


def test_the_daily_and_cycle_caps_hold(world: World) -> None:
    caps = {"window_start": "00:00", "window_end": "00:00", "per_second": 100, "daily_cap": 5, "cycle_cap": 3}
    settings, store, vault = _messaging(world, sending=caps)
    for number in numbers(8):
        queue(store, vault, number)
    first = outbox_for(settings, store).drain()
    assert sum(first.sent.values()) == 3 and first.stopped is Stop.CYCLE_CAP
    second = outbox_for(settings, store).drain()
    assert sum(second.sent.values()) == 2 and second.stopped is Stop.DAILY_CAP
    assert len(world.gateway.messages) == 5


def test_two_senders_never_send_one_message_twice(world: World) -> None:
    settings, store, vault = _messaging(world)
    people = numbers(60)
    for number in people:
        queue(store, vault, number)
    stores = [world.store() for _ in range(3)]
    senders = [threading.Thread(target=outbox_for(settings, s).drain) for s in stores]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert {n: len(m) for n, m in world.gateway.sent_to().items()} == dict.fromkeys(people, 1)
    with store.session() as session:
        assert set(session.execute(select(Message.status)).scalars()) == {"sent"}


def test_on_sqlite_a_second_sender_steps_aside(keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    settings = make_settings(url, keys, tmp_path, twilio=gateway.twilio_settings())
    upgrade(url)
    with Store(url) as store:
        queue(store, PhoneVault.from_settings(settings), numbers(1)[0])
        other = Lease(store, "sender", timedelta(minutes=settings.sending.stale_claim_minutes))
        assert other.acquire()
        report = outbox_for(settings, store).drain()
        assert report.stopped is Stop.OTHER_SENDER and gateway.messages == []
        other.release()
        assert sum(outbox_for(settings, store).drain().sent.values()) == 1


@pytest.mark.parametrize(("rate", "work"), [(4.0, 0.01), (4.0, 0.3), (2.5, 0.0), (0.5, 0.0)])
def test_the_pacer_never_exceeds_the_rate_in_any_window_and_keeps_up_with_it(rate: float, work: float) -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        assert seconds > 0
        clock[0] += seconds

    pacer = Pacer(rate, monotonic=lambda: clock[0], sleep=sleep)
    starts = []
    for _ in range(40):
        pacer.wait()
        starts.append(clock[0])
        clock[0] += work  # the send itself
    window = (1.0 if rate >= 1 else 1 / rate) + ARRIVAL_MARGIN_SECONDS
    limit = max(1, int(rate)) if rate >= 1 else 1
    for i, start in enumerate(starts):
        assert sum(1 for other in starts[i:] if other < start + window - 1e-9) <= limit
    achieved = len(starts) / (starts[-1] - starts[0] + window)
    # It keeps up with the limit, or with the sends themselves when they are slower than the limit.
    expected = min(limit / window, 1 / work) if work else limit / window
    assert expected * 0.85 <= achieved <= rate


def test_a_window_across_midnight_and_an_all_day_window() -> None:
    night = SendWindow.from_settings(SendingSettings(window_start="22:00", window_end="02:00"))
    assert night.is_open(datetime(2026, 6, 1, 21, 30, tzinfo=UTC))  # 23:30 summer time
    assert not night.is_open(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    all_day = SendWindow.from_settings(SendingSettings(window_start="00:00", window_end="00:00"))
    assert (
        all_day.is_open(datetime(2026, 6, 1, 3, 0, tzinfo=UTC)) and all_day.validity_seconds(datetime.now(UTC)) is None
    )
