"""Files that hold numbers, texts or keys are their owner's alone: the SQLite database and its WAL are created 0600
whatever the umask, the CLI creates everything else 0600 too, `config check` names a database others can read, and
a settings file holding a key inline must be as private as a key file."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from outreach.cli import run
from outreach.errors import ConfigError
from outreach.settings import load_settings
from outreach.store.db import Store, upgrade
from tests.conftest import World, cycle_settings
from tests.messaging_world import config_file
from testworld.fixture_site import FixtureSite
from testworld.twilio_gateway import TwilioGateway


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "data" / "outreach.db"
    url = f"sqlite:///{database}"
    upgrade(url)  # the test process's umask is the usual 022: files would be 0644
    with Store(url) as store, store.engine.connect() as connection:
        connection.execute(text("CREATE TABLE scratch (x INTEGER)"))
        connection.execute(text("INSERT INTO scratch VALUES (1)"))
        connection.commit()
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()  # still open: the WAL is there
        assert {path.name: _mode(path) for path in (database, wal, shm)} == {
            "outreach.db": 0o600,
            "outreach.db-wal": 0o600,
            "outreach.db-shm": 0o600,
        }


def test_the_command_creates_its_files_readable_by_the_owner_only(world: World, tmp_path: Path) -> None:
    settings = world.cycle_settings()
    config = config_file(settings, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "outreach", "crawl", "--config", config],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    logs = sorted(settings.log_dir.glob("crawl-*.log"))  # written by a plain open(): the umask decides
    assert logs and {_mode(log) for log in logs} == {0o600}


def test_config_check_names_a_database_others_can_read(
    keys: dict[str, str],
    tmp_path: Path,
    fixture_site: FixtureSite,
    gateway: TwilioGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "outreach.db"  # SQLite: a server database has no file of ours
    settings = cycle_settings(f"sqlite:///{database}", keys, tmp_path, fixture_site, gateway)
    config = tmp_path / "check.yaml"
    config.write_text(settings.for_child(), encoding="utf-8")
    config.chmod(0o600)
    assert run(["config", "check", "--config", str(config)]) == 0
    database.chmod(0o644)  # created by an older version, or copied with cp
    capsys.readouterr()
    assert run(["config", "check", "--config", str(config)]) == 2
    out = "".join(capsys.readouterr().out.replace("│", " ").split())
    assert "readablebyothers" in out and f"chmod600{database}" in out


@pytest.mark.parametrize("secret", ["hmac_key", "fernet_key", "twilio"])
def test_a_settings_file_holding_a_key_inline_must_not_be_readable_by_others(
    keys: dict[str, str], tmp_path: Path, secret: str
) -> None:
    values: dict[str, object] = {"database_url": f"sqlite:///{tmp_path / 'x.db'}"}
    if secret == "twilio":
        values["twilio"] = {"auth_token": "a-token-that-is-secret"}
        setting = "twilio.auth_token"
    else:
        values[secret] = keys[secret]
        setting = secret
    config = tmp_path / "outreach.yaml"
    config.write_text(yaml.safe_dump(values), encoding="utf-8")
    config.chmod(0o644)
    with pytest.raises(ConfigError, match=f"holds {setting} and is readable by others; run: chmod 600 {config}"):
        load_settings(config)
    config.chmod(0o600)
    load_settings(config)


def test_a_settings_file_without_secrets_may_be_readable(tmp_path: Path) -> None:
    config = tmp_path / "outreach.yaml"
    config.write_text(yaml.safe_dump({"dry_run": True, "organisation": {"name": "Hulp"}}), encoding="utf-8")
    config.chmod(0o644)
    assert load_settings(config).dry_run is True
