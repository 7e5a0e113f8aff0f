"""Shared fixtures: the test world (fixture ad site, Twilio test gateway), keys, and a fresh database on SQLite
and on PostgreSQL (127.0.0.1:5432, user postgres)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from outreach.crypto import new_keys
from outreach.settings import Settings, load_settings
from outreach.store.db import upgrade
from testworld.fixture_site import FixtureSite
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import TwilioGateway

POSTGRES_ADMIN = os.environ.get("OUTREACH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see no outreach or Twilio settings from the machine, and no proxy for 127.0.0.1."""
    for name in list(os.environ):
        if name.startswith(("OUTREACH_", "TWILIO_")):
            monkeypatch.delenv(name)
    empty = tmp_path / "outreach.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("OUTREACH_CONFIG", str(empty))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def fixture_site() -> Iterator[FixtureSite]:
    with FixtureSite(seed=1, count=300) as site:
        yield site


@pytest.fixture
def gateway() -> Iterator[TwilioGateway]:
    with TwilioGateway() as server:
        yield server


def _postgres_database() -> Iterator[str]:
    name = f"outreach_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the suite (run scripts/ensure-test-services): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outreach.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    hmac_key, fernet_key = new_keys()
    return {"hmac_key": hmac_key, "fernet_key": fernet_key}


def make_settings(database_url: str, keys: dict[str, str], tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "sites_dir": tmp_path / "sites",
        "log_dir": tmp_path / "log",
        "sending": WORLD_SENDING,
        **keys,
        **overrides,
    }
    return load_settings(**values)


@pytest.fixture
def world_settings(
    database_url: str, keys: dict[str, str], tmp_path: Path, fixture_site: FixtureSite, gateway: TwilioGateway
) -> Settings:
    """Settings for a full cycle against the fixture site and the gateway, on a migrated database."""
    return cycle_settings(database_url, keys, tmp_path, fixture_site, gateway)


def cycle_settings(
    database_url: str,
    keys: dict[str, str],
    tmp_path: Path,
    fixture_site: FixtureSite,
    gateway: TwilioGateway,
    **overrides: Any,
) -> Settings:
    """world_settings with overrides (a send policy, a schedule, a targeting policy, ...)."""
    fixture_site.write_site_file(tmp_path / "sites")
    settings = make_settings(database_url, keys, tmp_path, twilio=gateway.twilio_settings(), **overrides)
    upgrade(settings.database_url)
    return settings
