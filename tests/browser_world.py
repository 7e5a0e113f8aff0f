"""The dashboard served for a real browser: `outreach serve`'s app on 127.0.0.1 with the dashboard's test world
(tests/dashboard_world.py, seeded through the real paths and the Twilio test gateway's signed webhooks), and
Debian's chromium through Playwright. Used by the browser tests (tests/test_*_browser.py and
tests/test_dashboard_screens.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from outreach.crypto import new_keys
from outreach.settings import Settings
from outreach.store.db import Store
from outreach.web.app import create_app
from tests.conftest import make_settings
from tests.dashboard_world import PASSWORDS, Seeded, add_users, seed
from testworld.twilio_gateway import TwilioGateway
from testworld.web_server import UvicornThread, free_port

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


@dataclass
class Site:
    url: str
    settings: Settings
    store: Store
    gateway: TwilioGateway
    seeded: Seeded
    browser: Browser
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def served_dashboard(tmp_path: Path, language: str, **overrides: Any) -> Iterator[Site]:
    """The dashboard on a free port, in `language` by default, seeded, with chromium started; `overrides`: more
    settings (sending={...} replaces the test world's send policy)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("OUTREACH_", "TWILIO_")):
                patch.delenv(name)
        empty = tmp_path / "outreach.yaml"
        empty.write_text("{}\n", encoding="utf-8")
        patch.setenv("OUTREACH_CONFIG", str(empty))
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        hmac_key, fernet_key = new_keys()
        port = free_port()
        with TwilioGateway() as gateway:
            settings = make_settings(
                f"sqlite:///{tmp_path / 'dashboard.db'}",
                {"hmac_key": hmac_key, "fernet_key": fernet_key},
                tmp_path,
                twilio=gateway.twilio_settings(),
                web={"public_url": f"http://127.0.0.1:{port}", "language": language},
                **overrides,
            )
            from outreach.store.db import upgrade

            upgrade(settings.database_url)
            with (
                Store(settings.database_url) as store,
                UvicornThread(create_app(settings), port) as server,
                sync_playwright() as playwright,
            ):
                add_users(store)
                seeded = seed(settings, store, inbound_url=f"{server.url}/twilio/inbound", gateway=gateway)
                gateway.wait_for_callbacks()
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
                )
                try:
                    yield Site(server.url, settings, store, gateway, seeded, browser)
                finally:
                    browser.close()


@contextmanager
def browser_page(site: Site, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A page in its own browser context (its own cookies); any JavaScript dialog fails the test that saw it."""
    context = site.browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()
    assert dialogs == [], f"a script ran: {dialogs}"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, site: Site, name: str, password: str | None = None) -> None:
    """Log in as `name` (alice and bob: their passwords from tests/dashboard_world.py)."""
    page.goto(f"{site.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password or PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
