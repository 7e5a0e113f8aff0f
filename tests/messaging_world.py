"""Helpers for the messaging tests: a migrated store, persons with queued messages, and the webhook server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from messaging.outbox.drain import Outbox
from messaging.outbox.factory import make_outbox
from outreach.crypto import PhoneVault
from outreach.people import optouts
from outreach.settings import Settings
from outreach.store.adverts import FoundPhone, person_id
from outreach.store.db import Store, upgrade
from outreach.store.models import AuditEvent, Message, OptOut
from outreach.store.types import utcnow
from outreach.web.app import create_app
from tests.conftest import World
from testworld.web_server import UvicornThread, free_port

BODY = "Hoi, ik ben Sanne van Demo Outreach. Geen berichten meer? Antwoord STOP."


def numbers(count: int, start: int = 0) -> list[str]:
    """Valid Dutch mobile numbers that belong to nobody in particular (generated)."""
    return [f"+3161{(5550000 + start + i):07d}" for i in range(count)]


def messaging_settings(world: World, **overrides: Any) -> Settings:
    """The world's settings with its gateway as Twilio, on its migrated database."""
    overrides.setdefault("twilio", world.gateway.twilio_settings())
    settings = world.settings(**overrides)
    upgrade(world.database_url)
    return settings


def queue(
    store: Store, vault: PhoneVault, number: str, *, body: str = BODY, status: str = "queued", **extra: Any
) -> int:
    now = utcnow()
    with store.session() as session:
        pid = person_id(session, vault, FoundPhone(number, "NL", True), now)
        message = Message(person_id=pid, body=body, language="nl", status=status, **extra)
        session.add(message)
        session.flush()
        return message.id


def status_of(store: Store, message_id: int) -> str:
    with store.session() as session:
        return session.execute(select(Message.status).where(Message.id == message_id)).scalar_one()


def opt_out_sources(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(session.execute(select(OptOut.source)).scalars())


def audit_count(store: Store, name: str) -> int:
    with store.session() as session:
        return session.execute(select(func.count(AuditEvent.id)).where(AuditEvent.name == name)).scalar_one()


def outbox_for(settings: Settings, store: Store, **options: Any) -> Outbox:
    """The outbox a cycle would build, as alice, with Outbox's own options (sleep, rng, notify, clocks)."""
    return make_outbox(settings, store, "alice", optouts, dry_run=False, **options)


@contextmanager
def webhook_server(world: World, **overrides: Any) -> Iterator[tuple[Settings, UvicornThread]]:
    """`outreach serve` in a thread; settings whose public_url is where it listens."""
    port = free_port()
    settings = messaging_settings(world, web={"public_url": f"http://127.0.0.1:{port}"}, **overrides)
    with UvicornThread(create_app(settings), port) as server:
        yield settings, server


def config_file(settings: Settings, tmp_path: Path, *, supervisors: tuple[str, ...] = ("bob",)) -> str:
    """The settings as a config file for the CLI (`--config`), with `bob` as the supervisor (the persona): a
    dashboard user with that role, when the database has its tables already."""
    path = tmp_path / "outreach-cli.yaml"
    path.write_text(settings.for_child(), encoding="utf-8")
    path.chmod(0o600)
    add_supervisors(settings.database_url, supervisors)
    return str(path)


def add_supervisors(database_url: str, names: tuple[str, ...]) -> None:
    """These names as supervisor users (the one list of supervisors: outreach.access.roles)."""
    from sqlalchemy import inspect

    from outreach.access.users import add_user
    from outreach.store.models import User

    with Store(database_url) as store, store.session() as session:
        if not inspect(session.connection()).has_table("users"):
            return
        for name in names:
            if session.execute(select(User.id).where(User.name == name)).first() is None:
                add_user(session, name, "supervisor", f"{name}-supervisor-password", actor="test")


def scheduler_child(config: str, log: Path) -> subprocess.Popen[str]:
    """A real `outreach scheduler` whose output goes to `log` (a file, not a pipe: a pipe nobody reads while the
    test waits fills up and blocks the scheduler's logging)."""
    with log.open("w", encoding="utf-8") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "outreach", "scheduler", "--config", config],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
