"""A browser that cannot start is an installation fault, said as such: `outreach config check` starts chromium once
when an enabled site needs JavaScript, and a crawl or cycle whose browser could not start ends failed with the
reason, not "ok" with 0 adverts (issue 19, item 12: the image lacked libatomic.so.1 for Playwright's driver)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach.cli import run
from outreach.crypto import new_keys
from outreach.cycle.crawl import run_crawl
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, upgrade
from outreach.store.states import CrawlRunStatus
from tests.crawling import crawl_settings
from testworld.fixture_site import FixtureSite

MISSING_CHROMIUM = "/nonexistent/chromium"


@pytest.fixture
def js_site(tmp_path: Path) -> Iterator[FixtureSite]:
    with FixtureSite(seed=19, count=5, layout="js") as site:
        site.write_site_file(tmp_path / "sites", name="jsapp")
        yield site


@pytest.fixture
def broken_libatomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a python-slim image without libatomic1 does to Playwright's node driver: the loader cannot use it."""
    folder = tmp_path / "broken-lib"
    folder.mkdir()
    (folder / "libatomic.so.1").write_bytes(b"")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(folder))


def _config_file(settings: Settings, folder: Path) -> str:
    path = folder / "outreach.yaml"
    path.write_text(settings.for_child(), encoding="utf-8")
    path.chmod(0o600)  # it holds the keys
    return str(path)


def _cycle_settings(folder: Path, **crawl: str) -> Settings:
    """Settings a cycle accepts (the shipped templates and organisation), dry run, on a migrated SQLite file."""
    hmac_key, fernet_key = new_keys()
    settings = load_settings(
        database_url=f"sqlite:///{folder / 'outreach.db'}",
        hmac_key=hmac_key,
        fernet_key=fernet_key,
        sites_dir=folder / "sites",
        log_dir=folder / "log",
        dry_run=True,
        crawl=crawl,
    )
    upgrade(settings.database_url)
    return settings


def _browser_part(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr().out
    return " ".join(line for line in out.splitlines() if "browser" in line)


@pytest.mark.usefixtures("js_site")
def test_config_check_starts_the_browser_when_a_site_needs_javascript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_file(_cycle_settings(tmp_path), tmp_path)
    assert run(["config", "check", "--config", config]) == 0
    assert "starts and runs JavaScript (needed by jsapp)" in _browser_part(capsys)


@pytest.mark.usefixtures("js_site")
def test_config_check_fails_when_chromium_cannot_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(_cycle_settings(tmp_path, chromium_path=MISSING_CHROMIUM), tmp_path)
    assert run(["config", "check", "--config", config]) == 2
    part = _browser_part(capsys)
    assert "FAIL" in part and "chromium could not start" in part and MISSING_CHROMIUM in part


@pytest.mark.usefixtures("js_site", "broken_libatomic")
def test_config_check_names_the_library_playwrights_driver_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_file(_cycle_settings(tmp_path), tmp_path)
    assert run(["config", "check", "--config", config]) == 2
    captured = capsys.readouterr()
    assert "Playwright's driver could not start" in captured.out and "libatomic.so.1" in captured.out
    assert captured.err.strip() == "error: configuration check failed: browser"


def test_config_check_starts_no_browser_when_no_site_needs_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture_site: FixtureSite
) -> None:
    fixture_site.write_site_file(tmp_path / "sites")
    config = _config_file(_cycle_settings(tmp_path, chromium_path=MISSING_CHROMIUM), tmp_path)
    assert run(["config", "check", "--config", config]) == 0
    assert "no enabled site needs one" in _browser_part(capsys)


@pytest.mark.usefixtures("js_site")
@pytest.mark.parametrize("fault", ["chromium missing", "driver cannot start"])
def test_a_crawl_whose_browser_cannot_start_fails_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    if fault == "chromium missing":
        settings = crawl_settings(tmp_path, crawl={"chromium_path": MISSING_CHROMIUM})
        reason = MISSING_CHROMIUM
    else:
        monkeypatch.setenv("NODE_OPTIONS", "--no-such-option")  # node, Playwright's driver, refuses to start
        settings = crawl_settings(tmp_path)
        reason = "driver"
    with Store(settings.database_url) as store:
        outcome = run_crawl(settings, store, actor="test", sites=["jsapp"])
    assert not outcome.ok and outcome.health == CrawlRunStatus.FAILED
    assert outcome.error is not None and "the browser could not start" in outcome.error and reason in outcome.error
    problems = {problem["reason"]: problem["message"] for problem in outcome.stats["jsapp"]["problems"]}
    assert "no_browser" in problems and reason in problems["no_browser"]


@pytest.mark.usefixtures("js_site")
def test_a_cycle_whose_browser_cannot_start_exits_1_and_status_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_file(_cycle_settings(tmp_path, chromium_path=MISSING_CHROMIUM), tmp_path)
    assert run(["cycle", "--config", config]) == 1
    assert "the browser could not start" in capsys.readouterr().err
    assert run(["status", "--json", "--config", config]) == 0
    status = json.loads(capsys.readouterr().out)
    assert "the browser could not start" in status["last_cycle"]["problem"]
    assert status["sites"]["jsapp"]["health"] == CrawlRunStatus.FAILED


def test_a_crawl_of_a_javascript_site_with_a_working_browser_is_ok(tmp_path: Path, js_site: FixtureSite) -> None:
    """The other side of the rule: the launch hooks record nothing when the browser starts."""
    settings = crawl_settings(tmp_path)
    with Store(settings.database_url) as store:
        outcome = run_crawl(settings, store, actor="test", sites=["jsapp"])
    assert outcome.ok and outcome.error is None, outcome.error
    assert "browser_failed" not in outcome.stats["jsapp"]
    assert outcome.total("adverts_new") == len(js_site.generated.adverts)
