"""The database as an attacker with the disk or a backup sees it: the SQLite files' raw bytes (with the WAL), or a
`pg_dump` of the PostgreSQL database; and every way the fixture site's phone numbers may be written."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from testworld.fixture_site import FixtureSite


def raw_database(database_url: str) -> bytes:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        files = [Path(url.database + suffix) for suffix in ("", "-wal", "-shm")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", libpq_url],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def phone_spellings(site: FixtureSite) -> set[str]:
    spellings: set[str] = set()
    for ad in site.generated.adverts:
        if ad.phone:
            national = ad.phone[3:]
            spellings |= {ad.phone, ad.phone.lstrip("+"), national, "0" + national}
        if ad.phone_written:
            spellings.add(ad.phone_written)
    return spellings
