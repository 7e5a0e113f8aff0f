"""`outreach user add`: a password from a file, the environment or the prompt, stored only as an argon2 hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.access.users import log_in
from outreach.cli import run
from outreach.store.db import Store
from outreach.store.models import AuditEvent, User
from tests.conftest import World
from tests.messaging_world import config_file


@pytest.fixture
def config(world: World) -> tuple[str, str]:
    from outreach.store.db import upgrade

    settings = world.settings()
    upgrade(world.database_url)
    return config_file(settings, world.folder), world.database_url


def _users(url: str) -> dict[str, tuple[str, str]]:
    with Store(url) as store, store.session() as session:
        return {u.name: (u.role, u.password_hash) for u in session.execute(select(User)).scalars()}


def test_it_adds_users_from_a_file_or_the_prompt_and_only_supervisors_add_supervisors(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from outreach.store.db import upgrade

    settings = world.settings()
    upgrade(world.database_url)
    path, url = config_file(settings, world.folder, supervisors=()), world.database_url
    secret = tmp_path / "password"
    secret.write_text("correct horse battery\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("carol's long password\ncarol's long password\n"))
    # Nobody is a supervisor yet: a fieldworker needs one to add her; the first supervisor anyone may add.
    assert run(["user", "add", "carol", "--role", "fieldworker", "--config", path, "--as", "mallory"]) == 1
    assert "only a supervisor may manage dashboard users" in capsys.readouterr().err
    assert run(["user", "add", "bob", "--role", "supervisor", "--password-file", str(secret), "--config", path]) == 0
    # Now there is one: nobody else makes a supervisor, nor any user.
    assert run(["user", "add", "eve", "--role", "supervisor", "--password-file", str(secret), "--config", path,
                "--as", "mallory"]) == 1  # fmt: skip
    assert "only a supervisor" in capsys.readouterr().err
    assert run(["user", "add", "alice", "--role", "fieldworker", "--password-file", str(secret), "--config", path,
                "--as", "bob"]) == 0  # fmt: skip
    assert run(["user", "add", "carol", "--role", "fieldworker", "--config", path, "--as", "bob"]) == 0
    # alice, a fieldworker, may not make herself (or anyone) a supervisor.
    assert run(["user", "role", "alice", "supervisor", "--config", path, "--as", "alice"]) == 1
    users = _users(url)
    assert {name: role for name, (role, _) in users.items()} == {
        "bob": "supervisor",
        "alice": "fieldworker",
        "carol": "fieldworker",
    }
    assert all(h.startswith("$argon2id$") for _, h in users.values())
    assert "horse" not in capsys.readouterr().out
    with Store(url) as store, store.session() as session:
        assert log_in(session, "bob", "correct horse battery", "127.0.0.1") is not None
        assert log_in(session, "alice", "wrong", "127.0.0.1") is None
        events = session.execute(select(AuditEvent).where(AuditEvent.name == "user.added")).scalars().all()
        assert [(e.fields["user"], e.fields["role"]) for e in events] == [
            ("bob", "supervisor"),
            ("alice", "fieldworker"),
            ("carol", "fieldworker"),
        ]
        assert [e.actor for e in events][1:] == ["bob", "bob"]
        assert all("password" not in str(e.fields) for e in events)


def test_the_password_is_never_an_option_on_the_command_line(
    config: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = config
    assert run(["user", "add", "dave", "--role", "fieldworker", "--password", "a long enough password",
                "--config", path, "--as", "bob"]) == 2  # fmt: skip
    assert "No such option: --password" in capsys.readouterr().err
    assert "dave" not in _users(url)


def test_it_refuses_a_bad_role_a_short_password_and_a_second_user_of_the_same_name(
    config: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = config
    secret = tmp_path / "password"
    secret.write_text("a long enough password", encoding="utf-8")
    by_bob = ["--password-file", str(secret), "--config", path, "--as", "bob"]
    assert run(["user", "add", "dave", "--role", "admin", *by_bob]) == 2
    assert "--role must be one of" in capsys.readouterr().err
    (tmp_path / "short").write_text("short", encoding="utf-8")
    assert run(["user", "add", "dave", "--role", "fieldworker", "--password-file", str(tmp_path / "short"),
                "--config", path, "--as", "bob"]) == 2  # fmt: skip
    assert "at least 12 characters" in capsys.readouterr().err
    assert run(["user", "add", "dave", "--role", "fieldworker", *by_bob]) == 0
    assert run(["user", "add", "dave", "--role", "supervisor", *by_bob]) == 2
    assert "exists already" in capsys.readouterr().err
    assert _users(url)["dave"][0] == "fieldworker"
