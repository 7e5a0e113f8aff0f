"""`outreach config check`: every part a cycle needs, each checked on its own so one failure does not hide the
next."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable

from outreach.errors import OutreachError
from outreach.settings import Settings


def _keys(settings: Settings) -> str:
    from outreach.crypto import PhoneVault

    vault = PhoneVault.from_settings(settings)
    vault.decrypt(vault.encrypt("+31600000000"))
    return f"{1 + len(settings.fernet_previous_keys)} Fernet key(s)"


def _database(settings: Settings) -> str:
    from outreach.cycle.scheduler import require_current_schema
    from outreach.store.engine import readable_by_others

    require_current_schema(settings.database_url)
    exposed = readable_by_others(settings.database_url)
    if exposed:
        names = " ".join(str(path) for path in exposed)
        raise OutreachError(f"{names}: readable by others (the database holds every number); run: chmod 600 {names}")
    return "reachable, schema current"


def _twilio(settings: Settings) -> str:
    if settings.dry_run:
        return "dry_run is on: nothing is sent"
    from messaging.outbox.factory import check_sender

    twilio = settings.twilio
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", twilio.account_sid):
        raise OutreachError("twilio.account_sid: expected AC followed by 32 hexadecimal characters")
    if twilio.auth_token is None or not twilio.auth_token.get_secret_value():
        raise OutreachError("twilio.auth_token: missing")
    check_sender(settings)
    return f"sender {twilio.messaging_service_sid or twilio.from_number}"


def _sites(settings: Settings) -> str:
    from crawler.sites import load_sites

    sites = load_sites(settings.sites_dir)
    return f"{len(sites)} enabled: {', '.join(site.name for site in sites)}" if sites else "no enabled site"


# Chromium starts in about a second; a cold first start on a slow disk takes longer. Past this it is not coming.
BROWSER_START_SECONDS = 90


def _browser(settings: Settings) -> str:
    """Start the browser once, with a crawl's launch options, when an enabled site needs JavaScript: an image
    without libatomic1 or chromium otherwise passes every check and then crawls nothing from those sites."""
    from crawler.browser import browser_settings
    from crawler.sites import load_sites

    sites = [site for site in load_sites(settings.sites_dir) if site.needs_browser]
    if not sites:
        return "no enabled site needs one"
    options = browser_settings(settings, sites[0])["PLAYWRIGHT_LAUNCH_OPTIONS"]
    names = ", ".join(site.name for site in sites)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "outreach.config.browser_probe"],
            input=json.dumps(options),
            capture_output=True,
            text=True,
            timeout=BROWSER_START_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OutreachError(f"chromium did not start within {BROWSER_START_SECONDS}s (needed by {names})") from exc
    if child.returncode != 0:
        raise OutreachError(f"{_probe_failure(child.stderr)} (needed by {names}; docs/operations.md)")
    return f"chromium {child.stdout.strip()} starts and runs JavaScript (needed by {names})"


def _probe_failure(stderr: str) -> str:
    """The driver's own line when it could not load (it names the missing library), else the probe's error."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    loader = [line for line in lines if "error while loading shared libraries" in line]
    if loader:
        return "Playwright's driver could not start: " + loader[0].split("error while loading shared libraries: ")[-1]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return "chromium could not start: " + (errors[-1] if errors else (lines[-1] if lines else "no reason given"))


def _templates(settings: Settings) -> str:
    from messaging.template_check import require_templates_pass

    require_templates_pass(settings)
    return f"{len(settings.languages)} languages pass"


CHECKS: tuple[tuple[str, Callable[[Settings], str]], ...] = (
    ("keys", _keys),
    ("database", _database),
    ("twilio", _twilio),
    ("sites", _sites),
    ("browser", _browser),
    ("templates", _templates),
)


def check_installation(settings: Settings) -> list[tuple[str, bool, str]]:
    results = []
    for part, check in CHECKS:
        try:
            results.append((part, True, check(settings)))
        except OutreachError as exc:
            results.append((part, False, str(exc)))
        except Exception as exc:  # a database driver error, say: report it as this part's failure
            results.append((part, False, f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"))
    return results
