"""The schema exists only through migrations: they must agree with the models, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from outreach.store.db import current_revision, upgrade
from outreach.store.engine import make_engine
from outreach.store.models import Base

# About PostgreSQL itself too (locks, concurrency, migrations, at rest): it runs there in the fast run as well.
pytestmark = pytest.mark.postgres


def test_migrations_agree_with_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert set(Base.metadata.tables) <= tables


def test_upgrade_twice_is_harmless_and_downgrade_to_base_works(empty_database_url: str) -> None:
    from alembic import command

    from outreach.store.db import alembic_config

    upgrade(empty_database_url)
    head = current_revision(empty_database_url)
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head is not None
    command.downgrade(alembic_config(empty_database_url), "base")
    assert current_revision(empty_database_url) is None
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head


def _reason_rows(url: str) -> list[tuple[int, int, int | None, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, advert_id, person_id, reason FROM advert_reasons ORDER BY id"))
            return [(int(r[0]), int(r[1]), r[2], str(r[3])) for r in rows]
    finally:
        engine.dispose()


def test_an_advert_keeps_one_reason_per_person_and_the_upgrade_removes_duplicates(database_url: str) -> None:
    """Two processes storing reasons at once (a cycle and a review approval) could leave an advert with two
    reasons; the unique key refuses it, and the upgrade keeps the newest of duplicates stored before it."""
    from alembic import command

    from outreach.crypto import PhoneVault, new_keys
    from outreach.store.db import Store, alembic_config
    from outreach.store.types import utcnow
    from tests.targeting_world import make_advert, number

    hmac_key, fernet_key = new_keys()
    vault = PhoneVault(hmac_key, fernet_key)
    with Store(database_url) as store, store.session() as session:
        made = make_advert(session, vault, utcnow(), phone=number(77))
        bare = make_advert(session, vault, utcnow())
    command.downgrade(alembic_config(database_url, vault), "0009_cases")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            for advert, person, reason in [
                (made.advert_id, made.person_id, "messaged"),
                (made.advert_id, made.person_id, "message_waiting"),
                (bare.advert_id, None, "no_number"),
                (bare.advert_id, None, "no_number_again"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO advert_reasons (advert_id, person_id, reason, decided_at) "
                        "VALUES (:a, :p, :r, CURRENT_TIMESTAMP)"
                    ),
                    {"a": advert, "p": person, "r": reason},
                )
    finally:
        engine.dispose()
    upgrade(database_url, vault=vault)
    kept = [(advert, person, reason) for _, advert, person, reason in _reason_rows(database_url)]
    assert kept == [(made.advert_id, made.person_id, "message_waiting"), (bare.advert_id, None, "no_number_again")]

    engine = make_engine(database_url)
    try:
        for advert, person in [(made.advert_id, made.person_id), (bare.advert_id, None)]:
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO advert_reasons (advert_id, person_id, reason, decided_at) "
                        "VALUES (:a, :p, 'messaged', CURRENT_TIMESTAMP)"
                    ),
                    {"a": advert, "p": person},
                )
    finally:
        engine.dispose()


ADDRESSES = [f"https://ads.example.invalid/advertentie/anna-{n}" for n in range(1, 4)]


def _plain_adverts(url: str) -> list[tuple[int, str]]:
    """At 0010: a site and three adverts with their address in plaintext, as every installation stored them."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO sites (name, created_at) VALUES ('example', CURRENT_TIMESTAMP)"))
            for n, address in enumerate(ADDRESSES, start=1):
                conn.execute(
                    text(
                        "INSERT INTO adverts (site_id, site_ad_id, url, title, text, has_whatsapp, phone_count, "
                        "content_hash, first_seen, last_seen) VALUES ((SELECT id FROM sites), :ad, :url, 'Nieuw', "
                        "'Hoi', false, 0, :hash, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"ad": str(n), "url": address, "hash": f"{n:064d}"},
                )
            return [(int(r[0]), str(r[1])) for r in conn.execute(text("SELECT id, url FROM adverts ORDER BY id"))]
    finally:
        engine.dispose()


def test_the_upgrade_encrypts_stored_advert_addresses_and_refuses_without_the_keys(empty_database_url: str) -> None:
    """Issue 19, item 3: an advert's address leads to its page, which shows the number. 0011 encrypts the stored
    ones (and keys them for the crawl's lookups); without the keys it refuses in one line and changes nothing."""
    from outreach.crypto import PhoneVault, new_keys
    from outreach.errors import ConfigError
    from outreach.store.adverts import known_adverts, mark_listed
    from outreach.store.db import Store, downgrade
    from outreach.store.models import Advert
    from outreach.store.types import utcnow
    from tests.raw_dump import raw_database

    upgrade(empty_database_url, "0010_advert_reason_key")
    before = _plain_adverts(empty_database_url)
    assert b"anna-" in raw_database(empty_database_url)  # what the search below looks for is there before
    with pytest.raises(ConfigError, match=r"needs the keys.*nothing was changed"):
        upgrade(empty_database_url)
    assert current_revision(empty_database_url) == "0010_advert_reason_key"
    assert _plain_adverts_left(empty_database_url) == before

    vault = PhoneVault(*new_keys())
    upgrade(empty_database_url, "0011_advert_url_encrypted", vault=vault)  # later steps need no keys
    assert current_revision(empty_database_url) == "0011_advert_url_encrypted"
    with Store(empty_database_url) as store, store.session() as session:
        stored = session.execute(select(Advert).order_by(Advert.id)).scalars().all()
        assert [(a.id, vault.decrypt(a.url_encrypted)) for a in stored] == before
        assert [a.url_key for a in stored] == [vault.url_key(address) for address in ADDRESSES]
        known = known_adverts(session, vault, "example")
        assert known.get(ADDRESSES[1]) is not None and known.get(ADDRESSES[1] + "x") is None
        mark_listed(session, vault, stored[0].site_id, [ADDRESSES[2]], None, utcnow())
        assert [a.gone_at for a in stored] == [None] * 3
    raw = raw_database(empty_database_url)
    assert b"Nieuw" in raw  # the search reads real content
    assert b"anna-" not in raw, "an address, or part of one, is still in the raw database (file and WAL, or dump)"

    downgrade(empty_database_url, "0010_advert_reason_key", vault=vault)  # the way back keeps them too
    assert _plain_adverts_left(empty_database_url) == before


def _plain_adverts_left(url: str) -> list[tuple[int, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [(int(r[0]), str(r[1])) for r in conn.execute(text("SELECT id, url FROM adverts ORDER BY id"))]
    finally:
        engine.dispose()
