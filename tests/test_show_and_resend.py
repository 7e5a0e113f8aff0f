"""`outreach show` tells everything about one person or advert; `outreach resend` sends again by hand, but never to
someone who stopped, and inside the re-contact window only when a supervisor forces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.store.models import AuditEvent, Message
from tests.conftest import World
from tests.messaging_world import config_file


def test_show_and_resend_through_the_cli(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = world.cycle_settings()
    run_cycle(settings, actor="alice")
    config = config_file(settings, tmp_path)
    store = world.store()
    # A Dutch number, typed the Dutch way (06...); which persons the crawl stores first varies between runs.
    number = next(m.to for m in world.gateway.messages if m.to.startswith("+316"))
    capsys.readouterr()
    assert run(["show", "person", "0" + number[3:], "--json", "--config", config]) == 0
    person = json.loads(capsys.readouterr().out)
    assert [m["status"] for m in person["messages"]] == ["delivered"] and number not in json.dumps(person)
    message_id = person["messages"][0]["id"]
    with store.session() as session:
        advert_id = session.execute(select(Message.advert_id).where(Message.id == message_id)).scalar_one()
    assert any(event["event"] == "message.sent" for event in person["audit"])
    assert run(["show", "advert", str(advert_id), "--json", "--config", config]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["persons"] and shown["url"] == "127.0.0.1/•••" and not shown["url_revealed"]
    # The address in full (its page shows the number): a supervisor's reveal, audited like a number's.
    assert run(["show", "advert", str(advert_id), "--reveal", "--as", "alice", "--config", config]) == 1
    assert "only a supervisor" in capsys.readouterr().err
    assert run(["show", "advert", str(advert_id), "--reveal", "--as", "bob", "--config", config]) == 0
    assert f"address: {world.site.url}/advertentie/" in capsys.readouterr().out
    with store.session() as session:
        revealed = session.execute(select(AuditEvent).where(AuditEvent.name == "numbers.revealed")).scalar_one()
    assert revealed.actor == "bob" and revealed.fields["advert_id"] == advert_id
    assert run(["show", "advert", "99999", "--config", config]) == 2
    assert run(["show", "ticket", "1", "--config", config]) == 2
    capsys.readouterr()

    sent_before = len(world.gateway.messages)
    assert run(["resend", str(message_id), "--config", config]) == 2  # a reason is required
    assert run(["resend", str(message_id), "--reason", "wrong template", "--as", "alice", "--config", config]) == 1
    assert "re-contact window" in capsys.readouterr().err
    assert run(["resend", str(message_id), "--reason", "x", "--force", "--as", "alice", "--config", config]) == 1
    assert "only a supervisor" in capsys.readouterr().err
    assert len(world.gateway.messages) == sent_before
    args = ["--reason", "the first went to an old number", "--force", "--as", "bob", "--config", config]
    assert run(["resend", str(message_id), *args]) == 0
    assert len(world.gateway.messages) == sent_before + 1
    assert run(["block", number, "--reason", "asked us to stop", "--config", config]) == 0
    assert run(["resend", str(message_id), *args]) == 1
    assert "opted out or is blocked" in capsys.readouterr().err
    assert len(world.gateway.messages) == sent_before + 1
    with store.session() as session:
        resends = session.execute(select(AuditEvent).where(AuditEvent.name == "message.resend")).scalars().all()
    assert [(e.actor, e.fields["forced"]) for e in resends] == [("bob", True)]
