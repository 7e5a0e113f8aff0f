"""/readyz says why the installation is not ready (503), without giving away a secret; /healthz only that the
process is up."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from outreach.store.db import alembic_config, head_revision, upgrade
from outreach.web.app import create_app
from tests.conftest import make_settings
from testworld.twilio_gateway import TwilioGateway
from testworld.web_server import UvicornThread, free_port

PASSWORD = "db-password-never-shown"


def _get(url: str) -> tuple[int, dict[str, Any], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the local test server
            body = response.read().decode()
            return response.status, json.loads(body), body
    except urllib.error.HTTPError as exc:
        body = exc.read().decode()
        return exc.code, json.loads(body), body


def _ready(database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway) -> tuple[int, Any, str]:
    port = free_port()
    settings = make_settings(
        database_url,
        keys,
        tmp_path,
        twilio=gateway.twilio_settings(),
        web={"public_url": f"http://127.0.0.1:{port}"},
    )
    with UvicornThread(create_app(settings), port) as server:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as health:  # noqa: S310
            assert health.status == 200  # up, whatever the database says
        status, data, body = _get(f"{server.url}/readyz")
    for secret in (*keys.values(), gateway.auth_token, PASSWORD):
        assert secret not in body
    return status, data, body


def test_it_is_ready_at_head(database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway) -> None:
    upgrade(database_url)
    assert _ready(database_url, keys, tmp_path, gateway)[:2] == (
        200,
        {"ready": True, "keys": True, "database": True, "migrations": True},
    )


def test_a_database_behind_the_newest_migration_is_not_ready(
    empty_database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    head = head_revision()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_revision(head).down_revision
    assert isinstance(previous, str)
    upgrade(empty_database_url, previous)
    status, data, _ = _ready(empty_database_url, keys, tmp_path, gateway)
    assert status == 503 and data["ready"] is False and data["database"] is True
    assert data["migrations"] == f"at {previous}, head is {head}: outreach db upgrade"


def test_an_unreachable_database_is_not_ready_and_the_password_stays_hidden(
    keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    unreachable = f"postgresql+psycopg://outreach:{PASSWORD}@127.0.0.1:{free_port()}/outreach?connect_timeout=2"
    status, data, _ = _ready(unreachable, keys, tmp_path, gateway)
    assert status == 503 and data["ready"] is False
    assert data["database"] == "unreachable: OperationalError" and data["migrations"] is False
