"""One schema change at a time: `outreach db upgrade` and `downgrade` hold this lock while Alembic runs.

Two upgrades started together (two containers booting, an operator and a deploy script) would otherwise both try to
create the same tables and leave the version table half-written. The lock is never waited for: a second run says so
in one line and exits 1, because the first one is already doing the work.

PostgreSQL: a session-level advisory lock on its own connection (released by the server if the process dies).
SQLite: an flock on a file beside the database (released by the kernel if the process dies); a lock inside SQLite
itself cannot be used, because Alembic's own connection would then wait for it.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from outreach.errors import OutreachError

# Any 64-bit number works as long as every outreach process uses the same one; derived from a name for readability.
ADVISORY_LOCK_KEY = zlib.crc32(b"outreach schema migration")


class MigrationRunning(OutreachError):
    """Another process is changing this database's schema (exit code 1)."""

    def __init__(self) -> None:
        super().__init__("another `outreach db upgrade` or `downgrade` is running on this database; nothing was done")


def lock_file_for(url: str) -> Path | None:
    """The lock file beside an SQLite database (None for an in-memory one)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".migrate.lock")


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the schema lock for the block, or raise MigrationRunning at once if another process holds it."""
    if make_url(url).get_backend_name() == "sqlite":
        with _file_lock(lock_file_for(url)):
            yield
    else:
        with _advisory_lock(url):
            yield


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise MigrationRunning() from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    from outreach.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar():
                raise MigrationRunning()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
    finally:
        engine.dispose()
