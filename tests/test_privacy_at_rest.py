"""No plaintext phone number at rest: the raw database (file or dump) is searched for every number in the world."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from outreach.cycle import run_cycle
from outreach.settings import Settings
from tests.world.fixture_site import FixtureSite


def _raw_database(settings: Settings) -> bytes:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        files = [Path(url.database + suffix) for suffix in ("", "-wal", "-shm")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    dump = subprocess.run(
        [
            "pg_dump",
            "--host",
            "127.0.0.1",
            "--username",
            "postgres",
            "--no-owner",
            "--dbname",
            str(url.database),
        ],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def _spellings(site: FixtureSite) -> set[str]:
    spellings: set[str] = set()
    for ad in site.generated.adverts:
        if ad.phone:
            national = ad.phone[3:]
            spellings |= {ad.phone, ad.phone.lstrip("+"), national, "0" + national}
        if ad.phone_written:
            spellings.add(ad.phone_written)
    return spellings


def test_the_database_holds_no_plaintext_phone_number(world_settings: Settings, fixture_site: FixtureSite) -> None:
    report = run_cycle(world_settings, actor="alice")
    assert sum(report.sent.values()) > 0

    raw = _raw_database(world_settings)
    assert b"advertentie" in raw  # the search reads real content (advert URLs are stored)
    leaked = sorted(s for s in _spellings(fixture_site) if s.encode() in raw)
    assert leaked == []
