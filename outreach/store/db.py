"""Engine, sessions and schema upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from outreach.errors import OutreachError
from outreach.store.engine import READ_ONLY, make_engine

if TYPE_CHECKING:
    from outreach.crypto import PhoneVault

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class Store:
    """The engine and a session factory for one database; `with Store(url) as store:` closes it at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One transaction that only reads, for counts and pages that take a while: on SQLite it takes no write
        lock (writers, such as a cycle, neither wait for it nor keep it waiting); on both databases a write in it
        fails (SQLite: query_only; PostgreSQL: READ ONLY)."""
        with self._readers.begin() as session:
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            yield session

    def close(self) -> None:
        """Close the pooled connections. The Store stays usable (the next session connects again): the scheduler
        keeps one from job to job (outreach/cycle/stores.py)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def drop_old_page_versions(self) -> None:
        """After a purge or an erasure on SQLite: write the WAL into the database file and empty it, so no earlier
        version of a page (holding what was just deleted) stays in the -wal file. Best effort: while another
        connection is in the middle of a read it cannot be emptied, and its old frames go as the WAL is reused."""
        if self.engine.dialect.name == "sqlite":
            connection = self.engine.raw_connection()  # outside a transaction: a checkpoint cannot run in one
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()


def alembic_config(url: str, vault: PhoneVault | None = None) -> Any:
    """Alembic's configuration for this database. `vault` (a PhoneVault, or None when the keys are not
    configured) reaches the migrations that encrypt stored values (0011: advert addresses); one that needs it and
    finds None refuses before it changes anything."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["vault"] = vault
    return config


def upgrade(url: str, revision: str = "head", vault: PhoneVault | None = None) -> None:
    """Create or upgrade the schema; refuses at once (MigrationRunning) while another process changes it."""
    from alembic import command

    from outreach.store.migration_lock import migration_lock

    try:
        with migration_lock(url):
            command.upgrade(alembic_config(url, vault), revision)
    except OperationalError as exc:
        raise OutreachError(f"database upgrade failed: {exc.orig}") from exc
    _drop_old_page_versions(url)


def _drop_old_page_versions(url: str) -> None:
    """A migration that encrypts a column leaves the plaintext in the SQLite WAL's earlier page versions: empty it."""
    if make_url(url).get_backend_name() == "sqlite":
        with Store(url) as store:
            store.drop_old_page_versions()


def downgrade(url: str, revision: str = "-1", vault: PhoneVault | None = None) -> None:
    """Undo migrations down to `revision` (default: the one before the current), under the same lock."""
    from alembic import command
    from alembic.util.exc import CommandError

    from outreach.store.migration_lock import migration_lock

    if current_revision(url) is None:
        raise OutreachError("the database has no schema to downgrade")
    try:
        with migration_lock(url):
            command.downgrade(alembic_config(url, vault), revision)
    except CommandError as exc:
        raise OutreachError(f"database downgrade failed: {exc}") from exc
    except OperationalError as exc:
        raise OutreachError(f"database downgrade failed: {exc.orig}") from exc


def current_revision(database: str | Engine) -> str | None:
    """The schema revision of a database URL (through an engine made for the question), or through an engine a
    long-running process already has: a new PostgreSQL engine that looks at the schema stays referenced from
    SQLAlchemy's PostgreSQL dialect (a functools.lru_cache on its methods, 128 entries), so one per cycle or per
    /readyz request kept the last 128 of them."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database) if isinstance(database, str) else database
    try:
        # Alembic builds its alembic_version Table anew each time: its statements, keyed by that Table, would
        # pile up in the engine's statement cache.
        with engine.connect().execution_options(compiled_cache=None) as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if isinstance(database, str):
            engine.dispose()


def rows_changed(session: Session, statement: Any) -> int:
    """Execute an UPDATE/DELETE and say how many rows it changed (the outcome of a conditional claim)."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def head_revision() -> str | None:
    """The newest migration in migrations/."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
