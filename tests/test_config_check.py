"""`outreach config check` names every broken part of an installation, and passes a good one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from outreach.cli import run
from outreach.settings import Settings


def test_a_good_installation_passes(
    world_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "good.yaml"
    config.write_text(world_settings.for_child(), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    assert run(["config", "check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert all(part in out for part in ("keys", "database", "twilio", "sites", "templates"))


def test_every_broken_part_is_named(
    world_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(world_settings.for_child())
    data["database_url"] = f"sqlite:///{tmp_path / 'never-upgraded.db'}"
    data["twilio"]["account_sid"] = "AC123"
    data["dry_run"] = False
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    config.chmod(0o600)  # it holds the keys
    assert run(["config", "check", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert "outreach db upgrade" in captured.out and "32 hexadecimal" in captured.out
    assert captured.err.strip() == "error: configuration check failed: database, twilio"
