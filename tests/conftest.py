"""Shared fixtures: the test world (fixture ad site, Twilio test gateway), keys, and a fresh database on SQLite
and on PostgreSQL (the server at OUTREACH_TEST_POSTGRES, an admin URL: `make test` sets it to the suite's own
throwaway cluster, scripts/test-postgres)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from outreach.crypto import PhoneVault, new_keys
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, upgrade
from testworld.fixture_site import FixtureSite
from testworld.policy import WORLD_SENDING
from testworld.twilio_gateway import TwilioGateway

# No test reaches beyond this machine: the guard refuses, and fails the test (tests/network_guard.py).
pytest_plugins = ["tests.network_guard"]

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


def _postgres_admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the suite (run `make test`, or scripts/test-postgres start): {exc}")


def _postgres_url(name: str) -> str:
    return make_url(POSTGRES_ADMIN).set(drivername="postgresql+psycopg", database=name).render_as_string(False)


def _postgres_database(template: str = "template0") -> Generator[str, None, None]:
    """A new PostgreSQL database for one test, UTF-8 whatever the cluster's default, dropped afterwards; from
    `template` (template0: empty; the session's migrated template: at head)."""
    name = f"outreach_test_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\'')
    try:
        yield _postgres_url(name)
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_postgres_template() -> Iterator[str]:
    """One database migrated to head per test process; each test's database is a copy (CREATE DATABASE ...
    TEMPLATE), which costs a fraction of running the migrations again."""
    databases = _postgres_database()
    url = next(databases)
    upgrade(url)
    try:
        yield make_url(url).database or ""
    finally:
        databases.close()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per test process, checkpointed so the file alone holds it; tests copy it."""
    path = tmp_path_factory.mktemp("migrated") / "outreach.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to head, on SQLite and on PostgreSQL (the fast run keeps PostgreSQL for the tests
    marked `postgres`: see pytest_collection_modifyitems)."""
    if request.param == "sqlite":
        path = tmp_path / "outreach.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        path.chmod(0o600)  # as outreach creates it
        yield f"sqlite:///{path}"
    else:
        yield from _postgres_database(request.getfixturevalue("migrated_postgres_template"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, for the tests of migrations themselves."""
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
    overrides.setdefault("twilio", gateway.twilio_settings())
    settings = make_settings(database_url, keys, tmp_path, **overrides)
    upgrade(settings.database_url)
    return settings


@dataclass
class World:
    """One test's world: a migrated database, keys, a folder, the fixture ad site and the Twilio test gateway. Stores
    opened through it are closed when the test ends, whether it passed or failed."""

    database_url: str
    keys: dict[str, str]
    folder: Path
    site: FixtureSite
    gateway: TwilioGateway
    _stores: list[Store] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        """Settings on this world's database and keys (no site file, no gateway)."""
        return make_settings(self.database_url, self.keys, self.folder, **overrides)

    def cycle_settings(self, **overrides: Any) -> Settings:
        """Settings for a full cycle against the fixture site and the gateway."""
        return cycle_settings(self.database_url, self.keys, self.folder, self.site, self.gateway, **overrides)

    def store(self) -> Store:
        store = Store(self.database_url)
        self._stores.append(store)
        return store

    def vault(self) -> PhoneVault:
        return PhoneVault.from_settings(self.settings())

    def close(self) -> None:
        for store in self._stores:
            store.close()


@pytest.fixture
def world(
    database_url: str, keys: dict[str, str], tmp_path: Path, fixture_site: FixtureSite, gateway: TwilioGateway
) -> Iterator[World]:
    """The world of a database test; `world.store()` is closed at the end whatever happens."""
    opened = World(database_url, keys, tmp_path, fixture_site, gateway)
    try:
        yield opened
    finally:
        opened.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="the developer's run (make check): database tests on SQLite, and on PostgreSQL only those marked "
        "`postgres` (concurrency, SKIP LOCKED, locks, migrations, backup, at rest); make test runs all on both",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--fast"):
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        on_postgres = "[postgresql" in item.nodeid
        (drop if on_postgres and item.get_closest_marker("postgres") is None else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
