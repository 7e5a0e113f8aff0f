"""docker-compose.yml and .env.example agree with each other, with the settings and with the CLI (Docker itself does
not run on the build machines; the image's commands are run outside it in test_image_commands.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from outreach.config.reference import settings
from outreach.cycle.crawl import CHILD_STOP_SECONDS
from outreach.settings import load_settings

PROJECT = Path(__file__).resolve().parents[1]
SETTING_VARIABLES = {setting.env_var for setting in settings()} | {"OUTREACH_CONFIG"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def env_example() -> dict[str, str]:
    found = {}
    for line in (PROJECT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value
    return found


def test_every_variable_the_compose_file_interpolates_is_in_env_example() -> None:
    text = (PROJECT / "docker-compose.yml").read_text(encoding="utf-8")
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    assert interpolated == {"POSTGRES_PASSWORD"}
    assert interpolated <= set(env_example())


def test_every_outreach_variable_in_env_example_and_compose_is_a_real_setting() -> None:
    named = set(env_example())
    for service in compose()["services"].values():
        named |= set(service.get("environment") or {})
    outreach_names = {name for name in named if name.startswith("OUTREACH_")}
    assert outreach_names - SETTING_VARIABLES == set()
    assert named - outreach_names <= {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"}


def test_env_example_as_the_environment_gives_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    values = env_example()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    loaded = load_settings()
    assert loaded.dry_run is True  # a copied example never sends
    assert loaded.web.public_url == values["OUTREACH_WEB__PUBLIC_URL"]
    assert loaded.umbrella_supervisors == []


def test_the_services_run_the_image_with_env_file_and_the_database_gets_only_its_password() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "web", "scheduler"}
    for name in ("migrate", "web", "scheduler"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["environment"]["OUTREACH_DATABASE_URL"].startswith("postgresql+psycopg://outreach:")
        assert services[name]["build"] == "."
    assert "env_file" not in services["db"]
    assert services["web"]["command"] == ["serve"] and services["scheduler"]["command"] == ["scheduler"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["web"]["environment"]["OUTREACH_WEB__HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert "healthcheck" not in services["web"]  # the image's HEALTHCHECK applies
    assert services["scheduler"]["healthcheck"] == {"disable": True}
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]


@pytest.mark.parametrize("service", ["migrate", "web", "scheduler"])
def test_each_service_command_is_a_real_outreach_command(service: str) -> None:
    command = compose()["services"][service]["command"]
    shown = subprocess.run(
        [sys.executable, "-m", "outreach", *command, "--help"],
        cwd=PROJECT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Usage: outreach " + " ".join(command) in shown.stdout


def test_the_dockerfile_installs_from_the_lock_as_a_non_root_user_with_a_healthcheck() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line and line[0].isalpha()]
    base = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    # The base is an argument only so that scripts/image-check can build on a stand-in; its default is python-slim.
    assert base == ["FROM ${PYTHON_IMAGE}"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.\d+-slim-\w+$", dockerfile, re.MULTILINE)
    assert "pip install --no-cache-dir -r requirements/runtime.lock" in dockerfile
    assert "apt-get install -y --no-install-recommends chromium" in dockerfile
    assert re.search(r"^ARG WITH_BROWSER=true$", dockerfile, re.MULTILINE)  # chromium unless asked otherwise
    assert re.search(r"apt-get install .*\blibatomic1\b", dockerfile)  # Playwright's node driver links it
    user_lines = [line for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user_lines and all(line.split()[1].split(":")[0] not in ("0", "root") for line in user_lines)
    assert instructions.index("USER") < instructions.index("ENTRYPOINT")
    assert "HEALTHCHECK" in instructions
    assert not re.search(r"^(ENV|ARG) .*(KEY|TOKEN|PASSWORD|SECRET)", dockerfile, re.MULTILINE | re.IGNORECASE)


def _seconds(duration: str) -> float:
    """A compose duration such as 90s, 2m or 1m30s."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, f"unexpected duration {duration!r}"
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def test_outreach_containers_reap_their_children_and_outwait_a_stopping_crawl() -> None:
    """Without an init, the crawl children (and chromium's) the scheduler leaves behind stay zombies in the
    container; with a grace period shorter than the crawl child's stop wait, Docker kills it mid-write."""
    services = compose()["services"]
    for name in ("migrate", "web", "scheduler"):
        assert services[name].get("init") is True, name
    grace = _seconds(services["scheduler"]["stop_grace_period"])
    assert grace >= CHILD_STOP_SECONDS + 20, grace  # plus the message being sent and the lock's release


def test_the_build_context_leaves_out_the_virtualenv_secrets_databases_and_history() -> None:
    ignored = (PROJECT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".venv", ".env", "var", ".git", "test-output", "*.key", "**/__pycache__"):
        assert entry in ignored, entry
