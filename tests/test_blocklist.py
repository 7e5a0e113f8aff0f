"""Blocking from the CLI: any common number format, a reason always, waiting messages cancelled, unblocking only
by a supervisor, and a CSV import that names its bad lines and imports nothing then."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.store.models import AuditEvent, OptOut
from outreach.store.states import StopKind
from tests.conftest import World
from tests.messaging_world import config_file, messaging_settings, numbers, outbox_for, queue, status_of


def test_a_blocked_number_gets_nothing_and_only_a_supervisor_unblocks(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(world)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    [number] = numbers(1)
    waiting = queue(store, vault, number)
    config = config_file(settings, tmp_path)
    typed = "06-" + number[4:6] + " " + number[6:]  # 06-15 550000: how a fieldworker might type it
    assert run(["block", typed, "--config", config]) == 2  # no reason
    assert run(["block", "06 12", "--reason", "x", "--config", config]) == 2  # not a number
    assert run(["block", typed, "--reason", "asked us by phone", "--as", "alice", "--config", config]) == 0
    assert status_of(store, waiting) == "cancelled"
    queue(store, vault, number)
    outbox_for(settings, store).drain()
    assert world.gateway.messages == []
    capsys.readouterr()
    assert run(["blocklist", "--config", config]) == 0
    listed = capsys.readouterr().out
    assert "asked us by phone" in listed and number not in listed
    assert run(["unblock", number, "--reason", "wrong number", "--as", "alice", "--config", config]) == 1
    assert "only a supervisor" in capsys.readouterr().err
    assert run(["unblock", number, "--reason", "wrong number", "--as", "bob", "--config", config]) == 0
    with store.session() as session:
        assert session.execute(select(OptOut)).first() is None
        names = list(session.execute(select(AuditEvent.name).order_by(AuditEvent.seq)).scalars())
        actors = list(session.execute(select(AuditEvent.actor).where(AuditEvent.name.like("person.%"))).scalars())
    assert "person.block" in names and "person.un_block" in names and actors == ["alice", "bob"]


def test_a_csv_import_with_a_bad_line_imports_nothing_and_names_the_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = messaging_settings(world)
    config = config_file(settings, tmp_path)
    first, second = numbers(2)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"number,reason\n{first},spam\nnot-a-number,x\n{second}\n", encoding="utf-8")
    assert run(["blocklist", "import", str(bad), "--config", config]) == 2
    assert "line 3" in capsys.readouterr().err
    store = world.store()
    with store.session() as session:
        assert session.execute(select(OptOut)).first() is None
    good = tmp_path / "good.csv"
    good.write_text(f"number,reason\n{first},spam\n{second}\n", encoding="utf-8")
    assert run(["blocklist", "import", str(good), "--config", config]) == 0
    exported = tmp_path / "out.csv"
    assert run(["blocklist", "export", str(exported), "--as", "alice", "--config", config]) == 1
    assert run(["blocklist", "export", str(exported), "--as", "bob", "--config", config]) == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "number,reason,blocked_by,blocked_at" and {line.split(",")[0] for line in lines[1:]} == {
        first,
        second,
    }


def test_an_opt_out_is_lifted_from_the_cli_only_by_a_supervisor_with_a_reason(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from outreach.people import optouts

    settings = messaging_settings(world)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    [number] = numbers(1)
    with store.session() as session:
        optouts.stop(session, vault.key(number), kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
    config = config_file(settings, tmp_path)
    assert run(["unblock", number, "--opt-out", "--reason", "asked by phone", "--as", "alice", "--config", config]) == 1
    assert run(["unblock", number, "--opt-out", "--as", "bob", "--config", config]) == 2
    assert run(["unblock", number, "--opt-out", "--reason", "asked by phone", "--as", "bob", "--config", config]) == 0
    with store.session() as session:
        assert session.execute(select(OptOut)).first() is None
        lifted = session.execute(select(AuditEvent).where(AuditEvent.name == "person.un_opt_out")).scalar_one()
    assert (lifted.actor, lifted.fields["reason"]) == ("bob", "asked by phone")


@pytest.mark.parametrize("reason", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1)"])
def test_an_exported_reason_never_runs_as_a_formula_in_a_spreadsheet(world: World, tmp_path: Path, reason: str) -> None:
    settings = messaging_settings(world)
    config = config_file(settings, tmp_path)
    [number] = numbers(1, start=700)
    imported = tmp_path / "in.csv"
    with imported.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerow(["number", "reason"])  # the test writes a hostile file, as a spreadsheet would
        csv.writer(file).writerow([number, reason])
    assert run(["blocklist", "import", str(imported), "--as", "bob", "--config", config]) == 0
    exported = tmp_path / "out.csv"
    assert run(["blocklist", "export", str(exported), "--as", "bob", "--config", config]) == 0
    with exported.open(encoding="utf-8", newline="") as file:
        [row] = list(csv.DictReader(file))
    assert row["number"] == number  # our own E.164 number stays as it is
    assert row["reason"] == "'" + reason


def test_lifting_one_persons_opt_out_leaves_every_other_stop_in_place(world: World) -> None:
    """Found by `make mutate`: nothing noticed `unstop` deleting by a wider condition than this person and kind."""
    from outreach.people import optouts

    settings = messaging_settings(world)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    people = numbers(4, start=800)
    keys = sorted(vault.key(number) for number in people)  # the lifted one in the middle of the key order
    lifted = keys[1]
    with store.session() as session:
        for key in keys:
            optouts.stop(session, key, kind=StopKind.OPT_OUT, source="keyword", actor="twilio")
        optouts.stop(session, lifted, kind=StopKind.BLOCK, source="cli", actor="bob", reason="asked us by phone")
    with store.session() as session:
        assert optouts.unstop(session, lifted, kind=StopKind.OPT_OUT, actor="bob", reason="asked by phone")
    with store.session() as session:
        left = sorted((key, kind) for key, kind in session.execute(select(OptOut.person_key, OptOut.kind)))
    assert left == sorted([(key, "opt_out") for key in keys if key != lifted] + [(lifted, "block")])


@pytest.mark.parametrize("kind", ["first_contact", "reminder", "reply", "resend"])
def test_an_opt_out_cancels_every_waiting_message_but_its_own_confirmation(world: World, kind: str) -> None:
    """Found by `make mutate`: sparing the confirmation must not spare a waiting reminder or reply as well."""
    from outreach.people import optouts

    settings = messaging_settings(world)
    store, vault = world.store(), PhoneVault.from_settings(settings)
    [number] = numbers(1, start=900)
    waiting = queue(store, vault, number, kind=kind)
    confirmation = queue(store, vault, number, kind="opt_out_confirmation")
    with store.session() as session:
        assert optouts.stop(session, vault.key(number), kind=StopKind.OPT_OUT, source="keyword", actor="twilio") == 1
    assert (status_of(store, waiting), status_of(store, confirmation)) == ("cancelled", "queued")
