"""When the provider is down, sending stops after a few failures alike (a circuit breaker), the rest stays queued,
and the run says it failed: one clear line, a non-zero exit code, `outreach status` and the dashboard. A message in
doubt that the same run reconciled is not counted as in doubt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from messaging.outbox.drain import Stop
from outreach.access.users import add_user
from outreach.cli import run
from outreach.web.app import create_app
from tests.conftest import World
from tests.dashboard_world import PASSWORDS, client_for, log_in
from tests.messaging_world import config_file, messaging_settings, numbers, outbox_for, queue, status_of
from testworld.twilio_gateway import Faults, GatewayMessage
from testworld.web_server import free_port


def test_an_outage_stops_sending_after_five_failures_alike_and_leaves_the_rest_queued(world: World) -> None:
    settings = messaging_settings(world)
    store, vault = world.store(), world.vault()
    ids = [queue(store, vault, number) for number in numbers(20)]
    world.gateway.faults = Faults(rate=1.0, kinds=("500_before",))  # Twilio answers 500 to everything
    report = outbox_for(settings, store).drain()
    assert report.stopped is Stop.PROVIDER_FAILING and report.failed_run
    assert world.gateway.faults.injected == {"500_before": settings.sending.breaker_failures}
    assert "5 sends in a row failed the same way (twilio 20500" in report.detail
    states = [status_of(store, i) for i in ids]
    assert states.count("unknown") == 5 and states.count("queued") == 15 and report.left_queued == 15

    # Twilio is back: the five in doubt are reconciled (never accepted: queued again) and everyone gets one.
    world.gateway.faults = Faults()
    progress: list[tuple[int, int]] = []
    report = outbox_for(settings, store).drain(progress=lambda done, total: progress.append((done, total)))
    assert not report.failed_run and sum(report.sent.values()) == 20
    assert {n: len(m) for n, m in world.gateway.sent_to().items()} == dict.fromkeys(numbers(20), 1)
    # The length of the progress bar counts the messages requeued by reconciliation (it read 183/0 before).
    assert progress[0] == (0, 20) and progress[-1] == (20, 20)


def test_failures_about_one_person_each_do_not_open_the_breaker(world: World) -> None:
    settings = messaging_settings(world)
    store, vault = world.store(), world.vault()
    people = numbers(8)
    world.gateway.opted_out.update(people[:7])  # 21610 for seven people in a row: the provider is fine
    for number in people:
        queue(store, vault, number)
    report = outbox_for(settings, store).drain()
    assert report.stopped is None and report.failed == 7 and sum(report.sent.values()) == 1


def test_a_cycle_during_an_outage_fails_with_one_line_and_shows_in_status_and_dashboard(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on the API's port: every create is refused, like an unreachable Twilio.
    down = {**world.gateway.twilio_settings(), "api_base_url": f"http://127.0.0.1:{free_port()}"}
    settings = world.cycle_settings(twilio=down, web={"public_url": "https://outreach.example.org"})
    config = config_file(settings, tmp_path)
    assert run(["cycle", "--config", config]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("error: sending failed: 5 sends in a row failed the same way (no answer from twilio")
    assert line.endswith("waiting)") and "the rest stays queued" in line
    assert "messages in doubt (unknown)" in captured.out

    assert run(["status", "--json", "--config", config]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["last_cycle"]["result"].startswith("sending failed: 5 sends in a row")
    assert data["messages_waiting"]["unknown"] == 5 and data["messages_waiting"]["queued"] > 0
    assert run(["status", "--config", config]) == 0
    assert "sending failed: 5 sends in a row" in capsys.readouterr().out.replace("\n", " ")

    store = world.store()
    with store.session() as session:  # bob, the supervisor, was added by config_file
        add_user(session, "alice", "fieldworker", PASSWORDS["alice"], actor="test")
    client = client_for(create_app(settings))
    log_in(client, "alice")
    page = client.get("/").text  # in Dutch, the dashboard's default language
    assert 'class="alert"' in page and "Laatste ronde: sending failed: 5 sends in a row" in page


def test_a_message_in_doubt_reconciled_in_the_same_cycle_counts_as_sent_not_in_doubt(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.cycle_settings(twilio={**world.gateway.twilio_settings(), "timeout_seconds": 1})
    # The first create is accepted but its answer is lost: in doubt, then found at the provider in the same run.
    world.gateway.faults = Faults(rate=1.0, kinds=("drop_after",))

    def heal(_message: GatewayMessage) -> None:
        world.gateway.faults = Faults()

    world.gateway.on_create = heal
    config = config_file(settings, tmp_path)
    assert run(["cycle", "--config", config]) == 0
    table = capsys.readouterr().out
    row = {
        line.split("│")[1].strip(): line.split("│")[2].strip() for line in table.splitlines() if line.count("│") >= 3
    }
    assert row["messages in doubt (unknown)"] == "0"
    assert row["messages in doubt, found sent at the provider (reconciled)"] == "1"
    sent = int(row["messages sent"])
    assert run(["status", "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["last_cycle"]["sent"] == sent + 1 == len(world.gateway.messages)
