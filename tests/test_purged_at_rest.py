"""Purged means gone (invariant 6): after a full cycle and `outreach purge`, the raw SQLite file bytes with its WAL
hold no text of a purged advert, and still no phone number. On PostgreSQL the check is what a backup would carry
(`pg_dump`); its data files may keep deleted tuples until vacuum, which this test does not read.

Half of the adverts were withdrawn from the site and last seen longer ago than `retention.advert_days` (their
`last_seen` is moved back: what waiting that long would do). The text of the adverts that stay is found in the
same bytes, so the search reads real content."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from outreach.cli import run
from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import Advert
from outreach.store.types import utcnow
from tests.messaging_world import config_file
from tests.process_world import fast_world_settings
from tests.raw_dump import phone_spellings, raw_database
from testworld.fixture_site import FixtureSite
from testworld.twilio_gateway import TwilioGateway

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres

WINDOW = 40  # characters: long enough to be one advert's own words, short enough to fit in one database page


def _fragments(columns: tuple[str, ...]) -> set[str]:
    """Overlapping pieces of each column's text (a column is stored in one piece, a long one across pages)."""
    return {text[i : i + WINDOW] for text in columns for i in range(0, max(len(text) - WINDOW, 0) + 1, WINDOW // 2)}


def test_a_purged_advert_leaves_no_text_and_no_number_in_the_raw_database(
    database_url: str, keys: dict[str, str], tmp_path: Path, gateway: TwilioGateway
) -> None:
    with FixtureSite(seed=31, count=40) as site:
        settings = fast_world_settings(database_url, keys, tmp_path, site, gateway)
        config = config_file(settings, tmp_path)
        vault = PhoneVault.from_settings(settings)
        assert run(["cycle", "--config", config]) == 0
        assert gateway.messages
        old = site.generated.adverts[20:]
        site.hide(*(ad.id for ad in old))
        old_urls = {f"{site.url}{ad.path}" for ad in old}

        # A long-running process (the scheduler) keeps its connection open: SQLite then keeps its WAL file.
        with Store(settings.database_url) as store:
            with store.session() as session:
                stored = {vault.decrypt(url): (title, text) for url, title, text in session.execute(
                    select(Advert.url_encrypted, Advert.title, Advert.text))}  # fmt: skip
                assert old_urls <= set(stored)
                long_ago = utcnow() - timedelta(days=settings.retention.advert_days + 1)
                old_keys = [vault.url_key(url) for url in old_urls]
                session.execute(update(Advert).where(Advert.url_key.in_(old_keys)).values(last_seen=long_ago))
            assert run(["purge", "--config", config]) == 0
            with store.session() as session:
                assert session.execute(select(func.count(Advert.id))).scalar_one() == len(stored) - len(old_urls)

            kept = {fragment for url, cols in stored.items() if url not in old_urls for fragment in _fragments(cols)}
            # Adverts share stock phrases: only what no kept advert also says is a purged advert's own text.
            kept_text = "\n".join(column for url, cols in stored.items() if url not in old_urls for column in cols)
            purged = {fragment for url in old_urls for fragment in _fragments(stored[url]) if fragment not in kept_text}
            raw = raw_database(settings.database_url)
            assert len(purged) > 100 and all(fragment.encode() in raw for fragment in kept)
            assert sorted(url for url in old_urls if url.encode() in raw) == []
            assert sorted(fragment for fragment in purged if fragment.encode() in raw) == []
            assert sorted(number for number in phone_spellings(site) if number.encode() in raw) == []
