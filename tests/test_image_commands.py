"""The image's entry commands, run outside Docker the way the image runs them: from the project folder (the image's
/app, with its config/outreach.yaml), configured only through OUTREACH_* variables as docker-compose passes .env,
and the HEALTHCHECK command read from the Dockerfile itself. `outreach serve` logs JSON lines without personal data.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.messaging_world import numbers
from testworld.twilio_gateway import TwilioGateway
from testworld.web_server import free_port

PROJECT = Path(__file__).resolve().parents[1]


def healthcheck_command() -> list[str]:
    """The Dockerfile's HEALTHCHECK CMD (exec form), with this interpreter for the image's `python`."""
    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", dockerfile, re.MULTILINE)
    assert found, "the Dockerfile has no exec-form HEALTHCHECK"
    command: list[str] = json.loads(found.group(1))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def image_environment(database_url: str, keys: dict[str, str], gateway: TwilioGateway, port: int) -> dict[str, str]:
    """What docker-compose would pass from .env: the machine's environment minus any outreach config file."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OUTREACH_")}
    twilio = gateway.twilio_settings()
    env.update(
        {
            "OUTREACH_DATABASE_URL": database_url,
            "OUTREACH_HMAC_KEY": keys["hmac_key"],
            "OUTREACH_FERNET_KEY": keys["fernet_key"],
            "OUTREACH_TWILIO__ACCOUNT_SID": twilio["account_sid"],
            "OUTREACH_TWILIO__AUTH_TOKEN": twilio["auth_token"],
            "OUTREACH_TWILIO__FROM_NUMBER": twilio["from_number"],
            "OUTREACH_TWILIO__API_BASE_URL": twilio["api_base_url"],
            "OUTREACH_WEB__PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OUTREACH_WEB__PORT": str(port),
            "OUTREACH_LOG_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / f"outreach-log-{port}"),
        }
    )
    return env


def outreach(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outreach", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=180
    )


def spellings(e164: str) -> set[str]:
    """A Dutch mobile number as a log might spell it."""
    national = "0" + e164[3:]
    return {
        e164,
        e164[1:],
        national,
        e164[3:],
        f"{national[:2]} {national[2:]}",
        f"{national[:2]}-{national[2:]}",
        " ".join([national[:2], national[2:4], national[4:6], national[6:8], national[8:]]),
    }


def test_serve_configured_by_environment_passes_the_healthcheck_and_logs_json_without_numbers(
    database_url: str, keys: dict[str, str], gateway: TwilioGateway
) -> None:
    port = free_port()
    env = image_environment(database_url, keys, gateway, port)
    upgraded = outreach(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    checked = outreach(env, "config", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "FAIL" not in checked.stdout

    down = subprocess.run(healthcheck_command(), cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and down.stderr.startswith("unhealthy: "), down.stderr  # nothing listens yet

    server = subprocess.Popen(
        [sys.executable, "-m", "outreach", "serve"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            health = subprocess.run(healthcheck_command(), cwd=PROJECT, env=env, capture_output=True, timeout=60)
            if health.returncode == 0:
                break
            assert server.poll() is None, "outreach serve exited"
            assert time.monotonic() < deadline, "outreach serve never became healthy"
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            assert json.loads(response.read()) == {"ready": True, "keys": True, "database": True, "migrations": True}

        talker, stopper = numbers(2, start=70)
        inbound = f"http://127.0.0.1:{port}/twilio/inbound"
        assert gateway.inbound(inbound, talker, f"Hoi, bel me terug op {spellings(talker).pop()} aub") == 200
        assert gateway.inbound(inbound, stopper, "STOP") == 200
        assert gateway.inbound(inbound, talker, "nog een keer", signature="forged") == 403
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)

    lines = [line for line in err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    messages = [record["message"] for record in records]
    assert any(message.startswith("inbound message=") for message in messages)  # the log is real
    assert any("rejected unsigned or forged request" in message for message in messages)
    assert any(record["logger"].startswith("uvicorn") for record in records)  # uvicorn's own lines too
    logged = out + err
    leaked = sorted(spelling for number in (talker, stopper) for spelling in spellings(number) if spelling in logged)
    assert leaked == []
    assert "bel me terug" not in logged and "nog een keer" not in logged


def test_a_broken_installation_fails_config_check_from_the_environment(
    empty_database_url: str, keys: dict[str, str], gateway: TwilioGateway
) -> None:
    # Never upgraded: the database check must fail too.
    env = image_environment(empty_database_url, keys, gateway, free_port())
    env["OUTREACH_DRY_RUN"] = "false"
    env["OUTREACH_TWILIO__ACCOUNT_SID"] = "AC123"
    checked = outreach(env, "config", "check")
    assert checked.returncode == 2
    assert checked.stderr.strip() == "error: configuration check failed: database, twilio"


def test_serve_without_keys_stops_at_start_with_one_line(
    database_url: str, keys: dict[str, str], gateway: TwilioGateway
) -> None:
    env = image_environment(database_url, keys, gateway, free_port())
    del env["OUTREACH_FERNET_KEY"]
    served = outreach(env, "serve")
    assert served.returncode == 2
    assert len(served.stderr.strip().splitlines()) == 1 and "fernet_key" in served.stderr
