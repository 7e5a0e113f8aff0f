"""Approve and assist modes, and a fieldworker's replies, through the CLI as people use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.cycle.run import run_cycle
from outreach.people.inbound import Inbound, receive
from outreach.store.models import Message
from tests.conftest import World
from tests.messaging_world import audit_count, config_file, messaging_settings, numbers


def test_in_approve_mode_nothing_goes_until_a_supervisor_approves(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cycle = world.cycle_settings()
    settings = cycle.model_copy(update={"sending": cycle.sending.model_copy(update={"mode": "approve"})})
    report = run_cycle(settings, actor="alice")
    assert report.drafts == report.eligible > 0 and sum(report.sent.values()) == 0
    assert world.gateway.messages == []
    config = config_file(settings, tmp_path)
    assert run(["approve", "--config", config]) == 0
    assert f"{report.drafts} draft(s) waiting" in capsys.readouterr().out
    store = world.store()
    with store.session() as session:
        first, second = session.execute(select(Message.id).order_by(Message.id).limit(2)).scalars()
    assert run(["approve", str(second), "--reject", "--reason", "held for review", "--config", config]) == 0
    assert run(["approve", "--all", "--as", "bob", "--config", config]) == 0
    assert run(["send", "--config", config]) == 0
    assert len(world.gateway.messages) == report.drafts - 1
    with store.session() as session:
        approved = session.execute(select(Message.approved_by).where(Message.id == first)).scalar_one()
        rejected = session.execute(select(Message.status).where(Message.id == second)).scalar_one()
    assert approved == "bob" and rejected == "cancelled"
    assert audit_count(store, "message.approved") == report.drafts - 1
    assert audit_count(store, "message.rejected") == 1


def test_a_fieldworker_answers_a_reply_and_never_an_opted_out_person(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(world)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    talker, stopper = numbers(2)
    with store.session() as session:
        asked = receive(session, vault, settings, Inbound("SM" + "a" * 32, talker, "Wat bieden jullie aan?"))
        stopped = receive(session, vault, settings, Inbound("SM" + "b" * 32, stopper, "STOP", "STOP"))
    config = config_file(settings, tmp_path)
    assert run(["inbox", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "Wat bieden jullie aan?" in out and talker not in out and "1 conversation(s) waiting" in out
    assert (
        run(["reply", str(asked.person_id), "Hoi! Gratis spreekuur op dinsdag. Groet, Sanne", "--config", config]) == 0
    )
    assert [m.to for m in world.gateway.messages] == [talker]
    assert run(["reply", str(stopped.person_id), "Hoi", "--config", config]) == 1
    assert "opted out or is blocked" in capsys.readouterr().err
    assert [m.to for m in world.gateway.messages] == [talker]
    assert run(["inbox", "--config", config]) == 0
    assert "0 conversation(s) waiting" in capsys.readouterr().out
