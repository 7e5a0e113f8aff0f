"""Helpers for crawler tests: run the real crawl child against a fixture site and read what it recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import select

from outreach.crypto import PhoneVault, new_keys
from outreach.cycle.crawl import CrawlOutcome, run_crawl
from outreach.settings import Settings, load_settings
from outreach.store.db import Store, upgrade
from outreach.store.models import Advert, AdvertPerson, Person
from testworld.fixture_site import FixtureSite, LoggedRequest


@dataclass
class Crawled:
    outcome: CrawlOutcome
    site: dict[str, Any]  # the site's counters in the crawl run's stats

    def count(self, name: str) -> int:
        return int(self.site.get(name, 0))


def crawl_settings(folder: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    """Settings on a migrated database (SQLite in `folder` unless given) with sites in `folder/sites`."""
    hmac_key, fernet_key = new_keys()
    settings = load_settings(
        database_url=database_url or f"sqlite:///{folder / 'outreach.db'}",
        hmac_key=hmac_key,
        fernet_key=fernet_key,
        sites_dir=folder / "sites",
        log_dir=folder / "log",
        organisation={"name": "Test Outreach", "contact": "https://outreach.example.org/crawler"},
        **overrides,
    )
    upgrade(settings.database_url)
    return settings


def crawl(settings: Settings, site_name: str = "fixture") -> Crawled:
    with Store(settings.database_url) as store:
        outcome = run_crawl(settings, store, actor="test", sites=[site_name])
    assert outcome.ok, outcome.error
    return Crawled(outcome, outcome.stats.get(site_name, {}))


def busiest_window(requests: list[LoggedRequest], seconds: float = 1.0) -> int:
    """The most requests the server saw in any window of `seconds` (the judge of a rate limit)."""
    times = sorted(request.at for request in requests)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def smallest_gap(requests: list[LoggedRequest]) -> float:
    times = sorted(request.at for request in requests)
    return min((b - a for a, b in pairwise(times)), default=float("inf"))


@contextmanager
def cpu_burner(site: FixtureSite, seconds: float = 60) -> Iterator[None]:
    """Every core spinning beside the crawl, as on a loaded machine, from the site's first request on (a crawl
    process starting up under load only makes the test slow); each burner stops by itself after `seconds` should
    the test not end it."""
    spin = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    burners: list[subprocess.Popen[bytes]] = []
    lock = threading.Lock()

    def start(_: LoggedRequest) -> None:
        with lock:
            if not burners:
                burners.extend(subprocess.Popen([sys.executable, "-c", spin]) for _ in range(os.cpu_count() or 2))

    site.on_request = start
    try:
        yield
    finally:
        site.on_request = None
        with lock:
            for burner in burners:
                burner.kill()
                burner.wait()


def stored_adverts(settings: Settings) -> dict[str, tuple[Advert, set[str]]]:
    """site_ad_id -> (the stored advert, the E.164 numbers of its persons): what a crawl left in the store."""
    vault = PhoneVault.from_settings(settings)
    with Store(settings.database_url) as store, store.session() as session:
        numbers: dict[int, set[str]] = defaultdict(set)
        rows = session.execute(
            select(AdvertPerson.advert_id, Person.phone_encrypted).join(Person, Person.id == AdvertPerson.person_id)
        )
        for advert_id, token in rows:
            numbers[advert_id].add(vault.decrypt(token))
        return {ad.site_ad_id: (ad, numbers[ad.id]) for ad in session.execute(select(Advert)).scalars()}
