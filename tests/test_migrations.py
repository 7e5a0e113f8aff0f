"""The schema exists only through migrations: they must agree with the models, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

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
