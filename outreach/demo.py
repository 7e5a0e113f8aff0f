"""`outreach demo`: one full cycle against the bundled fixture ad site and the Twilio-compatible test gateway,
on a fresh SQLite database under var/demo/."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from outreach.crypto import new_keys
from outreach.cycle.run import CycleReport, run_cycle
from outreach.settings import Settings, load_settings
from outreach.store.db import PROJECT_ROOT, upgrade
from testworld.fixture_site import FixtureSite
from testworld.policy import world_overrides
from testworld.twilio_gateway import TwilioGateway


@dataclass
class DemoResult:
    config_file: Path
    report: CycleReport
    settings: Settings
    database: Path
    ground_truth: Path
    gateway_numbers: set[str]
    expected_numbers: set[str]


def _write_key(path: Path, value: str) -> None:
    path.write_text(value + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def prepare(folder: Path) -> tuple[Path, Path, Path]:
    """A fresh database and log folder; the demo's own keys are made once and kept."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "outreach.db"
    for leftover in (database, folder / "outreach.db-wal", folder / "outreach.db-shm"):
        leftover.unlink(missing_ok=True)
    hmac_file, fernet_file = folder / "hmac.key", folder / "fernet.key"
    if not (hmac_file.exists() and fernet_file.exists()):
        hmac_key, fernet_key = new_keys()
        _write_key(hmac_file, hmac_key)
        _write_key(fernet_file, fernet_key)
    return database, hmac_file, fernet_file


def run_demo(folder: Path = PROJECT_ROOT / "var" / "demo", *, actor: str, adverts: int = 300) -> DemoResult:
    database, hmac_file, fernet_file = prepare(folder)
    with FixtureSite(seed=1, count=adverts) as site, TwilioGateway() as gateway:
        site.write_site_file(folder / "sites")
        ground_truth = site.write_ground_truth(folder / "ground-truth.json")
        settings = load_settings(
            database_url=f"sqlite:///{database}",
            hmac_key_file=hmac_file,
            fernet_key_file=fernet_file,
            **world_overrides(folder, gateway),
        )
        upgrade(settings.database_url)
        report = run_cycle(settings, actor=actor)
        numbers = set(gateway.sent_to())
    expected = set(json.loads(ground_truth.read_text(encoding="utf-8"))["eligible"])
    config_file = folder / "outreach.yaml"
    config_file.write_text(
        "# Settings to look at the demo database: outreach log --config var/demo/outreach.yaml\n"
        + yaml.safe_dump(
            {
                "database_url": settings.database_url,
                "hmac_key_file": str(hmac_file),
                "fernet_key_file": str(fernet_file),
                "sites_dir": str(folder / "sites"),
                "log_dir": str(folder / "log"),
                "dry_run": True,
            }
        ),
        encoding="utf-8",
    )
    return DemoResult(config_file, report, settings, database, ground_truth, numbers, expected)
