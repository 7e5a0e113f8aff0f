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


def test_it_adds_users_from_a_file_the_environment_or_the_prompt(
    config: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = config
    secret = tmp_path / "password"
    secret.write_text("correct horse battery\n", encoding="utf-8")
    assert run(["user", "add", "bob", "--role", "supervisor", "--password-file", str(secret), "--config", path]) == 0
    monkeypatch.setenv("OUTREACH_USER_PASSWORD", "alice's long password")
    assert run(["user", "add", "alice", "--role", "fieldworker", "--config", path, "--as", "bob"]) == 0
    monkeypatch.delenv("OUTREACH_USER_PASSWORD")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("carol's long password\ncarol's long password\n"))
    assert run(["user", "add", "carol", "--role", "fieldworker", "--config", path]) == 0
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
        assert [(e.actor, e.fields["user"], e.fields["role"]) for e in events] == [
            (events[0].actor, "bob", "supervisor"),
            ("bob", "alice", "fieldworker"),
            (events[2].actor, "carol", "fieldworker"),
        ]
        assert all("password" not in str(e.fields) for e in events)


def test_it_refuses_a_bad_role_a_short_password_and_a_second_user_of_the_same_name(
    config: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = config
    monkeypatch.setenv("OUTREACH_USER_PASSWORD", "a long enough password")
    assert run(["user", "add", "dave", "--role", "admin", "--config", path]) == 2
    assert "--role must be one of" in capsys.readouterr().err
    monkeypatch.setenv("OUTREACH_USER_PASSWORD", "short")
    assert run(["user", "add", "dave", "--role", "fieldworker", "--config", path]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    monkeypatch.setenv("OUTREACH_USER_PASSWORD", "a long enough password")
    assert run(["user", "add", "dave", "--role", "fieldworker", "--config", path]) == 0
    assert run(["user", "add", "dave", "--role", "supervisor", "--config", path]) == 2
    assert "exists already" in capsys.readouterr().err
    assert _users(url)["dave"][0] == "fieldworker"
