"""The CLI: one clear line and exit code 2 for configuration errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from outreach.cli import run
from outreach.cycle.run import run_cycle
from outreach.settings import Settings
from testworld.fixture_site import FixtureSite


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: dict[str, str] | None, **values: object) -> Path:
    data: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'cli.db'}",
        "sites_dir": str(tmp_path),
        **(keys or {}),
        **values,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    path.chmod(0o600)  # it holds the keys
    monkeypatch.setenv("OUTREACH_CONFIG", str(path))
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("cycle", "demo", "log", "db"):
        assert command in out


def test_a_missing_secret_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, monkeypatch, keys=None)
    assert run(["cycle"]) == 2
    assert _one_error_line(capsys) == "error: hmac_key: missing; set OUTREACH_HMAC_KEY or OUTREACH_HMAC_KEY_FILE"


def test_an_unreadable_site_file_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], keys: dict[str, str]
) -> None:
    _config(tmp_path, monkeypatch, keys, twilio={"account_sid": "AC" + "1" * 32, "auth_token": "t"})
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    assert run(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert run(["cycle"]) == 2
    assert "site file" in _one_error_line(capsys)


def test_a_site_file_with_a_wrong_field_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], keys: dict[str, str]
) -> None:
    _config(tmp_path, monkeypatch, keys, twilio={"account_sid": "AC" + "1" * 32, "auth_token": "t"})
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "base_url": "not a url",
                "start_paths": ["/"],
                "listing": {"advert_link": "a"},
                "detail": {"ad_id": "x", "title": "y", "text": "z"},
            }
        ),
        encoding="utf-8",
    )
    run(["db", "upgrade"])
    capsys.readouterr()
    assert run(["cycle"]) == 2
    assert "bad.yaml: base_url:" in _one_error_line(capsys)


def test_an_unknown_language_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], keys: dict[str, str]
) -> None:
    _config(tmp_path, monkeypatch, keys, languages=["nl", "en", "xx"], fallback_language="en")
    assert run(["cycle"]) == 2
    assert "language 'xx'" in _one_error_line(capsys)


def test_a_bad_setting_value_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], keys: dict[str, str]
) -> None:
    _config(tmp_path, monkeypatch, keys, recontact_days=0)
    assert run(["log"]) == 2
    assert "setting recontact_days" in _one_error_line(capsys)


def test_the_installed_command_prints_no_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, monkeypatch, keys=None)
    done = subprocess.run([sys.executable, "-m", "outreach", "cycle"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: hmac_key") and "Traceback" not in done.stderr


def test_the_contact_log_masks_numbers(
    world_settings: Settings,
    fixture_site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run_cycle(world_settings, actor="alice")
    config = tmp_path / "log.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": world_settings.database_url,
                "hmac_key": world_settings.hmac_key.get_secret_value(),  # type: ignore[union-attr]
                "fernet_key": world_settings.fernet_key.get_secret_value(),  # type: ignore[union-attr]
            }
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)  # it holds the keys
    monkeypatch.setenv("OUTREACH_CONFIG", str(config))
    capsys.readouterr()
    assert run(["log", "--limit", "500"]) == 0
    out = capsys.readouterr().out
    assert "•••• •" in out and "delivered" in out
    numbers = {ad.phone for ad in fixture_site.generated.adverts if ad.phone}
    assert not [n for n in numbers if n in out or n[3:] in out]


def test_the_contact_log_filters_speaks_json_and_csv_and_reveals_only_for_supervisors(
    world_settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import csv
    import io
    import json

    from sqlalchemy import select

    from outreach.store.db import Store
    from outreach.store.models import AuditEvent
    from tests.messaging_world import add_supervisors

    run_cycle(world_settings, actor="alice")
    config = tmp_path / "log.yaml"
    config.write_text(world_settings.for_child(), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    add_supervisors(world_settings.database_url, ("bob",))
    args = ["--config", str(config), "--limit", "1000"]
    capsys.readouterr()
    assert run(["log", "--json", "--lang", "ro", *args]) == 0
    romanian = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert romanian and {row["lang"] for row in romanian} == {"ro"}
    assert all("•" in row["number"] for row in romanian)
    assert run(["log", "--csv", "--status", "delivered", "--since", "1d", *args]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert table and {row["status"] for row in table} == {"delivered"}
    assert run(["log", "--since", "last week", *args]) == 2
    assert "--since" in capsys.readouterr().err
    assert run(["log", "--reveal", "--as", "alice", *args]) == 1
    assert "only a supervisor" in capsys.readouterr().err
    assert run(["log", "--reveal", "--json", "--lang", "ro", "--as", "bob", *args]) == 0
    revealed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(row["number"].startswith("+") and "•" not in row["number"] for row in revealed)
    with Store(world_settings.database_url) as store, store.session() as session:
        reveal_events = session.execute(select(AuditEvent).where(AuditEvent.name == "numbers.revealed")).scalars().all()
    assert [(event.actor, len(event.fields["message_ids"])) for event in reveal_events] == [("bob", len(revealed))]
