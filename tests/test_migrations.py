"""The schema exists only through migrations: they must agree with the models, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
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
    command.downgrade(alembic_config(database_url), "0009_cases")
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
    upgrade(database_url)
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
