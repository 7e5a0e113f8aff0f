"""Helpers for tests that run the real `outreach` commands as child processes and kill them: the settings of a
small, fast world, starting a command in its own process group, and letting a crashed process's leases expire."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from outreach.settings import Settings
from outreach.store.db import Store, upgrade
from outreach.store.models import Lock, Message
from outreach.store.types import utcnow
from tests.conftest import make_settings
from tests.messaging_world import config_file
from testworld.fixture_site import FixtureSite
from testworld.policy import world_overrides
from testworld.twilio_gateway import TwilioGateway


def fast_world_settings(
    database_url: str, keys: dict[str, str], tmp_path: Path, site: FixtureSite, gateway: TwilioGateway, **extra: Any
) -> Settings:
    """Sending on, the fixture site and the gateway, and langdetect (the fastest detector to load): one cycle of
    a few dozen adverts takes about two seconds, most of it Scrapy starting."""
    site.write_site_file(tmp_path / "sites")
    values = {**world_overrides(tmp_path, gateway), "language": {"detector": "langdetect"}, **extra}
    settings = make_settings(database_url, keys, tmp_path, **values)
    upgrade(settings.database_url)
    return settings


def start(command: list[str], settings: Settings, tmp_path: Path) -> subprocess.Popen[str]:
    """`outreach COMMAND --config ...` in its own process group, so that a kill takes its crawl child with it (as
    when a service manager or the kernel ends the whole service)."""
    return subprocess.Popen(
        [sys.executable, "-m", "outreach", *command, "--config", config_file(settings, tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run(command: list[str], settings: Settings, tmp_path: Path, timeout: float = 120) -> tuple[int, str]:
    child = start(command, settings, tmp_path)
    out, err = child.communicate(timeout=timeout)
    return child.returncode, out + err


def let_crashed_holders_expire(store: Store, settings: Settings) -> None:
    """What waiting out the lease lifetimes does, without the wait: every lease (cycle, sender) has expired and
    every claim in `sending` is older than `sending.stale_claim_minutes`."""
    past = utcnow() - timedelta(minutes=settings.sending.stale_claim_minutes + 1)
    with store.session() as session:
        session.execute(update(Lock).values(expires_at=past))
        session.execute(update(Message).where(Message.status == "sending").values(claimed_at=past))


def outbound_states(store: Store) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(
            select(Message.status, func.count()).where(Message.direction == "out").group_by(Message.status)
        ).all()
    return {status: count for status, count in rows}
